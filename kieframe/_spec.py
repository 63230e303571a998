"""The record a model plugin returns: :class:`ModelSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import msgspec

from ._fields import MediaLimits, media_limits
from ._validation import FieldInfo, input_fields, ordered_choices, validate_input

__all__ = ["MediaField", "ModelSpec", "OutputKind"]

InputT = TypeVar("InputT", bound=msgspec.Struct)

#: What a model's result files hold.
OutputKind = Literal["video", "image", "audio", "text"]


@dataclass(frozen=True, slots=True)
class MediaField:
    """An input field that takes a media URL, which a local file may fill."""

    name: str
    limits: MediaLimits
    required: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec(Generic[InputT]):
    """Everything kieframe knows about one kie.ai model, as declared by its plugin.

    ``input_type`` is a frozen ``msgspec.Struct`` whose annotations carry every documented limit.
    ``examples`` are documented request bodies (``{"model": ..., "input": {...}}``); each must
    validate and serialise back to itself. ``typical_seconds`` is how long a task usually runs and
    ``deadline`` how long a wait gives it before :class:`~kieframe.WaitTimeout`; both plan polling.
    """

    id: str
    input_type: type[InputT]
    title: str
    docs_url: str
    summary: str = ""
    output: OutputKind = "video"
    examples: tuple[Mapping[str, Any], ...] = ()
    typical_seconds: float = 120.0
    deadline: float = 900.0
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not (isinstance(self.input_type, type) and issubclass(self.input_type, msgspec.Struct)):
            raise TypeError(f"{self.id}: input_type must be a msgspec.Struct subclass")
        if not self.input_type.__struct_config__.forbid_unknown_fields:
            raise TypeError(
                f"{self.id}: input_type must be declared with forbid_unknown_fields=True"
            )
        if not 0 < self.typical_seconds <= self.deadline:
            raise ValueError(f"{self.id}: need 0 < typical_seconds <= deadline")

    def validate(self, data: Mapping[str, Any] | msgspec.Struct) -> InputT:
        """Check ``data`` against every documented limit and return the typed input.

        Raises :class:`~kieframe.InputValidationError` listing every problem, each naming its field
        and the limit.
        """
        return validate_input(self.input_type, data, model_id=self.id)

    def to_input(self, value: msgspec.Struct) -> dict[str, Any]:
        """The ``input`` object kie.ai expects for a validated input (unset optionals left out)."""
        raw: dict[str, Any] = msgspec.to_builtins(value)
        return {key: item for key, item in raw.items() if item is not None}

    def to_request(
        self, value: msgspec.Struct, *, callback_url: str | None = None
    ) -> dict[str, Any]:
        """The JSON body of ``createTask`` for a validated input."""
        body: dict[str, Any] = {"model": self.id, "input": self.to_input(value)}
        if callback_url is not None:
            body["callBackUrl"] = callback_url
        return body

    @property
    def fields(self) -> tuple[FieldInfo, ...]:
        """The input's fields with their inspected limits and defaults."""
        return input_fields(self.input_type)

    @property
    def media_fields(self) -> tuple[MediaField, ...]:
        """The fields that take media URLs (which local files may fill), with their limits."""
        found = []
        for info in self.fields:
            limits = media_limits(info.type)
            if limits is not None:
                found.append(MediaField(name=info.name, limits=limits, required=info.required))
        return tuple(found)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the input object, with the model's title."""
        schema: dict[str, Any] = _ordered_enums(msgspec.json.schema(self.input_type))
        name = self.input_type.__name__
        body: dict[str, Any] = dict(schema["$defs"].pop(name))
        body["title"] = self.title
        if schema["$defs"]:
            body["$defs"] = schema["$defs"]
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def _ordered_enums(schema: Any) -> Any:
    """The schema with every ``enum`` in the order choices are listed everywhere else."""
    if isinstance(schema, dict):
        return {
            key: ordered_choices(value) if key == "enum" else _ordered_enums(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_ordered_enums(item) for item in schema]
    return schema

"""The record a model plugin returns: :class:`ModelSpec`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar, get_args

import msgspec

from ._errors import InputValidationError, Problem
from ._fields import MediaLimits, is_list_type, media_limits
from ._request_body import request_body
from ._spec_checks import check_input
from ._validation import Preparer, Validator, validator_for
from ._validation_describe import ordered_choices
from ._validation_types import FieldInfo, input_fields
from ._validation_values import without_nulls

__all__ = [
    "MediaField",
    "ModelSpec",
    "OutputCount",
    "OutputKind",
    "without_nulls",
]

InputT = TypeVar("InputT", bound=msgspec.Struct)
R = TypeVar("R")

#: What a model's results are: video, image or audio files, or text (``resultObject``).
OutputKind = Literal["video", "image", "audio", "text"]

#: Whether a task gives one result file or may give several.
OutputCount = Literal["one", "many"]


@dataclass(frozen=True, slots=True)
class MediaField:
    """An input field that takes a media URL, which a local file may fill."""

    name: str
    limits: MediaLimits
    required: bool
    many: bool = False  # a list of URLs, each of which a local file may fill


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec(Generic[InputT]):
    """Everything kieframe knows about one kie.ai model, as declared by its plugin.

    ``input_type`` is a frozen ``msgspec.Struct`` whose annotations carry every documented limit.
    ``examples`` are documented request bodies (``{"model": ..., "input": {...}}``); each must
    validate and serialise back to itself. ``typical_seconds`` is how long a task usually runs and
    ``deadline`` how long a wait gives it before :class:`~kieframe.WaitTimeout`; both plan polling.
    ``output`` is what the results are and ``outputs`` whether there is one file or may be several.
    ``rules`` are cross-field rules (see :mod:`kieframe.authoring`): each takes the validated input
    and yields a :class:`~kieframe.Problem` per breach; ``rule_notes`` say what they check, in
    words, for ``kieframe describe`` and the model's docs page. ``requires_callback`` says that
    kie.ai refuses a create of this model without a ``callBackUrl``: a submit without a
    ``callback_url`` is then an :class:`~kieframe.InputValidationError`, before anything is sent.
    """

    id: str
    input_type: type[InputT]
    title: str
    docs_url: str
    summary: str = ""
    output: OutputKind = "video"
    outputs: OutputCount = "one"
    rules: tuple[Callable[[InputT], Iterable[Problem]], ...] = ()
    rule_notes: tuple[str, ...] = ()
    examples: tuple[Mapping[str, Any], ...] = ()
    typical_seconds: float = 120.0
    deadline: float = 900.0
    tags: tuple[str, ...] = field(default=())
    requires_callback: bool = False
    _validator: Validator = field(init=False, repr=False, compare=False)
    # False where the input Struct is compiled later (and checked then): see _schema.py.
    _checks_input_now: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not (isinstance(self.input_type, type) and issubclass(self.input_type, msgspec.Struct)):
            raise TypeError(f"{self.id}: input_type must be a msgspec.Struct subclass")
        if not self.input_type.__struct_config__.forbid_unknown_fields:
            raise TypeError(
                f"{self.id}: input_type must be declared with forbid_unknown_fields=True"
            )
        if not 0 < self.typical_seconds <= self.deadline:
            raise ValueError(f"{self.id}: need 0 < typical_seconds <= deadline")
        if self.output not in get_args(OutputKind):
            raise ValueError(f"{self.id}: output must be one of {', '.join(get_args(OutputKind))}")
        if self.outputs not in get_args(OutputCount):
            raise ValueError(f"{self.id}: outputs must be 'one' or 'many'")
        if not all(callable(rule) for rule in self.rules):
            raise TypeError(f"{self.id}: each rule must be a callable")
        if self._checks_input_now:
            check_input(self.id, self.input_type, self.rules)
        object.__setattr__(self, "_validator", validator_for(self.input_type))

    def validate(self, data: Any) -> InputT:
        """Check ``data`` against every documented limit and rule and return the typed input.

        Raises :class:`~kieframe.InputValidationError` listing every problem, each naming its
        field path and the limit; no other exception, whatever ``data`` holds.
        """
        value: InputT = self._validator(data, model_id=self.id)
        if self.rules:
            problems = [problem for rule in self.rules for problem in rule(value)]
            if problems:
                raise InputValidationError(self.id, problems)
        return value

    def _prepare(self, record: Callable[..., R]) -> Preparer[R]:
        """A submit's one pass over this model's inputs (see :meth:`Validator.preparer`).

        Compiled each time: the registry keeps the one a submit uses.
        """
        return self._validator.preparer(model_id=self.id, rules=self.rules, record=record)

    def to_input(
        self, value: msgspec.Struct, *, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ``input`` object kie.ai expects for a validated input (unset optionals left out).

        ``extra`` holds fields the plugin does not know, sent as given (see
        :class:`~kieframe.Unchecked`).
        """
        body = self._validator.dump(value)
        if extra:
            body.update(extra)
        return body

    def to_request(
        self,
        value: msgspec.Struct,
        *,
        callback_url: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON body of ``createTask`` for a validated input (and any unchecked fields)."""
        return request_body(self.id, self.to_input(value, extra=extra), callback_url)

    @property
    def fields(self) -> tuple[FieldInfo, ...]:
        """The input's fields with their inspected limits and defaults."""
        return input_fields(self.input_type)

    @property
    def media_fields(self) -> tuple[MediaField, ...]:
        """The fields that take media URLs (which local files may fill), with their limits."""
        return _media_fields(self.input_type)

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


@functools.cache
def _media_fields(input_type: type[msgspec.Struct]) -> tuple[MediaField, ...]:
    found = []
    for info in input_fields(input_type):
        limits = media_limits(info.type)
        if limits is not None:
            many = is_list_type(info.type)
            found.append(
                MediaField(name=info.name, limits=limits, required=info.required, many=many)
            )
    return tuple(found)

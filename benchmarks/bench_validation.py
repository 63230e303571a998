"""Validate and serialise a model input: kieframe, a pydantic v2 model, bare ``msgspec``.

All three produce the JSON body of a create from the same dict, with the same limits. kieframe does
what a submit does before it sends: look the model up, validate the input, build the createTask
body and encode it to the bytes sent (``prepare_submission`` + ``encode_body``). The baselines: a
pydantic v2 model with the model's limits (``model_validate`` + ``model_dump_json``, in the
envelope), and ``msgspec.convert`` + ``msgspec.json.encode`` of the envelope with its Struct (no
error reports beyond msgspec's first). Two models: the wan seed plugin (its pydantic twin written
by hand) and a large catalogue model, ``qwen/image-edit`` (13 fields; its pydantic twin built from
the Struct's inspected limits). The invalid input has one bad field (a prompt over its limit):
kieframe raises its error listing every problem, pydantic its ``ValidationError``.
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import msgspec.inspect as mi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

import kieframe
from kieframe._core._submit import encode_body, prepare_submission
from kieframe._registry import default_registry

from ._common import Figure, alternate, per_call

MODEL = "wan/2-5-image-to-video"
GOOD: dict[str, Any] = {
    "prompt": "A red fox trots through fresh snow at dawn, breath steaming, camera tracking low.",
    "image_url": "https://example.com/fox.png",
    "duration": "10",
    "resolution": "720p",
    "negative_prompt": "blurry, low quality",
    "enable_prompt_expansion": False,
    "seed": 1234,
}
BAD = {**GOOD, "prompt": "x" * 801}
URL = r"^https?://[^\s/?#]+[^\s]*$"


class PydanticWan(BaseModel):
    """The wan input as a pydantic v2 model, with the plugin's limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Annotated[str, Field(min_length=1, max_length=800)]
    image_url: Annotated[str, Field(pattern=URL, max_length=2048)]
    duration: Literal["5", "10"] = "5"
    resolution: Literal["720p", "1080p"] = "1080p"
    negative_prompt: Annotated[str, Field(max_length=500)] = ""
    enable_prompt_expansion: bool = True
    seed: int | None = None  # any integer, as kie.ai documents (the plugin invents no range)
    nsfw_checker: bool | None = None  # sent only when set, as the plugin


def _pydantic_type(node: mi.Type) -> Any:
    """The pydantic annotation with the limits of an inspected msgspec type (the kinds used)."""
    if isinstance(node, mi.Metadata):
        return _pydantic_type(node.type)
    if isinstance(node, mi.UnionType):
        (member,) = [m for m in node.types if not isinstance(m, mi.NoneType)]
        return _pydantic_type(member) | None
    if isinstance(node, mi.StrType):
        limits = Field(min_length=node.min_length, max_length=node.max_length, pattern=node.pattern)
        return Annotated[str, limits]
    if isinstance(node, mi.IntType | mi.FloatType):
        bounds = Field(ge=node.ge, gt=node.gt, le=node.le, lt=node.lt, multiple_of=node.multiple_of)
        return Annotated[int if isinstance(node, mi.IntType) else float, bounds]
    if isinstance(node, mi.BoolType):
        return bool
    if isinstance(node, mi.LiteralType):
        return Literal[node.values]
    if isinstance(node, mi.ListType):
        limits = Field(min_length=node.min_length, max_length=node.max_length)
        return Annotated[list[_pydantic_type(node.item_type)], limits]  # type: ignore[misc]
    raise TypeError(f"no pydantic twin for {node!r}")


def pydantic_twin(spec: kieframe.ModelSpec[Any]) -> type[BaseModel]:
    """A pydantic v2 model with the limits of a spec's input Struct."""
    fields: dict[str, Any] = {
        info.name: (_pydantic_type(info.type), ... if info.required else info.default)
        for info in spec.fields
    }
    # kieframe's URL pattern uses look-arounds, which pydantic's default (Rust) regex engine
    # lacks; msgspec runs the pattern on Python's re, and so does the twin.
    config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")
    return create_model("PydanticTwin", __config__=config, **fields)


Work = Callable[[], object]


class Works(NamedTuple):
    """The runs compared for one model: valid, invalid (raised), invalid (raised and read)."""

    ours_valid: Work
    pydantic_valid: Work
    msgspec_valid: Work
    ours_invalid: Work
    pydantic_invalid: Work
    ours_read: Work
    pydantic_read: Work


def _bare_struct(input_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The Struct a user of bare msgspec writes: the same fields, names and limits, and no more.

    A compiled catalogue Struct also keeps whole numbers ints (a ``__post_init__``): kieframe's
    own work, which the baseline leaves out.
    """
    hints = typing.get_type_hints(input_type, include_extras=True)
    fields = [
        (field.name, hints[field.name])
        if field.required
        else (field.name, hints[field.name], msgspec.field(default=field.default))
        if field.default is not msgspec.NODEFAULT
        else (field.name, hints[field.name], msgspec.field(default_factory=field.default_factory))
        for field in msgspec.structs.fields(input_type)
    ]
    return msgspec.defstruct(
        f"Bare{input_type.__name__}",
        fields,
        rename={f.name: f.encode_name for f in msgspec.structs.fields(input_type)},
        forbid_unknown_fields=True,
        frozen=True,
        kw_only=True,
    )


def _works(
    model: str, good: dict[str, Any], bad: dict[str, Any], pydantic: type[BaseModel]
) -> Works:
    """kieframe's, pydantic's and bare msgspec's valid runs, and the invalid ones."""
    spec = kieframe.get_model(model)
    registry = default_registry()
    encode = msgspec.json.encode

    def ours_valid() -> None:
        encode_body(prepare_submission(registry, model, good, callback_url=None))

    def pydantic_valid() -> None:
        body = pydantic.model_validate(good).model_dump_json(exclude_none=True)
        f'{{"model":"{model}","input":{body}}}'.encode()

    bare = _bare_struct(spec.input_type)

    def msgspec_valid() -> None:
        encode({"model": model, "input": msgspec.convert(good, bare)})

    def ours_invalid() -> None:
        with contextlib.suppress(kieframe.InputValidationError):
            prepare_submission(registry, model, bad, callback_url=None)

    def pydantic_invalid() -> None:
        with contextlib.suppress(ValidationError):
            pydantic.model_validate(bad)

    # Both word their errors when first read: this pair times the wording too.
    def ours_read() -> str:
        try:
            prepare_submission(registry, model, bad, callback_url=None)
        except kieframe.InputValidationError as error:
            return str(error)
        raise AssertionError("the bad input passed")

    def pydantic_read() -> str:
        try:
            pydantic.model_validate(bad)
        except ValidationError as error:
            return str(error)
        raise AssertionError("the bad input passed")

    return Works(
        ours_valid,
        pydantic_valid,
        msgspec_valid,
        ours_invalid,
        pydantic_invalid,
        ours_read,
        pydantic_read,
    )


CATALOGUE = "qwen/image-edit"


def run(*, quick: bool) -> list[Figure]:
    loops = 2_000 if quick else 20_000
    repeat = 3 if quick else 5
    large = kieframe.get_model(CATALOGUE)
    example = dict(large.examples[0]["input"])
    cases = [
        ("a valid wan input", _works(MODEL, GOOD, BAD, PydanticWan)),
        (
            f"a valid {CATALOGUE} input (catalogue)",
            _works(CATALOGUE, example, {**example, "prompt": "x" * 2001}, pydantic_twin(large)),
        ),
    ]
    us = 1e6
    figures = []
    for label, w in cases:
        for name, baseline, ours, theirs, goal in (
            (f"validate + serialise {label}", "pydantic", w.ours_valid, w.pydantic_valid, 0.67),
            ("the same", "bare msgspec", w.ours_valid, w.msgspec_valid, 1.25),
            ("the same, one invalid field", "pydantic", w.ours_invalid, w.pydantic_invalid, 1.0),
            ("the same, and the error read (str)", "pydantic", w.ours_read, w.pydantic_read, 1.0),
        ):
            mine, other = alternate(repeat, per_call(loops, ours), per_call(loops, theirs))
            ours_us, theirs_us = [m * us for m in mine], [o * us for o in other]
            figures.append(Figure(name, "µs", ours_us, baseline, theirs_us, ("<=", goal)))
    return figures

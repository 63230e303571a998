"""Validate and serialise a model input: kieframe, a pydantic v2 model, bare ``msgspec``.

All three produce the JSON body of a create from the same dict, with the same limits: kieframe's
``ModelSpec.validate`` + ``to_request``, a pydantic v2 model written to match the wan plugin's
Struct, and ``msgspec.convert`` + ``msgspec.json.encode`` on that Struct (no error reports beyond
msgspec's first). The invalid input has one bad field (a prompt over its 800 characters).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import kieframe

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
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None


def run(*, quick: bool) -> list[Figure]:
    spec = kieframe.get_model(MODEL)
    encode = msgspec.json.encode
    loops = 2_000 if quick else 20_000
    repeat = 3 if quick else 5

    def ours_valid() -> None:
        encode(spec.to_request(spec.validate(GOOD)))

    def pydantic_valid() -> None:
        body = PydanticWan.model_validate(GOOD).model_dump_json(exclude_none=True)
        f'{{"model":"{MODEL}","input":{body}}}'.encode()

    def msgspec_valid() -> None:
        encode({"model": MODEL, "input": msgspec.convert(GOOD, spec.input_type)})

    def ours_invalid() -> None:
        with contextlib.suppress(kieframe.InputValidationError):
            spec.validate(BAD)

    def pydantic_invalid() -> None:
        with contextlib.suppress(ValidationError):
            PydanticWan.model_validate(BAD)

    us = 1e6
    figures = []
    for name, baseline, ours, theirs, goal in (
        ("validate + serialise a valid wan input", "pydantic", ours_valid, pydantic_valid, 0.67),
        ("the same", "bare msgspec", ours_valid, msgspec_valid, 1.25),
        ("the same, one invalid field", "pydantic", ours_invalid, pydantic_invalid, 1.0),
    ):
        mine, other = alternate(repeat, per_call(loops, ours), per_call(loops, theirs))
        figures.append(
            Figure(
                name, "µs", [m * us for m in mine], baseline, [o * us for o in other], ("<=", goal)
            )
        )
    return figures

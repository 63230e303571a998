"""Validation cost: ``ModelSpec.validate`` against a bare ``msgspec.convert`` of the same input.

kieframe checks field by field to report every problem at once, so it does more than msgspec's
single pass; the target bounds how much more.
"""

from __future__ import annotations

import msgspec

import kieframe

from ._common import Figure, best_of

GOOD = {
    "prompt": "A red fox trots through fresh snow at dawn, breath steaming, camera tracking low.",
    "image_url": "https://example.com/fox.png",
    "duration": "10",
    "resolution": "720p",
    "negative_prompt": "blurry, low quality",
    "enable_prompt_expansion": False,
    "seed": 1234,
}


def run(*, quick: bool) -> list[Figure]:
    spec = kieframe.get_model("wan/2-5-image-to-video")
    loops = 2_000 if quick else 20_000

    def ours() -> None:
        for _ in range(loops):
            spec.to_request(spec.validate(GOOD))

    def baseline() -> None:
        for _ in range(loops):
            msgspec.to_builtins(msgspec.convert(GOOD, spec.input_type))

    repeat = 3 if quick else 7
    per_call_ours = best_of(repeat, ours) / loops * 1e6
    per_call_base = best_of(repeat, baseline) / loops * 1e6
    return [
        Figure("validate + serialise one input (wan)", "us", per_call_ours, per_call_base, 15.0)
    ]

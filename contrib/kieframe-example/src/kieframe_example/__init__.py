"""An example kieframe plugin: ``example/image-to-video``, a fictional kie.ai model.

It shows everything a model plugin needs: an input ``msgspec.Struct`` whose annotations carry the
documented limits (``msgspec.Meta``), a :class:`kieframe.ModelSpec`, and a ``kieframe_models``
hook implementation registered under the ``kieframe`` entry-point group in ``pyproject.toml``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kieframe.authoring import ImageUrl, ModelSpec, hookimpl

__all__ = ["MODEL_ID", "SPEC", "ExampleImageToVideoInput", "kieframe_models"]

__version__ = "0.1.0"

MODEL_ID = "example/image-to-video"


class ExampleImageToVideoInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Input of the example model: animate an image following a prompt."""

    prompt: Annotated[
        str, msgspec.Meta(min_length=1, max_length=1000, description="what should happen")
    ]
    image_url: ImageUrl
    aspect_ratio: Literal["16:9", "9:16", "1:1"] = "16:9"
    duration: Annotated[int, msgspec.Meta(ge=2, le=12, description="video length in seconds")] = 4
    motion: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="how much the camera moves")
    ] = 0.5
    loop: bool = False


SPEC = ModelSpec(
    id=MODEL_ID,
    input_type=ExampleImageToVideoInput,
    title="Example Image to Video",
    docs_url="https://github.com/kieframe/kieframe/tree/main/contrib/kieframe-example",
    summary="A fictional model that shows how a third-party plugin is built and tested.",
    output="video",
    typical_seconds=60.0,
    deadline=600.0,
    tags=("example", "image-to-video"),
    examples=(
        {
            "model": MODEL_ID,
            "input": {
                "prompt": "The lighthouse beam sweeps across a stormy sea at night.",
                "image_url": "https://example.com/lighthouse.png",
                "aspect_ratio": "16:9",
                "duration": 4,
                "motion": 0.5,
                "loop": False,
            },
        },
    ),
)


@hookimpl
def kieframe_models() -> list[ModelSpec[ExampleImageToVideoInput]]:
    """Provide the example model."""
    return [SPEC]

"""kieframe plugin: Alibaba Wan 2.5 image-to-video (``wan/2-5-image-to-video``) on kie.ai.

Limits from https://docs.kie.ai/market/wan/2-5-image-to-video (the model's kie.ai page, August
2026). kie.ai marks ``duration`` required; it keeps its default here and is always sent.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kieframe.authoring import ImageUrl, ModelSpec, hookimpl

__all__ = ["SPEC", "WanImageToVideoInput", "kieframe_models"]

MODEL_ID = "wan/2-5-image-to-video"


_NSFW_CHECKER = "filter unsafe content; unset (kie.ai's default, off) is not sent"


class WanImageToVideoInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Input of Wan 2.5 image-to-video: animate a first frame following a prompt."""

    prompt: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=800, description="the text prompt describing the motion"
        ),
    ]
    image_url: ImageUrl
    duration: Annotated[
        Literal["5", "10"], msgspec.Meta(description="video length in seconds, as a string")
    ] = "5"
    resolution: Literal["720p", "1080p"] = "1080p"
    negative_prompt: Annotated[
        str, msgspec.Meta(max_length=500, description="content to avoid")
    ] = ""
    enable_prompt_expansion: bool = True
    # kie.ai documents an integer and no range (its page and its OpenAPI schema): none is invented.
    seed: Annotated[int, msgspec.Meta(description="random seed; omit for random")] | None = None
    # Not on the model's kie.ai page (only in kie.ai's newer catalogue): sent only when set, so
    # that a server that knows the page's fields alone accepts the create. Unset is kie.ai's off.
    nsfw_checker: Annotated[bool, msgspec.Meta(description=_NSFW_CHECKER)] | None = None


_EXAMPLE_PROMPT = (
    "The same woman from the reference image looks directly into the camera, takes a breath, then "
    "smiles brightly and speaks with enthusiasm: \u201cHave you heard? Alibaba Wan 2.5 API is now "
    "available on Kie.ai!\u201d Ambient audio: quiet indoor atmosphere, soft natural room tone. "
    "Camera: medium close-up, steady framing, natural daylight mood, accurate lip-sync with "
    "dialogue."
)

SPEC = ModelSpec(
    id=MODEL_ID,
    input_type=WanImageToVideoInput,
    title="Wan 2.5 Image to Video",
    docs_url="https://docs.kie.ai/market/wan/2-5-image-to-video",
    summary="Alibaba Wan 2.5: animate an image into a 5 or 10 second video, 720p or 1080p.",
    output="video",
    typical_seconds=180.0,
    deadline=900.0,
    tags=("image-to-video", "video"),
    examples=(
        {
            "model": MODEL_ID,
            "input": {
                "prompt": _EXAMPLE_PROMPT,
                "image_url": "https://file.aiquickdraw.com/custom-page/akr/section-images/1758796480945qb63zxq8.webp",
                "duration": "5",
                "resolution": "1080p",
                "negative_prompt": "Enter your prompt here...",
                "enable_prompt_expansion": True,
                "seed": 123456,
                "nsfw_checker": False,
            },
        },
    ),
)


@hookimpl
def kieframe_models() -> list[ModelSpec[WanImageToVideoInput]]:
    """Provide the Wan 2.5 image-to-video model."""
    return [SPEC]

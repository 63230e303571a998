"""kieframe plugin: MiniMax Hailuo 02 image-to-video Pro (``hailuo/02-image-to-video-pro``).

Limits from https://docs.kie.ai/market/hailuo/02-image-to-video-pro (the model's kie.ai page, August
2026).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from kieframe.authoring import ImageUrl, ModelSpec, OptionalImageUrl, hookimpl

__all__ = ["SPEC", "HailuoImageToVideoProInput", "kieframe_models"]

MODEL_ID = "hailuo/02-image-to-video-pro"


_NSFW_CHECKER = "filter unsafe content; unset (kie.ai's default, off) is not sent"


class HailuoImageToVideoProInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Input of Hailuo 02 image-to-video Pro: animate an image, optionally towards a last frame."""

    prompt: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=1500, description="the text prompt describing the animation"
        ),
    ]
    image_url: ImageUrl
    end_image_url: OptionalImageUrl = ""
    prompt_optimizer: bool = True
    # Not on the model's kie.ai page (only in kie.ai's newer catalogue): sent only when set, so
    # that a server that knows the page's fields alone accepts the create. Unset is kie.ai's off.
    nsfw_checker: Annotated[bool, msgspec.Meta(description=_NSFW_CHECKER)] | None = None


_EXAMPLE_PROMPT = (
    "Cinematic wide shot: A colossal starship drifts silently above the rings of Saturn, its "
    "metallic hull reflecting streaks of cosmic light. The camera pushes closer, revealing "
    "thousands of illuminated windows like a floating city. Smaller fighter crafts dart across the "
    "frame, leaving neon trails as they maneuver through the vastness of space. A sudden burst of "
    "thrusters scatters asteroid fragments in slow motion, glowing faintly as they collide and "
    "drift apart."
)

SPEC = ModelSpec(
    id=MODEL_ID,
    input_type=HailuoImageToVideoProInput,
    title="Hailuo 02 Image to Video Pro",
    docs_url="https://docs.kie.ai/market/hailuo/02-image-to-video-pro",
    summary="MiniMax Hailuo 02 Pro: animate an image, optionally ending on a given last frame.",
    output="video",
    typical_seconds=240.0,
    deadline=900.0,
    tags=("image-to-video", "video"),
    examples=(
        {
            "model": MODEL_ID,
            "input": {
                "prompt": _EXAMPLE_PROMPT,
                "image_url": "https://file.aiquickdraw.com/custom-page/akr/section-images/17585210783150ispzfo7.png",
                "end_image_url": "",
                "prompt_optimizer": True,
            },
        },
    ),
)


@hookimpl
def kieframe_models() -> list[ModelSpec[HailuoImageToVideoProInput]]:
    """Provide the Hailuo 02 image-to-video Pro model."""
    return [SPEC]

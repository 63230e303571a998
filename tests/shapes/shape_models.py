"""Test plugins that use every input shape kie.ai documents, written with public names only.

- ``test/shots``: a long prompt or a list of shots (objects with their own limits), image URLs in
  a list, an optional video, float ranges (inclusive and exclusive) with a decimal step, an integer
  enum, digit strings, a nullable seed; a prompt *or* shots, not both. Returns one video.
- ``test/voice``: an audio file in, a stepped speed, a voice enum, an ``asset://`` or https
  reference audio. Returns audio.
- ``test/collage``: built at run time with :func:`media_list` (as a schema compiler would), an
  image count that depends on the mode, a value allowed only with another, a field that needs
  another. Returns several images.
- ``test/caption``: a video in, a text answer out (``resultObject``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from kieframe.authoring import (
    ImageUrl,
    ModelSpec,
    OptionalImageUrl,
    OptionalVideoUrl,
    count_range,
    hookimpl,
    media,
    media_list,
    media_meta,
    mutually_exclusive,
    number_meta,
    one_of_required,
    only_with,
    requires,
)

__all__ = ["CAPTION", "COLLAGE", "SHOTS", "SPECS", "VOICE", "kieframe_models"]


class Shot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One shot of a multi-shot video."""

    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    duration: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5
    camera: Literal["static", "pan", "zoom"] = "static"
    first_frame: OptionalImageUrl = ""


class ShotsInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Text and images to a video, in one prompt or several shots."""

    prompt: Annotated[str, msgspec.Meta(max_length=20000)] = ""
    multi_prompt: Annotated[list[Shot], msgspec.Meta(max_length=4)] = []
    image_urls: Annotated[list[ImageUrl], msgspec.Meta(max_length=3)] = []
    reference_video_url: OptionalVideoUrl = ""
    cfg_scale: Annotated[float, number_meta(ge=0, le=1, step=0.1)] = 0.5
    guidance: Annotated[float, msgspec.Meta(gt=0, lt=20)] = 7.5
    frames: Literal[24, 48, 96] = 24
    duration: Literal["5", "10"] = "5"
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    nsfw_checker: bool = False


SHOTS = ModelSpec(
    id="test/shots",
    input_type=ShotsInput,
    title="Test Shots",
    docs_url="https://example.com/shots",
    output="video",
    rules=(mutually_exclusive("prompt", "multi_prompt"), one_of_required("prompt", "multi_prompt")),
    examples=(
        {
            "model": "test/shots",
            "input": {"prompt": "a cat", "image_urls": ["https://example.com/cat.png"]},
        },
    ),
)


class VoiceInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A voice clip restyled."""

    audio_url: Annotated[str, media_meta("audio", max_bytes=5 << 20)]
    reference_audio_url: Annotated[
        str, media_meta("audio", optional=True, schemes=("https", "asset"))
    ] = ""
    voice: Literal["alloy", "verse", "sage"] = "alloy"
    speed: Annotated[float, number_meta(ge=0.5, le=2.0, step=0.25)] = 1.0


VOICE = ModelSpec(
    id="test/voice",
    input_type=VoiceInput,
    title="Test Voice",
    docs_url="https://example.com/voice",
    output="audio",
)

# Built at run time, as a compiler of kie.ai's JSON Schemas builds its Structs.
CollageInput = msgspec.defstruct(
    "CollageInput",
    [
        ("image_urls", media_list("image", min_items=1, max_items=5)),
        ("mode", Literal["single", "blend"], "single"),
        ("resolution", Literal["1k", "2k", "4k"], "1k"),
        ("mask_url", media("image", optional=True, schemes=("https", "oss")), ""),
        ("invert_mask", bool | None, None),
        ("count", Annotated[int, msgspec.Meta(ge=1, le=4, multiple_of=1)], 1),
    ],
    frozen=True,
    forbid_unknown_fields=True,
)

COLLAGE = ModelSpec(
    id="test/collage",
    input_type=CollageInput,
    title="Test Collage",
    docs_url="https://example.com/collage",
    output="image",
    outputs="many",
    rules=(
        count_range("image_urls", by="mode", ranges={"single": (1, 1), "blend": (2, 5)}),
        only_with("resolution", {"4k"}, other="mode", other_values={"single"}),
        requires("invert_mask", "mask_url"),
    ),
)


class CaptionInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A video described in words."""

    video_url: Annotated[str, media_meta("video", max_bytes=50 << 20)]
    language: Literal["en", "fr", "de"] = "en"


CAPTION = ModelSpec(
    id="test/caption",
    input_type=CaptionInput,
    title="Test Caption",
    docs_url="https://example.com/caption",
    output="text",
)

SPECS: tuple[ModelSpec[Any], ...] = (SHOTS, VOICE, COLLAGE, CAPTION)


@hookimpl
def kieframe_models() -> list[ModelSpec[Any]]:
    """Provide the test models."""
    return list(SPECS)

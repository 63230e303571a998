"""The reviewed table of what kie.ai's docs say only in prose, and how examples are handled.

Every entry was decided by reading the model's docs text (the ``description`` of each property in
the catalogue dump), not by a pattern match. ``source`` says what the docs state, in our words.
The compiler applies a :class:`Limit` as JSON-Schema keywords merged over the property.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kieframe.authoring import (
    OutputKind,
    Problem,
    Rule,
    count_range,
    is_set,
    mutually_exclusive,
    one_of_required,
    only_with,
    requires,
    value_at,
)

__all__ = [
    "EXAMPLES",
    "LIMITS",
    "MANY",
    "MEDIA_LIMITS",
    "OUTPUTS",
    "RULES",
    "RULE_NOTES",
    "ExampleDecision",
    "Limit",
    "limits_for",
    "markdown",
]


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit kie.ai states only in prose, as JSON-Schema keywords for one property."""

    model: str
    field: str
    patch: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class ExampleDecision:
    """How the project treats a documented example that is broken or contradicts its schema.

    ``follows`` is ``"schema"`` (the example's fields in ``corrected`` are replaced so that it fits
    the schema), ``"example"`` (a :class:`Limit` widens the schema so that the example is kept as
    documented) or ``"repaired"`` (a mechanical slip, undone when the data file is generated).
    """

    model: str
    follows: Literal["schema", "example", "repaired"]
    reason: str
    corrected: Mapping[str, Any] = field(default_factory=dict)


_SEEDANCE_2_DURATION = "the docs give the video length as 4 to 15 seconds"

LIMITS: tuple[Limit, ...] = (
    # -- durations and seeds given only in words --------------------------------------------
    Limit(
        "bytedance/seedance-1.5-pro",
        "duration",
        {"minimum": 4, "maximum": 12},
        "the duration may range from 4 to 12 seconds",
    ),
    Limit("bytedance/seedance-2", "duration", {"minimum": 4, "maximum": 15}, _SEEDANCE_2_DURATION),
    Limit(
        "bytedance/seedance-2-fast", "duration", {"minimum": 4, "maximum": 15}, _SEEDANCE_2_DURATION
    ),
    Limit(
        "bytedance/seedance-2-mini", "duration", {"minimum": 4, "maximum": 15}, _SEEDANCE_2_DURATION
    ),
    Limit(
        "bytedance/seedance-2-5",
        "duration",
        {"enum": [-1, *range(4, 31)]},
        "the docs give the video length as 4 to 30 seconds, or -1 for the model to choose",
    ),
    Limit(
        "kling/v3-turbo-image-to-video",
        "duration",
        {"pattern": r"^(?:[3-9]|1[0-5])$"},
        "the length is 3 to 15 seconds, sent as a digit string",
    ),
    Limit(
        "kling/v3-turbo-text-to-video",
        "duration",
        {"pattern": r"^(?:[3-9]|1[0-5])$"},
        "the length is 3 to 15 seconds, sent as a digit string",
    ),
    Limit(
        "infinitalk/from-audio",
        "seed",
        {"minimum": 10000, "maximum": 1000000},
        "seeds are accepted from 10,000 to 1,000,000",
    ),
    Limit(
        "gemini-omni-video",
        "seed",
        {"minimum": 0, "maximum": 2147483647},
        "the seed range is 0 to 2^31 - 1",
    ),
    Limit(
        "grok-imagine/text-to-video",
        "duration",
        {"minimum": 6, "maximum": 30, "multipleOf": 1},
        "the length is 6 to 30 seconds in whole steps",
    ),
    Limit(
        "grok-imagine/image-to-video",
        "duration",
        {"pattern": r"^(?:[6-9]|[12][0-9]|30)$"},
        "the length is 6 to 30 seconds in whole steps, sent as a digit string",
    ),
    # -- prompt lengths ---------------------------------------------------------------------
    Limit(
        "flux-2/flex-image-to-image",
        "prompt",
        {"minLength": 3},
        "prompts must be 3 to 5000 characters",
    ),
    Limit(
        "flux-2/flex-text-to-image",
        "prompt",
        {"minLength": 3},
        "prompts must be 3 to 5000 characters",
    ),
    Limit(
        "flux-2/pro-image-to-image",
        "prompt",
        {"minLength": 3},
        "prompts must be 3 to 5000 characters",
    ),
    Limit(
        "flux-2/pro-text-to-image",
        "prompt",
        {"minLength": 3},
        "prompts must be 3 to 5000 characters",
    ),
    Limit(
        "gpt-image-2-image-to-image",
        "prompt",
        {"maxLength": 20000},
        "prompts may be up to 20,000 characters",
    ),
    Limit(
        "grok-imagine/image-to-video",
        "prompt",
        {"maxLength": 5000},
        "prompts may be up to 5000 characters",
    ),
    Limit(
        "grok-imagine/text-to-image",
        "prompt",
        {"maxLength": 5000},
        "prompts may be up to 5000 characters",
    ),
    Limit(
        "grok-imagine/text-to-video",
        "prompt",
        {"maxLength": 5000},
        "prompts may be up to 5000 characters",
    ),
    *(
        Limit(model, "prompt", {"minLength": 2}, "prompts have at least 2 characters")
        for model in (
            "wan/2-6-flash-image-to-video",
            "wan/2-6-flash-video-to-video",
            "wan/2-6-image-to-video",
            "wan/2-6-video-to-video",
        )
    ),
    Limit(
        "kling-3.0/motion-control",
        "prompt",
        {"maxLength": 2500},
        "the optional prompt may be empty or up to 2500 characters",
    ),
    Limit(
        "elevenlabs/text-to-dialogue-v3",
        "dialogue[].text",
        {"maxLength": 5000},
        "all dialogue text together may not pass 5000 characters, so neither may one line",
    ),
    # -- item counts ------------------------------------------------------------------------
    Limit("gemini-omni-video", "image_urls", {"maxItems": 7}, "at most 7 reference images"),
    Limit("gemini-omni-video", "audio_ids", {"maxItems": 3}, "at most 3 audio ids"),
    Limit(
        "gemini-omni-video",
        "character_ids",
        {"maxItems": 7},
        "each character takes one of 7 image slots (3 when a video is given)",
    ),
    Limit("gemini-omni-video", "video_list", {"maxItems": 1}, "at most one video clip"),
    Limit("kling-3.0-omni/text-to-video", "elements", {"maxItems": 7}, "at most 7 subjects"),
    Limit("kling-3.0-omni/transformation", "elements", {"maxItems": 7}, "at most 7 subjects"),
    Limit("kling-3.0/video", "multi_prompt", {"maxItems": 5}, "at most 5 shots"),
    Limit(
        "kling-3.0/video",
        "image_urls",
        {"maxItems": 2},
        "a first frame and optionally a last frame (only the first with multi_shots)",
    ),
    Limit(
        "kling-3.0/video",
        "multi_prompt[].duration",
        {"minimum": 1, "maximum": 12},
        "each shot lasts 1 to 12 seconds",
    ),
    Limit(
        "kling-3.0/video",
        "kling_elements[].element_input_urls",
        {
            "minItems": 1,
            "maxItems": 4,
            "x-media": {
                "kind": "image",
                "types": ["image/jpeg", "image/png", "video/mp4", "video/quicktime"],
                "max_bytes": 10 << 20,
            },
        },
        "an element takes 2 to 4 JPG or PNG images, or (as the example shows) one video; "
        "both file kinds are accepted, and a rule checks the count by kind",
    ),
    Limit("pixverse-v6/image-to-video", "image_urls", {"maxItems": 2}, "at most 2 images"),
    Limit(
        "wan/2-7-image",
        "n",
        {"minimum": 1, "maximum": 12},
        "1 to 4 images, or up to 12 in sequential mode",
    ),
    Limit(
        "wan/2-7-image-pro",
        "n",
        {"minimum": 1, "maximum": 12},
        "1 to 4 images, or up to 12 in sequential mode",
    ),
    Limit(
        "grok-imagine/image-to-image",
        "image_urls",
        {"maxItems": 1},
        "the text says one reference image although the schema allows 5; the stricter wins",
    ),
    Limit(
        "wan/2-7-videoedit",
        "reference_image",
        {
            "x-media": {
                "kind": "image",
                "types": ["image/jpeg", "image/png", "image/bmp", "image/webp"],
            }
        },
        "the reference image may be JPEG, PNG (without alpha), BMP or WEBP",
    ),
    # -- the example and the prose agree against the schema ---------------------------------
    Limit(
        "elevenlabs/text-to-speech-multilingual-v2",
        "voice",
        {"enum": None, "minLength": 1, "maxLength": 100},
        "a voice is a preset name (such as Rachel) or a voice id; the list is not exhaustive",
    ),
    Limit(
        "elevenlabs/text-to-speech-turbo-2-5",
        "voice",
        {"enum": None, "minLength": 1, "maxLength": 100},
        "a voice is a preset name (such as Rachel) or a voice id; the list is not exhaustive",
    ),
    Limit(
        "bytedance/seedance-2-mini",
        "return_last_frame",
        {"type": "boolean"},
        "the documented example sends this flag, which the other Seedance 2 models list",
    ),
    Limit(
        "wan/2-6-text-to-video",
        "nsfw_checker",
        {"type": "boolean"},
        "the documented example sends this flag, which the other Wan 2.6 models list",
    ),
    # -- required flags that contradict a conditional rule (see RULES) ------------------------
    Limit(
        "kling-3.0/video",
        "prompt",
        {"x-required": False},
        "the prompt counts only in single-shot mode; shots carry their own prompts",
    ),
    Limit(
        "kling-3.0/video",
        "multi_prompt",
        {"x-required": False},
        "shot prompts count only when multi_shots is true",
    ),
    Limit(
        "pixverse-v6/image-to-video",
        "duration",
        {"default": None, "x-required": False},
        "duration is required unless a template fixes it, and may not be sent with one",
    ),
    Limit(
        "kling-3.0-omni/reference-to-video",
        "aspect_ratio",
        {"enum": ["16:9", "9:16", "1:1", "auto"], "default": None},
        "'auto' is the only ratio with video input only, which the merged variants lost; a rule "
        "says when each applies",
    ),
    Limit(
        "kling-3.0-omni/transformation",
        "aspect_ratio",
        {"default": None},
        "the default is 'auto' with video input only and 16:9 with images; kie picks it",
    ),
)


def _media(model: str, path: str, source: str, **bounds: float) -> Limit:
    """A limit on the files a media field takes: pixel size, aspect ratio, pixels, duration."""
    return Limit(model, path, {"x-media": bounds}, source)


_SEEDANCE_IMAGE = {"min_width": 300, "max_width": 6000, "min_height": 300, "max_height": 6000}
_SEEDANCE_IMAGE_TEXT = "images 300 to 6000 px a side, width/height 0.4 to 2.5"
_SEEDANCE_VIDEO = {**_SEEDANCE_IMAGE, "min_pixels": 409_600, "max_pixels": 927_408}
_SEEDANCE_VIDEO_TEXT = (
    "videos 300 to 6000 px a side, 409,600 to 927,408 pixels, width/height 0.4 to 2.5"
)
_ASPECT_04_25 = {"min_aspect": 0.4, "max_aspect": 2.5}
_AT_LEAST_300 = {"min_width": 300, "min_height": 300, **_ASPECT_04_25}
_KLING_OMNI_VIDEO = {
    "min_width": 700,
    "max_width": 4553,
    "min_height": 700,
    "max_height": 4553,
    "max_pixels": 8_294_400,
    "min_aspect": 0.4,
    "max_aspect": 2.0,
    "min_duration": 3,
    "max_duration": 15.5,
}
_KLING_OMNI_VIDEO_TEXT = (
    "a video of 3 to 15.5 s, 700 to 4553 px a side, at most 8,294,400 pixels, width/height 0.4 to 2"
)
_MINIMAX_SIDES = {"min_width": 256, "max_width": 5760, "min_height": 256, "max_height": 5760}
_MINIMAX_TEXT = "256 to 5760 px a side, width/height 0.4 to 2.5"
_ELEMENT_AUDIO = "an element's reference audio lasts 5 to 30 s"

#: What the docs state about the files a media field takes, beyond type and size. Checked for
#: local files whose header states them (never for URLs).
MEDIA_LIMITS: tuple[Limit, ...] = (
    *(
        limit
        for model, most in (
            ("bytedance/seedance-2", 15),
            ("bytedance/seedance-2-fast", 15),
            ("bytedance/seedance-2-mini", 15),
            ("bytedance/seedance-2-5", 30),
        )
        for limit in (
            _media(
                model,
                "reference_image_urls",
                _SEEDANCE_IMAGE_TEXT,
                **_SEEDANCE_IMAGE,
                **_ASPECT_04_25,
            ),
            _media(
                model,
                "reference_video_urls",
                f"{_SEEDANCE_VIDEO_TEXT}, 2 to {most} s each",
                **_SEEDANCE_VIDEO,
                **_ASPECT_04_25,
                min_duration=2,
                max_duration=most,
            ),
            _media(
                model,
                "reference_audio_urls",
                f"each audio lasts 2 to {most} s",
                min_duration=2,
                max_duration=most,
            ),
        )
    ),
    _media(
        "happyhorse-1-1/image-to-video",
        "image_urls",
        "at least 300 px a side, width/height 1:2.5 to 2.5:1",
        **_AT_LEAST_300,
    ),
    _media(
        "happyhorse-1-1/reference-to-video",
        "reference_image",
        "the shorter side at least 400 px",
        min_width=400,
        min_height=400,
    ),
    _media(
        "happyhorse/image-to-video",
        "image_urls",
        "at least 300 px a side, width/height 1:2.5 to 2.5:1",
        **_AT_LEAST_300,
    ),
    _media(
        "happyhorse/reference-to-video",
        "reference_image",
        "the shorter side at least 400 px",
        min_width=400,
        min_height=400,
    ),
    _media(
        "happyhorse/video-edit",
        "video_url",
        "3 to 60 s, sides 320 to 2160 px, width/height 1:2.5 to 2.5:1",
        min_width=320,
        max_width=2160,
        min_height=320,
        max_height=2160,
        **_ASPECT_04_25,
        min_duration=3,
        max_duration=60,
    ),
    _media(
        "happyhorse/video-edit",
        "reference_image",
        "at least 300 px a side, width/height 1:2.5 to 2.5:1",
        **_AT_LEAST_300,
    ),
    _media(
        "kling-2.6/motion-control",
        "input_urls",
        "more than 300 px, width/height 2:5 to 5:2",
        **_AT_LEAST_300,
    ),
    _media(
        "kling-2.6/motion-control",
        "video_urls",
        "the video lasts 3 to 30 s",
        min_duration=3,
        max_duration=30,
    ),
    *(
        _media(
            model, "image_urls", "at least 300 px a side, width/height 0.4 to 2.5", **_AT_LEAST_300
        )
        for model in (
            "kling-3.0-omni/image-to-video",
            "kling-3.0-omni/reference-to-video",
            "kling-3.0-omni/transformation",
        )
    ),
    *(
        _media(model, "video_urls", _KLING_OMNI_VIDEO_TEXT, **_KLING_OMNI_VIDEO)
        for model in ("kling-3.0-omni/reference-to-video", "kling-3.0-omni/transformation")
    ),
    *(
        _media(model, path, _ELEMENT_AUDIO, min_duration=5, max_duration=30)
        for model, path in (
            ("kling-3.0/video", "kling_elements[].element_input_audio_urls"),
            ("kling-3.0-omni/text-to-video", "elements[].element_input_audio_urls"),
            ("kling-3.0-omni/image-to-video", "elements[].element_input_audio_urls"),
            ("kling-3.0-omni/reference-to-video", "elements[].element_input_audio_urls"),
        )
    ),
    *(
        _media(model, "audio_url", "the audio lasts at most 5 minutes", max_duration=300)
        for model in ("kling/ai-avatar-pro", "kling/ai-avatar-standard")
    ),
    _media(
        "minimax-h3/image-to-video",
        "first_frame_url",
        _MINIMAX_TEXT,
        **_MINIMAX_SIDES,
        **_ASPECT_04_25,
    ),
    _media(
        "minimax-h3/reference-to-video",
        "reference_image_urls",
        _MINIMAX_TEXT,
        **_MINIMAX_SIDES,
        **_ASPECT_04_25,
    ),
    _media(
        "minimax-h3/reference-to-video",
        "reference_video_urls",
        f"{_MINIMAX_TEXT}, 2 to 15 s each",
        **_MINIMAX_SIDES,
        **_ASPECT_04_25,
        min_duration=2,
        max_duration=15,
    ),
    _media(
        "minimax-h3/reference-to-video",
        "reference_audio_urls",
        "each audio lasts 2 to 15 s",
        min_duration=2,
        max_duration=15,
    ),
    _media("omnihuman-1-5", "audio_url", "the audio lasts under 60 s", max_duration=60),
    _media(
        "omnihuman-1-5/human-identification",
        "image_url",
        "at most 4096x4096 px",
        max_width=4096,
        max_height=4096,
    ),
    _media(
        "recraft/remove-background",
        "image",
        "256 to 4096 px a side, at most 16 megapixels",
        min_width=256,
        max_width=4096,
        min_height=256,
        max_height=4096,
        max_pixels=16_000_000,
    ),
    _media(
        "seedream/5-pro-layer-decomposition",
        "image_url",
        "262,144 to 36,000,000 pixels, width/height 1:16 to 16:1",
        min_pixels=262_144,
        max_pixels=36_000_000,
        min_aspect=1 / 16,
        max_aspect=16,
    ),
    _media(
        "volcengine/video-to-video-lip-sync",
        "video_url",
        "360p or more (larger videos are scaled down by kie)",
        min_width=360,
        min_height=360,
    ),
    *(
        _media(
            model, "image_urls", "every image at least 256x256 px", min_width=256, min_height=256
        )
        for model in ("wan/2-6-flash-image-to-video", "wan/2-6-image-to-video")
    ),
    _media(
        "wan/2-7-videoedit",
        "video_url",
        "2 to 10 s, 240 to 4096 px a side, width/height 1:8 to 8:1",
        min_width=240,
        max_width=4096,
        min_height=240,
        max_height=4096,
        min_aspect=1 / 8,
        max_aspect=8,
        min_duration=2,
        max_duration=10,
    ),
    _media(
        "wan/2-7-videoedit",
        "reference_image",
        "240 to 8000 px a side, width/height 1:8 to 8:1",
        min_width=240,
        max_width=8000,
        min_height=240,
        max_height=8000,
        min_aspect=1 / 8,
        max_aspect=8,
    ),
    _media(
        "wan/2-7-r2v",
        "reference_voice",
        "the voice sample lasts 1 to 10 s",
        min_duration=1,
        max_duration=10,
    ),
    _media(
        "gemini-omni-video",
        "video_list[].url",
        "a source video lasts at most 30 s",
        max_duration=30,
    ),
)

_QWEN_SAMPLE_IMAGE = (
    "https://file.aiquickdraw.com/custom-page/akr/section-images/1755603225969i6j87xnw.jpg"
)

EXAMPLES: tuple[ExampleDecision, ...] = (
    ExampleDecision(
        "bytedance/seedance-2-5",
        "repaired",
        "the documented example is not JSON (a trailing comma); it is read with the comma removed",
    ),
    ExampleDecision(
        "elevenlabs/text-to-speech-multilingual-v2",
        "example",
        "the example's voice 'Rachel' is outside the schema's enum, but the text says preset "
        "names are accepted; the enum is dropped",
    ),
    ExampleDecision(
        "elevenlabs/text-to-speech-turbo-2-5",
        "example",
        "the example's voice 'Rachel' is outside the schema's enum, but the text says preset "
        "names are accepted; the enum is dropped",
    ),
    ExampleDecision(
        "bytedance/seedance-2-mini",
        "example",
        "the example sends return_last_frame, missing from this page's schema; it is added",
    ),
    ExampleDecision(
        "wan/2-6-text-to-video",
        "example",
        "the example sends nsfw_checker, missing from this page's schema; it is added",
    ),
    ExampleDecision(
        "happyhorse/video-edit",
        "repaired",
        "the example names 'reference_image ' with a trailing space; kie's field is the trimmed "
        "name",
    ),
    ExampleDecision(
        "grok-imagine/text-to-video",
        "schema",
        'the example sends duration as the string "6" but the schema says number; kie checks '
        "types, so the number 6 is sent",
        {"duration": 6},
    ),
    ExampleDecision(
        "grok-imagine/extend",
        "schema",
        'the example sends extend_times as the string "6" but the schema says number',
        {"extend_times": 6},
    ),
    ExampleDecision(
        "qwen/image-to-image",
        "schema",
        "the example leaves the required image_url empty, which kie refuses; a sample image "
        "from the Qwen docs is filled in",
        {"image_url": _QWEN_SAMPLE_IMAGE},
    ),
    ExampleDecision(
        "grok-imagine/image-to-video",
        "example",
        "the text says not to send image_urls with task_id, but the example sends both and the "
        "text on index says image_urls then wins; both are accepted",
    ),
    ExampleDecision(
        "kling-3.0/video",
        "example",
        "the text asks 2 to 4 images per element, but the example gives an element one video; "
        "both are accepted",
    ),
)

#: Models whose result is not what their category suggests: (output kind, reason).
OUTPUTS: Mapping[str, tuple[OutputKind, str]] = {
    "omnihuman-1-5/human-identification": ("text", "it reports where people are in an image"),
    "omnihuman-1-5/subject-detection": ("text", "it reports the subjects found in an image"),
}


def limits_for(model_id: str) -> dict[str, dict[str, Any]]:
    """The patches for one model, by property path."""
    found: dict[str, dict[str, Any]] = {}
    for limit in (*LIMITS, *MEDIA_LIMITS):
        if limit.model != model_id:
            continue
        patch = found.setdefault(limit.field, {})
        media = {**patch.get("x-media", {}), **limit.patch.get("x-media", {})}
        patch.update(limit.patch)
        if media:
            patch["x-media"] = media
    return found


#: Models whose task may give several result files: why.
MANY: Mapping[str, str] = {
    "bytedance/seedream-v4-edit": "max_images asks for up to 6 images",
    "bytedance/seedream-v4-text-to-image": "max_images asks for up to 6 images",
    "ideogram/character": "num_images asks for up to 4 images",
    "ideogram/character-edit": "num_images asks for up to 4 images",
    "ideogram/character-remix": "num_images asks for up to 4 images",
    "ideogram/v3-remix": "num_images asks for up to 4 images",
    "qwen/image-edit": "num_images asks for up to 4 images",
    "wan/2-7-image": "n asks for up to 12 images",
    "wan/2-7-image-pro": "n asks for up to 12 images",
    "seedream/5-pro-layer-decomposition": "an image is split into several layer images",
}


# -- cross-field rules stated in prose ----------------------------------------------------------


def _both_true(first: str, second: str) -> Rule:
    """Two flags may not both be true (both false is allowed)."""

    def rule(value: Any) -> Iterator[Problem]:
        if value_at(value, first) is True and value_at(value, second) is True:
            yield Problem(second, f"cannot be true together with {first!r}", "not both true")

    return rule


def _range_by(path: str, *, by: str, ranges: Mapping[Any, tuple[int, int]]) -> Rule:
    """A number's range depends on another field's value."""

    def rule(value: Any) -> Iterator[Problem]:
        key = value_at(value, by)
        number = value_at(value, path)
        if key in ranges and isinstance(number, int):
            low, high = ranges[key]
            if not low <= number <= high:
                yield Problem(
                    path, f"{number} is out of range", f"{low} to {high} when {by!r} is {key!r}"
                )

    return rule


def _only_when(path: str, *, other: str, equals: Any) -> Rule:
    """``path`` may be set only while ``other`` equals ``equals``."""

    def rule(value: Any) -> Iterator[Problem]:
        if is_set(value_at(value, path)) and value_at(value, other) != equals:
            yield Problem(
                path,
                f"is set while {other!r} is not {equals!r}",
                f"only when {other!r} is {equals!r}",
            )

    return rule


def _total_items(*paths: str, most: int) -> Rule:
    """Several lists together hold at most ``most`` items."""

    def rule(value: Any) -> Iterator[Problem]:
        total = sum(len(value_at(value, path) or ()) for path in paths)
        if total > most:
            yield Problem(
                paths[0], f"has {total} items with {', '.join(paths[1:])}", f"at most {most} in all"
            )

    return rule


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic")
_VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv")
_ELEMENT_FILES = "2 to 4 images, or exactly one video"


def _url_kind(url: Any) -> str | None:
    """``"image"`` or ``"video"`` when a URL's path ends in a known suffix, else None (unknown)."""
    if not isinstance(url, str):
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith(_IMAGE_SUFFIXES):
        return "image"
    if path.endswith(_VIDEO_SUFFIXES):
        return "video"
    return None


def _subject(element: Any) -> str | None:
    """What a subject (an element) is: ``"images"``, ``"video"``, or None when it cannot be told.

    Several URLs make a multi-image subject; one URL is a video character subject if it names a
    video file. Local files (validated as a placeholder URL) and URLs without a file suffix are
    unknown, so they are never counted against a limit.
    """
    urls: list[Any] = value_at(element, "element_input_urls") or []
    if len(urls) >= 2:
        return "images"
    if len(urls) == 1:
        kind = _url_kind(urls[0])
        return {"image": "images", "video": "video"}.get(kind or "")
    return None


def _element_files(path: str) -> Rule:
    """Each element of the list at ``path`` takes 2 to 4 images or one video, never both."""

    def rule(value: Any) -> Iterator[Problem]:
        for index, element in enumerate(value_at(value, path) or ()):
            urls = value_at(element, "element_input_urls") or ()
            kinds = [_url_kind(url) for url in urls]
            where = f"{path}[{index}].element_input_urls"
            if len(urls) >= 2 and "video" in kinds:
                yield Problem(where, "mixes a video with other files", _ELEMENT_FILES)
            elif len(urls) == 1 and kinds == ["image"]:
                yield Problem(where, "has one image", _ELEMENT_FILES)

    return rule


def _trim_windows(
    path: str, *, start: str, end: str, low: float, high: float, defaults: tuple[float, float]
) -> Rule:
    """Each item of the list at ``path`` cuts ``end - start`` within ``low`` to ``high``.

    ``defaults`` stand for a start or end left out (kie.ai's documented ones).
    """

    def rule(value: Any) -> Iterator[Problem]:
        for index, item in enumerate(value_at(value, path) or ()):
            first, last = value_at(item, start), value_at(item, end)
            if first is None and last is None:
                continue
            first = defaults[0] if first is None else first
            last = defaults[1] if last is None else last
            if not low <= last - first <= high or last <= first:
                yield Problem(
                    f"{path}[{index}].{end}",
                    f"is {last:g} with {start} {first:g}",
                    f"{end} after {start}, {low:g} to {high:g} apart",
                )

    return rule


def _subject_counts(*, images: str | None = None, video: str | None = None) -> Rule:
    """Kling 3.0 Omni's joint limits on its subjects, reference images and reference video.

    Without a reference video: at most 3 video subjects; multi-image subjects (with the reference
    images, where the model takes them) at most 7, or 4 beside video subjects. With one: at most
    one video subject, which goes with neither multi-image subjects nor reference images, and
    multi-image subjects with the reference images at most 4.
    """

    def rule(value: Any) -> Iterator[Problem]:
        kinds = [_subject(element) for element in value_at(value, "elements") or ()]
        videos, multi = kinds.count("video"), kinds.count("images")
        pictures = len(value_at(value, images) or ()) if images else 0
        with_video = bool(video and value_at(value, video))
        counted = "multi-image subjects" + (f" with {images}" if images else "")
        if with_video and videos and (multi or pictures):
            yield Problem(
                "elements",
                f"has a video subject with {counted}",
                "with a reference video, a video subject goes alone",
            )
        elif videos > (1 if with_video else 3):
            yield Problem(
                "elements",
                f"has {videos} video subjects",
                f"at most {1 if with_video else 3}"
                + (" with a reference video" if with_video else ""),
            )
        most = 4 if with_video or videos else 7
        if multi + pictures > most:
            yield Problem("elements", f"has {multi + pictures} {counted}", f"at most {most} in all")

    return rule


def _at_most_with(path: str, *, most: int, other: str) -> Rule:
    """The list at ``path`` holds at most ``most`` items while ``other`` is set."""

    def rule(value: Any) -> Iterator[Problem]:
        items = value_at(value, path) or ()
        if is_set(value_at(value, other)) and len(items) > most:
            yield Problem(path, f"has {len(items)} items", f"at most {most} with {other}")

    return rule


def _auto_aspect(*, video: str, images: str) -> Rule:
    """``aspect_ratio`` is ``"auto"`` exactly when ``video`` is given without ``images``.

    Left out, kie.ai picks the variant's default (``auto`` with video input only).
    """

    def rule(value: Any) -> Iterator[Problem]:
        video_only = is_set(value_at(value, video)) and not is_set(value_at(value, images))
        ratio = value_at(value, "aspect_ratio")
        if ratio is not None and video_only != (ratio == "auto"):
            yield Problem(
                "aspect_ratio",
                f"is {ratio!r}" + (" with video input only" if video_only else ""),
                f"'auto' exactly when {video} is given without {images}",
            )

    return rule


_OMNI_ELEMENTS = (_element_files("elements"), _subject_counts())
_OMNI_TRIM = _trim_windows(
    "elements", start="start_time", end="end_time", low=3000, high=8000, defaults=(0, 8000)
)

_GPT_RATIOS = (
    *("1:1", "3:2", "2:3", "4:3", "3:4", "5:4", "4:5", "16:9", "9:16", "2:1", "1:2"),
    *("3:1", "1:3", "21:9", "9:21"),
)
_GPT_1K_TEXT_RATIOS = ("5:4", "4:5", "3:1", "1:3", "9:21")
_GPT_IMAGE_2 = (
    only_with("aspect_ratio", ("1:1",), other="resolution", other_values=("1K", "2K", None)),
    only_with("resolution", ("2K", "4K"), other="aspect_ratio", other_values=_GPT_RATIOS),
)
_ONE_IMAGE_AT_1080P = count_range("image_urls", by="resolution", ranges={"1080p": (0, 1)})
_HAILUO_10S = only_with("duration", ("10",), other="resolution", other_values=("768P",))
_SEEDANCE_2_5_FRAMES = tuple(
    mutually_exclusive("first_frame_url", refs)
    for refs in ("reference_image_urls", "reference_video_urls", "reference_audio_urls")
)
_WAN_27_IMAGE = (
    _range_by("n", by="enable_sequential", ranges={False: (1, 4), True: (1, 12)}),
    _only_when("color_palette", other="enable_sequential", equals=False),
)

#: Cross-field rules the docs state in prose, by model. They see the input with kie's documented
#: defaults filled in where a field is unset (kie applies them), so ``when=False`` of a flag that
#: defaults to false also holds when the flag is left out.
RULES: Mapping[str, tuple[Rule, ...]] = {
    "bytedance/seedance-2-5": (
        *_SEEDANCE_2_5_FRAMES,
        requires("last_frame_url", "first_frame_url"),
    ),
    "gpt-image-2-text-to-image": (
        only_with(
            "aspect_ratio", _GPT_1K_TEXT_RATIOS, other="resolution", other_values=("1K", None)
        ),
        *_GPT_IMAGE_2,
    ),
    "gpt-image-2-image-to-image": (
        only_with("aspect_ratio", ("5:4", "4:5"), other="resolution", other_values=("1K", None)),
        *_GPT_IMAGE_2,
    ),
    "grok-imagine/image-to-video": (_ONE_IMAGE_AT_1080P,),
    "grok-imagine-video-1-5-preview": (_ONE_IMAGE_AT_1080P,),
    "hailuo/2-3-image-to-video-pro": (_HAILUO_10S,),
    "hailuo/2-3-image-to-video-standard": (_HAILUO_10S,),
    "grok-imagine-image-2-0/segment-map": (
        one_of_required("task_id", "image_url"),
        mutually_exclusive("task_id", "image_url"),
    ),
    "gemini-omni-video": (
        _at_most_with("character_ids", most=3, other="video_list"),
        _trim_windows("video_list", start="start", end="ends", low=0, high=10, defaults=(0, 0)),
    ),
    "kling-3.0/video": (
        requires("multi_shots", "multi_prompt", when=True),
        requires("multi_shots", "prompt", when=False),
        count_range("image_urls", by="multi_shots", ranges={True: (0, 1)}),
        _element_files("kling_elements"),
        _trim_windows(
            "kling_elements",
            start="start_time",
            end="end_time",
            low=3000,
            high=8000,
            defaults=(0, 8000),
        ),
    ),
    "kling-3.0-omni/text-to-video": (
        _both_true("customize_multi_shots", "prefer_multi_shots"),
        requires("customize_multi_shots", "multi_prompt", when=True),
        _only_when("multi_prompt", other="customize_multi_shots", equals=True),
        *_OMNI_ELEMENTS,
    ),
    "kling-3.0-omni/image-to-video": (
        _both_true("customize_multi_shots", "prefer_multi_shots"),
        _element_files("elements"),
        _OMNI_TRIM,
    ),
    "kling-3.0-omni/reference-to-video": (
        _both_true("customize_multi_shots", "prefer_multi_shots"),
        _subject_counts(images="image_urls", video="video_urls"),
        _auto_aspect(video="video_urls", images="image_urls"),
        mutually_exclusive("audio", "video_urls"),
    ),
    "kling-3.0-omni/transformation": (
        _element_files("elements"),
        _subject_counts(),
        _auto_aspect(video="video_urls", images="image_urls"),
    ),
    "minimax-h3/image-to-video": (one_of_required("first_frame_url", "last_frame_url"),),
    "minimax-h3/reference-to-video": (
        one_of_required("reference_image_urls", "reference_video_urls"),
    ),
    "pixverse-v6/extend": (
        one_of_required("taskId", "video_url"),
        mutually_exclusive("taskId", "video_url"),
    ),
    "pixverse-v6/image-to-video": (
        one_of_required("duration", "template_id"),
        mutually_exclusive("duration", "template_id"),
    ),
    "wan/2-7-r2v": (
        one_of_required("reference_image", "reference_video"),
        _total_items("reference_image", "reference_video", most=5),
    ),
    "wan/2-7-image": _WAN_27_IMAGE,
    "wan/2-7-image-pro": _WAN_27_IMAGE,
}

_NOT_BOTH_SHOT_MODES = "customize_multi_shots and prefer_multi_shots may not both be true"
_ELEMENTS_NOTE = (
    "an element takes 2 to 4 images or one video, not mixed (told by the URL's file suffix; "
    "URLs without one and local files are left to kie)"
)
_AUTO_NOTE = "aspect_ratio is 'auto' exactly when video_urls is given without image_urls"
_TRIM_NOTE = "a video element's end_time is 3000 to 8000 ms after its start_time"
_SUBJECTS_NOTE = (
    "at most 3 video subjects, and at most 7 multi-image subjects (4 beside a video subject)"
)
_WAN_27_IMAGE_NOTE = (
    "n is 1 to 4, or 1 to 12 with enable_sequential; color_palette only without enable_sequential"
)

#: The rules above, in words (for the docs page).
RULE_NOTES: Mapping[str, str] = {
    "bytedance/seedance-2-5": "first_frame_url cannot go with any reference list; "
    "last_frame_url needs first_frame_url",
    "gpt-image-2-text-to-image": "5:4, 4:5, 3:1, 1:3 and 9:21 only at 1K; 1:1 not at 4K; 2K "
    "and 4K need an aspect ratio other than auto",
    "gpt-image-2-image-to-image": "5:4 and 4:5 only at 1K; 1:1 not at 4K; 2K and 4K need an "
    "aspect ratio other than auto",
    "grok-imagine/image-to-video": "at most one image at 1080p",
    "grok-imagine-video-1-5-preview": "at most one image at 1080p",
    "hailuo/2-3-image-to-video-pro": "10-second videos only at 768P",
    "hailuo/2-3-image-to-video-standard": "10-second videos only at 768P",
    "grok-imagine-image-2-0/segment-map": "exactly one of task_id and image_url",
    "gemini-omni-video": "at most 3 character_ids with a video (it takes 2 of the 7 image "
    "slots); each clip's ends after its start, at most 10 s later",
    "kling-3.0/video": "multi_prompt is required with multi_shots, prompt without; only a "
    "first frame with multi_shots; "
    f"{_ELEMENTS_NOTE}; {_TRIM_NOTE}",
    "kling-3.0-omni/text-to-video": f"{_NOT_BOTH_SHOT_MODES}; multi_prompt is required with, "
    f"and only allowed with, customize_multi_shots; {_ELEMENTS_NOTE}; {_SUBJECTS_NOTE}",
    "kling-3.0-omni/image-to-video": f"{_NOT_BOTH_SHOT_MODES}; {_ELEMENTS_NOTE}; {_TRIM_NOTE}",
    "kling-3.0-omni/reference-to-video": f"{_NOT_BOTH_SHOT_MODES}; without video_urls: at most "
    "3 video subjects, and multi-image subjects with image_urls at most 7 (4 beside a video "
    "subject); with video_urls: at most 1 video subject, alone, or multi-image subjects with "
    f"image_urls at most 4; audio only without video_urls; {_AUTO_NOTE}",
    "kling-3.0-omni/transformation": f"{_ELEMENTS_NOTE}; {_SUBJECTS_NOTE}; {_AUTO_NOTE}",
    "minimax-h3/image-to-video": "at least one of first_frame_url and last_frame_url",
    "minimax-h3/reference-to-video": "at least one of the reference images and videos",
    "pixverse-v6/extend": "exactly one of taskId and video_url",
    "pixverse-v6/image-to-video": "exactly one of duration and template_id",
    "wan/2-7-r2v": "at least one reference image or video, at most 5 in all",
    "wan/2-7-image": _WAN_27_IMAGE_NOTE,
    "wan/2-7-image-pro": _WAN_27_IMAGE_NOTE,
}


def markdown() -> str:
    """The docs page of this table: every prose limit, rule and example decision, with why."""
    lines = [
        "# The catalogue",
        "",
        "<!-- Generated from kieframe_catalogue._overrides; do not edit by hand. -->",
        "",
        "The first-party `catalogue` plugin serves every model of kie.ai's Jobs API from kie.ai's "
        "published input schemas (`plugins/kieframe_catalogue/models.json`), plus what kie.ai's "
        "docs state only in prose, recorded below after reading each model's descriptions. A "
        "hand-written plugin for the same model id replaces the catalogue's entry "
        "(`kieframe plugins` and `kieframe describe MODEL` say which plugin serves a model).",
        "",
        "## Keeping up with kie.ai",
        "",
        "kie.ai adds models and parameters. To update, get a newer dump of the same shape and run:",
        "",
        "```console",
        "$ python -m kieframe_catalogue.update /path/to/kie-jobs-models.json",
        "```",
        "",
        "It rewrites the data file and prints what changed (models added and removed, fields "
        "added and removed, limits and required fields changed, examples changed), so the update "
        "is reviewed like code; `--check` only reports. Then read the new models' and fields' "
        "descriptions for limits stated in prose, add them to the table "
        "(`plugins/kieframe_catalogue/_overrides.py`), and regenerate the docs pages "
        "(`KIEFRAME_REGENERATE_DOCS=1 pytest tests/docs`).",
        "",
        "## Limits stated only in prose",
        "",
        "| model | field | limit | what the docs say |",
        "| --- | --- | --- | --- |",
    ]
    for limit in LIMITS:
        patch = ", ".join(f"{key}: {value!r}" for key, value in limit.patch.items())
        lines.append(
            f"| `{limit.model}` | `{limit.field}` | {_cell(patch)} | {_cell(limit.source)} |"
        )
    lines += [
        "",
        "## Limits on media files",
        "",
        "Pixel sizes, aspect ratios (width divided by height), pixel counts (width times height) "
        "and durations the docs state for the files a media field takes. They are checked for "
        "local files before upload, from the file's header: PNG, JPEG, WebP, GIF and BMP sizes; "
        "MP4 and MOV duration and picture size; WAV, FLAC and MP3 durations (MP3 from the "
        "Xing/Info header, else estimated from the first frame's bit rate). A file whose header "
        "does not state a value (another format, or an unusual header) is not refused for it, "
        "and URLs are not fetched, so kie.ai checks them. Frame rates and totals across several "
        'files ("all reference videos together at most 15 s") are left to kie.ai.',
        "",
        "| model | field | limits | what the docs say |",
        "| --- | --- | --- | --- |",
    ]
    for limit in MEDIA_LIMITS:
        bounds = ", ".join(f"{key} {value:g}" for key, value in limit.patch["x-media"].items())
        lines.append(f"| `{limit.model}` | `{limit.field}` | {bounds} | {_cell(limit.source)} |")
    lines += [
        "",
        "## Cross-field rules stated in prose",
        "",
        "They are checked after the fields, with kie.ai's documented defaults in place of fields "
        "left out.",
        "",
        "| model | rules |",
        "| --- | --- |",
    ]
    for model in sorted(RULES):
        lines.append(f"| `{model}` | {_cell(RULE_NOTES[model])} |")
    lines += [
        "",
        "## Documented examples that break their schema",
        "",
        "| model | the project follows | why |",
        "| --- | --- | --- |",
    ]
    for decision in EXAMPLES:
        lines.append(f"| `{decision.model}` | {decision.follows} | {_cell(decision.reason)} |")
    lines += [
        "",
        "## Results",
        "",
        "A model returns what its category says (video, image or audio), one file per task, "
        "except:",
        "",
    ]
    for model, (kind, why) in sorted(OUTPUTS.items()):
        lines.append(f"- `{model}` returns {kind}: {why}.")
    for model, why in sorted(MANY.items()):
        lines.append(f"- `{model}` may return several files: {why}.")
    lines += [
        "",
        "Typical run times and deadlines are not on kie.ai's pages; the catalogue uses one pair "
        "per kind of result (video: about 3 minutes, at most 30; image and audio: 45 seconds, at "
        "most 10 minutes).",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

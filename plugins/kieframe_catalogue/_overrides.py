"""The reviewed table of what kie.ai's docs say only in prose, and how examples are handled.

Every entry was decided by reading the model's docs text (the ``description`` of each property in
the catalogue dump), not by a pattern match. ``source`` says what the docs state, in our words.
The compiler applies a :class:`Limit` as JSON-Schema keywords merged over the property.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kieframe.authoring import OutputKind

from ._limit import Limit
from ._media_limits import MEDIA_LIMITS
from ._prose_rules import RULE_NOTES, RULES

__all__ = [
    "DECISIONS",
    "EXAMPLES",
    "LIMITS",
    "MANY",
    "MEDIA_LIMITS",
    "OUTPUTS",
    "RULES",
    "RULE_NOTES",
    "ExampleDecision",
    "Limit",
    "LimitDecision",
    "limits_for",
    "markdown",
]


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


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """A limit kie.ai's docs state two ways, or leave open: the reading enforced, and why."""

    model: str
    field: str
    enforced: str
    reason: str


_STRICTER = "the stricter wins, so that what kieframe accepts passes kie.ai under either reading"
_WAN_FLASH_PROMPT = LimitDecision(
    "wan/2-6-flash-image-to-video",
    "prompt",
    "at most 1,500 characters (the schema)",
    f"the text says 5,000 characters and the schema 1,500; {_STRICTER}",
)

#: Where kie.ai's words leave a choice, each pinned by a test (tests/catalogue/test_file_rules.py).
DECISIONS: tuple[LimitDecision, ...] = (
    LimitDecision(
        "omnihuman-1-5",
        "prompt",
        "at most 300 characters (the schema)",
        "the text recommends 300 characters and allows 1,000, the schema says 300; " + _STRICTER,
    ),
    _WAN_FLASH_PROMPT,
    LimitDecision(
        "wan/2-6-flash-video-to-video",
        _WAN_FLASH_PROMPT.field,
        _WAN_FLASH_PROMPT.enforced,
        _WAN_FLASH_PROMPT.reason,
    ),
    LimitDecision(
        "kling-3.0/video",
        "multi_prompt[].prompt",
        "at most 500 characters, each @element reference counting as 37",
        "'each @element will occupy 37 characters' is read as: a reference to one of the "
        "input's kling_elements (@ and its name, not followed by a letter, digit or _) counts "
        "37 characters in place of its own length; other @words are plain text. The top-level "
        "prompt states no length, so nothing is counted there",
    ),
    LimitDecision(
        "bytedance/seedance-2-5",
        "reference_audio_urls",
        "local files together at most 30 s",
        "the audio field's text says 'total duration of reference videos must not exceed 30 "
        "seconds', repeating the video field's sentence; read as a total for the audios too, as "
        "Seedance 2 states for its audios (the stricter reading)",
    ),
    LimitDecision(
        "happyhorse-1-1/text-to-video",
        "prompt",
        "at most 4,999 characters (the schema); Chinese text not counted apart",
        "the text says 5,000 characters, or 2,500 Chinese ones, and the schema 4,999; the "
        "stricter count is kept. How mixed text counts is not said, and the reference-to-video "
        "page of the same family says longer text is truncated rather than refused, so the "
        "Chinese limit is left to kie.ai (on all three HappyHorse 1.1 pages)",
    ),
    LimitDecision(
        "ideogram/character-remix",
        "reference_mask_urls",
        "one file of at most 10 MB",
        "the mask's text repeats 'maximum total size 10MB across all character references'; "
        "there is one mask, so it is held to 10 MB alone and the reference images to 10 MB "
        "together",
    ),
)


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
    *(
        Limit(
            model,
            "speakers[].speaker_id",
            {"pattern": r"^Speaker [0-9]+$"},
            "a speaker id has the form 'Speaker N'",
        )
        for model in ("google/gemini-2-5-pro-tts", "google/gemini-3-1-flash-tts")
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
        "and URLs are not fetched, so kie.ai checks them. Limits across files (all reference "
        "videos together at most 15 s, a mask of the image's size) are rules below, checked on "
        "the local files the same way. Frame rates are left to kie.ai.",
        "",
        "| model | field | limits | what the docs say |",
        "| --- | --- | --- | --- |",
    ]
    for limit in MEDIA_LIMITS:
        bounds = ", ".join(
            f"{key} {value:,}" if isinstance(value, int) else f"{key} {value:g}"
            for key, value in limit.patch["x-media"].items()
        )
        lines.append(f"| `{limit.model}` | `{limit.field}` | {bounds} | {_cell(limit.source)} |")
    lines += [
        "",
        "## Cross-field rules stated in prose",
        "",
        "They are checked after the fields, with kie.ai's documented defaults in place of fields "
        "left out; those on files see the local files only, before anything is uploaded.",
        "",
        "| model | rules |",
        "| --- | --- |",
    ]
    for model in sorted(RULES):
        lines.append(f"| `{model}` | {_cell('; '.join(RULE_NOTES[model]))} |")
    lines += [
        "",
        "## Where the docs leave a choice",
        "",
        "| model | field | enforced | why |",
        "| --- | --- | --- | --- |",
    ]
    for choice in DECISIONS:
        lines.append(
            f"| `{choice.model}` | `{choice.field}` | {_cell(choice.enforced)} | "
            f"{_cell(choice.reason)} |"
        )
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
        "per kind of result (video: about 3 minutes, at most 15; image and audio: 45 seconds, at "
        "most 10 minutes), within kie.ai's guidance to give up and investigate after 10 to 15 "
        "minutes.",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

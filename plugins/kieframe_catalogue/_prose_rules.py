"""The cross-field rules kie.ai's docs state in prose, by model, and their notes for the docs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kieframe.authoring import (
    FileRule,
    LocalFiles,
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

__all__ = ["RULES", "RULE_NOTES", "Noted"]


@dataclass(frozen=True, slots=True)
class Noted:
    """Rules and what they check in words, declared together so that the words cannot drift."""

    notes: tuple[str, ...]
    rules: tuple[Rule, ...]


def _noted(notes: str | tuple[str, ...], *rules: Rule) -> Noted:
    """``rules`` with their note (or notes: one per thing they check)."""
    if not rules:
        raise ValueError("a note needs the rules it describes")
    return Noted(notes=(notes,) if isinstance(notes, str) else notes, rules=rules)


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


def _total_length(path: str, *, item: str, most: int) -> Rule:
    """The texts at ``item`` of the list at ``path`` hold at most ``most`` characters together."""

    def rule(value: Any) -> Iterator[Problem]:
        total = sum(len(value_at(entry, item) or "") for entry in value_at(value, path) or ())
        if total > most:
            yield Problem(
                path, f"has {total:,} characters of {item} in all", f"at most {most:,} together"
            )

    return rule


def _unique(path: str, *, key: str) -> Rule:
    """The items of the list at ``path`` have different values at ``key`` (where set)."""

    def rule(value: Any) -> Iterator[Problem]:
        seen: set[Any] = set()
        for index, item in enumerate(value_at(value, path) or ()):
            name = value_at(item, key)
            if name in seen:
                yield Problem(f"{path}[{index}].{key}", f"repeats {name!r}", "unique in the list")
            if is_set(name):
                seen.add(name)

    return rule


def _element_prompts(*, most: int, weight: int) -> Rule:
    """Kling 3.0's shot prompts hold at most ``most`` characters, a reference counting ``weight``.

    A reference is ``@`` and the name of one of the input's elements; it counts as ``weight``
    characters in place of its own length (see the decisions record).
    """

    def rule(value: Any) -> Iterator[Problem]:
        given = {value_at(element, "name") for element in value_at(value, "kling_elements") or ()}
        names = sorted((name for name in given if name), key=len, reverse=True)
        if not names:
            return
        reference = re.compile("@(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
        for index, shot in enumerate(value_at(value, "multi_prompt") or ()):
            text = value_at(shot, "prompt") or ""
            found = reference.findall(text)
            length = len(text) + sum(weight - len(name) for name in found)
            if length > most:
                yield Problem(
                    f"multi_prompt[{index}].prompt",
                    f"counts {length} characters with its {len(found)} element references",
                    f"at most {most}, each @element counting as {weight}",
                )

    return rule


# -- rules on local files (sizes and durations from their headers; URLs are kie.ai's) -----------


def _total_duration(path: str, *, most: float) -> Rule:
    """The local files of the list at ``path`` last at most ``most`` seconds together.

    Files whose header states no duration (and URLs) are not counted: the others passing the
    limit already break it.
    """

    def check(value: Any, files: LocalFiles) -> Iterator[Problem]:
        known = [file.info.duration for file in files.at(path) if file.info.duration is not None]
        total = sum(known)
        if total > most * (1 + 1e-6):
            yield Problem(
                path,
                f"has {len(known)} local files lasting {total:.3g} s together",
                f"at most {most:g} s in all",
            )

    return FileRule(check)


def _total_bytes(path: str, *, most: int) -> Rule:
    """The local files of the list at ``path`` hold at most ``most`` bytes together."""

    def check(value: Any, files: LocalFiles) -> Iterator[Problem]:
        found = files.at(path)
        total = sum(file.size for file in found)
        if total > most:
            yield Problem(
                path,
                f"has {len(found)} local files of {total:,} bytes together",
                f"at most {most >> 20} MB in all",
            )

    return FileRule(check)


def _same_size(first: str, second: str) -> Rule:
    """The local files in ``first`` and ``second`` have the same pixel size, where both state it."""

    def check(value: Any, files: LocalFiles) -> Iterator[Problem]:
        one, other = files.at(first), files.at(second)
        if not (one and other):
            return
        a, b = one[0].info, other[0].info
        if None in (a.width, a.height, b.width, b.height):
            return
        if (a.width, a.height) != (b.width, b.height):
            yield Problem(
                second,
                f"{other[0].label} is {b.width}x{b.height} px, "
                f"{one[0].label} in {first} {a.width}x{a.height} px",
                f"the same size as {first}",
            )

    return FileRule(check)


def _duration_by(path: str, *, by: str, most: Mapping[Any, float]) -> Rule:
    """Each local file of the list at ``path`` lasts at most ``most[value of by]`` seconds."""

    def check(value: Any, files: LocalFiles) -> Iterator[Problem]:
        key = value_at(value, by)
        if key not in most:
            return
        for file in files.at(path):
            seconds = file.info.duration
            if seconds is not None and seconds > most[key] * (1 + 1e-6):
                yield Problem(
                    file.field,
                    f"{file.label} lasts {seconds:.3g} s",
                    f"at most {most[key]:g} s when {by!r} is {key!r}",
                )

    return FileRule(check)


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


_NOT_BOTH_SHOT_MODES = _noted(
    "customize_multi_shots and prefer_multi_shots may not both be true",
    _both_true("customize_multi_shots", "prefer_multi_shots"),
)


def _elements(path: str) -> Noted:
    return _noted(
        "an element takes 2 to 4 images or one video, not mixed (told by the URL's file suffix; "
        "URLs without one and local files are left to kie)",
        _element_files(path),
    )


_SUBJECTS = _noted(
    "at most 3 video subjects, and at most 7 multi-image subjects (4 beside a video subject)",
    _subject_counts(),
)
_AUTO = _noted(
    "aspect_ratio is 'auto' exactly when video_urls is given without image_urls",
    _auto_aspect(video="video_urls", images="image_urls"),
)
_TRIM = "a video element's end_time is 3000 to 8000 ms after its start_time"
_OMNI_TRIM = _noted(
    _TRIM,
    _trim_windows(
        "elements", start="start_time", end="end_time", low=3000, high=8000, defaults=(0, 8000)
    ),
)

_GPT_RATIOS = (
    *("1:1", "3:2", "2:3", "4:3", "3:4", "5:4", "4:5", "16:9", "9:16", "2:1", "1:2"),
    *("3:1", "1:3", "21:9", "9:21"),
)
_GPT_1K_TEXT_RATIOS = ("5:4", "4:5", "3:1", "1:3", "9:21")
_GPT_IMAGE_2 = (
    _noted(
        "1:1 not at 4K",
        only_with("aspect_ratio", ("1:1",), other="resolution", other_values=("1K", "2K", None)),
    ),
    _noted(
        "2K and 4K need an aspect ratio other than auto",
        only_with("resolution", ("2K", "4K"), other="aspect_ratio", other_values=_GPT_RATIOS),
    ),
)
_ONE_IMAGE_AT_1080P = _noted(
    "at most one image at 1080p",
    count_range("image_urls", by="resolution", ranges={"1080p": (0, 1)}),
)
_HAILUO_10S = _noted(
    "10-second videos only at 768P",
    only_with("duration", ("10",), other="resolution", other_values=("768P",)),
)


def _files_last(most: int) -> Noted:
    return _noted(
        f"local reference videos last at most {most} s together, and so do local reference audios",
        _total_duration("reference_video_urls", most=most),
        _total_duration("reference_audio_urls", most=most),
    )


_IDEOGRAM_NOTE = "local reference images hold at most 10 MB together"
_IDEOGRAM_REFERENCES = _total_bytes("reference_image_urls", most=10 << 20)
_IDEOGRAM_MASK = _noted(
    "a local mask has the pixel size of a local image", _same_size("image_url", "mask_url")
)
_WAN_27_IMAGE = (
    _noted(
        "n is 1 to 4, or 1 to 12 with enable_sequential",
        _range_by("n", by="enable_sequential", ranges={False: (1, 4), True: (1, 12)}),
    ),
    _noted(
        "color_palette only without enable_sequential",
        _only_when("color_palette", other="enable_sequential", equals=False),
    ),
)

#: Cross-field rules the docs state in prose, by model, each declared with what it checks in
#: words. They see the input with kie's documented defaults filled in where a field is unset (kie
#: applies them), so ``when=False`` of a flag that defaults to false also holds when the flag is
#: left out.
_NOTED: Mapping[str, tuple[Noted, ...]] = {
    "bytedance/seedance-2": (_files_last(15),),
    "bytedance/seedance-2-fast": (_files_last(15),),
    "bytedance/seedance-2-mini": (_files_last(15),),
    "bytedance/seedance-2-5": (
        _noted(
            "first_frame_url cannot go with any reference list",
            *(
                mutually_exclusive("first_frame_url", refs)
                for refs in ("reference_image_urls", "reference_video_urls", "reference_audio_urls")
            ),
        ),
        _noted(
            "last_frame_url needs first_frame_url", requires("last_frame_url", "first_frame_url")
        ),
        _files_last(30),
    ),
    "elevenlabs/text-to-dialogue-v3": (
        _noted(
            "the dialogue's texts hold at most 5,000 characters together",
            _total_length("dialogue", item="text", most=5000),
        ),
    ),
    "ideogram/character": (_noted(_IDEOGRAM_NOTE, _IDEOGRAM_REFERENCES),),
    "ideogram/character-edit": (_noted(_IDEOGRAM_NOTE, _IDEOGRAM_REFERENCES), _IDEOGRAM_MASK),
    "ideogram/character-remix": (
        _noted(
            f"{_IDEOGRAM_NOTE}, and so do local style images",
            _IDEOGRAM_REFERENCES,
            _total_bytes("image_urls", most=10 << 20),
        ),
    ),
    "ideogram/v3-edit": (_IDEOGRAM_MASK,),
    "kling-2.6/motion-control": (
        _noted(
            "a local video lasts at most 10 s when character_orientation is 'image' (30 s when "
            "'video')",
            _duration_by("video_urls", by="character_orientation", most={"image": 10, "video": 30}),
        ),
    ),
    "gpt-image-2-text-to-image": (
        _noted(
            "5:4, 4:5, 3:1, 1:3 and 9:21 only at 1K",
            only_with(
                "aspect_ratio", _GPT_1K_TEXT_RATIOS, other="resolution", other_values=("1K", None)
            ),
        ),
        *_GPT_IMAGE_2,
    ),
    "gpt-image-2-image-to-image": (
        _noted(
            "5:4 and 4:5 only at 1K",
            only_with(
                "aspect_ratio", ("5:4", "4:5"), other="resolution", other_values=("1K", None)
            ),
        ),
        *_GPT_IMAGE_2,
    ),
    "grok-imagine/image-to-video": (_ONE_IMAGE_AT_1080P,),
    "grok-imagine-video-1-5-preview": (_ONE_IMAGE_AT_1080P,),
    "hailuo/2-3-image-to-video-pro": (_HAILUO_10S,),
    "hailuo/2-3-image-to-video-standard": (_HAILUO_10S,),
    "grok-imagine-image-2-0/segment-map": (
        _noted(
            "exactly one of task_id and image_url",
            one_of_required("task_id", "image_url"),
            mutually_exclusive("task_id", "image_url"),
        ),
    ),
    "gemini-omni-video": (
        _noted(
            "at most 3 character_ids with a video (it takes 2 of the 7 image slots)",
            _at_most_with("character_ids", most=3, other="video_list"),
        ),
        _noted(
            "each clip's ends after its start, at most 10 s later",
            _trim_windows("video_list", start="start", end="ends", low=0, high=10, defaults=(0, 0)),
        ),
    ),
    "kling-3.0/video": (
        _noted(
            "multi_prompt is required with multi_shots, prompt without",
            requires("multi_shots", "multi_prompt", when=True),
            requires("multi_shots", "prompt", when=False),
        ),
        _noted(
            "only a first frame with multi_shots",
            count_range("image_urls", by="multi_shots", ranges={True: (0, 1)}),
        ),
        _elements("kling_elements"),
        _noted(
            _TRIM,
            _trim_windows(
                "kling_elements",
                start="start_time",
                end="end_time",
                low=3000,
                high=8000,
                defaults=(0, 8000),
            ),
        ),
        _noted(
            "a shot prompt holds at most 500 characters, each @element reference counting as 37",
            _element_prompts(most=500, weight=37),
        ),
    ),
    "kling-3.0-omni/text-to-video": (
        _NOT_BOTH_SHOT_MODES,
        _noted(
            "multi_prompt is required with, and only allowed with, customize_multi_shots",
            requires("customize_multi_shots", "multi_prompt", when=True),
            _only_when("multi_prompt", other="customize_multi_shots", equals=True),
        ),
        _elements("elements"),
        _SUBJECTS,
    ),
    "kling-3.0-omni/image-to-video": (_NOT_BOTH_SHOT_MODES, _elements("elements"), _OMNI_TRIM),
    "kling-3.0-omni/reference-to-video": (
        _NOT_BOTH_SHOT_MODES,
        _noted(
            (
                "without video_urls: at most 3 video subjects, and multi-image subjects with "
                "image_urls at most 7 (4 beside a video subject)",
                "with video_urls: at most 1 video subject, alone, or multi-image subjects with "
                "image_urls at most 4",
            ),
            _subject_counts(images="image_urls", video="video_urls"),
        ),
        _noted("audio only without video_urls", mutually_exclusive("audio", "video_urls")),
        _AUTO,
    ),
    "kling-3.0-omni/transformation": (_elements("elements"), _SUBJECTS, _AUTO),
    "minimax-h3/image-to-video": (
        _noted(
            "at least one of first_frame_url and last_frame_url",
            one_of_required("first_frame_url", "last_frame_url"),
        ),
    ),
    "minimax-h3/reference-to-video": (
        _noted(
            "at least one of the reference images and videos",
            one_of_required("reference_image_urls", "reference_video_urls"),
        ),
        _files_last(15),
    ),
    "pixverse-v6/extend": (
        _noted(
            "exactly one of taskId and video_url",
            one_of_required("taskId", "video_url"),
            mutually_exclusive("taskId", "video_url"),
        ),
    ),
    "pixverse-v6/reference-to-video": (
        _noted(
            "each image reference's ref_name is unique in the list",
            _unique("image_references", key="ref_name"),
        ),
    ),
    "pixverse-v6/image-to-video": (
        _noted(
            "exactly one of duration and template_id",
            one_of_required("duration", "template_id"),
            mutually_exclusive("duration", "template_id"),
        ),
    ),
    "wan/2-7-r2v": (
        _noted(
            "at least one reference image or video, at most 5 in all",
            one_of_required("reference_image", "reference_video"),
            _total_items("reference_image", "reference_video", most=5),
        ),
    ),
    "wan/2-7-image": _WAN_27_IMAGE,
    "wan/2-7-image-pro": _WAN_27_IMAGE,
}

#: The rules, by model.
RULES: Mapping[str, tuple[Rule, ...]] = {
    model: tuple(rule for group in groups for rule in group.rules)
    for model, groups in _NOTED.items()
}
#: What the rules check, in words, by model (for ``kieframe describe`` and the docs).
RULE_NOTES: Mapping[str, tuple[str, ...]] = {
    model: tuple(note for group in groups for note in group.notes)
    for model, groups in _NOTED.items()
}

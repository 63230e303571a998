"""Rules kie.ai states in prose for Kling 3.0 elements, Kling 3.0 Omni subjects and Gemini Omni.

Each is refused before sending, with a problem naming the field and the limit, and the documented
example (where there is one) still validates.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kieframe
from kieframe.registry import Registry

#: Timing is no part of what these tests check, and CI machines are busy.
untimed = settings(deadline=None)

IMAGE, VIDEO = "https://e.com/a.png", "https://e.com/b.mp4"
UNKNOWN = "https://e.com/asset?id=3"  # no file suffix: the kind cannot be told from the URL


@functools.cache
def _spec(model_id: str) -> kieframe.ModelSpec[Any]:
    return Registry(environ={"KIEFRAME_PLUGINS": "catalogue"}).get_model(model_id)


def problems(model_id: str, data: dict[str, Any]) -> list[kieframe.Problem]:
    try:
        _spec(model_id).validate(data)
    except kieframe.InputValidationError as error:
        return list(error.problems)
    return []


#: Inputs that validate, for models whose page documents no example.
MINIMAL: dict[str, dict[str, Any]] = {"grok-imagine-video-1-5-preview": {"prompt": "a fox"}}


def example(model_id: str) -> dict[str, Any]:
    documented = _spec(model_id).examples
    return dict(documented[0]["input"]) if documented else dict(MINIMAL[model_id])


def element(*urls: str, **extra: Any) -> dict[str, Any]:
    return {"name": "e", "description": "a subject", "element_input_urls": list(urls), **extra}


# -- Kling 3.0: an element takes 2 to 4 images or one video ------------------------------------

KLING = "kling-3.0/video"


def test_kling_3_examples_element_forms_validate() -> None:
    documented = example(KLING)
    assert problems(KLING, documented) == []
    assert [len(e["element_input_urls"]) for e in documented["kling_elements"]] == [2, 1]


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ([IMAGE], "has one image"),
        ([IMAGE, VIDEO], "mixes a video with other files"),
        ([VIDEO, VIDEO], "mixes a video with other files"),
    ],
)
def test_kling_3_element_files_are_refused_naming_the_element(
    urls: list[str], message: str
) -> None:
    data = {**example(KLING), "kling_elements": [element(IMAGE, IMAGE), element(*urls)]}
    (problem,) = problems(KLING, data)
    assert problem.field == "kling_elements[1].element_input_urls"
    assert problem.message == message
    assert problem.limit == "2 to 4 images, or exactly one video"


def test_kling_3_elements_need_a_file_and_take_at_most_four() -> None:
    for urls in ([], [IMAGE] * 5):
        data = {**example(KLING), "kling_elements": [element(*urls)]}
        assert [p.field for p in problems(KLING, data)] == ["kling_elements[0].element_input_urls"]
    # A single URL whose kind cannot be told is left to kie.ai.
    assert problems(KLING, {**example(KLING), "kling_elements": [element(UNKNOWN)]}) == []


@untimed
@given(start=st.integers(0, 20_000), end=st.integers(0, 20_000))
def test_kling_3_video_element_trim_window(start: int, end: int) -> None:
    data = {
        **example(KLING),
        "kling_elements": [element(VIDEO, start_time=start, end_time=end)],
    }
    found = problems(KLING, data)
    if 3000 <= end - start <= 8000:
        assert found == []
    else:
        (problem,) = found
        assert problem.field == "kling_elements[0].end_time"
        assert problem.limit == "end_time after start_time, 3000 to 8000 apart"


# -- Kling 3.0 Omni: subjects counted jointly --------------------------------------------------

T2V = "kling-3.0-omni/text-to-video"
R2V = "kling-3.0-omni/reference-to-video"
TRANSFORM = "kling-3.0-omni/transformation"


def subjects(videos: int, multi: int) -> list[dict[str, Any]]:
    return [element(VIDEO)] * videos + [element(IMAGE, IMAGE)] * multi


@untimed
@given(videos=st.integers(0, 5), multi=st.integers(0, 8))
def test_omni_text_to_video_subject_counts(videos: int, multi: int) -> None:
    data = {"prompt": "a walk", "customize_multi_shots": False, "elements": subjects(videos, multi)}
    allowed = videos <= 3 and multi <= (4 if videos else 7)
    found = problems(T2V, data)
    assert (found == []) == allowed
    assert all(problem.field == "elements" for problem in found)


def test_omni_subject_count_problems_say_the_limit() -> None:
    data = {"prompt": "a", "customize_multi_shots": False, "elements": subjects(4, 0)}
    (problem,) = problems(T2V, data)
    assert (problem.message, problem.limit) == ("has 4 video subjects", "at most 3")
    data["elements"] = subjects(1, 5)
    (problem,) = problems(T2V, data)
    assert (problem.message, problem.limit) == ("has 5 multi-image subjects", "at most 4 in all")


@untimed
@given(
    videos=st.integers(0, 4),
    multi=st.integers(0, 6),
    images=st.integers(0, 4),
    reference=st.booleans(),
)
def test_omni_reference_to_video_joint_counts(
    videos: int, multi: int, images: int, reference: bool
) -> None:
    data: dict[str, Any] = {"prompt": "a", "elements": subjects(videos, multi)}
    if images:
        data["image_urls"] = [IMAGE] * images
    if reference:
        data |= {"video_urls": [VIDEO], "audio": False}
        data["aspect_ratio"] = "16:9" if images else "auto"
        allowed = (videos == 0 or (videos == 1 and multi + images == 0)) and multi + images <= 4
    else:
        allowed = videos <= 3 and multi + images <= (4 if videos else 7)
    found = problems(R2V, data)
    assert (found == []) == allowed, found
    assert {problem.field for problem in found} <= {"elements"}


def test_omni_reference_video_settings() -> None:
    video_only = {"prompt": "a", "video_urls": [VIDEO], "aspect_ratio": "auto", "audio": False}
    assert problems(R2V, video_only) == []
    (problem,) = problems(R2V, {**video_only, "aspect_ratio": "16:9"})
    assert problem.field == "aspect_ratio"
    assert problem.limit == "'auto' exactly when video_urls is given without image_urls"
    (problem,) = problems(R2V, {"prompt": "a", "image_urls": [IMAGE], "aspect_ratio": "auto"})
    assert problem.field == "aspect_ratio"
    fields = [p.field for p in problems(R2V, {**video_only, "audio": True})]
    assert fields == ["video_urls"]


def test_omni_transformation_elements_and_aspect() -> None:
    base = {"prompt": "a", "video_urls": [VIDEO]}
    assert problems(TRANSFORM, base) == []
    assert problems(TRANSFORM, {**base, "image_urls": [IMAGE], "aspect_ratio": "1:1"}) == []
    assert [p.field for p in problems(TRANSFORM, {**base, "aspect_ratio": "1:1"})] == [
        "aspect_ratio"
    ]
    (problem,) = problems(TRANSFORM, {**base, "elements": [element(IMAGE)]})
    assert problem.field == "elements[0].element_input_urls"


# -- Gemini Omni: image slots and trim windows -------------------------------------------------

GEMINI = "gemini-omni-video"


def test_gemini_example_validates() -> None:
    assert problems(GEMINI, example(GEMINI)) == []


@untimed
@given(characters=st.integers(0, 7), video=st.booleans())
def test_gemini_at_most_three_characters_with_a_video(characters: int, video: bool) -> None:
    data = {
        "prompt": "a",
        "duration": "4",
        "character_ids": [f"c{i}" for i in range(characters)],
        "video_list": [{"url": VIDEO, "start": 0, "ends": 4}] if video else [],
    }
    found = problems(GEMINI, data)
    assert (found == []) == (characters <= (3 if video else 7))
    for problem in found:
        assert problem.field == "character_ids"
        assert problem.limit == "at most 3 with video_list"


@pytest.mark.parametrize(("start", "ends"), [(5, 5), (6, 2), (0, 10.5)])
def test_gemini_clip_ends_after_its_start_within_ten_seconds(start: float, ends: float) -> None:
    data = {**example(GEMINI), "video_list": [{"url": VIDEO, "start": start, "ends": ends}]}
    (problem,) = problems(GEMINI, data)
    assert problem.field == "video_list[0].ends"
    assert problem.limit == "ends after start, 0 to 10 apart"


# -- other prose rules found on re-reading every description -----------------------------------


@pytest.mark.parametrize(
    ("model_id", "data", "field"),
    [
        ("gpt-image-2-text-to-image", {"aspect_ratio": "3:1", "resolution": "2K"}, "aspect_ratio"),
        ("gpt-image-2-text-to-image", {"aspect_ratio": "1:1", "resolution": "4K"}, "aspect_ratio"),
        ("gpt-image-2-text-to-image", {"resolution": "4K"}, "resolution"),
        ("gpt-image-2-image-to-image", {"aspect_ratio": "4:5", "resolution": "2K"}, "aspect_ratio"),
        ("gpt-image-2-image-to-image", {"aspect_ratio": "auto", "resolution": "2K"}, "resolution"),
        ("hailuo/2-3-image-to-video-pro", {"duration": "10", "resolution": "1080P"}, "duration"),
        (
            "hailuo/2-3-image-to-video-standard",
            {"duration": "10", "resolution": "1080P"},
            "duration",
        ),
        (
            "grok-imagine/image-to-video",
            {"image_urls": [IMAGE] * 2, "resolution": "1080p"},
            "image_urls",
        ),
        (
            "grok-imagine-video-1-5-preview",
            {"image_urls": [IMAGE] * 2, "resolution": "1080p"},
            "image_urls",
        ),
        ("kling-3.0/video", {"multi_shots": True, "image_urls": [IMAGE] * 2}, "image_urls"),
        ("kling-3.0/video", {"image_urls": [IMAGE] * 3}, "image_urls"),
        ("kling/v3-turbo-text-to-video", {"duration": "16"}, "duration"),
        ("bytedance/seedance-2-5", {"duration": 3}, "duration"),
        ("wan/2-6-image-to-video", {"prompt": "a"}, "prompt"),
    ],
)
def test_prose_rules_refuse_naming_the_field(
    model_id: str, data: dict[str, Any], field: str
) -> None:
    documented = example(model_id)
    assert problems(model_id, documented) == []
    found = problems(model_id, {**documented, **data})
    assert [problem.field for problem in found] == [field]
    assert found[0].limit


@pytest.mark.parametrize(
    ("model_id", "data"),
    [
        ("gpt-image-2-text-to-image", {"aspect_ratio": "16:9", "resolution": "4K"}),
        ("gpt-image-2-text-to-image", {"aspect_ratio": "3:1", "resolution": "1K"}),
        ("hailuo/2-3-image-to-video-pro", {"duration": "10", "resolution": "768P"}),
        ("grok-imagine/image-to-video", {"image_urls": [IMAGE] * 2, "resolution": "720p"}),
        ("kling/v3-turbo-text-to-video", {"duration": "15"}),
        ("bytedance/seedance-2-5", {"duration": -1}),
    ],
)
def test_what_the_prose_allows_still_validates(model_id: str, data: dict[str, Any]) -> None:
    assert problems(model_id, {**example(model_id), **data}) == []

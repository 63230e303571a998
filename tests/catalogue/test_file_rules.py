"""Limits kie.ai states across files or fields, checked on local files before anything is sent.

Totals across a list's files (durations, bytes), a mask of the image's size, a video length that
depends on another field: each is refused naming the field and the limit, from the files' headers,
while URLs (never fetched) and files whose header does not state the value are let through. Also
the prose limits read one way of two (the decisions record), each pinned here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from files import _media
from hypothesis import given, settings
from hypothesis import strategies as st
from kieframe_catalogue._overrides import DECISIONS

import kieframe
from kieframe._files._local import stage_input
from kieframe.authoring import FileRule, ImageUrl, LocalFiles, ModelSpec, Problem
from kieframe.registry import Registry
from kieframe.testing import Emulator

#: Timing is no part of what these tests check, and CI machines are busy.
untimed = settings(deadline=None, max_examples=25)

AUDIO_URL, VIDEO_URL, IMAGE_URL = (
    "https://e.com/a.mp3",
    "https://e.com/v.mp4",
    "https://e.com/i.png",
)


@functools.cache
def _spec(model_id: str) -> kieframe.ModelSpec[Any]:
    return Registry(environ={"KIEFRAME_PLUGINS": "catalogue"}).get_model(model_id)


def problems(model_id: str, data: dict[str, Any]) -> list[kieframe.Problem]:
    """What staging ``data`` for upload finds (what ``Client.submit`` checks before sending)."""
    try:
        stage_input(_spec(model_id), data)
    except kieframe.InputValidationError as error:
        return list(error.problems)
    return []


def wav(seconds: float) -> bytes:
    return _media.wav(seconds, rate=200)  # 200 bytes a second: long clips stay small


def video(seconds: float) -> bytes:
    return _media.mp4(width=640, height=720, seconds=seconds)  # within Seedance's pixel bounds


# -- the mechanism, for any plugin ------------------------------------------------------------


class Album(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    images: Annotated[list[ImageUrl], msgspec.Meta(max_length=4)] = []


def test_a_file_rule_sees_each_local_file_where_it_sits_and_never_a_url() -> None:
    seen: list[LocalFiles] = []

    def check(value: Album, files: LocalFiles) -> Iterator[Problem]:
        seen.append(files)
        if len(files.at("images")) > 1:
            yield Problem("images", "has more than one local file", "at most one local file")

    spec = ModelSpec(
        id="acme/album", input_type=Album, title="Album", docs_url="", rules=(FileRule(check),)
    )
    spec.validate({"images": [IMAGE_URL, IMAGE_URL]})
    assert seen == []  # no local file: nothing for it to check (a URL is kie.ai's to check)
    first, second = _media.jpeg_sof(30, 20), _media.webp_vp8x(7, 9)
    with pytest.raises(kieframe.InputValidationError) as caught:
        stage_input(spec, {"images": [first, IMAGE_URL, second]})
    assert caught.value.fields == ("images",)  # reported once
    assert len(seen) == 1  # the rule ran once, with the files
    files = seen[-1]
    assert list(files) == [("images", 0), ("images", 2)]
    assert [(f.field, f.size, f.info.width, f.info.height) for f in files.values()] == [
        ("images[0]", len(first), 30, 20),
        ("images[2]", len(second), 7, 9),
    ]
    assert files.at("other") == ()
    stage_input(spec, {"images": [first, IMAGE_URL]})


# -- totals of duration across a list's files --------------------------------------------------

#: (model, field, a file of so many seconds, the most all together, a valid rest of the input)
TOTALS = [
    ("bytedance/seedance-2", "reference_audio_urls", wav, 15, {"prompt": "a beach"}),
    ("bytedance/seedance-2-fast", "reference_video_urls", video, 15, {"prompt": "a beach"}),
    ("bytedance/seedance-2-mini", "reference_audio_urls", wav, 15, {"prompt": "a beach"}),
    ("bytedance/seedance-2-5", "reference_video_urls", video, 30, {"prompt": "a beach"}),
    (
        "minimax-h3/reference-to-video",
        "reference_audio_urls",
        wav,
        15,
        {"prompt": "a beach", "reference_image_urls": [IMAGE_URL]},
    ),
    ("minimax-h3/reference-to-video", "reference_video_urls", video, 15, {"prompt": "a beach"}),
]


@pytest.mark.parametrize(
    ("model", "field", "make", "most", "rest"),
    TOTALS,
    ids=lambda value: getattr(value, "__name__", None),
)
def test_files_lasting_too_long_together_are_refused_naming_the_list(
    model: str, field: str, make: Any, most: int, rest: dict[str, Any]
) -> None:
    each = most / 3 + 1
    (problem,) = problems(model, {**rest, field: [make(each)] * 3})
    assert problem.field == field
    assert problem.message == f"has 3 local files lasting {3 * each:.3g} s together"
    assert problem.limit == f"at most {most} s in all"
    assert problems(model, {**rest, field: [make(most / 3)] * 3}) == []


@untimed
@given(seconds=st.lists(st.integers(2, 15), min_size=1, max_size=3))
def test_seedance_audio_is_refused_exactly_when_the_files_pass_15_s(seconds: list[int]) -> None:
    found = problems("bytedance/seedance-2", {"reference_audio_urls": [wav(s) for s in seconds]})
    assert [p.field for p in found] == (["reference_audio_urls"] if sum(seconds) > 15 else [])


def test_urls_and_unreadable_headers_count_for_nothing_in_a_total() -> None:
    model, field = "bytedance/seedance-2", "reference_audio_urls"
    no_duration = _media._riff(b"WAVE", (b"data", bytes(100)))  # no fmt chunk: length unknown
    assert problems(model, {field: [wav(14), AUDIO_URL, no_duration]}) == []
    (problem,) = problems(model, {field: [wav(8), AUDIO_URL, wav(8)]})
    assert (problem.field, problem.message) == (field, "has 2 local files lasting 16 s together")


def test_urls_alone_are_left_to_kie() -> None:
    spec = _spec("bytedance/seedance-2")
    spec.validate({"reference_audio_urls": [AUDIO_URL] * 3})


def test_a_refused_total_uploads_and_creates_nothing(tmp_path: Path) -> None:
    clips = []
    for index in range(2):
        clips.append(tmp_path / f"clip{index}.wav")
        clips[-1].write_bytes(wav(8))
    with (
        Emulator(rate_limits=False) as emu,
        kieframe.Client(
            Emulator.API_KEY, base_url=emu.base_url, upload_base_url=emu.upload_base_url
        ) as client,
    ):
        with pytest.raises(kieframe.InputValidationError) as caught:
            client.submit("bytedance/seedance-2", {"reference_audio_urls": clips})
        assert caught.value.fields == ("reference_audio_urls",)
        assert "(expected at most 15 s in all)" in str(caught.value)
        assert emu.uploads == ()
        assert emu.tasks == ()


# -- totals of size ------------------------------------------------------------------------------


def image_of(size: int) -> bytes:
    """A JPEG header padded to ``size`` bytes."""
    head = _media.jpeg_sof(512, 512)
    return head + bytes(size - len(head))


@pytest.mark.parametrize(
    ("model", "field", "rest"),
    [
        ("ideogram/character", "reference_image_urls", {}),
        ("ideogram/character-remix", "reference_image_urls", {"image_url": IMAGE_URL}),
        (
            "ideogram/character-remix",
            "image_urls",
            {"image_url": IMAGE_URL, "reference_image_urls": [IMAGE_URL]},
        ),
    ],
)
def test_ideogram_references_hold_10_mb_together(
    model: str, field: str, rest: dict[str, Any]
) -> None:
    data = {"prompt": "a knight", "reference_image_urls": [IMAGE_URL], **rest}
    (problem,) = problems(model, {**data, field: [image_of(6 << 20)] * 2})
    assert problem.field == field
    assert problem.message == f"has 2 local files of {12 << 20:,} bytes together"
    assert problem.limit == "at most 10 MB in all"
    assert problems(model, {**data, field: [image_of(5 << 20)] * 2}) == []


# -- the mask has the image's size -------------------------------------------------------------


@pytest.mark.parametrize("model", ["ideogram/v3-edit", "ideogram/character-edit"])
def test_an_ideogram_mask_of_another_size_is_refused(model: str, tmp_path: Path) -> None:
    image, mask = tmp_path / "photo.jpg", tmp_path / "mask.png"
    image.write_bytes(_media.jpeg_sof(640, 480))
    mask.write_bytes(_media.webp_vp8x(320, 240))
    data = {"prompt": "a hat", "image_url": image, "mask_url": mask}
    if model == "ideogram/character-edit":
        data["reference_image_urls"] = [IMAGE_URL]
    (problem,) = problems(model, data)
    assert problem.field == "mask_url"
    assert problem.message == "file mask.png is 320x240 px, file photo.jpg in image_url 640x480 px"
    assert problem.limit == "the same size as image_url"
    mask.write_bytes(_media.webp_vp8x(640, 480))
    assert problems(model, data) == []
    unknown_image = {**data, "image_url": IMAGE_URL, "mask_url": _media.webp_vp8x(9, 9)}
    assert problems(model, unknown_image) == []


# -- a duration that depends on another field ------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "seconds", "refused"),
    [("image", 10, False), ("image", 11, True), ("video", 11, False), ("video", 30, False)],
)
def test_kling_motion_control_video_lasts_10_s_with_the_image_orientation(
    orientation: str, seconds: float, refused: bool
) -> None:
    data = {
        "input_urls": [IMAGE_URL],
        "video_urls": [video(seconds)],
        "character_orientation": orientation,
    }
    found = problems("kling-2.6/motion-control", data)
    if refused:
        (problem,) = found
        assert problem.field == "video_urls[0]"
        assert problem.message == f"the given bytes lasts {seconds} s"
        assert problem.limit == "at most 10 s when 'character_orientation' is 'image'"
    else:
        assert found == []


# -- text totals -----------------------------------------------------------------------------

VOICE = "EkK5I93UQWFDigLMpZcX"


def test_elevenlabs_dialogue_holds_5000_characters_in_all() -> None:
    lines = [{"text": "a" * 2500, "voice": VOICE}, {"text": "b" * 2500, "voice": VOICE}]
    assert problems("elevenlabs/text-to-dialogue-v3", {"dialogue": lines}) == []
    lines[1]["text"] += "!"
    (problem,) = problems("elevenlabs/text-to-dialogue-v3", {"dialogue": lines})
    assert (problem.field, problem.limit) == ("dialogue", "at most 5,000 together")


# -- other prose limits ----------------------------------------------------------------------


def test_pixverse_reference_names_are_unique() -> None:
    model = "pixverse-v6/reference-to-video"
    refs = [{"image_url": IMAGE_URL, "ref_name": name} for name in ("cat", "dog", "cat")]
    (problem,) = problems(model, {"prompt": "a cat and a dog", "image_references": refs})
    assert (problem.field, problem.limit) == ("image_references[2].ref_name", "unique in the list")
    refs[2]["ref_name"] = "owl"
    assert problems(model, {"prompt": "a cat and a dog", "image_references": refs}) == []


@pytest.mark.parametrize("speaker", ["Speaker 1", "Speaker 12", "Narrator", "speaker 1"])
def test_gemini_tts_speaker_ids_have_the_form_speaker_n(speaker: str) -> None:
    model = "google/gemini-2-5-pro-tts"
    documented = dict(_spec(model).examples[0]["input"])
    speakers = [{**documented["speakers"][0], "speaker_id": speaker}]
    turns = [{"speaker_id": speaker, "text": "Halt!"}]
    found = problems(model, {**documented, "speakers": speakers, "dialogue_turns": turns})
    valid = speaker.startswith("Speaker ")
    assert [p.field for p in found] == ([] if valid else ["speakers[0].speaker_id"])


# -- the decisions record: prose read one way of two -----------------------------------------


def _kling(prompt: str) -> dict[str, Any]:
    element = {"name": "element_dog", "description": "dog", "element_input_urls": [IMAGE_URL] * 2}
    return {
        "multi_shots": True,
        "multi_prompt": [{"prompt": prompt, "duration": 3}],
        "kling_elements": [element],
    }


@untimed
@given(plain=st.integers(0, 450), references=st.integers(0, 3))
def test_kling_3_element_references_count_37_characters_each(plain: int, references: int) -> None:
    prompt = "a" * plain + " @element_dog" * references
    found = problems("kling-3.0/video", _kling(prompt))
    counted = plain + references * (1 + 37)  # a space and the reference
    assert [p.field for p in found] == (["multi_prompt[0].prompt"] if counted > 500 else [])
    if found:
        assert found[0].limit == "at most 500, each @element counting as 37"


def test_kling_3_other_at_words_are_plain_text() -> None:
    assert problems("kling-3.0/video", _kling("a" * 450 + " @element_dogs @cat")) == []


@pytest.mark.parametrize(
    ("model", "field", "data", "most"),
    [
        ("omnihuman-1-5", "prompt", {"image_url": IMAGE_URL, "audio_url": AUDIO_URL}, 300),
        (
            "wan/2-6-flash-image-to-video",
            "prompt",
            {"image_urls": [IMAGE_URL], "audio": False},
            1500,
        ),
        ("wan/2-6-flash-video-to-video", "prompt", {"video_urls": [VIDEO_URL]}, 1500),
    ],
)
def test_prompt_lengths_follow_the_stricter_of_schema_and_text(
    model: str, field: str, data: dict[str, Any], most: int
) -> None:
    assert problems(model, {**data, field: "a" * most}) == []
    assert [p.field for p in problems(model, {**data, field: "a" * (most + 1)})] == [field]


def test_seedance_2_5_audios_last_30_s_together() -> None:
    field = "reference_audio_urls"
    assert problems("bytedance/seedance-2-5", {field: [wav(15), wav(15)]}) == []
    assert [p.field for p in problems("bytedance/seedance-2-5", {field: [wav(16)] * 2})] == [field]


def test_ideogram_remix_mask_is_not_counted_with_the_references() -> None:
    data = {
        "prompt": "a knight",
        "image_url": IMAGE_URL,
        "reference_image_urls": [image_of(9 << 20)],
        "reference_mask_urls": image_of(9 << 20),
    }
    assert problems("ideogram/character-remix", data) == []


def test_happyhorse_prompts_keep_the_schema_length_and_leave_chinese_to_kie() -> None:
    model = "happyhorse-1-1/text-to-video"
    assert problems(model, {"prompt": "a" * 4999}) == []
    assert [p.field for p in problems(model, {"prompt": "a" * 5000})] == ["prompt"]
    assert problems(model, {"prompt": "\u72d7" * 3000}) == []  # 3,000 Chinese characters


def test_every_decision_is_pinned_above() -> None:
    pinned = {
        ("kling-3.0/video", "multi_prompt[].prompt"),
        ("omnihuman-1-5", "prompt"),
        ("wan/2-6-flash-image-to-video", "prompt"),
        ("wan/2-6-flash-video-to-video", "prompt"),
        ("bytedance/seedance-2-5", "reference_audio_urls"),
        ("ideogram/character-remix", "reference_mask_urls"),
        ("happyhorse-1-1/text-to-video", "prompt"),
    }
    assert {(decision.model, decision.field) for decision in DECISIONS} == pinned


# -- frame rates --------------------------------------------------------------------------------

FRAME_RATES = [
    ("bytedance/seedance-2", "reference_video_urls", True, {"prompt": "a beach"}),
    ("bytedance/seedance-2-5", "reference_video_urls", True, {"prompt": "a beach"}),
    (
        "minimax-h3/reference-to-video",
        "reference_video_urls",
        True,
        {"prompt": "a beach", "reference_image_urls": [IMAGE_URL]},
    ),
]


@pytest.mark.parametrize(("model", "field", "many", "rest"), FRAME_RATES)
def test_a_reference_video_under_24_fps_is_refused_naming_the_field(
    model: str, field: str, many: bool, rest: dict[str, Any]
) -> None:
    def clip(fps: float) -> bytes:
        return _media.mp4(width=640, height=720, seconds=4, fps=fps)

    slow = problems(model, {**rest, field: [clip(12)] if many else clip(12)})
    assert [(p.field, "12 fps" in p.message) for p in slow] == [(f"{field}[0]", True)]
    assert slow[0].limit is not None
    assert "fps" in slow[0].limit
    assert problems(model, {**rest, field: [clip(30)] if many else clip(30)}) == []

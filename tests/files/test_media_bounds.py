"""Media bounds (pixel size, aspect, pixel count, duration, frame rate): declared, read, enforced.

Local files are checked from their headers before any upload; a file whose header does not say a
value passes for it, and URLs are never fetched.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._files._local import out_of_bounds
from kieframe._files._probe import probe
from kieframe.authoring import MediaLimits, media_limits, media_list, media_meta, struct_from_schema
from kieframe.testing import Emulator

from . import _media
from ._images import jpeg, png

#: Timing is no part of what these tests check, and CI machines are busy.
untimed = settings(deadline=None)


class Framed(msgspec.Struct, frozen=True):
    picture: Annotated[str, media_meta("image", min_width=300, min_aspect=0.4, max_aspect=2.5)]
    clips: media_list("video", max_items=2, max_duration=10, max_pixels=1_000_000)  # type: ignore[valid-type]  # a type built at run time


def limits_of(struct: type[msgspec.Struct], name: str) -> MediaLimits | None:
    (field,) = [f for f in mi.type_info(struct).fields if f.name == name]  # type: ignore[attr-defined]
    return media_limits(field.type)


def test_bounds_read_back_through_msgspec_inspect_and_json_schema() -> None:
    picture = limits_of(Framed, "picture")
    assert picture is not None
    assert (picture.min_width, picture.min_aspect, picture.max_aspect) == (300, 0.4, 2.5)
    assert picture.max_height is None
    assert picture.bounds == {"min_width": 300, "min_aspect": 0.4, "max_aspect": 2.5}
    clips = limits_of(Framed, "clips")
    assert clips is not None
    assert clips.bounds == {"max_pixels": 1_000_000, "max_duration": 10}
    schema = msgspec.json.schema(Framed)["$defs"]["Framed"]["properties"]
    assert schema["picture"]["x-kieframe-media"]["min_width"] == 300
    assert schema["clips"]["items"]["x-kieframe-media"]["max_duration"] == 10
    assert "width at least 300 px; width/height 0.4 to 2.5" in picture.describe()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"min_width": 0}, "min_width must be a positive number"),
        ({"max_duration": -1.0}, "max_duration must be a positive number"),
        ({"min_width": 10, "max_width": 9}, "min_width must not exceed max_width"),
        ({"min_aspect": 2.0, "max_aspect": 0.5}, "min_aspect must not exceed max_aspect"),
    ],
)
def test_impossible_bounds_are_refused_when_declared(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        media_meta("image", **options)


def test_an_unknown_bound_is_refused() -> None:
    with pytest.raises(TypeError, match="min_depth"):
        media_meta("image", min_depth=3)  # type: ignore[call-arg]


def test_schema_bounds_compile_and_patches_add_to_the_media_facts() -> None:
    schema = {
        "type": "object",
        "properties": {
            "image_url": {"type": "string", "x-media": {"kind": "image", "max_bytes": 1 << 20}},
            "clips": {"type": "array", "items": {"type": "string", "x-media": {"kind": "video"}}},
        },
    }
    patches = {
        "image_url": {"x-media": {"min_width": 64}},
        "clips": {"x-media": {"max_duration": 5}},
    }
    built = struct_from_schema(schema, name="Bounded", patches=patches)
    image = limits_of(built, "image_url")
    assert image is not None
    assert (image.max_bytes, image.min_width) == (1 << 20, 64)
    clips = limits_of(built, "clips")
    assert clips is not None
    assert (clips.kind, clips.max_duration) == ("video", 5)


# -- enforced for local files, against the emulator --------------------------------------------

HAPPYHORSE = "happyhorse/image-to-video"  # first frame: at least 300 px a side, 1:2.5 to 2.5:1
OMNIHUMAN = "omnihuman-1-5"  # the audio lasts under 60 s
WAN_EDIT = "wan/2-7-videoedit"  # the video lasts 2 to 10 s, 240 to 4096 px a side


def refused(client: kieframe.Client, model: str, data: dict[str, Any]) -> kieframe.Problem:
    with pytest.raises(kieframe.InputValidationError) as caught:
        client.submit(model, data)
    (problem,) = caught.value.problems
    return problem


def test_an_image_too_small_is_refused_before_any_upload(
    emu: Emulator, client: kieframe.Client
) -> None:
    problem = refused(client, HAPPYHORSE, {"prompt": "run", "image_urls": [png(299, 400)]})
    assert problem.field == "image_urls[0]"
    assert problem.message == "the given bytes is 299x400 px"
    assert "width at least 300 px" in (problem.limit or "")
    assert emu.uploads == ()
    assert emu.tasks == ()


@untimed
@given(width=st.integers(300, 1200), height=st.integers(300, 1200))
def test_image_aspect_ratio_decides_between_refusal_and_upload(width: int, height: int) -> None:
    limits = kieframe.get_model(HAPPYHORSE).media_fields[0].limits
    info = probe(_media.jpeg_sof(width, height), "image/jpeg")
    breach = out_of_bounds(limits, info)
    assert (breach is None) == (0.4 <= width / height <= 2.5)
    if breach is not None:
        assert breach.startswith(f"is {width}x{height} px")


def test_images_within_bounds_and_unreadable_headers_are_uploaded(
    emu: Emulator, client: kieframe.Client
) -> None:
    unreadable = b"\x89PNG\r\n\x1a\n" + bytes(40)  # a PNG signature, no size to read
    task = client.submit(
        HAPPYHORSE, {"prompt": "run", "image_urls": [png(300, 700)], "duration": 5}
    )
    assert len(task.input["image_urls"]) == 1
    client.submit(HAPPYHORSE, {"prompt": "run", "image_urls": [unreadable]})
    assert len(emu.uploads) == 2


def test_urls_are_not_fetched_for_their_bounds(emu: Emulator, client: kieframe.Client) -> None:
    client.submit(HAPPYHORSE, {"prompt": "run", "image_urls": ["https://e.com/tiny.png"]})
    assert emu.uploads == ()
    assert len(emu.tasks) == 1


def test_audio_duration_is_checked_from_the_wav_header(
    emu: Emulator, client: kieframe.Client
) -> None:
    base = {"image_url": jpeg(), "prompt": "speak"}
    problem = refused(client, OMNIHUMAN, {**base, "audio_url": _media.wav(61)})
    assert (problem.field, problem.message) == ("audio_url", "the given bytes lasts 61 s")
    assert "duration at most 60 s" in (problem.limit or "")
    assert emu.uploads == ()
    client.submit(OMNIHUMAN, {**base, "audio_url": _media.wav(2)})
    assert len(emu.tasks) == 1


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (_media.mp4(width=640, height=360, seconds=12), "the given bytes lasts 12 s"),
        (_media.mp4(width=200, height=360, seconds=5), "the given bytes is 200x360 px"),
        (_media.mp4(width=4100, height=1000, seconds=5), "the given bytes is 4100x1000 px"),
        (
            _media.mp4(width=4000, height=360, seconds=5),
            "the given bytes is 4000x360 px (width/height 11.1)",
        ),
    ],
)
def test_video_duration_and_size_are_checked_from_the_mp4_header(
    emu: Emulator, client: kieframe.Client, video: bytes, message: str
) -> None:
    problem = refused(client, WAN_EDIT, {"prompt": "hat", "video_url": video})
    assert (problem.field, problem.message) == ("video_url", message)
    assert emu.uploads == ()


def test_a_video_within_bounds_is_uploaded(emu: Emulator, client: kieframe.Client) -> None:
    video = _media.mp4(width=640, height=360, seconds=9.5)
    client.submit(WAN_EDIT, {"prompt": "hat", "video_url": video})
    assert [info.mime_type for info in emu.uploads] == ["video/mp4"]


class Dubbed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    video_url: Annotated[str, media_meta("video", min_fps=24, max_fps=60)]


@untimed
@given(fps=st.sampled_from([8, 12, 23.976, 24, 25, 29.97, 30, 50, 60, 90, 120]))
def test_a_videos_frame_rate_is_checked_from_its_header(fps: float) -> None:
    from kieframe._files._local import stage_input
    from kieframe.authoring import ModelSpec

    spec = ModelSpec(id="acme/dub", input_type=Dubbed, title="Dub", docs_url="")
    limits = limits_of(Dubbed, "video_url")
    assert limits is not None
    assert "frame rate 24 to 60 fps" in limits.describe()
    video = _media.mp4(width=640, height=360, seconds=4, fps=fps)
    if 23.9 < fps < 60.1:  # whole frames: 23.976 fps over 4 s is 96 frames, 24 fps
        assert stage_input(spec, {"video_url": video}).uploads
        return
    with pytest.raises(kieframe.InputValidationError) as caught:
        stage_input(spec, {"video_url": video})
    (problem,) = caught.value.problems
    assert problem.field == "video_url"
    assert "fps" in problem.message
    assert problem.limit is not None
    assert "frame rate 24 to 60 fps" in problem.limit

"""The limits kie.ai's docs state for the files of media fields: pixel size, aspect, duration.

Each entry was read from the field's description; the compiler adds its bounds to the field's
media facts (``x-media``), and they are checked for local files before upload.
"""

from __future__ import annotations

from ._limit import Limit

__all__ = ["MEDIA_LIMITS"]


def _media(model: str, path: str, source: str, **bounds: float) -> Limit:
    """A limit on the files a media field takes: pixel size, aspect ratio, pixels, duration."""
    return Limit(model, path, {"x-media": bounds}, source)


def _sides(low: int, high: int) -> dict[str, int]:
    """Both width and height from ``low`` to ``high`` pixels."""
    return {"min_width": low, "max_width": high, "min_height": low, "max_height": high}


_SEEDANCE_IMAGE = _sides(300, 6000)
_SEEDANCE_IMAGE_TEXT = "images 300 to 6000 px a side, width/height 0.4 to 2.5"
_SEEDANCE_VIDEO = {**_SEEDANCE_IMAGE, "min_pixels": 409_600, "max_pixels": 927_408}
_SEEDANCE_VIDEO_TEXT = (
    "videos 300 to 6000 px a side, 409,600 to 927,408 pixels, width/height 0.4 to 2.5"
)
_ASPECT_04_25 = {"min_aspect": 0.4, "max_aspect": 2.5}
_AT_LEAST_300 = {"min_width": 300, "min_height": 300, **_ASPECT_04_25}
_KLING_OMNI_VIDEO = {
    **_sides(700, 4553),
    "max_pixels": 8_294_400,
    "min_aspect": 0.4,
    "max_aspect": 2.0,
    "min_duration": 3,
    "max_duration": 15.5,
    "min_fps": 24,
    "max_fps": 60,
}
_KLING_OMNI_VIDEO_TEXT = (
    "a video of 3 to 15.5 s, 700 to 4553 px a side, at most 8,294,400 pixels, width/height 0.4 to"
    " 2, 24 to 60 fps"
)
_MINIMAX_SIDES = _sides(256, 5760)
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
                f"{_SEEDANCE_VIDEO_TEXT}, 2 to {most} s each, 24 to 60 fps",
                **_SEEDANCE_VIDEO,
                **_ASPECT_04_25,
                min_duration=2,
                max_duration=most,
                min_fps=24,
                max_fps=60,
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
        "3 to 60 s, sides 320 to 2160 px, width/height 1:2.5 to 2.5:1, more than 8 fps",
        **_sides(320, 2160),
        **_ASPECT_04_25,
        min_duration=3,
        max_duration=60,
        min_fps=8,  # "greater than 8": a bound is inclusive, so exactly 8 is left to kie
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
        f"{_MINIMAX_TEXT}, 2 to 15 s each, 23.976 to 60 fps",
        **_MINIMAX_SIDES,
        **_ASPECT_04_25,
        min_duration=2,
        max_duration=15,
        min_fps=23.976,
        max_fps=60,
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
        **_sides(256, 4096),
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
        "360p or more (larger videos are scaled down by kie), 24 to 60 fps",
        min_width=360,
        min_height=360,
        min_fps=24,
        max_fps=60,
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
        **_sides(240, 4096),
        min_aspect=1 / 8,
        max_aspect=8,
        min_duration=2,
        max_duration=10,
    ),
    _media(
        "wan/2-7-videoedit",
        "reference_image",
        "240 to 8000 px a side, width/height 1:8 to 8:1",
        **_sides(240, 8000),
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

"""The emulator's result videos: small, deterministic, playable MP4 files of an exact size.

The file is ``ftyp``, then ``moov`` (``mvhd`` and one video ``trak`` with ``tkhd``,
``mdia``/``mdhd``/``hdlr`` and ``minf`` holding ``vmhd``, ``dinf`` and a full sample table
``stsd`` (``avc1`` with ``avcC``)/``stts``/``stss``/``stsc``/``stsz``/``stco``), then ``mdat``.
The track is H.264 (see :mod:`._h264`): :data:`FRAMES` frames at :data:`FPS` frames per second,
the task's input image (or a generated picture) panning slowly. The largest of :data:`SIZES` that
fits is used; seeded filler after the samples, inside ``mdat``, brings the file to its exact size
(for size checks and resumable downloads).
"""

from __future__ import annotations

import random
import struct

from ._h264 import encode
from ._picture import decode_png, generated, picture_from

__all__ = ["FPS", "FRAMES", "SIZES", "build_mp4", "smallest_mp4"]

#: Frame sizes (width, height), largest first; each width is a multiple of 16.
SIZES = ((320, 180), (160, 90), (64, 36), (32, 18))
FRAMES = 24
FPS = 12
#: Each frame shows the previous one moved left by two samples (in quarter samples).
_MOTION = (8, 0)

_MOVIE_TIMESCALE = 1000
_MEDIA_TIMESCALE = 12_800
_IDENTITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _moov(
    *, sizes: list[int], mdat_offset: int, width: int, height: int, fps: int, avcc: bytes
) -> bytes:
    frames = len(sizes)
    delta = _MEDIA_TIMESCALE // fps
    movie_duration = frames * _MOVIE_TIMESCALE // fps
    mvhd = _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, _MOVIE_TIMESCALE, movie_duration),
        struct.pack(">IH10x", 0x10000, 0x0100),
        _IDENTITY_MATRIX,
        bytes(24),
        struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = _full_box(
        b"tkhd", 0, 0x3,
        struct.pack(">IIIII", 0, 0, 1, 0, movie_duration),
        struct.pack(">8xhhH2x", 0, 0, 0),
        _IDENTITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = _full_box(
        b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, _MEDIA_TIMESCALE, frames * delta, 0x55C4, 0)
    )
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"VideoHandler\x00")
    avc1 = _box(
        b"avc1",
        struct.pack(">6xH16xHH", 1, width, height),
        struct.pack(">IIIH", 0x00480000, 0x00480000, 0, 1),
        bytes([9]) + b"kieframe".ljust(31, b"\x00"),
        struct.pack(">Hh", 0x0018, -1),
        _box(b"avcC", avcc),
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, frames, delta)),
        _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1)),  # only the first frame is a key
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(f">II{frames}I", 0, frames, *sizes)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, mdat_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    minf = _box(b"minf", _full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def _avcc(sps: bytes, pps: bytes) -> bytes:
    """The AVCDecoderConfigurationRecord: profile and level from the SPS, 4-byte NAL lengths."""
    return (
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1])
        + struct.pack(">H", len(sps))
        + sps
        + bytes([1])
        + struct.pack(">H", len(pps))
        + pps
    )


def _video(seed: str, image: bytes | None, width: int, height: int) -> tuple[bytes, bytes]:
    """``ftyp`` + ``moov``, and the samples that ``mdat`` holds, at one frame size."""
    pixels = (decode_png(image) if image else None) or generated(seed)
    picture = picture_from(pixels, width=width, height=height)
    sps, pps, nals = encode(
        picture, frames=FRAMES, motion=_MOTION, crop_bottom=picture.height - height
    )
    samples = [struct.pack(">I", len(nal)) + nal for nal in nals]
    sizes = [len(sample) for sample in samples]
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    avcc = _avcc(sps, pps)
    # The moov's size does not depend on the values in its tables.
    probe = _moov(sizes=sizes, mdat_offset=0, width=width, height=height, fps=FPS, avcc=avcc)
    offset = len(ftyp) + len(probe) + 8
    moov = _moov(sizes=sizes, mdat_offset=offset, width=width, height=height, fps=FPS, avcc=avcc)
    return ftyp + moov, b"".join(samples)


def smallest_mp4() -> int:
    """The fewest bytes :func:`build_mp4` can make a video of."""
    head, samples = _video("", None, *SIZES[-1])
    return len(head) + 8 + len(samples)


def build_mp4(*, size: int, seed: str, image: bytes | None = None) -> bytes:
    """A playable MP4 of exactly ``size`` bytes that depends only on the arguments.

    The first frame is ``image`` (a PNG, see :mod:`._picture`) or a picture generated from
    ``seed``, at the largest of :data:`SIZES` that fits. Raises :class:`ValueError` if ``size``
    is below :func:`smallest_mp4`.
    """
    for width, height in SIZES:
        macroblocks = (width // 16) * (-(-height // 16))
        if macroblocks * 386 > size:  # the I_PCM frame alone would not fit
            continue
        head, samples = _video(seed, image, width, height)
        spare = size - len(head) - 8 - len(samples)
        if spare >= 0:
            filler = random.Random(seed).randbytes(spare)
            return head + _box(b"mdat", samples, filler)
    raise ValueError(f"an MP4 video needs at least {smallest_mp4()} bytes, not {size}")

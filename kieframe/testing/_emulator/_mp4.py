"""A tiny deterministic ISO-BMFF (MP4) writer for the emulator's result files.

The file is structurally complete: ``ftyp``, then ``moov`` (``mvhd`` and one video ``trak`` with
``tkhd``, ``mdia``/``mdhd``/``hdlr`` and ``minf`` holding ``vmhd``, ``dinf`` and a full sample table
``stsd``/``stts``/``stsc``/``stsz``/``stco``), then ``mdat``. Each sample is a length-prefixed NAL
unit (AVC style), and the sample table points exactly at them. The payload bytes are seeded filler,
not decodable video: enough for size checks, resumable downloads and box parsers.
"""

from __future__ import annotations

import random
import struct

__all__ = ["build_mp4"]

_MOVIE_TIMESCALE = 1000
_MEDIA_TIMESCALE = 12_800
_IDENTITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _moov(*, sizes: list[int], mdat_offset: int, width: int, height: int, fps: int) -> bytes:
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
    avcc = _box(b"avcC", bytes([1, 66, 0xC0, 30, 0xFF, 0xE0, 0]))
    avc1 = _box(
        b"avc1",
        struct.pack(">6xH16xHH", 1, width, height),
        struct.pack(">IIIH", 0x00480000, 0x00480000, 0, 1),
        bytes([9]) + b"kieframe".ljust(31, b"\x00"),
        struct.pack(">Hh", 0x0018, -1),
        avcc,
    )
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, frames, delta)),
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(f">II{frames}I", 0, frames, *sizes)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, mdat_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    minf = _box(b"minf", _full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def build_mp4(
    *, size: int, seed: str, width: int = 320, height: int = 240, fps: int = 25, frames: int = 125
) -> bytes:
    """An MP4 file of exactly ``size`` bytes whose content depends only on the arguments.

    Raises :class:`ValueError` if ``size`` is too small for the boxes and ``frames`` samples.
    """
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")
    # The moov size does not depend on the values in the tables, only on the frame count.
    probe = _moov(sizes=[0] * frames, mdat_offset=0, width=width, height=height, fps=fps)
    header = len(ftyp) + len(probe) + 8
    payload = size - header
    if frames < 1 or payload < frames * 5:
        raise ValueError(f"an MP4 with {frames} frames needs at least {header + frames * 5} bytes")
    sizes = [payload // frames] * frames
    sizes[-1] += payload - sum(sizes)
    filler = random.Random(seed).randbytes(payload)
    samples = bytearray()
    for index, sample_size in enumerate(sizes):
        nal_type = 0x65 if index == 0 else 0x41  # an IDR slice, then non-IDR slices
        start = len(samples)
        samples += struct.pack(">IB", sample_size - 4, nal_type)
        samples += filler[start + 5 : start + sample_size]
    moov = _moov(sizes=sizes, mdat_offset=header, width=width, height=height, fps=fps)
    return ftyp + moov + _box(b"mdat", bytes(samples))

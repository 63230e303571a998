"""Pixel size and duration of a media file, read from its header only (no decoding, no libraries).

:func:`probe` reads what a format's header states: the size of PNG, JPEG, WebP, GIF and BMP images;
the duration, picture size and frame rate of MP4 and MOV videos (``mvhd``, and the video track's
``tkhd``, ``mdhd`` and ``stts``);
the duration of WAV, FLAC and MP3 audio (for MP3 from the Xing/Info frame count, else estimated
from the first frame's bit rate). Anything it cannot read is None: an unknown value, never a
refusal. It never raises on any input.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["MediaInfo", "probe"]


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What a file's header states: pixel ``width`` and ``height``, ``duration`` in seconds,
    and a video's frame rate, ``fps`` (its frames over its track's duration)."""

    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None


UNKNOWN = MediaInfo()


def probe(data: bytes, media_type: str) -> MediaInfo:
    """The dimensions and duration of ``data`` (of the sniffed ``media_type``), where readable."""
    reader = _READERS.get(media_type)
    if reader is None:
        return UNKNOWN
    try:
        return reader(memoryview(data))
    except (struct.error, IndexError, ValueError, OverflowError, ZeroDivisionError):
        return UNKNOWN


def _size(width: int, height: int) -> MediaInfo:
    """A picture size, or unknown when the header gives a zero side."""
    return MediaInfo(width, height) if width > 0 and height > 0 else UNKNOWN


# -- images -------------------------------------------------------------------------------------


def _png(data: memoryview) -> MediaInfo:
    if bytes(data[12:16]) != b"IHDR":
        return UNKNOWN
    width, height = struct.unpack_from(">II", data, 16)
    return _size(width, height)


def _gif(data: memoryview) -> MediaInfo:
    width, height = struct.unpack_from("<HH", data, 6)
    return _size(width, height)


def _bmp(data: memoryview) -> MediaInfo:
    header_size = struct.unpack_from("<I", data, 14)[0]
    if header_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
        return _size(width, height)
    width, height = struct.unpack_from("<ii", data, 18)
    return _size(width, abs(height))  # a negative height means top-down rows


#: JPEG start-of-frame markers (every SOFn but DHT, JPG and DAC, which share the range).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: memoryview) -> MediaInfo:
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return UNKNOWN
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            offset += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or entropy-coded data before any frame
            return UNKNOWN
        length = struct.unpack_from(">H", data, offset + 2)[0]
        if marker in _SOF_MARKERS:
            height, width = struct.unpack_from(">HH", data, offset + 5)
            return _size(width, height)
        if length < 2:
            return UNKNOWN
        offset += 2 + length
    return UNKNOWN


def _webp(data: memoryview) -> MediaInfo:
    chunk = bytes(data[12:16])
    if chunk == b"VP8 ":
        if bytes(data[23:26]) != b"\x9d\x01\x2a":
            return UNKNOWN
        width, height = struct.unpack_from("<HH", data, 26)
        return _size(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return UNKNOWN
        bits = struct.unpack_from("<I", data, 21)[0]
        return _size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        if len(data) < 30:
            return UNKNOWN
        return _size(width, height)
    return UNKNOWN


# -- MP4 and QuickTime ----------------------------------------------------------------------------


def _boxes(data: memoryview, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The ISO boxes between ``start`` and ``end``: (type, body start, body end)."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def _mp4(data: memoryview) -> MediaInfo:
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"moov":
            return _moov(data, start, end)
    return UNKNOWN


def _moov(data: memoryview, start: int, end: int) -> MediaInfo:
    duration: float | None = None
    width = height = 0
    fps: float | None = None
    for kind, body, stop in _boxes(data, start, end):
        if kind == b"mvhd":
            duration = _mvhd(data, body)
        elif kind == b"trak" and not (width and height):
            for inner, inner_body, inner_stop in _boxes(data, body, stop):
                if inner == b"tkhd":
                    width, height = _tkhd(data, inner_body)
                elif inner == b"mdia":
                    fps = _frame_rate(data, inner_body, inner_stop)
            if not (width and height):
                fps = None  # not the video track
    if width and height:
        return MediaInfo(width, height, duration, fps)
    return MediaInfo(duration=duration)


def _frame_rate(data: memoryview, start: int, end: int) -> float | None:
    """A track's samples per second: ``stts``'s sample count over ``mdhd``'s duration."""
    seconds: float | None = None
    frames = 0
    for kind, body, stop in _boxes(data, start, end):
        if kind == b"mdhd":
            seconds = _mvhd(data, body)  # the same layout up to the duration
        elif kind == b"minf":
            for table, table_body, table_stop in _boxes(data, body, stop):
                if table == b"stbl":
                    frames = _samples(data, table_body, table_stop)
    if not seconds or not frames:
        return None
    return frames / seconds


def _samples(data: memoryview, start: int, end: int) -> int:
    """How many samples the ``stts`` of a sample table counts (0 if it has none)."""
    for kind, body, _ in _boxes(data, start, end):
        if kind == b"stts":
            (entries,) = struct.unpack_from(">I", data, body + 4)
            counts = struct.unpack_from(f">{2 * entries}I", data, body + 8)
            return sum(counts[::2])
    return 0


def _mvhd(data: memoryview, body: int) -> float | None:
    if data[body] == 1:
        timescale, length = struct.unpack_from(">IQ", data, body + 20)
    else:
        timescale, length = struct.unpack_from(">II", data, body + 12)
    if timescale == 0 or length in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None  # an unknown duration, as the format spells it
    return float(length / timescale)


def _tkhd(data: memoryview, body: int) -> tuple[int, int]:
    # Version 1 widens four times to 64 bits; width and height are 16.16 fixed point at the end.
    offset = body + (88 if data[body] == 1 else 76)
    width, height = struct.unpack_from(">II", data, offset)
    return width >> 16, height >> 16


# -- audio --------------------------------------------------------------------------------------


def _wav(data: memoryview) -> MediaInfo:
    byte_rate = 0
    offset = 12
    while offset + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, offset)
        if kind == b"fmt ":
            byte_rate = struct.unpack_from("<I", data, offset + 16)[0]
        elif kind == b"data":
            if byte_rate == 0:
                return UNKNOWN
            # A streamed WAV may state 0 or 0xFFFFFFFF: then count the bytes that are there.
            present = len(data) - offset - 8
            length = present if size in (0, 0xFFFFFFFF) else min(size, present)
            return MediaInfo(duration=length / byte_rate)
        offset += 8 + size + (size & 1)
    return UNKNOWN


def _flac(data: memoryview) -> MediaInfo:
    if data[4] & 0x7F != 0:  # the first metadata block must be STREAMINFO
        return UNKNOWN
    packed = int.from_bytes(data[18:26], "big")
    rate = packed >> 44
    samples = packed & ((1 << 36) - 1)
    if len(data) < 26 or rate == 0 or samples == 0:
        return UNKNOWN
    return MediaInfo(duration=samples / rate)


# Bit rates (kbit/s) by index, for MPEG-1 and MPEG-2/2.5 layer III.
_MP3_RATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3(data: memoryview) -> MediaInfo:
    offset = 0
    if bytes(data[:3]) == b"ID3":
        size = data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]
        offset = 10 + size + (10 if data[5] & 0x10 else 0)
    header = struct.unpack_from(">I", data, offset)[0]
    if header >> 21 != 0x7FF or (header >> 17) & 3 != 1:  # frame sync, layer III
        return UNKNOWN
    version = (header >> 19) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    rate_index, sample_index = (header >> 12) & 0xF, (header >> 10) & 3
    if version == 1 or rate_index in (0, 15) or sample_index == 3:
        return UNKNOWN  # reserved, or "free format" (no rate to estimate from)
    sample_rate = _MP3_SAMPLE_RATES[version][sample_index]
    samples_per_frame = 1152 if version == 3 else 576
    mono = (header >> 6) & 3 == 3
    side_info = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    tag = offset + 4 + side_info
    if bytes(data[tag : tag + 4]) in (b"Xing", b"Info"):
        flags = struct.unpack_from(">I", data, tag + 4)[0]
        if flags & 1:
            frames = struct.unpack_from(">I", data, tag + 8)[0]
            return MediaInfo(duration=frames * samples_per_frame / sample_rate)
    bit_rate = _MP3_RATES[1 if version == 3 else 2][rate_index] * 1000
    return MediaInfo(duration=(len(data) - offset) * 8 / bit_rate)


_READERS: dict[str, Callable[[memoryview], MediaInfo]] = {
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/webp": _webp,
    "image/gif": _gif,
    "image/bmp": _bmp,
    "video/mp4": _mp4,
    "video/quicktime": _mp4,
    "audio/mp4": _mp4,
    "audio/wav": _wav,
    "audio/flac": _flac,
    "audio/mpeg": _mp3,
}

"""Headers of media files made in code: sizes and durations known, content beside the point."""

from __future__ import annotations

import io
import struct
import wave


def gif(width: int, height: int) -> bytes:
    """A GIF header and an empty image, of the given logical screen size."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def bmp(width: int, height: int) -> bytes:
    """A BMP file header and BITMAPINFOHEADER (bottom-up when ``height`` is positive)."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def jpeg_sof(width: int, height: int, *, marker: int = 0xC0) -> bytes:
    """A JPEG with an APP0 segment before its start-of-frame segment."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = bytes([0xFF, marker]) + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def _riff(form: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    body = b"".join(kind + struct.pack("<I", len(data)) + data for kind, data in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + form + body


def webp_vp8x(width: int, height: int) -> bytes:
    """An extended-format WebP header."""
    canvas = bytes(4) + (width - 1).to_bytes(3, "little")
    return _riff(b"WEBP", (b"VP8X", canvas + (height - 1).to_bytes(3, "little")))


def webp_vp8l(width: int, height: int) -> bytes:
    """A lossless WebP header."""
    bits = (width - 1) | (height - 1) << 14
    return _riff(b"WEBP", (b"VP8L", b"\x2f" + struct.pack("<I", bits) + bytes(4)))


def webp_vp8(width: int, height: int) -> bytes:
    """A lossy WebP header (a key frame's tag, start code and size)."""
    frame = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(4)
    return _riff(b"WEBP", (b"VP8 ", frame))


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4(
    *,
    width: int,
    height: int,
    seconds: float,
    timescale: int = 1000,
    version: int = 0,
    fps: float | None = None,
) -> bytes:
    """An MP4 (``ftyp``, ``moov`` with ``mvhd`` and a video track's ``tkhd``) and an empty
    ``mdat``. ``version`` 1 writes the 64-bit header forms. With ``fps``, the video track has
    an ``mdia`` whose ``mdhd`` and ``stts`` make ``seconds * fps`` frames (two table entries)."""
    length = round(seconds * timescale)
    if version == 1:
        mvhd = struct.pack(">I QQIQ", 1 << 24, 0, 0, timescale, length) + bytes(80)
        tkhd = struct.pack(">I QQIIQ", 1 << 24 | 3, 0, 0, 1, 0, length) + bytes(52)
    else:
        mvhd = struct.pack(">I IIII", 0, 0, 0, timescale, length) + bytes(80)
        tkhd = struct.pack(">I IIIII", 3, 0, 0, 1, 0, length) + bytes(52)
    tkhd += struct.pack(">II", width << 16, height << 16)
    audio = _box(b"trak", _box(b"tkhd", struct.pack(">I IIIII", 3, 0, 0, 2, 0, 0) + bytes(60)))
    track = [_box(b"tkhd", tkhd)]
    if fps is not None:
        frames = round(seconds * fps)
        if version == 1:
            mdhd = struct.pack(">I QQIQ", 1 << 24, 0, 0, timescale, length) + bytes(4)
        else:
            mdhd = struct.pack(">I IIII", 0, 0, 0, timescale, length) + bytes(4)
        first = frames // 2
        stts = struct.pack(">I I II II", 0, 2, first, 1, frames - first, 1)
        table = _box(b"minf", _box(b"stbl", _box(b"stts", stts)))
        track.append(_box(b"mdia", _box(b"mdhd", mdhd), table))
    moov = _box(b"moov", _box(b"mvhd", mvhd), audio, _box(b"trak", *track))
    return _box(b"ftyp", b"isom", bytes(4), b"isommp41") + moov + _box(b"mdat")


def wav(seconds: float, *, rate: int = 8000) -> bytes:
    """A silent 8-bit mono WAV (the standard library's writer)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(rate)
        writer.writeframes(b"\x80" * round(seconds * rate))
    return out.getvalue()


def flac(seconds: float, *, rate: int = 44100) -> bytes:
    """A FLAC signature and STREAMINFO block (no audio frames)."""
    samples = round(seconds * rate)
    packed = rate << 44 | 1 << 41 | 15 << 36 | samples
    info = struct.pack(">HH", 4096, 4096) + bytes(6) + packed.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


#: An MPEG-1 layer III frame header: 128 kbit/s, 44.1 kHz, stereo, no padding (417 bytes a frame).
_MP3_HEADER = b"\xff\xfb\x90\x04"
MP3_FRAME_SECONDS = 1152 / 44100


def mp3(frames: int, *, xing: bool = False, id3: bool = False) -> bytes:
    """``frames`` constant-rate MP3 frames; with ``xing`` the first is an Info frame counting
    them, with ``id3`` an ID3v2 tag comes first."""
    frame = _MP3_HEADER + bytes(413)
    body = frame * frames
    if xing:
        info = _MP3_HEADER + bytes(32) + b"Info" + struct.pack(">II", 1, frames)
        body = info.ljust(417, b"\x00") + body
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 20]) + bytes(20) if id3 else b""
    return tag + body


#: A valid file of each type the probe reads, for damaging in tests.
SAMPLES: dict[str, bytes] = {
    "image/png": b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I4sIIBBBBB", 13, b"IHDR", 9, 7, 8, 2, 0, 0, 0),
    "image/jpeg": jpeg_sof(9, 7),
    "image/webp": webp_vp8x(9, 7),
    "image/gif": gif(9, 7),
    "image/bmp": bmp(9, 7),
    "video/mp4": mp4(width=9, height=7, seconds=2),
    "video/quicktime": mp4(width=9, height=7, seconds=2, version=1),
    "audio/mp4": mp4(width=0, height=0, seconds=2),
    "audio/wav": wav(0.01),
    "audio/flac": flac(1),
    "audio/mpeg": mp3(3, xing=True, id3=True),
}

#: The leading bytes that make a file of each type, for random tails.
PREFIXES: dict[str, bytes] = {
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    "image/jpeg": b"\xff\xd8\xff",
    "image/webp": b"RIFF\x00\x00\x00\x00WEBP",
    "image/gif": b"GIF89a",
    "image/bmp": b"BM",
    "video/mp4": b"\x00\x00\x00\x10ftypisom",
    "video/quicktime": b"\x00\x00\x00\x10ftypqt  ",
    "audio/mp4": b"\x00\x00\x00\x10ftypM4A ",
    "audio/wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "audio/flac": b"fLaC",
    "audio/mpeg": b"ID3",
}

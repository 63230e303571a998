"""Result files of every kind the emulator answers with: real PNG images and WAV audio.

Each is a small, valid file that decoders open (a gradient image, a short tone), made from a seed
so that one task's result is the same on every read. Videos come from :mod:`._mp4`.
"""

from __future__ import annotations

import hashlib
import math
import struct
import zlib

__all__ = ["build_png", "build_wav"]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    return digest[0], digest[1], digest[2]


def build_png(*, seed: str, width: int = 64, height: int = 64) -> bytes:
    """An 8-bit RGB PNG: a gradient whose colour depends on ``seed``."""
    red, green, blue = _colour(seed)
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows += bytes(((red + x * 3) % 256, (green + y * 3) % 256, blue))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def build_wav(*, seed: str, seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV: a tone whose pitch depends on ``seed``."""
    pitch = 220 + _colour(seed)[0] * 2
    count = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate)))
        for n in range(count)
    )
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body

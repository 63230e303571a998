"""Small valid images made in code: PNG (zlib + struct), a baseline JPEG, a lossless WebP."""

from __future__ import annotations

import base64
import random
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(
    width: int = 4,
    height: int = 4,
    *,
    seed: int = 0,
    noise: bool = False,
    color: tuple[int, int, int] | None = None,
) -> bytes:
    """An RGB PNG: grey, of one ``color``, or ``noise`` (random pixels, which do not compress)."""
    rng = random.Random(seed)
    solid = bytes(color) if color is not None else bytes([seed % 256]) * 3
    rows = [b"\x00" + (rng.randbytes(3 * width) if noise else solid * width) for _ in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def jpeg(shade: int = 128) -> bytes:
    """An 8x8 one-colour baseline JPEG (grey level ``shade``, through its quantised DC)."""

    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    quant = segment(0xDB, b"\x00" + bytes([1] * 64))
    frame = segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")
    # One-code Huffman tables: DC category 0 and AC end-of-block, each coded as the bit "0".
    dc = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    ac = segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    scan = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    comment = segment(0xFE, f"shade {shade}".encode())
    data = b"\x3f"  # DC diff 0, end of block, padded with ones
    return b"\xff\xd8" + comment + quant + frame + dc + ac + scan + data + b"\xff\xd9"


#: A 1x1 lossless WebP (the image web browsers are probed with).
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")

#: A 1x1 GIF: a real image, of a type kie.ai's image fields refuse.
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")

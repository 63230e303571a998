"""The MP4 writer: a box parser proves the structure is well formed and the tables add up."""

from __future__ import annotations

import struct

import pytest

from kieframe.testing._emulator import build_mp4

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl"}


def boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """``(type, payload_start, box_end)`` of each box in ``data[start:end]``; sizes must tile it."""
    found = []
    position = start
    while position < end:
        size, kind = struct.unpack_from(">I4s", data, position)
        assert size >= 8, kind
        assert position + size <= end, kind
        found.append((kind, position + 8, position + size))
        position += size
    assert position == end
    return found


def tree(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """Every box by type (the last of each type), walking into containers."""
    found: dict[bytes, tuple[int, int]] = {}
    for kind, payload, box_end in boxes(data, start, end):
        found[kind] = (payload, box_end)
        if kind in CONTAINERS:
            found.update(tree(data, payload, box_end))
    return found


@pytest.mark.parametrize("size", [4096, 64 * 1024, 300_000])
def test_structure(size: int) -> None:
    data = build_mp4(size=size, seed="task")
    assert len(data) == size
    assert [kind for kind, _, _ in boxes(data, 0, size)] == [b"ftyp", b"moov", b"mdat"]
    found = tree(data, 0, size)
    for kind in (b"mvhd", b"tkhd", b"mdhd", b"hdlr", b"vmhd", b"dref", b"stsd", b"stts", b"stss"):
        assert kind in found
    ftyp = data[found[b"ftyp"][0] : found[b"ftyp"][1]]
    assert ftyp[:4] == b"isom"
    assert b"mp41" in ftyp[8:]
    hdlr_start = found[b"hdlr"][0]
    assert data[hdlr_start + 8 : hdlr_start + 12] == b"vide"
    mvhd = found[b"mvhd"][0]
    timescale, duration = struct.unpack_from(">II", data, mvhd + 12)
    assert (timescale, duration) == (1000, 2000)  # 24 frames at 12 per second

    stsz = found[b"stsz"][0]
    uniform, count = struct.unpack_from(">II", data, stsz + 4)
    assert uniform == 0
    sizes = struct.unpack_from(f">{count}I", data, stsz + 12)
    stts = found[b"stts"][0]
    assert struct.unpack_from(">II", data, stts + 8)[0] == count
    stco = found[b"stco"][0]
    chunks, offset = struct.unpack_from(">II", data, stco + 4)
    mdat_start, mdat_end = found[b"mdat"]
    assert chunks == 1
    assert offset == mdat_start
    assert sum(sizes) <= mdat_end - mdat_start  # seeded filler after the samples
    # Each sample is one length-prefixed NAL unit: an IDR slice first.
    position = offset
    for index, sample in enumerate(sizes):
        length, nal = struct.unpack_from(">IB", data, position)
        assert length == sample - 4
        assert nal == (0x65 if index == 0 else 0x41)
        position += sample
    assert position <= size


def test_deterministic() -> None:
    assert build_mp4(size=5000, seed="a") == build_mp4(size=5000, seed="a")
    assert build_mp4(size=5000, seed="a") != build_mp4(size=5000, seed="b")

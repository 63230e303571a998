"""A helper the test packages share: decode an MP4's video with a real decoder (FFmpeg, PyAV)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded 4:2:0 frame: its size and its planes, rows packed without padding."""

    width: int
    height: int
    y: bytes
    cb: bytes
    cr: bytes

    def mean(self, plane: str) -> float:
        """The mean sample value of ``plane`` ("y", "cb" or "cr")."""
        samples: bytes = getattr(self, plane)
        return sum(samples) / len(samples)


def decode(data: bytes) -> list[Frame]:
    """Every frame of the file's first video stream; FFmpeg errors raise."""
    frames = []
    with av.open(io.BytesIO(data), mode="r") as container:
        for frame in container.decode(video=0):
            assert frame.format.name == "yuv420p"
            planes = []
            for index, plane in enumerate(frame.planes):
                width = frame.width if index == 0 else (frame.width + 1) // 2
                height = frame.height if index == 0 else (frame.height + 1) // 2
                raw = bytes(plane)
                planes.append(
                    b"".join(
                        raw[row * plane.line_size : row * plane.line_size + width]
                        for row in range(height)
                    )
                )
            frames.append(Frame(frame.width, frame.height, *planes))
    return frames

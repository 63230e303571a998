"""Content-type detection from a file's leading bytes (never from its name)."""

from __future__ import annotations

__all__ = ["EXTENSIONS", "SNIFF_BYTES", "sniff"]

#: How many leading bytes :func:`sniff` needs to decide.
SNIFF_BYTES = 16

#: The file extension kieframe gives each media type it uploads or downloads.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
}


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` from its magic bytes, or None when it is not recognised.

    JPEG, PNG and WebP are what kie.ai's image fields take; GIF, BMP, TIFF, PDF and MP4 are
    recognised too, so that a refusal can say what the file is.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"BM") and len(data) >= 14:
        return "image/bmp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/mp4"
    return None

"""Content-type detection from a file's leading bytes (never from its name)."""

from __future__ import annotations

__all__ = ["EXTENSIONS", "SNIFF_BYTES", "canonical_media_type", "sniff"]

#: How many leading bytes :func:`sniff` needs to decide.
SNIFF_BYTES = 64

#: The file extension kieframe gives each media type it uploads or downloads.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-matroska": ".mkv",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "application/json": ".json",
    "text/plain": ".txt",
}

# Other names kie.ai's docs use for the same types.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
    "video/mov": "video/quicktime",
    "video/x-mkv": "video/x-matroska",
}


def canonical_media_type(media_type: str) -> str:
    """The usual name of a media type (``audio/x-wav`` is ``audio/wav``), lower-cased."""
    lowered = media_type.strip().lower()
    return _ALIASES.get(lowered, lowered)


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` from its magic bytes, or None when it is not recognised.

    Images (JPEG, PNG, WebP, GIF, BMP, TIFF), video (MP4, MOV, MKV, WebM), audio (MP3, WAV, AAC,
    M4A, OGG, FLAC) and PDF, so that a refusal can say what the file is.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF":
        form = data[8:12]
        if form == b"WEBP":
            return "image/webp"
        if form == b"WAVE":
            return "audio/wav"
        if form == b"AVI ":
            return "video/x-msvideo"
        return None
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"BM") and len(data) >= 14:
        return "image/bmp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or its WebM profile
        return "video/webm" if b"webm" in data[:64] else "video/x-matroska"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3"):
        return "audio/mpeg"
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xF0 == 0xF0 and data[1] & 0x06 == 0:
        return "audio/aac"  # ADTS: sync word, layer 0
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06 == 0x02:
        return "audio/mpeg"  # an MPEG audio frame of layer III
    return None

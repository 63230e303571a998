"""Parsing the three upload requests (multipart stream, base64 JSON, URL JSON); no I/O here."""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass
from email.parser import HeaderParser

__all__ = [
    "BASE64_LIMIT",
    "UploadError",
    "UploadRequest",
    "file_name_for",
    "parse_base64_upload",
    "parse_multipart",
    "parse_url_upload",
]

#: kie.ai accepts base64 uploads up to 10 MB.
BASE64_LIMIT = 10 * 1024 * 1024

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
}
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f\\?#%"<>]')


class UploadError(Exception):
    """A refused upload, with the kie.ai code to answer."""

    def __init__(self, msg: str, *, code: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """What an upload asks to store; ``source`` is the URL for URL uploads, else ``None``."""

    upload_path: str
    file_name: str | None
    data: bytes
    source: str | None = None


def _upload_path(value: object) -> str:
    if not isinstance(value, str) or not value.strip("/"):
        raise UploadError("uploadPath is required")
    segments = value.strip("/").split("/")
    if any(s in ("", ".", "..") or _UNSAFE.search(s) for s in segments):
        raise UploadError(f"uploadPath {value!r} is not a valid folder path")
    return "/".join(segments)


def _file_name(value: object) -> str | None:
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or value in (".", "..")
        or "/" in value
        or _UNSAFE.search(value)
        or len(value) > 255
    ):
        raise UploadError(f"fileName {value!r} is not a valid file name")
    return value


def file_name_for(
    requested: str | None, *, mime_type: str, original: str | None, token: str
) -> str:
    """The stored name: the requested one, else ``token`` with a fitting extension."""
    if requested is not None:
        return requested
    extension = _EXTENSIONS.get(mime_type) or posixpath.splitext(original or "")[1] or ".bin"
    return f"{token}{extension}"


def parse_multipart(body: bytes, content_type: str) -> tuple[UploadRequest, str | None]:
    """Parse a ``multipart/form-data`` stream upload; also returns the file part's own name."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        raise UploadError("expected a multipart/form-data body with a boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    fields: dict[str, str] = {}
    file_data: bytes | None = None
    file_name: str | None = None
    position = body.find(delimiter)
    if position < 0:
        raise UploadError("multipart body has no parts")
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            break
        if body[position : position + 2] != b"\r\n":
            raise UploadError("malformed multipart body")
        end = body.find(b"\r\n" + delimiter, position)
        if end < 0:
            raise UploadError("multipart body is truncated")
        head, separator, content = body[position + 2 : end].partition(b"\r\n\r\n")
        if not separator:
            raise UploadError("malformed multipart part")
        headers = HeaderParser().parsestr(head.decode("utf-8", "replace"))
        name = headers.get_param("name", header="content-disposition")
        if name == "file":
            file_data, file_name = content, headers.get_filename()
        elif isinstance(name, str):
            fields[name] = content.decode("utf-8", "replace")
        position = end + 2
    if file_data is None:
        raise UploadError("file is required")
    request = UploadRequest(
        upload_path=_upload_path(fields.get("uploadPath")),
        file_name=_file_name(fields.get("fileName")),
        data=file_data,
    )
    return request, file_name


def parse_base64_upload(value: object) -> UploadRequest:
    """Parse a base64 upload body: plain base64 or a ``data:`` URL, at most 10 MB decoded."""
    if not isinstance(value, dict):
        raise UploadError("expected a JSON object")
    encoded = value.get("base64Data")
    if not isinstance(encoded, str) or not encoded:
        raise UploadError("base64Data is required")
    if encoded.startswith("data:"):
        meta, comma, encoded = encoded.partition(",")
        if not comma or not meta.endswith(";base64"):
            raise UploadError("base64Data is a data: URL without ;base64 content")
    if len(encoded) > (BASE64_LIMIT // 3 + 1) * 4:
        raise UploadError("base64 uploads are limited to 10 MB; use file-stream-upload")
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise UploadError(f"base64Data is not valid base64: {exc}") from None
    if len(data) > BASE64_LIMIT:
        raise UploadError("base64 uploads are limited to 10 MB; use file-stream-upload")
    return UploadRequest(
        upload_path=_upload_path(value.get("uploadPath")),
        file_name=_file_name(value.get("fileName")),
        data=data,
    )


def parse_url_upload(value: object) -> UploadRequest:
    """Parse a URL upload body; the caller fetches ``source`` and fills ``data``."""
    if not isinstance(value, dict):
        raise UploadError("expected a JSON object")
    url = value.get("fileUrl")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UploadError("fileUrl must be an http(s) URL")
    return UploadRequest(
        upload_path=_upload_path(value.get("uploadPath")),
        file_name=_file_name(value.get("fileName")),
        data=b"",
        source=url,
    )

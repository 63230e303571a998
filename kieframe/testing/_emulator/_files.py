"""Serving stored files like an object store: signed links, HEAD, single byte ranges."""

from __future__ import annotations

import re
from typing import Literal

from ._http import Exchange
from ._links import LinkSigner
from ._store import FileStore

__all__ = ["parse_range", "serve_file"]

_CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | Literal[False] | None:
    """The inclusive ``(first, last)`` byte range a ``Range`` header asks of ``size`` bytes.

    ``None`` means serve the whole file (no header, or one this store ignores, such as several
    ranges); ``False`` means the range cannot be satisfied (416).
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            return False
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


async def _deny(ex: Exchange, status: int, code: str, message: str) -> None:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    await ex.respond(status, body, content_type="application/xml")


async def serve_file(ex: Exchange, *, store: FileStore, signer: LinkSigner) -> None:
    """Answer a GET or HEAD for a file link."""
    if ex.method not in ("GET", "HEAD"):
        await _deny(ex, 405, "MethodNotAllowed", "only GET and HEAD are allowed")
        return
    stored = store.get(ex.path)
    if stored is None:
        await _deny(ex, 404, "NoSuchKey", "The specified key does not exist.")
        return
    status = signer.check(ex.path, ex.query_string)
    if status == "expired":
        await _deny(ex, 403, "AccessDenied", "Request has expired")
        return
    if status == "invalid":
        await _deny(ex, 403, "AccessDenied", "Signature does not match")
        return
    size = len(stored.data)
    wanted = parse_range(ex.headers.get("range"), size)
    if_range = ex.headers.get("if-range")
    if if_range is not None and if_range != stored.etag:
        wanted = None
    headers = [
        ("content-type", stored.mime_type),
        ("accept-ranges", "bytes"),
        ("etag", stored.etag),
    ]
    if wanted is False:
        headers.append(("content-range", f"bytes */{size}"))
        await ex.respond(416, b"", content_type=stored.mime_type, headers=headers[1:])
        return
    first, last = (0, size - 1) if wanted is None else wanted
    if wanted is not None:
        headers.append(("content-range", f"bytes {first}-{last}/{size}"))
    headers.append(("content-length", str(last - first + 1)))
    await ex.start(206 if wanted is not None else 200, headers)
    if ex.method == "HEAD":
        await ex.write(b"", more=False)
        return
    for offset in range(first, last + 1, _CHUNK):
        end = min(offset + _CHUNK, last + 1)
        await ex.write(stored.data[offset:end], more=end <= last)
    if first > last:
        await ex.write(b"", more=False)

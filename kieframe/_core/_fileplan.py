"""The transfer of one result file, decided without I/O: names, Range headers, what answers mean.

A :class:`FilePlan` holds the state of one file (where it goes, how many bytes are safely in its
partial file, the size the server announced); the driver that performs a ``Fetch`` feeds it what
happened and does what it says. The operation around it is in ``_download``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .._envelope import parse_retry_after
from .._files._names import result_stem, safe_extension
from .._files._sniff import EXTENSIONS

__all__ = ["Decision", "DownloadProgress", "FilePlan", "Step", "parse_content_range"]

_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)", re.IGNORECASE)
# An expired or withdrawn link: ask kie.ai for a fresh one.
_EXPIRED = frozenset({403, 404, 410})
# Worth the same request again, after a pause.
_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})
# Content-Encodings the driver decodes (httpx's own decoders); the rest cannot be saved.
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
# Answers that are a web page, not a result file (unless the link names a page).
_PAGES = frozenset({"text/html", "application/xhtml+xml"})
_PAGE_NAMES = frozenset({".html", ".htm", ".xhtml"})
#: A complete file this small that is no known media is checked for an error document (an S3 or
#: OSS ``<Error>``, a ``{"code": 403, ...}``) answered with 200 in place of the file.
ERROR_BODY_MAX = 64 * 1024
# Links that name a document: such a body is the file.
_DOCUMENT_NAMES = _PAGE_NAMES | {".json", ".xml", ".txt"}
_LEADING = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 BOM and white space before the document
_XML_ERROR = re.compile(rb"(?:<\?xml[^>]{0,200}\?>\s*)?<(?:Error|Errors|error)[\s>]")
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
# Keys of the JSON error answers of object stores, CDNs and APIs (kie.ai's own envelope too).
_ERROR_KEYS = frozenset({"code", "error", "errors", "message", "msg", "status"})
# The extension of a file whose link, final URL and Content-Type all say nothing.
_UNKNOWN_EXTENSION = ".bin"


class DownloadProgress(Protocol):
    """Told, as a result file arrives, how many of its bytes are on disk and how many to expect.

    ``received`` counts bytes kept from earlier attempts too; ``total`` is ``None`` while the
    server has not said. With several files at once, calls for different files interleave (and
    come from worker threads with the blocking client).
    """

    def __call__(self, path: Path, received: int, total: int | None, /) -> None:
        """Report progress of the file that will be saved as (about) ``path``."""


class Step(enum.Enum):
    """What to do next with a file."""

    WRITE = "write"  # store the answer's body from byte ``Decision.start``
    DONE = "done"  # the partial file is complete
    REFRESH = "refresh"  # the link expired: get a fresh one from kie.ai
    RETRY = "retry"  # a transient failure: send again (resuming) after a pause
    FAIL = "fail"  # give up


@dataclass(frozen=True, slots=True)
class Decision:
    """A :class:`Step` with what it needs: the write offset, a reason, a server-asked pause."""

    step: Step
    start: int = 0
    reason: str = ""
    retry_after: float | None = None


def parse_content_range(value: str | None) -> tuple[int | None, int | None, int | None] | None:
    """``(first, last, total)`` of a ``Content-Range`` header (``None`` parts for ``*``)."""
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last, total = match.groups()
    return (
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        int(total) if total != "*" else None,
    )


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


@dataclass(slots=True, kw_only=True)
class FilePlan:
    """One result file: where it goes, and the state of its transfer.

    ``offset`` is how many bytes the partial file holds (a resumed download starts there);
    ``total`` the size the server announced (``Content-Length`` of a whole answer, or the total
    of ``Content-Range``); ``sha256`` the digest of the complete partial file, when the driver
    computed it while writing, and ``head`` its first bytes (to tell its type) if the driver saw
    them all written. ``decode`` says the answer's body is compressed (a
    ``Content-Encoding`` the file host sent despite ``Accept-Encoding: identity``): the driver
    stores it decoded, and such a transfer is restarted rather than resumed. The extension comes
    from the link; for a link without one, from the final URL after redirects or the
    ``Content-Type`` once the file host answered (``finish`` may still rename it by content).
    """

    task_id: str
    index: int
    source_url: str
    folder: Path
    max_refreshes: int = 2
    url: str = ""
    offset: int = 0
    total: int | None = None
    etag: str | None = None
    content_type: str | None = None
    refreshes: int = 0
    sha256: str | None = None
    head: bytes | None = None
    decode: bool = False
    resumable: bool = True
    stem: str = field(init=False)
    extension: str = field(init=False)
    part: Path = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url or self.source_url
        self.stem = result_stem(self.task_id, self.index)
        self.extension = safe_extension(self.source_url, default=_UNKNOWN_EXTENSION)
        # The hidden partial file the bytes go to until the file is complete; its name stays
        # the same when the extension is learnt later, so that a transfer can resume into it.
        self.part = self.folder / f".{self.name}.kieframe-part"

    @property
    def name(self) -> str:
        """The preferred file name, ``<task_id>-<index><extension>`` made safe."""
        return f"{self.stem}{self.extension}"

    def candidates(self) -> list[str]:
        """Names to try in turn, so that no other file is ever overwritten."""
        return [self.name] + [f"{self.stem}~{n}{self.extension}" for n in range(2, 100)]

    def request_headers(self) -> dict[str, str]:
        """The headers of the next request: a Range from ``offset`` when resuming."""
        if self.offset <= 0 or not self.resumable:
            return {}
        headers = {"Range": f"bytes={self.offset}-"}
        if self.etag is not None:
            headers["If-Range"] = self.etag
        return headers

    def on_head(
        self, status: int, headers: Mapping[str, str], *, final_url: str | None = None
    ) -> Decision:
        """What an answer's status and headers mean; ``headers`` have lower-case names.

        ``final_url`` is the URL that answered, after any redirects.
        """
        if status in (200, 206):
            return self._on_success(status, headers, final_url)
        if status == 416:
            found = parse_content_range(headers.get("content-range"))
            if self.offset > 0 and found is not None and found[2] == self.offset:
                self.total = self.offset
                return Decision(Step.DONE)
            return self._restart("the server could not serve the rest of the file")
        if status in _EXPIRED:
            return self._refresh(f"the link answers HTTP {status}")
        if status in _TRANSIENT or 500 <= status < 600:
            after = parse_retry_after(headers.get("retry-after"))
            return Decision(Step.RETRY, reason=f"HTTP {status}", retry_after=after)
        return Decision(Step.FAIL, reason=f"the file host answered HTTP {status}")

    def _on_success(
        self, status: int, headers: Mapping[str, str], final_url: str | None
    ) -> Decision:
        encoding = headers.get("content-encoding", "").strip().lower()
        self.decode = encoding not in ("", "identity")
        if self.decode:
            if encoding not in _DECODABLE:
                return Decision(
                    Step.FAIL, reason=f"the file host sent it {encoding}-encoded, not as is"
                )
            self.resumable = False  # offsets in a compressed body are not offsets in the file
            if status == 206:
                return self._restart("the server sent a compressed range")
        length = None if self.decode else _content_length(headers)
        if status == 200:
            self.offset, self.total = 0, length  # the whole file: start over
        else:
            found = parse_content_range(headers.get("content-range"))
            if found is None or found[0] != self.offset:
                return self._restart("the server answered another range than asked")
            self.total = found[2]
            if length is not None and found[1] is not None and length != found[1] - found[0] + 1:
                return self._restart("Content-Length disagrees with Content-Range")
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type in _PAGES and safe_extension(self.source_url, default="") not in _PAGE_NAMES:
            # An expired link's error page, or a proxy's, answered with 200: not the file.
            self.offset, self.total = 0, None
            return self._refresh(f"the link answers a {media_type} page instead of the file")
        self.etag = headers.get("etag") or self.etag
        self.content_type = headers.get("content-type") or self.content_type
        if self.extension == _UNKNOWN_EXTENSION:
            self.extension = self._learnt_extension(final_url)
        return Decision(Step.WRITE, start=self.offset)

    def _learnt_extension(self, final_url: str | None) -> str:
        """For a link without an extension: the final URL's, else the Content-Type's."""
        if final_url and (found := safe_extension(final_url, default="")):
            return found
        media_type = (self.content_type or "").split(";", 1)[0].strip().lower()
        return EXTENSIONS.get(media_type, _UNKNOWN_EXTENSION)

    def _restart(self, reason: str) -> Decision:
        self.offset, self.total, self.etag = 0, None, None
        return Decision(Step.RETRY, reason=f"{reason}; starting over")

    def on_data(self, size: int) -> Decision | None:
        """Count ``size`` more bytes written; a :attr:`Step.FAIL` if that is more than announced."""
        self.offset += size
        if self.total is not None and self.offset > self.total:
            received, total = self.offset, self.total
            self.offset, self.total = 0, None
            return Decision(Step.FAIL, reason=f"got {received} bytes, {total} announced")
        return None

    def on_end(self) -> Decision:
        """The body ended without a transport error: complete, cut short, or empty."""
        if self.offset == 0 and not self.total:  # no result is empty: a broken link, a page
            self.total = None
            return self._refresh("the link answers an empty file")
        if self.total is None or self.offset == self.total:
            return Decision(Step.DONE)
        return Decision(Step.RETRY, reason=f"cut short at {self.offset} of {self.total} bytes")

    def on_body(self, body: bytes) -> Decision | None:
        """A refresh (or a failure) if the complete ``body`` is an error document, not the file.

        Called with a small complete file that is no known media: a JSON object with an error's
        keys, an XML ``<Error>`` or an HTML page (whatever its Content-Type said) is an expired
        link's answer. A link that names a document (``.json``, ``.xml``...) gets its body as is.
        """
        if safe_extension(self.source_url, default="") in _DOCUMENT_NAMES:
            return None
        what = _error_document(body)
        if what is None:
            return None
        self.offset, self.total = 0, None
        shown = body.lstrip(_LEADING)[:120].decode("utf-8", "replace")
        return self._refresh(f"the link answers {what} instead of the file: {shown!r}")

    def on_interrupted(self, error: Exception) -> Decision:
        """The connection failed; the bytes counted so far are kept and the rest is asked for."""
        return Decision(Step.RETRY, reason=f"{type(error).__name__}: {error}".rstrip(": "))

    def on_broken(self, error: Exception) -> Decision:
        """The link cannot be followed (a redirect loop): ask kie.ai for a fresh one."""
        return self._refresh(f"the link cannot be followed ({type(error).__name__}: {error})")

    def _refresh(self, reason: str) -> Decision:
        """A fresh link while kie.ai may give one; then give up."""
        if self.refreshes < self.max_refreshes:
            return Decision(Step.REFRESH, reason=reason)
        return Decision(Step.FAIL, reason=f"{reason}, even after {self.refreshes} fresh links")

    def use(self, fresh_url: str) -> None:
        """Continue from a fresh link."""
        self.refreshes += 1
        self.url = fresh_url


def _error_document(body: bytes) -> str | None:
    """What kind of error document ``body`` is ("a JSON error"...), or None if it is none."""
    text = body.lstrip(_LEADING)
    if text.startswith(b"{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON (UnicodeDecodeError is a ValueError)
            return None
        return "a JSON error" if isinstance(data, dict) and _ERROR_KEYS & data.keys() else None
    if _XML_ERROR.match(text):
        return "an XML error"
    if _HTML.match(text):
        return "a web page"
    return None

"""The emulator's object store: result videos (made on first read) and uploaded files."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ._links import LinkSigner
from ._mp4 import build_mp4
from ._records import Lifetimes, UploadInfo

__all__ = ["FileStore", "StoredFile", "sniff_mime"]

_RESULTS = "/files/results/"
_UPLOADS = "/files/uploads/"


def sniff_mime(data: bytes) -> str:
    """The MIME type of ``data`` from its leading bytes: JPEG, PNG, WebP or MP4."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Bytes the store serves, with their type and entity tag."""

    data: bytes
    mime_type: str
    etag: str

    @classmethod
    def of(cls, data: bytes) -> StoredFile:
        """Wrap ``data``, sniffing its type."""
        return cls(data, sniff_mime(data), f'"{hashlib.sha256(data).hexdigest()[:32]}"')


class FileStore:
    """Files by path, with signed links; results are generated the first time they are read."""

    def __init__(self, *, signer: LinkSigner, lifetimes: Lifetimes, result_size: int) -> None:
        self._lock = threading.Lock()
        self._signer = signer
        self._lifetimes = lifetimes
        self._result_size = result_size
        self._files: dict[str, StoredFile] = {}
        self._results: dict[str, bytes | None] = {}
        self._uploads: dict[str, UploadInfo] = {}

    def result_links(
        self, task_id: str, *, completed_ms: int, image: bytes | None = None
    ) -> tuple[str, ...]:
        """Register a finished task's video and return its link, issued at completion.

        ``image`` (the task's input image, if the emulator holds it) is the video's first frame.
        """
        path = f"{_RESULTS}{task_id}/video-1.mp4"
        with self._lock:
            self._results[path] = image
        return (self._signer.sign(path, lifetime=self._lifetimes.result, issued_ms=completed_ms),)

    def put_upload(self, info: UploadInfo, data: bytes) -> str:
        """Store an upload (replacing any file at its path) and return its download link."""
        path = f"{_UPLOADS}{info.file_path}"
        with self._lock:
            self._files[path] = StoredFile.of(data)
            self._uploads.pop(path, None)
            self._uploads[path] = info
        return self._signer.sign(path, lifetime=self._lifetimes.upload)

    def uploads(self) -> tuple[UploadInfo, ...]:
        """The stored uploads, in the order they were last written."""
        with self._lock:
            return tuple(self._uploads.values())

    def get(self, path: str) -> StoredFile | None:
        """The file at ``path`` (a decoded URL path), or ``None``."""
        with self._lock:
            stored = self._files.get(path)
            if stored is None and path in self._results:
                task_id = path.removeprefix(_RESULTS).split("/", 1)[0]
                video = build_mp4(size=self._result_size, seed=task_id, image=self._results[path])
                stored = StoredFile.of(video)
                self._files[path] = stored
            return stored

    def knows(self, path: str) -> bool:
        """Whether ``path`` is a file this store generated or holds."""
        with self._lock:
            return path in self._files or path in self._results

    def own_path(self, url: str) -> str | None:
        """The path of ``url`` if it points at a file of this store, else ``None``."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self._signer.base_url:
            return None
        path = unquote(parts.path)
        return path if self.knows(path) else None

    def fresh_link(self, path: str) -> str:
        """A new link to ``path`` valid for :attr:`Lifetimes.fresh`."""
        return self._signer.sign(path, lifetime=self._lifetimes.fresh)

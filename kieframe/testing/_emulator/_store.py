"""The emulator's object store: result files (made on first read) and uploaded files."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..._files._sniff import EXTENSIONS, sniff
from ._links import LinkSigner
from ._media import build_png, build_wav
from ._mp4 import build_mp4
from ._records import Lifetimes, UploadInfo

__all__ = ["FileStore", "StoredFile", "sniff_mime"]

_RESULTS = "/files/results/"
_UPLOADS = "/files/uploads/"


def sniff_mime(data: bytes) -> str:
    """The MIME type of ``data`` from its leading bytes (as kieframe sniffs it)."""
    return sniff(data) or "application/octet-stream"


# The kind of result a model declares, and the file the store makes for it.
_RESULT_TYPES = {"video": "video/mp4", "image": "image/png", "audio": "audio/wav"}


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
        self._results: dict[str, bytes | None] = {}  # path -> the input image of a video
        self._uploads: dict[str, UploadInfo] = {}

    def result_links(
        self,
        task_id: str,
        *,
        completed_ms: int,
        kind: str = "video",
        count: int = 1,
        image: bytes | None = None,
    ) -> tuple[str, ...]:
        """Register a finished task's ``count`` result files of ``kind``; their links.

        ``kind`` is ``video`` (MP4), ``image`` (PNG) or ``audio`` (WAV); links are issued at
        completion. ``image`` (the task's input image, if the emulator holds it) is a video's
        first frame.
        """
        extension = EXTENSIONS[_RESULT_TYPES.get(kind, "video/mp4")]
        paths = [f"{_RESULTS}{task_id}/{kind}-{n}{extension}" for n in range(1, count + 1)]
        with self._lock:
            self._results.update(dict.fromkeys(paths, image))
        lifetime = self._lifetimes.result
        return tuple(
            self._signer.sign(path, lifetime=lifetime, issued_ms=completed_ms) for path in paths
        )

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
                task_id, _, name = path.removeprefix(_RESULTS).partition("/")
                stored = StoredFile.of(self._make(task_id, name, self._results[path]))
                self._files[path] = stored
            return stored

    def _make(self, task_id: str, name: str, image: bytes | None) -> bytes:
        seed = f"{task_id}/{name}"
        if name.endswith(".png"):
            return build_png(seed=seed)
        if name.endswith(".wav"):
            return build_wav(seed=seed)
        return build_mp4(size=self._result_size, seed=task_id, image=image)

    def knows(self, path: str) -> bool:
        """Whether ``path`` is a file this store generated or holds."""
        with self._lock:
            return path in self._files or path in self._results

    def own_path(self, url: str) -> str | None:
        """The path of ``url`` if it points at a file of this store, else ``None``."""
        try:
            parts = urlsplit(url)
        except ValueError:  # not a URL at all ("http://[::1"): no file of this store
            return None
        if f"{parts.scheme}://{parts.netloc}" != self._signer.base_url:
            return None
        path = unquote(parts.path)
        return path if self.knows(path) else None

    def fresh_link(self, path: str) -> str:
        """A new link to ``path`` valid for :attr:`Lifetimes.fresh`."""
        return self._signer.sign(path, lifetime=self._lifetimes.fresh)

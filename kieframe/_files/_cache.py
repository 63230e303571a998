"""The upload cache: which content (by SHA-256) was uploaded where, and until when to trust it.

kie.ai deletes uploads after about three days (24 hours *reported*), so an entry is trusted for
:data:`UPLOAD_TTL` (12 hours) from its upload: long enough to save repeated uploads of one image in
a batch, short enough that a model still finds the file when the task runs. Entries live in
memory, per client; with a ``path`` (the client's ``upload_cache=`` option, or else the
``KIEFRAME_UPLOAD_CACHE`` environment variable) they are also kept in a small JSON file, so
separate runs share them.
The file holds content hashes, upload hosts and download links, never an API key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CACHE_ENV", "UPLOAD_TTL", "CachedUpload", "UploadCache"]

logger = logging.getLogger("kieframe")

#: How long an uploaded file's link is reused, in seconds.
UPLOAD_TTL = 12 * 3600.0
#: The environment variable naming the on-disk upload cache file.
CACHE_ENV = "KIEFRAME_UPLOAD_CACHE"
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class CachedUpload:
    """An upload still worth reusing: its link and when kieframe stops trusting it (Unix s)."""

    url: str
    expires_at: float


class UploadCache:
    """Content hash → upload link, with expiry; thread-safe, optionally persisted to ``path``."""

    def __init__(
        self, *, namespace: str, path: str | os.PathLike[str] | None = None, ttl: float = UPLOAD_TTL
    ) -> None:
        self.namespace = namespace
        self.path = Path(path) if path else None
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[str, CachedUpload] = {}
        self._loaded = False

    def _key(self, sha256: str) -> str:
        return f"{self.namespace} {sha256}"

    def get(self, sha256: str, *, now: float | None = None) -> str | None:
        """The link of content ``sha256`` if it was uploaded and is still trusted."""
        current = time.time() if now is None else now
        with self._lock:
            self._load()
            entry = self._entries.get(self._key(sha256))
        return entry.url if entry is not None and entry.expires_at > current else None

    def put(self, sha256: str, url: str, *, now: float | None = None) -> None:
        """Remember that content ``sha256`` was just uploaded to ``url``."""
        current = time.time() if now is None else now
        with self._lock:
            self._load()
            self._entries[self._key(sha256)] = CachedUpload(url, current + self.ttl)
            self._save(current)

    def _load(self) -> None:
        if self._loaded or self.path is None:
            return
        self._loaded = True
        try:
            raw: Any = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            logger.warning("ignoring the unreadable upload cache %s: %s", self.path, error)
            return
        entries = raw.get("entries") if isinstance(raw, dict) else None
        if raw.get("format") != _FORMAT or not isinstance(entries, dict):
            logger.warning("ignoring the upload cache %s: not a kieframe cache file", self.path)
            return
        for key, entry in entries.items():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self._entries.setdefault(
                    key, CachedUpload(str(entry["url"]), float(entry["expires_at"]))
                )

    def _save(self, now: float) -> None:
        if self.path is None:
            return
        live = {key: entry for key, entry in self._entries.items() if entry.expires_at > now}
        body = {
            "format": _FORMAT,
            "entries": {
                key: {"url": entry.url, "expires_at": entry.expires_at}
                for key, entry in live.items()
            },
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".kieframe-cache-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle, indent=1)
            os.replace(temporary, self.path)
        except OSError as error:
            logger.warning("could not write the upload cache %s: %s", self.path, error)

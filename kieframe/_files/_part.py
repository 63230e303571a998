"""The partial file of one result while it downloads, hashed as it is written.

A driver opens one :class:`PartFile` per fetch of a result; the bytes it writes are hashed as
they are written (the asyncio driver's on a worker thread), so the finished file is never read
back to be hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["BATCH", "PartFile"]

#: Bytes the asyncio driver gathers from the network before a worker thread stores them.
BATCH = 1 << 20


class PartFile:
    """The partial file of one result, and the SHA-256 of its bytes, computed as they arrive.

    Bytes are hashed as they are written, so the file is never read back to be hashed. The
    blocking driver writes and hashes each read at once (:meth:`write`: on two shared cores a
    hashing thread loses more to the GIL than it gains); the asyncio driver gathers reads into
    batches of :data:`BATCH` and a worker thread writes and hashes each while the next arrives
    (:meth:`awrite`), so the loop never waits for the disk. :meth:`close` stores what is still
    gathered: every byte received is kept, whatever ended the transfer, and a resumed download
    asks for exactly the rest.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes from the file's start that _digest covers
        self._handle: IO[bytes] | None = None
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self._busy: Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> PartFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if self._pool is not None:
            self._pool.shutdown()

    def open(self, start: int) -> None:
        """Cut the file to ``start`` bytes and write from there (blocking)."""
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
        if os.fstat(handle.fileno()).st_size != start:
            handle.truncate(start)
        if self._hashed != start:  # a restart, or bytes an earlier process left
            self._rehash(handle, start)
        handle.seek(start)
        self._handle = handle

    def write(self, data: bytes) -> None:
        """Write and hash ``data`` (blocking)."""
        assert self._handle is not None, "open() comes first"
        self._handle.write(data)
        self._digest.update(data)
        self._hashed += len(data)

    async def awrite(self, chunk: bytes) -> int:
        """Gather ``chunk``; write and hash each batch on the worker. Bytes handed to it."""
        self._gathered.append(chunk)
        self._gathered_size += len(chunk)
        if self._gathered_size < BATCH:
            return 0
        batch = self._take()
        if self._busy is not None:
            await asyncio.wrap_future(self._busy)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kieframe-write")
        self._busy = self._pool.submit(self.write, batch)
        return len(batch)

    def close(self) -> int:
        """Store what is gathered and close the file (blocking); how many bytes that was."""
        rest = self._take()
        if self._handle is None:
            return 0
        try:
            if self._busy is not None:
                self._busy.result()
            self.write(rest)
        finally:
            self._busy = None
            self._handle.close()
            self._handle = None
        return len(rest)

    def sha256(self, size: int) -> str:
        """The hex SHA-256 of the file, which holds ``size`` bytes (blocking)."""
        if self._hashed != size:  # completed without a body here (416: it was all on disk)
            with self.path.open("rb") as handle:
                self._rehash(handle, size)
        return self._digest.hexdigest()

    def _take(self) -> bytes:
        batch = b"".join(self._gathered)
        self._gathered.clear()
        self._gathered_size = 0
        return batch

    def _rehash(self, handle: IO[bytes], size: int) -> None:
        self._digest, self._hashed = hashlib.sha256(), 0
        handle.seek(0)
        while self._hashed < size and (chunk := handle.read(min(BATCH, size - self._hashed))):
            self._digest.update(chunk)
            self._hashed += len(chunk)

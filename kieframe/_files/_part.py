"""The partial file of one result while it downloads, hashed as it is written.

A driver opens one :class:`PartFile` per fetch of a result; the bytes it writes are hashed as
they are written, so the finished file is never read back to be hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO

from ._sniff import SNIFF_BYTES

__all__ = ["BATCH", "PartFile"]

#: Bytes gathered (or read into one buffer) before they are stored as one block.
BATCH = 1 << 20
#: Buffers of :meth:`PartFile.buffer` whose bytes may be waiting for the hashing thread.
_DEPTH = 4
#: Blocks smaller than this are hashed on the spot, not on the hashing thread.
_INLINE = 256 << 10


class PartFile:
    """The partial file of one result, and the SHA-256 of its bytes, computed as they arrive.

    Three ways in, one per kind of reader, each keeping network reads, writes and hashing as
    few and as large as the reader allows:

    - :meth:`buffer` and :meth:`commit`, for a reader that fills buffers itself (the blocking
      driver reading a socket): each block is written at once and hashed on a worker thread
      while the next one arrives, so on two cores reading and hashing overlap. At most
      ``_DEPTH`` buffers are in use; a buffer is handed out again only once it is hashed.
    - :meth:`write`, which writes and hashes at once (small reads, and the worker below).
    - :meth:`awrite`, for the asyncio driver: it gathers reads into batches of :data:`BATCH`
      and a worker thread writes and hashes each while the next arrives, so the loop never
      waits for the disk.

    :meth:`close` stores what is still gathered and waits for the hashing: every byte received
    is kept, whatever ended the transfer, and a resumed download asks for exactly the rest.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes from the file's start that _digest covers (once settled)
        self._handle: IO[bytes] | None = None
        self._at = 0  # where the next write lands
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self._busy: Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._free: list[memoryview] = []
        self._hashing: deque[tuple[Future[None], memoryview]] = deque()
        #: The file's first bytes (up to SNIFF_BYTES) as written here; None if some came before.
        self.head: bytearray | None = None

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
        self._settle()
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b", buffering=0)
        if os.fstat(handle.fileno()).st_size != start:
            handle.truncate(start)
        if self._hashed != start:  # a restart, or bytes an earlier process left
            self._rehash(handle, start)
        handle.seek(start)
        self._handle = handle
        if start == 0:
            self.head = bytearray()
        elif self.head is not None and len(self.head) >= min(start, SNIFF_BYTES):
            del self.head[start:]  # the file was cut back to bytes written here
        else:
            self.head = None
        self._at = start

    def write(self, data: bytes | memoryview) -> None:
        """Write and hash ``data`` (blocking)."""
        self._settle()  # blocks still hashing come first
        self._store(data)
        self._digest.update(data)
        self._hashed += len(data)

    def buffer(self, wanted: int = BATCH) -> memoryview:
        """A free buffer to read into, then hand to :meth:`commit`.

        It holds :data:`BATCH` bytes, or ``wanted`` if fewer and no buffer is free: a small
        file gets a buffer of its size.
        """
        if self._free:
            return self._free.pop()
        if len(self._hashing) < _DEPTH:
            return memoryview(bytearray(min(wanted, BATCH)))
        busy, view = self._hashing.popleft()
        busy.result()
        return view

    def commit(self, view: memoryview, size: int) -> None:
        """Write the first ``size`` bytes of ``view`` (from :meth:`buffer`); hash them meanwhile.

        A small block (a small file's, or a body's last) is hashed at once: handing it to the
        hashing thread would cost more than it saves.
        """
        block = view[:size]
        self._store(block)
        if size < _INLINE and not self._hashing:
            self._hash(block)
            self._free.append(view)
        else:
            self._hashing.append((self._worker().submit(self._hash, block), view))

    async def awrite(self, chunk: bytes) -> int:
        """Gather ``chunk``; write and hash each batch on the worker. Bytes handed to it."""
        self._gathered.append(chunk)
        self._gathered_size += len(chunk)
        if self._gathered_size < BATCH:
            return 0
        batch = self._take()
        if self._busy is not None:
            await asyncio.wrap_future(self._busy)
        self._busy = self._worker().submit(self.write, batch)
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
            self._settle()
            self._handle.close()
            self._handle = None
        return len(rest)

    def sha256(self, size: int) -> str:
        """The hex SHA-256 of the file, which holds ``size`` bytes (blocking)."""
        self._settle()
        if self._hashed != size:  # completed without a body here (416: it was all on disk)
            with self.path.open("rb") as handle:
                self._rehash(handle, size)
        return self._digest.hexdigest()

    def _worker(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kieframe-write")
        return self._pool

    def _store(self, data: bytes | memoryview) -> None:
        assert self._handle is not None, "open() comes first"
        view = memoryview(data)
        if self.head is not None and self._at < SNIFF_BYTES:
            self.head += view[: SNIFF_BYTES - self._at]
        self._at += len(view)
        while view:  # an unbuffered write may store less than it was given
            view = view[self._handle.write(view) or 0 :]

    def _hash(self, block: memoryview) -> None:
        """Hash a committed block (on the worker, in commit order; large blocks free the GIL)."""
        self._digest.update(block)
        self._hashed += len(block)

    def _settle(self) -> None:
        """Wait until every committed block is hashed; their buffers are free again."""
        while self._hashing:
            busy, view = self._hashing.popleft()
            try:
                busy.result()
            finally:
                self._free.append(view)

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

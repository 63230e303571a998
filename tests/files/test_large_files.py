"""Files of several MiB, read in large blocks: every byte kept across cuts, timeouts and cancels.

A file host on 127.0.0.1 serves one payload larger than a network read and than a write
buffer, with single ranges, and cuts or stalls the body where a test says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.server
import json
import random
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._files._part import BATCH, PartFile

SIZE = 3 * BATCH + 12_345  # several write buffers, and a last one partly filled
PAYLOAD = random.Random(15).randbytes(SIZE)


@dataclass
class Script:
    """What the host does to the next requests: cut after n body bytes, or stall after n."""

    cuts: deque[int] = field(default_factory=deque)
    stall_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    ranges: list[str | None] = field(default_factory=list)


class _Host(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        self.script.ranges.append(wanted)
        first = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
        body = PAYLOAD[first:]
        self.send_response(206 if wanted else 200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        if wanted:
            self.send_header("Content-Range", f"bytes {first}-{SIZE - 1}/{SIZE}")
        self.end_headers()
        cut = self.script.cuts.popleft() if self.script.cuts else None
        stall, self.script.stall_after = self.script.stall_after, None
        if stall is not None:
            self.wfile.write(body[:stall])
            self.script.release.wait(30)
        elif cut is not None:
            self.wfile.write(body[:cut])
        else:
            self.wfile.write(body)
        self.close_connection = True


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Script]]:
    """The file host's URL and its script, for the module."""
    script = Script()
    handler = type("Host", (_Host,), {"script": script})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/clip.mp4", script
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _reset(script: Script) -> None:
    script.release.set()  # a request still stalled from an earlier test ends
    script.release = threading.Event()
    script.cuts.clear()
    script.stall_after = None
    script.ranges.clear()


@pytest.fixture
def host(server: tuple[str, Script]) -> tuple[str, Script]:
    """The file host, with a fresh script."""
    _reset(server[1])
    return server


def _record(url: str) -> kieframe.TaskRecord:
    return kieframe.TaskRecord(
        task_id="large", model="test/large", state="success", result_urls=(url,)
    )


#: The clients: blocking; asyncio with its own httpx client (files come through a blocking twin
#: on a thread); asyncio with an httpx client passed in (files read on the loop).
KINDS = ["sync", "async", "async-given-http"]


def _download(url: str, folder: Path, *, kind: str, timeout: float = 30.0) -> Path:
    if kind == "sync":
        with kieframe.Client("k", base_url=url, timeout=timeout) as client:
            (path,) = client.download(_record(url), to=folder)
        return path

    async def fetch() -> tuple[Path, ...]:
        async with contextlib.AsyncExitStack() as stack:
            given = None
            if kind == "async-given-http":
                given = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout))
            client = await stack.enter_async_context(
                kieframe.AsyncClient("k", base_url=url, timeout=timeout, http_client=given)
            )
            return await client.download(_record(url), to=folder)

    (path,) = asyncio.run(fetch())
    return path


def _check_saved(path: Path) -> None:
    assert path.read_bytes() == PAYLOAD
    meta = json.loads(path.with_name(f"{path.name}.json").read_text())
    assert meta["size"] == SIZE
    assert meta["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()


# Cut points anywhere, buffer boundaries and the first bytes included; together under the size.
_offsets = st.one_of(
    st.integers(1, SIZE // 4),
    st.sampled_from([1, 65_536, BATCH - 1, BATCH, BATCH + 1, 2 * BATCH]),
)
_cuts = st.lists(_offsets, min_size=1, max_size=4).filter(lambda cuts: sum(cuts) < SIZE)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=_cuts, kind=st.sampled_from(KINDS))
def test_cuts_anywhere_keep_every_byte(
    server: tuple[str, Script],
    tmp_path_factory: pytest.TempPathFactory,
    cuts: list[int],
    kind: str,
) -> None:
    url, script = server
    _reset(script)
    script.cuts.extend(cuts)
    path = _download(url, tmp_path_factory.mktemp("out"), kind=kind)
    _check_saved(path)
    # Each request asked for exactly the bytes after those already kept: none twice, none lost.
    kept = 0
    expected: list[str | None] = [None]
    for cut in cuts:
        kept += cut
        expected.append(f"bytes={kept}-")
    assert script.ranges == expected


@pytest.mark.parametrize("kind", KINDS)
def test_a_whole_file_in_one_request(host: tuple[str, Script], tmp_path: Path, kind: str) -> None:
    url, script = host
    _check_saved(_download(url, tmp_path, kind=kind))
    assert script.ranges == [None]


def test_a_stalled_body_times_out_and_resumes(host: tuple[str, Script], tmp_path: Path) -> None:
    url, script = host
    script.stall_after = BATCH + 100  # inside the second buffer
    _check_saved(_download(url, tmp_path, kind="sync", timeout=1.0))
    assert script.ranges[1] == f"bytes={BATCH + 100}-"


def test_a_cancelled_async_download_keeps_what_arrived(
    host: tuple[str, Script], tmp_path: Path
) -> None:
    """Cancelled mid-body: the partial file holds a prefix of the file; the next run resumes."""
    url, script = host
    script.stall_after = 200_000

    async def cancel_midway() -> None:
        arrived = asyncio.Event()
        async with kieframe.AsyncClient("k", base_url=url) as client:
            task = asyncio.create_task(
                client.download(_record(url), to=tmp_path, progress=lambda *_: arrived.set())
            )
            await arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(cancel_midway())
    (part,) = tmp_path.glob(".*.kieframe-part")
    kept = part.read_bytes()
    assert 0 < len(kept) <= 200_000
    assert kept == PAYLOAD[: len(kept)]
    script.release.set()
    _check_saved(_download(url, tmp_path, kind="async"))
    assert script.ranges[-1] == f"bytes={len(kept)}-"


# -- the partial file on its own ------------------------------------------------------------

_blocks = st.lists(
    st.tuples(st.sampled_from(["write", "commit", "reopen"]), st.integers(0, 3 * BATCH // 2)),
    max_size=8,
)


@settings(max_examples=25, deadline=None)
@given(steps=_blocks)
def test_the_hash_covers_exactly_the_bytes_on_disk(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    """Blocks written at once or hashed on the worker, across reopens: one file, one digest."""
    path = tmp_path_factory.mktemp("part") / "file.part"
    data = random.Random(len(steps)).randbytes(sum(n for _, n in steps))
    at = 0
    with PartFile(path) as part:
        part.open(0)
        for how, n in steps:
            block = data[at : at + n]
            if how == "write":
                part.write(block)
            elif how == "reopen":
                part.close()
                part.open(at)
                part.write(block)
            else:
                while block:
                    view = part.buffer()
                    size = min(len(view), len(block))
                    view[:size] = block[:size]
                    part.commit(view, size)
                    block = block[size:]
            at += n
        part.close()
        assert part.sha256(at) == hashlib.sha256(data[:at]).hexdigest()
    assert path.read_bytes() == data[:at]

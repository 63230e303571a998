"""Download a large file from a local server: kieframe against ``curl -o`` and bare httpx streams.

The server (:mod:`._fileserver`) sends with ``sendfile``. kieframe's figure includes what it does
beyond the bytes: hashing them (the ``sha256`` of the metadata file), the part file and its move,
the metadata. ``curl -o`` and the bare httpx loops only write. Every run writes a new file (the
previous one is removed and synced to disk first, outside the timing), so that no run pays for
another's writeback. Each contender runs once untimed first: what a process pays once (imports,
the TLS context its clients share) is start-up, which ``bench_import`` measures, not transfer.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

import kieframe

from ._common import Figure, alternate
from ._fileserver import serve_file

MiB = 1 << 20


def _clean(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.sync()


def _speed(size: int, folder: Path, work: Callable[[], object]) -> Callable[[], float]:
    """A measurement: MiB/s of ``work``, which downloads ``size`` bytes into ``folder``."""

    def measure() -> float:
        _clean(folder)
        start = time.perf_counter()
        work()
        return size / MiB / (time.perf_counter() - start)

    return measure


def run(*, quick: bool) -> list[Figure]:
    size = (32 if quick else 256) * MiB
    repeat = 2 if quick else 3
    have_curl = shutil.which("curl") is not None
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch, "source.bin")
        with source.open("wb") as handle:
            for _ in range(size // MiB):
                handle.write(os.urandom(MiB))
        out = Path(scratch, "out")
        out.mkdir()
        with serve_file(source) as url:
            record = kieframe.TaskRecord(
                task_id="bench", model="bench/file", state="success", result_urls=(url,)
            )
            return _figures(url, record, size, out, repeat, have_curl)


def _figures(
    url: str, record: kieframe.TaskRecord, size: int, out: Path, repeat: int, have_curl: bool
) -> list[Figure]:
    def ours_sync() -> None:
        with kieframe.Client("benchmark-key", base_url=url) as client:
            (path,) = client.download(record, to=out)
        assert path.stat().st_size == size

    def ours_async() -> None:
        async def download() -> None:
            async with kieframe.AsyncClient("benchmark-key", base_url=url) as client:
                await client.download(record, to=out)

        asyncio.run(download())

    def bare_sync() -> None:
        with (
            httpx.Client() as http,
            http.stream("GET", url) as answer,
            (out / "bare.bin").open("wb") as handle,
        ):
            for chunk in answer.iter_raw():
                handle.write(chunk)

    def bare_async() -> None:
        async def download() -> None:
            async with httpx.AsyncClient() as http, http.stream("GET", url) as answer:
                with (out / "bare.bin").open("wb") as handle:
                    async for chunk in answer.aiter_raw():
                        handle.write(chunk)

        asyncio.run(download())

    def curl() -> None:
        subprocess.run(["curl", "-s", "-o", str(out / "curl.bin"), url], check=True)

    label = f"download {size // MiB} MiB from a local server"
    figures = []
    pairs: list[tuple[str, Callable[[], None], str, Callable[[], None], float]] = []
    if have_curl:
        pairs += [
            (f"{label}, sync", ours_sync, "curl -o", curl, 0.9),
            (f"{label}, async", ours_async, "curl -o", curl, 0.9),
        ]
    pairs += [
        (f"{label}, sync", ours_sync, "bare httpx stream", bare_sync, 0.9),
        (f"{label}, async", ours_async, "bare httpx stream", bare_async, 0.9),
    ]
    for work in [ours_sync, ours_async, bare_sync, bare_async, *([curl] if have_curl else [])]:
        _clean(out)  # warm-up, untimed
        work()
    for name, ours, baseline, theirs, goal in pairs:
        mine, other = alternate(repeat, _speed(size, out, ours), _speed(size, out, theirs))
        figures.append(Figure(name, "MiB/s", mine, baseline, other, (">=", goal)))
    if not have_curl:
        print("download vs curl skipped: curl is not installed (.ci/run installs it as root)")
    return figures

"""The spool: a callback acknowledged is handled exactly once, even if the receiver was killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nesting import nested_json
from waiting import wait_for

import kieframe
from kieframe._callbacks._spool import Spool
from kieframe.callbacks import CallbackReceiver, CallbackServer

from ._support import KEY, signed_headers


def _body(task_id: str) -> bytes:
    data = {"taskId": task_id, "model": "wan/2-5-image-to-video", "state": "success",
            "resultJson": json.dumps({"resultUrls": ["https://example.com/v.mp4"]})}  # fmt: skip
    return json.dumps({"code": 200, "msg": "success", "data": data}).encode()


async def _post(url: str, task_ids: list[str]) -> list[int]:
    """POST a callback for each task at once; the statuses."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post("/", content=_body(t), headers=signed_headers(t)) for t in task_ids)
        )
    return [answer.status_code for answer in answers]


class _Handled:
    """A handler that records the task ids it was given, thread-safe."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, record: kieframe.TaskRecord) -> None:
        with self._lock:
            self.ids.append(record.task_id)

    def count(self) -> int:
        with self._lock:
            return len(self.ids)


@pytest.fixture(params=["fsync", "nofsync"])
def killed_receiver(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Path, subprocess.Popen[str], str]]:
    """A receiver process with a spool whose handler never returns; yields spool, process, URL.

    Its commits are flushed to the disk, or (``nofsync``) handed to the operating system only.
    """
    spool = tmp_path / "spool" / "callbacks.sqlite"
    app = Path(__file__).with_name("_spool_app.py")
    env = {**os.environ, "KIEFRAME_DATABASE_URL": ""}
    process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, str(app), str(spool), request.param],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield spool, process, f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def _serve_until_handled(spool: Path, handled: _Handled, expected: int) -> None:
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=handled, spool=spool)
    with CallbackServer(receiver):
        wait_for(lambda: handled.count() >= expected, timeout=60)


def test_acknowledged_callbacks_survive_a_kill_and_are_handled_exactly_once(
    killed_receiver: tuple[Path, subprocess.Popen[str], str],
) -> None:
    spool, process, url = killed_receiver
    acked = [f"crash{n:03d}" for n in range(40)]
    assert asyncio.run(_post(url, acked)) == [200] * len(acked)
    process.send_signal(signal.SIGKILL)
    process.wait(30)

    handled = _Handled()
    _serve_until_handled(spool, handled, len(acked))
    assert Counter(handled.ids) == dict.fromkeys(acked, 1)

    # A third start replays nothing: with one worker, the replayed callbacks would come first.
    later = _Handled()
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=later, spool=spool, workers=1)
    with CallbackServer(receiver) as server:
        assert asyncio.run(_post(server.url, ["after"])) == [200]
        wait_for(lambda: later.count() >= 1, timeout=60)
    assert later.ids == ["after"]


def test_a_callback_handled_before_a_restart_is_not_handled_again(tmp_path: Path) -> None:
    spool = tmp_path / "callbacks.sqlite"
    first = _Handled()
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=first, spool=spool)
    with CallbackServer(receiver) as server:
        assert asyncio.run(_post(server.url, ["a", "b", "c"])) == [200] * 3
        wait_for(lambda: first.count() >= 3, timeout=60)
    second = _Handled()
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, handler=second, spool=spool, workers=1)
    with CallbackServer(receiver) as server:
        assert asyncio.run(_post(server.url, ["d"])) == [200]
        wait_for(lambda: second.count() >= 1, timeout=60)
    assert sorted(first.ids) == ["a", "b", "c"]
    assert second.ids == ["d"]


def test_a_spool_that_cannot_be_opened_fails_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    receiver = CallbackReceiver(hmac_key=KEY, reread=False, spool=blocker / "callbacks.sqlite")
    with pytest.raises(RuntimeError, match="failed to start"):
        CallbackServer(receiver).start()


def _spool_with(path: Path, *records: bytes) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE callbacks (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)")
        db.executemany("INSERT INTO callbacks (record) VALUES (?)", [(r,) for r in records])
    db.close()


async def _reopen(path: Path) -> list[str]:
    """Open the spool at ``path`` and close it at once; the task ids of the records left."""
    spool = Spool(path, lambda seq, record: None, fsync=False)
    left = spool.open()
    await spool.close()
    return [record.task_id for _, record in left]


def test_a_spool_closed_at_once_after_dropping_a_record_closes(tmp_path: Path) -> None:
    """The dropped record's deletion and the close may arrive in one wake: both are done."""
    _spool_with(tmp_path / "callbacks.sqlite", b"not json", b'{"taskId": "kept"}')
    assert asyncio.run(asyncio.wait_for(_reopen(tmp_path / "callbacks.sqlite"), 60)) == ["kept"]
    assert asyncio.run(asyncio.wait_for(_reopen(tmp_path / "callbacks.sqlite"), 60)) == ["kept"]


def test_a_record_in_the_spool_nested_too_deeply_is_dropped_at_the_start(tmp_path: Path) -> None:
    _spool_with(tmp_path / "callbacks.sqlite", nested_json(100_000).encode(), b'{"taskId": "k"}')
    assert asyncio.run(asyncio.wait_for(_reopen(tmp_path / "callbacks.sqlite"), 60)) == ["k"]

"""Batches under faults: uncertain creates, 429s, 5xx and cut connections, lost and duplicated
callbacks, cut downloads, failed tasks, refused creates; each ends in its own status."""

from __future__ import annotations

import collections
import hashlib
import logging
from pathlib import Path
from typing import Literal

import pytest
import stamina

import kieframe.batch as kb
from kieframe.batch import LineStatus
from kieframe.testing import Emulator, Lifetimes

from ._support import batch_options, emulator, make_registry, write_jsonl


def creates_per_prompt(emu: Emulator) -> collections.Counter[str]:
    """How many tasks the emulator made for each line (lines have distinct prompts)."""
    return collections.Counter(str(task.input["prompt"]) for task in emu.tasks)


def check_files(out: Path, records: tuple[kb.LineRecord, ...]) -> None:
    """Every listed file is complete: its size and SHA-256 match the manifest."""
    for line in records:
        for entry in line.files:
            data = (out / entry.path).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry.bytes, entry.sha256)


def test_uncertain_creates_are_never_resent_and_settle_by_callback(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        emu.callbacks_mode(duplicate=2)
        emu.fault("createTask", "drop", times=2)  # the task is made, the answer is cut
        emu.fault("createTask", "http_500")  # no task, and no way to know it
        emu.fault("createTask", "code", code=429, retry_after=1, times=2)  # dropped: resent
        # One create at a time, so the queued faults meet the lines in input order.
        options = batch_options(emu, registry) | {
            "listen": ("127.0.0.1", 0),
            "settle_timeout": 2,
            "concurrency": 1,
        }
        result = kb.run(source, out=out, **options)
        statuses = collections.Counter(line.status for line in result.records)
        assert statuses == {LineStatus.SUCCEEDED: 11, LineStatus.UNCERTAIN: 1}
        (open_line,) = result.reconcile
        assert open_line.id == "l2"
        assert open_line.sent_input is not None
        assert open_line.sent_input["prompt"] == "prompt 2"
        assert open_line.sent_at is not None
        counts = creates_per_prompt(emu)
        assert counts == {f"prompt {n}": 1 for n in range(12) if n != 2}

        # Still never resent on its own (its callback cannot come: no time given to wait for it).
        again = kb.run(source, out=out, **(options | {"settle_timeout": 0}))
        assert creates_per_prompt(emu) == counts
        assert [line.status for line in again.records] == [line.status for line in result.records]

        kb.resolve(out, "l2", task_id=None)  # a person checked: kie.ai made no task
        final = kb.run(source, out=out, **options)
        assert final.all_succeeded
        assert creates_per_prompt(emu) == {f"prompt {n}": 1 for n in range(12)}
    check_files(out, final.records)


def test_read_faults_lost_callbacks_and_cut_downloads_still_finish_every_line(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 15)
    out = tmp_path / "out"
    with emulator(registry, seed=3) as emu:
        emu.callbacks_mode(lose=0.5, duplicate=1)
        emu.fault("recordInfo", "http_500", probability=0.15)
        emu.fault("recordInfo", "drop_before", times=3)
        emu.fault("files", "drop", cut_after=1000, times=4)
        options = batch_options(emu, registry) | {"listen": ("127.0.0.1", 0)}
        result = kb.run(source, out=out, **options)
        assert result.all_succeeded, result.status
        assert creates_per_prompt(emu) == {f"prompt {n}": 1 for n in range(15)}
    check_files(out, result.records)


def test_failed_tasks_end_failed_and_are_sent_again_only_when_asked(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        emu.script(outcome="fail", fail_code="500", fail_msg="boom")
        options = batch_options(emu, registry)
        result = kb.run(source, out=out, **options)
        (failed,) = [line for line in result.records if line.status == LineStatus.FAILED]
        assert failed.error is not None
        assert (failed.error.type, failed.error.code) == ("TaskFailed", "500")
        assert not result.all_succeeded
        kb.run(source, out=out, **options)
        assert len(emu.tasks) == 4  # not paid again unless asked
        final = kb.run(source, out=out, retry=["failed"], **options)
        assert final.all_succeeded
        assert len(emu.tasks) == 5
        assert creates_per_prompt(emu)[f"prompt {failed.line - 1}"] == 2


def test_a_failed_download_ends_download_failed_and_is_retried_without_paying(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out"
    # Result links expire at once, and kie.ai refuses the first refresh: that download fails.
    with emulator(registry, lifetimes=Lifetimes(result=0.0)) as emu:
        emu.fault("download-url", "code", code=422)
        options = batch_options(emu, registry)
        result = kb.run(source, out=out, **options)
        statuses = collections.Counter(line.status for line in result.records)
        assert statuses == {LineStatus.SUCCEEDED: 2, LineStatus.DOWNLOAD_FAILED: 1}
        (broken,) = [r for r in result.records if r.status == LineStatus.DOWNLOAD_FAILED]
        assert broken.error is not None
        assert broken.files == ()
        final = kb.run(source, out=out, retry=["download_failed"], **options)
        assert final.all_succeeded
        assert len(emu.tasks) == 3
    check_files(out, final.records)


def test_refused_creates_end_rejected_and_stop_the_batch_when_credits_run_out(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 6)
    out = tmp_path / "out"
    with emulator(registry, credits=2 * Emulator.TASK_COST) as emu:
        options = batch_options(emu, registry) | {"concurrency": 1}
        result = kb.run(source, out=out, **options)
        statuses = collections.Counter(line.status for line in result.records)
        assert statuses == {
            LineStatus.SUCCEEDED: 2,
            LineStatus.REJECTED: 1,
            LineStatus.PENDING: 3,
        }
        (rejected,) = [r for r in result.records if r.status == LineStatus.REJECTED]
        assert rejected.error is not None
        assert rejected.error.type == "InsufficientCreditsError"
        emu.credits = 1_000
        final = kb.run(source, out=out, retry=["rejected"], **options)
        assert final.all_succeeded
        assert len(emu.tasks) == 6


def test_maintenance_refusals_put_lines_back_and_the_batch_sends_them_once_it_is_over(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        emu.fault("createTask", "code", code=455, msg="service under maintenance", times=3)
        options = batch_options(emu, registry) | {"concurrency": 1}
        result = kb.run(source, out=out, **options)
        assert result.all_succeeded, result.status  # no line rejected: sent again later
        assert creates_per_prompt(emu) == {f"prompt {n}": 1 for n in range(4)}


@pytest.mark.parametrize("endpoint", ["createTask", "upload"])
def test_maintenance_past_its_budget_stops_sending_and_leaves_the_lines_pending(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, endpoint: Literal["createTask", "upload"]
) -> None:
    """Refused creates, or uploads of the lines' local files (past their own retries)."""
    registry = make_registry()
    if endpoint == "upload":
        source = _local_file_lines(tmp_path, 3)
    else:
        source = write_jsonl(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out"
    with emulator(registry) as emu, stamina.set_testing(True, attempts=2):  # retries, no waits
        emu.fault(endpoint, "code", code=455, msg="service under maintenance", probability=1)
        options = batch_options(emu, registry) | {"concurrency": 1}
        with caplog.at_level(logging.ERROR, logger="kieframe"):
            result = kb.run(source, out=out, maintenance_timeout=0, **options)
        assert [line.status for line in result.records] == [LineStatus.PENDING] * 3
        assert all(line.error is None for line in result.records)
        assert not emu.tasks
        assert "under maintenance" in caplog.text
        assert "pending" in caplog.text
        emu.fault(endpoint, "code", code=455, probability=0)  # over: a plain rerun sends them
        final = kb.run(source, out=out, **options)
        assert final.all_succeeded, final.status
        assert creates_per_prompt(emu) == {f"prompt {n}": 1 for n in range(3)}


def _local_file_lines(folder: Path, count: int) -> Path:
    """A CSV of ``count`` lines whose image is a local file beside it (uploaded once, cached)."""
    (folder / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    source = folder / "in.csv"
    rows = "".join(f"c{n},prompt {n},cat.png\n" for n in range(count))
    source.write_text("id,prompt,image_url\n" + rows)
    return source


@pytest.mark.parametrize(
    ("code", "msg"), [(455, "service under maintenance"), (429, "rate limited")]
)
def test_uploads_refused_for_now_put_lines_back_and_the_batch_sends_them_later(
    tmp_path: Path, code: int, msg: str
) -> None:
    """An upload refused past its own retries (maintenance, rate limit) is not a rejection."""
    registry = make_registry()
    source = _local_file_lines(tmp_path, 3)
    with emulator(registry) as emu, stamina.set_testing(True, attempts=2):  # retries, no waits
        emu.fault("upload", "code", code=code, msg=msg, times=5)  # two lines' worth of retries
        options = batch_options(emu, registry) | {"concurrency": 1}
        result = kb.run(source, out=tmp_path / "out", **options)
        assert result.all_succeeded, result.status  # no line rejected: sent again later
        assert creates_per_prompt(emu) == {f"prompt {n}": 1 for n in range(3)}
        assert len(emu.uploads) == 1

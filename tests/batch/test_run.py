"""Batches end to end against the emulator: a clean run, resume, invalid lines, conflicts."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import kieframe.batch as kb
from kieframe._batch._lines import read_lines
from kieframe.batch import LineStatus, SQLiteBatchStore

from ._support import (
    IMAGE,
    MODEL,
    SPEC,
    batch_options,
    comparable,
    emulator,
    make_registry,
    manifest,
    write_jsonl,
)


def _check_files(out: Path, records: list[kb.LineRecord]) -> None:
    for line in records:
        for entry in line.files:
            data = (out / entry.path).read_bytes()
            assert len(data) == entry.bytes
            assert hashlib.sha256(data).hexdigest() == entry.sha256
            meta = json.loads((out / f"{entry.path}.json").read_text())
            assert meta["line_id"] == line.id
            assert meta["task_id"] == line.task_id


@pytest.mark.parametrize("callbacks", [False, True], ids=["polling", "callbacks"])
def test_a_clean_batch_succeeds_line_by_line_in_input_order(
    tmp_path: Path, callbacks: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 25)
    adopts: list[str] = []
    adopt = SQLiteBatchStore.adopt

    def counted(store: SQLiteBatchStore, owner: str) -> list[kb.StoredLine]:
        adopts.append(owner)
        return adopt(store, owner)

    monkeypatch.setattr(SQLiteBatchStore, "adopt", counted)
    progress: list[kb.BatchStatus] = []
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        if callbacks:
            options["listen"] = ("127.0.0.1", 0)
        # A lease longer than the run: no worker can die unseen, so nothing calls for a look
        # for lines to follow but the start and the end, however many ticks the run takes.
        result = kb.run(
            source, out=tmp_path / "out", lease=3600.0, on_progress=progress.append, **options
        )
        assert len(emu.tasks) == 25  # (a create refused with 429 under load is resent: not paid)
    # Each tick used to adopt. Now the start and the end do, and with callbacks a line settled
    # by its callback before the journal wrote it accepted calls for one look each.
    assert len(adopts) <= 2 < len(progress) or callbacks
    assert len(adopts) <= 2 + 25
    assert result.all_succeeded
    assert [r.id for r in result.records] == [f"l{n}" for n in range(25)]
    assert all(r.status == LineStatus.SUCCEEDED and r.model == MODEL for r in result.records)
    assert manifest(tmp_path / "out") == [
        json.loads(json.dumps(_builtins(r))) for r in result.records
    ]
    _check_files(tmp_path / "out", list(result.records))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"] == {"succeeded": 25}


def test_each_line_is_written_accepted_once_with_its_task(tmp_path: Path) -> None:
    """The store records one move into ``accepted`` per line: no rewrite of what it holds."""
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 6)
    state = tmp_path / "out" / kb.STATE_FILE
    SQLiteBatchStore(state).close()  # the schema, to watch its lines table
    with sqlite3.connect(state) as db:
        db.executescript(
            "CREATE TABLE moves (id TEXT, before TEXT, after TEXT, task_id TEXT);"
            " CREATE TRIGGER watch AFTER UPDATE OF status ON lines BEGIN"
            " INSERT INTO moves VALUES (new.id, old.status, new.status, new.task_id); END;"
        )
    with emulator(registry) as emu:
        result = kb.run(source, out=tmp_path / "out", **batch_options(emu, registry))
    assert result.all_succeeded
    with sqlite3.connect(state) as db:
        moves = db.execute("SELECT id, before, task_id FROM moves WHERE after = 'accepted'")
        accepted = sorted(moves.fetchall())
    assert accepted == sorted((r.id, "sending", r.task_id) for r in result.records)


def _builtins(record: kb.LineRecord) -> object:
    import msgspec

    return msgspec.to_builtins(record)


def test_running_a_finished_batch_again_sends_nothing(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 5)
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        first = kb.run(source, out=tmp_path / "out", **options)
        second = kb.run(source, out=tmp_path / "out", **options)
        assert len(emu.tasks) == 5
    assert comparable(first.records) == comparable(second.records)
    assert [r.task_id for r in first.records] == [r.task_id for r in second.records]


def test_a_run_removes_the_part_folder_a_kill_left_behind_a_succeeded_line(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 2)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        kb.run(source, out=out, **options)
        # What a SIGKILL after the line's success and before its folder was removed leaves.
        left = out / ".parts" / "l1"
        left.mkdir(parents=True)
        (left / "l1-1.mp4.json").write_text("{}")
        again = kb.run(source, out=out, **options)
        assert len(emu.tasks) == 2
    assert again.all_succeeded
    assert not left.exists()


def test_invalid_lines_are_all_reported_with_line_numbers_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps(
                    {"id": "ok", "input": {"prompt": "x", "image_url": "https://e.com/a.png"}}
                ),
                json.dumps(
                    {
                        "id": "long",
                        "input": {"prompt": "x" * 300, "image_url": "https://e.com/a.png"},
                    }
                ),
                "{not json",
                json.dumps(
                    {"id": "ok", "input": {"prompt": "dup", "image_url": "https://e.com/a.png"}}
                ),
                json.dumps(
                    {
                        "id": "dur",
                        "input": {
                            "prompt": "x",
                            "image_url": "https://e.com/a.png",
                            "duration": 11,
                        },
                    }
                ),
            ]
        )
        + "\n"
    )
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        with pytest.raises(kb.BatchInvalid) as caught:
            kb.run(source, out=tmp_path / "out", **options)
        assert emu.tasks == ()
        lines = sorted({p.line for p in caught.value.problems})
        assert lines == [2, 3, 4, 5]
        fields = {p.line: p.field for p in caught.value.problems}
        assert fields[2] == "prompt"
        assert fields[4] == "id"
        assert fields[5] == "duration"
        result = kb.run(source, out=tmp_path / "out2", skip_invalid=True, **options)
        assert len(emu.tasks) == 1
    statuses = [(r.line, r.status) for r in result.records]
    assert statuses[0] == (1, LineStatus.SUCCEEDED)
    assert {status for _, status in statuses[1:]} == {LineStatus.INVALID}
    assert not result.all_succeeded


def test_lines_needing_a_callback_are_flagged_before_paying_and_sent_by_a_run_with_one(
    tmp_path: Path,
) -> None:
    """Without a callback URL, a line of a model that requires one is a problem of the preview
    (nothing is sent); a later run with a callback URL sends it."""
    needs = dataclasses.replace(SPEC, id="test/needs-callback", requires_callback=True)
    registry = make_registry(needs)
    source = write_jsonl(tmp_path / "in.jsonl", 1)
    source.write_text(
        source.read_text()
        + json.dumps({"id": "cb", "model": needs.id, "input": {"prompt": "p", "image_url": IMAGE}})
        + "\n"
    )
    out = tmp_path / "out"
    asked: list[kb.Preview] = []

    def confirm(preview: kb.Preview) -> bool:
        asked.append(preview)
        return True

    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        with pytest.raises(kb.BatchInvalid) as caught:
            kb.run(source, out=out, confirm=confirm, **options)
        assert [(p.id, p.field) for p in caught.value.problems] == [("cb", "callback_url")]
        assert "--callback-url" in str(caught.value)
        assert (asked, emu.tasks) == ([], ())
        first = kb.run(source, out=out, skip_invalid=True, confirm=confirm, **options)
        assert [p.id for p in asked[0].problems] == ["cb"]
        assert asked[0].to_send == 1
        assert [task.model for task in emu.tasks] == [MODEL]
        assert {r.id: r.status for r in first.records}["cb"] == LineStatus.INVALID
        again = kb.run(source, out=out, listen=("127.0.0.1", 0), **options)
        assert [task.model for task in emu.tasks] == [MODEL, needs.id]
    assert again.all_succeeded


def test_a_changed_line_is_refused_unless_replaced(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        kb.run(source, out=tmp_path / "out", **options)
        text = source.read_text().replace("prompt 1", "prompt one")
        source.write_text(text)
        with pytest.raises(kb.BatchConflict) as caught:
            kb.run(source, out=tmp_path / "out", **options)
        assert caught.value.ids == ("l1",)
        assert len(emu.tasks) == 3
        result = kb.run(source, out=tmp_path / "out", replace=True, **options)
        assert len(emu.tasks) == 4
        assert emu.tasks[-1].input["prompt"] == "prompt one"
    assert result.all_succeeded


@pytest.mark.parametrize(("name", "status"), [("failed", "failed"), ("rejected", "rejected")])
def test_a_dry_run_with_a_retry_counts_the_lines_the_run_sends_again(
    tmp_path: Path, name: str, status: str
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 4)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        assert kb.run(source, out=out, **options).all_succeeded
        with sqlite3.connect(out / kb.STATE_FILE) as db:
            db.execute("UPDATE lines SET status = ? WHERE id IN ('l1', 'l3')", (status,))
        dry = kb.run(source, out=out, retry=[name], dry_run=True, **options)
        assert len(emu.tasks) == 4
        assert dry.preview.to_send == 2
        assert dry.preview.floor_seconds == pytest.approx(2 / dry.preview.create_rate)
        sent = kb.run(source, out=out, retry=[name], **options)
        assert sent.preview.to_send == 2
        assert len(emu.tasks) == 6
    assert sent.all_succeeded


def _run_then_fail(
    source: Path, out: Path, options: dict[str, Any], line: str, error: str | None = None
) -> None:
    """Run a batch of three lines to the end, then mark ``line`` failed (with ``error``)."""
    write_jsonl(source, 3)
    assert kb.run(source, out=out, **options).all_succeeded
    with sqlite3.connect(out / kb.STATE_FILE) as db:
        db.execute("UPDATE lines SET status = 'failed', error = ? WHERE id = ?", (error, line))


def test_a_retry_not_confirmed_leaves_the_lines_as_they_were(tmp_path: Path) -> None:
    """Declining a retry keeps each failed line's record, and a later run does not send it."""
    registry = make_registry()
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        _run_then_fail(source, out, options, "l1", '{"type": "TaskFailed", "message": "boom"}')
        before = kb.read_records(out)
        asked: list[kb.Preview] = []

        def decline(preview: kb.Preview) -> bool:
            asked.append(preview)
            return False

        with pytest.raises(kb.BatchCancelled):
            kb.run(source, out=out, retry=["failed"], confirm=decline, **options)
        assert [preview.to_send for preview in asked] == [1]
        assert kb.read_records(out) == before
        again = kb.run(source, out=out, **options)  # no retry asked: nothing sent
        assert len(emu.tasks) == 3
    assert [line.status for line in again.records].count(LineStatus.FAILED) == 1


def test_a_dry_run_reads_the_balance_and_pays_nothing(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 50)
    seen: list[kb.Preview] = []
    with emulator(registry) as emu:
        result = kb.run(
            source, out=tmp_path / "out", dry_run=True, on_preview=seen.append,
            **batch_options(emu, registry),
        )  # fmt: skip
        assert emu.tasks == ()
    (preview,) = seen
    assert preview.to_send == 50
    assert preview.balance == 10_000
    # Polling 0.2 s tasks every 50 ms needs 4 reads per task: more than the scaled read budget
    # allows at the full create rate, so creates wait for room among the tasks being polled.
    # The time floor stays that of the create budget: a lower bound, whatever the tasks take.
    assert preview.mode == kb.WaitMode.PACED
    assert preview.create_rate == pytest.approx(20 / (10 * 0.05 + 0.1))
    assert preview.floor_seconds == pytest.approx(50 / preview.create_rate)
    assert preview.in_flight is not None
    assert preview.expected_rate is not None
    assert preview.expected_rate < preview.create_rate
    text = "\n".join(preview.describe())
    assert "time floor" in text
    assert f"creates limited to {preview.in_flight} task" in text
    assert {r.status for r in result.records} == {LineStatus.PENDING}


def _files(folder: Path) -> dict[str, str]:
    """The folder's files and their digests (but SQLite's shared-memory index, which readers
    write to too)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm")
    }


def test_a_dry_run_writes_nothing_so_a_second_one_sees_an_edited_line(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out"
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        first = kb.run(source, out=out, dry_run=True, **options)
        assert not out.exists()
        source.write_text(source.read_text().replace("prompt 1", "prompt one"))
        again = kb.run(source, out=out, dry_run=True, **options)  # no BatchConflict
        assert not out.exists()
        assert emu.tasks == ()
    assert [r.status for r in first.records] == [LineStatus.PENDING] * 3
    assert again.preview.to_send == 3


def test_a_dry_run_over_a_batch_previews_the_run_and_writes_nothing(tmp_path: Path) -> None:
    """It reads the state (even while another process runs the batch) and changes nothing."""
    registry = make_registry()
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    with emulator(registry) as emu:
        options = batch_options(emu, registry)
        _run_then_fail(source, out, options, "l0")
        source.write_text(source.read_text().replace("prompt 1", "prompt one"))
        write_jsonl(tmp_path / "more.jsonl", 1, start=3)
        source.write_text(source.read_text() + (tmp_path / "more.jsonl").read_text())
        before = _files(out)
        running = SQLiteBatchStore(out / kb.STATE_FILE)
        running.lock()  # another process runs the batch: a dry run only reads
        try:
            with pytest.raises(kb.BatchConflict) as caught:  # as the run would
                kb.run(source, out=out, dry_run=True, **options)
            assert caught.value.ids == ("l1",)
            dry = kb.run(source, out=out, dry_run=True, replace=True, retry=["failed"], **options)
        finally:
            running.close()
        assert _files(out) == before
        assert len(emu.tasks) == 3
    assert dry.preview.to_send == 3  # l0 retried, l1 replaced, l3 new
    assert dict(dry.preview.counts) == {"failed": 1, "pending": 2, "succeeded": 1}
    assert [(r.id, r.status) for r in dry.records] == [
        ("l0", LineStatus.FAILED), ("l1", LineStatus.PENDING),
        ("l2", LineStatus.SUCCEEDED), ("l3", LineStatus.PENDING),
    ]  # fmt: skip
    assert dry.status.bytes_downloaded == 2 * 4096  # l0's files still count; l1's were reset


def test_a_refused_confirmation_pays_nothing(tmp_path: Path) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    with emulator(registry) as emu:
        with pytest.raises(kb.BatchCancelled):
            kb.run(
                source,
                out=tmp_path / "out",
                confirm=lambda p: False,
                **batch_options(emu, registry),
            )
        assert emu.tasks == ()


def test_local_files_in_a_csv_are_uploaded_once_and_cached(tmp_path: Path) -> None:
    registry = make_registry()
    (tmp_path / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    source = tmp_path / "in.csv"
    rows = "".join(f"c{n},cat {n},cat.png,{n + 1}\n" for n in range(3))  # paths beside the CSV
    source.write_text("id,prompt,image_url,duration\n" + rows)
    with emulator(registry) as emu:
        # One create at a time: concurrent sends could each upload the file before the cache
        # holds it (harmless: the same content-hash name, the same bytes), but not countable.
        options = batch_options(emu, registry) | {"concurrency": 1}
        result = kb.run(source, out=tmp_path / "out", **options)
        assert result.all_succeeded
        assert len(emu.uploads) == 1
        assert emu.stats.requests.get("upload", 0) == 1
        (upload,) = emu.uploads
        (url,) = {str(task.input["image_url"]) for task in emu.tasks}
        assert upload.file_path in url
        assert [task.input["duration"] for task in emu.tasks] == [1, 2, 3]


def test_a_missing_local_file_is_a_problem_of_its_line(tmp_path: Path) -> None:
    registry = make_registry()
    source = tmp_path / "in.csv"
    source.write_text("id,prompt,image_url\na,cat,missing.png\n")
    with emulator(registry) as emu:
        with pytest.raises(kb.BatchInvalid) as caught:
            kb.run(source, out=tmp_path / "out", **batch_options(emu, registry))
        assert emu.tasks == ()
    ((line, field),) = {(p.line, p.field) for p in caught.value.problems}
    assert (line, field) == (2, "image_url")  # the file's line: the header is line 1


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("in.csv", "\ufeffid,prompt,image_url\na,cat,missing.png\n", (2, "a")),
        (
            "in.csv",
            'id,prompt,image_url\n\nok,"two\nlines",https://example.com/a.png\nb,cat,missing.png\n',
            (5, "b"),
        ),
        (
            "in.jsonl",
            '\ufeff{"id": "a", "input": {"prompt": "cat", "image_url": "missing.png"}}\n',
            (1, "a"),
        ),
    ],
    ids=["csv-with-bom", "csv-multiline-cell", "jsonl-with-bom"],
)
def test_a_files_problems_name_its_lines_as_an_editor_numbers_them(
    tmp_path: Path, name: str, text: str, where: tuple[int, str]
) -> None:
    """A UTF-8 BOM (Excel's "CSV UTF-8") is no data; a CSV row's line is the file line it
    starts on, counting the header, blank lines and the lines inside quoted cells."""
    registry = make_registry()
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    with emulator(registry) as emu:
        with pytest.raises(kb.BatchInvalid) as caught:
            kb.run(source, out=tmp_path / "out", **batch_options(emu, registry))
        assert emu.tasks == ()
    assert {(p.line, p.id, p.field) for p in caught.value.problems} == {(*where, "image_url")}


def test_a_line_fenced_while_its_workers_lease_lapsed_is_followed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database outage longer than the lease: the worker's own move of an accepted line is
    # fenced once (its lease lapsed), the line still this worker's. It must be followed again,
    # not left accepted when the run ends.
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 3)
    transition = SQLiteBatchStore.transition
    fenced: list[str] = []

    def lapsing(store: SQLiteBatchStore, line_id: str, **options: Any) -> Any:
        if options["to"] == LineStatus.DOWNLOADING and line_id not in fenced:
            fenced.append(line_id)
            raise kb.StaleTransition(f"line {line_id!r}: its owner's lease lapsed")
        return transition(store, line_id, **options)

    monkeypatch.setattr(SQLiteBatchStore, "transition", lapsing)
    with emulator(registry) as emu:
        result = kb.run(source, out=tmp_path / "out", **batch_options(emu, registry))
        assert len(emu.tasks) == 3  # followed again, never created again
    assert sorted(fenced) == ["l0", "l1", "l2"]
    assert result.all_succeeded


def test_progress_counts_creates_against_the_budget_the_preview_plans_with(
    tmp_path: Path,
) -> None:
    registry = make_registry()
    source = write_jsonl(tmp_path / "in.jsonl", 2)
    seen: list[kb.Preview] = []
    progress: list[kb.BatchStatus] = []
    with emulator(registry) as emu:
        kb.run(
            source, out=tmp_path / "out", on_preview=seen.append, on_progress=progress.append,
            **batch_options(emu, registry),
        )  # fmt: skip
    (preview,) = seen
    assert progress
    assert {status.create_budget for status in progress} == {round(preview.create_rate * 60)}


def test_a_line_still_invalid_for_another_reason_says_the_new_reason(tmp_path: Path) -> None:
    """A line invalid for want of a callback URL, read again with one but with its local file
    gone, stays invalid with the file's problem, not the callback's; reading the same file in
    the same conditions again changes nothing."""
    needs = dataclasses.replace(SPEC, id="test/needs-callback", requires_callback=True)
    registry = make_registry(needs)
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    source = tmp_path / "in.jsonl"
    line = {"id": "cb", "model": needs.id, "input": {"prompt": "p", "image_url": "cat.png"}}
    source.write_text(json.dumps(line) + "\n")
    store = SQLiteBatchStore(tmp_path / "state.sqlite3")
    try:

        def read(*, callback: bool) -> tuple[LineStatus, str]:
            lines, _ = read_lines(source, model=None, registry=registry, callback=callback)
            assert store.add_lines(lines) == []
            (stored,) = store.lines()
            assert stored.error is not None
            return stored.status, stored.error.message

        status, message = read(callback=False)
        assert (status, message.startswith("callback_url: ")) == (LineStatus.INVALID, True)
        image.unlink()
        status, message = read(callback=True)
        assert status == LineStatus.INVALID
        assert "callback" not in message
        assert "cat.png" in message
        before = store.lines()
        assert read(callback=True) == (status, message)
        assert store.lines() == before  # the same file again: nothing written
    finally:
        store.close()

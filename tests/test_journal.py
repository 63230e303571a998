"""The journal keeps every submission through a crash: written before the send, updated after."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import kieframe
from kieframe import JournalError
from kieframe._journal import Journal, JournalStatus, SubmissionLog, default_journal_path


def test_lifecycle_of_an_entry(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    entry = journal.begin(model="m/x", input={"prompt": "p"})
    (pending,) = journal.unfinished()
    assert pending.status is JournalStatus.SENDING
    assert pending.task_id is None
    journal.accepted(entry, task_id="t1")
    assert journal.unfinished()[0].task_id == "t1"
    journal.finished("t1", succeeded=True)
    assert journal.unfinished() == []
    assert journal.entries(status=JournalStatus.SUCCEEDED)[0].input == {"prompt": "p"}


def test_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    first = Journal(path)
    entry = first.begin(model="m/x", input={"prompt": "p"})
    first.uncertain(entry, reason="read timeout")
    first.close()  # the process dies here
    (entry_after,) = Journal(path).unfinished()
    assert entry_after.status is JournalStatus.UNCERTAIN
    assert entry_after.detail == "read timeout"


def test_rejected_and_failed_are_closed(tmp_path: Path) -> None:
    journal = Journal(":memory:")
    journal.rejected(journal.begin(model="m", input={}), reason="402")
    ok = journal.begin(model="m", input={})
    journal.accepted(ok, task_id="t")
    journal.finished("t", succeeded=False, detail="nsfw")
    assert journal.unfinished() == []
    assert [e.status for e in journal.entries()] == [JournalStatus.REJECTED, JournalStatus.FAILED]


def test_many_threads_write_safely() -> None:
    journal = Journal(":memory:")

    def work(n: int) -> None:
        for i in range(50):
            entry = journal.begin(model="m", input={"n": n, "i": i})
            journal.accepted(entry, task_id=f"{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.entries(status=JournalStatus.ACCEPTED)) == 400


def test_is_a_submission_log() -> None:
    assert isinstance(Journal(":memory:"), SubmissionLog)


def test_default_path_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KIEFRAME_JOURNAL", str(tmp_path / "x.db"))
    assert default_journal_path() == tmp_path / "x.db"
    monkeypatch.delenv("KIEFRAME_JOURNAL")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_journal_path() == tmp_path / "kieframe" / "journal.sqlite3"
    monkeypatch.setenv("KIEFRAME_JOURNAL", "off")
    assert default_journal_path() is None
    with pytest.raises(ValueError, match="turned off"):
        Journal()


def _corrupt(path: Path) -> Path:
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    return path


@pytest.mark.parametrize("kind", ["corrupt", "a folder", "under a file"])
def test_an_unusable_journal_path_is_a_journal_error_naming_it(tmp_path: Path, kind: str) -> None:
    path = {
        "corrupt": lambda: _corrupt(tmp_path / "j.sqlite3"),
        "a folder": lambda: tmp_path,
        "under a file": lambda: _corrupt(tmp_path / "file") / "j.sqlite3",
    }[kind]()
    with pytest.raises(JournalError) as caught:
        Journal(path)
    assert str(path) in str(caught.value)
    assert "KIEFRAME_JOURNAL" in str(caught.value)


def test_a_client_with_a_corrupt_journal_raises_before_anything_is_sent(tmp_path: Path) -> None:
    path = _corrupt(tmp_path / "j.sqlite3")
    with pytest.raises(JournalError):
        kieframe.Client("key", base_url="http://127.0.0.1:9", journal=path)

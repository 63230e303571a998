"""The journal keeps every submission through a crash: written before the send, updated after."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
from kieframe._journal import (
    CALLBACK_PARAMETER,
    SCHEMA_VERSION,
    Journal,
    JournalStatus,
    SubmissionLog,
    callback_token,
    default_journal_path,
    new_token,
    record_token,
    tag_callback_url,
)
from kieframe.errors import JournalError


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


@given(content=st.binary(min_size=1, max_size=600).filter(lambda b: not b.startswith(b"SQLite")))
def test_any_non_empty_file_that_is_no_database_is_refused_and_left_as_it_is(
    content: bytes,
) -> None:
    """SQLite took a file of a few bytes for an empty database and wrote over it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "notes.txt")
        path.write_bytes(content)
        with pytest.raises(JournalError, match="not a SQLite database"):
            kieframe.Client("key", base_url="http://127.0.0.1:9", journal=path)
        assert path.read_bytes() == content


def test_an_empty_file_becomes_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.touch()
    Journal(path).close()
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    Journal(path).close()


def test_a_client_with_a_corrupt_journal_raises_before_anything_is_sent(tmp_path: Path) -> None:
    path = _corrupt(tmp_path / "j.sqlite3")
    with pytest.raises(JournalError):
        kieframe.Client("key", base_url="http://127.0.0.1:9", journal=path)


# The schema journals were written with before tasks were keyed by host and id (version 1), and
# its first form, before the host column.
_V1_SCHEMA = """
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    task_id TEXT UNIQUE,
    detail TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX submissions_status ON submissions (status);
"""


@pytest.mark.parametrize("with_host", [True, False], ids=["v1", "v1-without-host"])
def test_a_version_1_journal_is_migrated_with_its_entries(tmp_path: Path, with_host: bool) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    schema = _V1_SCHEMA if with_host else _V1_SCHEMA.replace("    host TEXT,\n", "")
    old.executescript(schema)
    columns = "model, input, status, task_id, created_at, updated_at"
    if with_host:
        columns = "host, " + columns
    host = ("http://127.0.0.1:8787",) if with_host else ()
    old.execute(
        f"INSERT INTO submissions ({columns}) VALUES ({', '.join('?' * (6 + len(host)))})",  # noqa: S608
        (*host, "m/x", '{"prompt": "p"}', "accepted", "same-id", 1.0, 2.0),
    )
    old.commit()
    old.close()

    journal = Journal(path)
    (kept,) = journal.entries()
    assert (kept.model, kept.input, kept.task_id) == ("m/x", {"prompt": "p"}, "same-id")
    assert kept.status is JournalStatus.ACCEPTED
    assert kept.host == (host[0] if host else None)
    # The same id from another host is a second entry now, not an IntegrityError.
    other = journal.begin(model="m/x", input={}, host="https://api.kie.ai")
    journal.accepted(other, task_id="same-id")
    journal.finished("same-id", succeeded=True, host="https://api.kie.ai")
    statuses = {entry.id: entry.status for entry in journal.entries()}
    assert statuses == {kept.id: JournalStatus.ACCEPTED, other: JournalStatus.SUCCEEDED}
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    reopened = Journal(path)  # a migrated journal opens as it is
    assert len(reopened.entries()) == 2
    reopened.close()


@given(
    hosts=st.lists(st.sampled_from(["https://api.kie.ai", "http://127.0.0.1:1", None]), max_size=6)
)
def test_one_task_id_on_many_hosts_keeps_one_entry_each(hosts: list[str | None]) -> None:
    journal = Journal(":memory:")
    entries = {}
    for host in hosts:
        entry = journal.begin(model="m", input={}, host=host)
        journal.accepted(entry, task_id="t")  # never an IntegrityError, never stuck at sending
        entries[entry] = host
    assert [e.status for e in journal.entries()] == [JournalStatus.ACCEPTED] * len(hosts)
    if hosts and hosts[-1] is not None:
        journal.finished("t", succeeded=True, host=hosts[-1])
        done = [e.id for e in journal.entries() if e.status is JournalStatus.SUCCEEDED]
        assert done == [max(e for e, h in entries.items() if h == hosts[-1])]
    journal.close()


def test_a_newer_journal_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Journal(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="newer"):
        Journal(path)


def test_dismissing_an_entry_closes_it(tmp_path: Path) -> None:
    journal = Journal(":memory:")
    entry = journal.begin(model="m", input={})
    journal.accepted(entry, task_id="t1")
    journal.dismiss(entry, reason="not wanted")
    assert journal.unfinished() == []
    (dismissed,) = journal.entries(status=JournalStatus.DISMISSED)
    assert dismissed.detail == "not wanted"
    with pytest.raises(ValueError, match="nothing to dismiss"):
        journal.dismiss(entry)
    journal.close()


_params = st.lists(
    st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)).filter(
        lambda pair: pair[0] != CALLBACK_PARAMETER
    ),
    max_size=4,
)


@given(params=_params, stale=st.booleans())
def test_a_tagged_callback_url_keeps_its_query_and_names_one_submission(
    params: list[tuple[str, str]], stale: bool
) -> None:
    query = urlencode([*params, *([(CALLBACK_PARAMETER, "old")] if stale else [])])
    url = "https://hooks.example.com/kie" + (f"?{query}" if query else "")
    token = new_token()
    tagged = tag_callback_url(url, token)
    parts = urlsplit(tagged)
    assert (parts.netloc, parts.path) == ("hooks.example.com", "/kie")
    assert callback_token(parts.query) == token
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert [pair for pair in pairs if pair[0] != CALLBACK_PARAMETER] == params
    assert [value for name, value in pairs if name == CALLBACK_PARAMETER] == [token]


@given(url=st.text(max_size=30).map("http://".__add__) | st.sampled_from(["http://[::1", "[", 5]))
def test_a_record_echoing_any_callback_url_gives_its_token_or_none(url: object) -> None:
    """The callBackUrl in a record's ``param`` is kie.ai's data: one urllib cannot read is none."""
    token = record_token({"callBackUrl": url})
    assert token is None or isinstance(token, str)


def test_a_version_2_journal_gains_the_token_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(
            """
            CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT,
                model TEXT NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL, task_id TEXT,
                detail TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
            INSERT INTO submissions (host, model, input, status, task_id, created_at, updated_at)
                VALUES ('h', 'm', '{}', 'uncertain', NULL, 1.0, 1.0);
            PRAGMA user_version = 2;
            """
        )
    journal = Journal(path)
    (old,) = journal.entries()
    assert (old.status, old.host) == ("uncertain", "h")
    assert journal.settle_callback("tok", task_id="t1") is None  # it carried no token
    entry = journal.begin(model="m", input={}, token="tok")
    journal.uncertain(entry, reason="read timeout")
    assert journal.settle_callback("tok", task_id="t1") == entry
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

"""The PostgreSQL stores one by one, against a real server (a fresh database per test)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

import kieframe
from kieframe import AsyncClient, CallbackReceiver, CallbackServer, Client, RateLimits
from kieframe._cli import cli
from kieframe._journal import Journal, JournalStatus, SqlJournal
from kieframe._postgres._connect import Database, redact
from kieframe._records import parse_record
from kieframe.postgres import (
    SCHEMA_VERSION,
    Backend,
    DatabaseUnavailable,
    PostgresCallbackHub,
    PostgresJournal,
    PostgresWindow,
    connect,
)
from kieframe.testing import Emulator
from kieframe.testing.postgres import PostgresCluster

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a cat surfing a wave at sunset", "image_url": "https://example.com/cat.png"}
NOWHERE = "postgresql://kieframe:hunter2@127.0.0.1:1/nothing?connect_timeout=1"


@pytest.fixture
def backend(kie_database_url: str) -> Iterator[Backend]:
    made = Backend(kie_database_url)
    yield made
    made.close()


def _record(task_id: str, state: str = "success") -> kieframe.TaskRecord:
    return parse_record({"taskId": task_id, "state": state, "model": MODEL})


# -- schema and `kieframe db` ---------------------------------------------------------------


def test_db_init_creates_the_tables_once(kie_postgres: PostgresCluster) -> None:
    url = kie_postgres.create_database(migrate=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "init", "--database-url", url, "--json"])
    assert first.exit_code == 0, first.output
    every = list(range(1, SCHEMA_VERSION + 1))
    assert first.output.strip() == f'{{"applied": {every}, "schema_version": {SCHEMA_VERSION}}}'
    again = runner.invoke(cli, ["db", "init"], env={"KIEFRAME_DATABASE_URL": url})
    assert again.exit_code == 0
    assert "up to date" in again.output
    assert runner.invoke(cli, ["db", "status", "--database-url", url]).exit_code == 0


def test_db_commands_say_what_is_wrong(kie_postgres: PostgresCluster) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["db", "init"], env={"KIEFRAME_DATABASE_URL": ""})
    assert missing.exit_code == 2
    assert "KIEFRAME_DATABASE_URL" in missing.output
    empty = kie_postgres.create_database(migrate=False)
    stale = runner.invoke(cli, ["db", "status", "--database-url", empty])
    assert stale.exit_code == 1
    assert "kieframe db init" in stale.output
    down = runner.invoke(cli, ["db", "init", "--database-url", NOWHERE])
    assert down.exit_code != 0
    assert "cannot be reached" in down.output
    assert "hunter2" not in down.output  # a password is never shown


def test_migrations_from_several_processes_at_once_apply_once(
    kie_postgres: PostgresCluster,
) -> None:
    url = kie_postgres.create_database(migrate=False)
    results: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: results.append(Backend(url).migrate())) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [[], [], [], list(range(1, SCHEMA_VERSION + 1))]


# -- the journal ----------------------------------------------------------------------------


def test_the_journal_records_a_create_and_its_outcome(backend: Backend) -> None:
    journal = backend.journal
    entry = journal.begin(model=MODEL, input=INPUT, host="https://api.kie.ai")
    assert [e.status for e in journal.unfinished()] == ["sending"]
    journal.accepted(entry, task_id="t1")
    journal.finished("t1", succeeded=True, host="https://api.kie.ai")
    (done,) = journal.entries()
    assert (done.status, done.task_id, done.input, done.host) == (
        "succeeded", "t1", INPUT, "https://api.kie.ai",
    )  # fmt: skip
    assert journal.unfinished() == []


def test_only_the_owner_settles_a_create_and_only_while_it_is_sending(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    mine = backend.journal
    other = PostgresJournal(backend.database)
    entry = mine.begin(model=MODEL, input=INPUT)
    other.accepted(entry, task_id="t1")  # not its entry: logged, not written
    assert [(e.status, e.task_id) for e in mine.entries()] == [("sending", None)]
    assert "not sending under this journal (now sending)" in caplog.text
    mine.resolve(entry, task_id=None)  # someone reconciled it meanwhile
    mine.accepted(entry, task_id="t1")
    (settled,) = mine.entries()
    assert (settled.status, settled.task_id) == ("rejected", None)
    assert "(now rejected): not marking it accepted" in caplog.text


def test_resolve_and_dismiss_guard_their_entries(backend: Backend) -> None:
    journal = backend.journal
    first = journal.begin(model=MODEL, input=INPUT, host="h")
    journal.accepted(first, task_id="t1")
    second = journal.begin(model=MODEL, input=INPUT, host="h")
    journal.uncertain(second, reason="read timeout")
    with pytest.raises(ValueError, match="already in the journal"):
        journal.resolve(second, task_id="t1")
    with pytest.raises(ValueError, match="not sending or uncertain"):
        journal.resolve(first, task_id="t2")
    journal.dismiss(second)
    with pytest.raises(ValueError, match="not open"):
        journal.dismiss(second)
    assert [e.status for e in journal.entries()] == ["accepted", "dismissed"]


@pytest.fixture(params=["sqlite", "postgres"])
def any_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlJournal]:
    """The SQLite journal and the PostgreSQL one: the same rules hold for both."""
    if request.param == "sqlite":
        book = Journal(tmp_path / "journal.sqlite3")
        yield book
        book.close()
    else:
        backend = Backend(request.getfixturevalue("kie_database_url"))
        yield backend.journal
        backend.close()


def test_a_callback_settles_the_create_it_names_and_nothing_else(any_journal: SqlJournal) -> None:
    lost = any_journal.begin(model=MODEL, input=INPUT, host="h", token="tok-1")
    any_journal.uncertain(lost, reason="read timeout")
    racing = any_journal.begin(model=MODEL, input=INPUT, host="h", token="tok-2")
    known = any_journal.begin(model=MODEL, input=INPUT, host="h", token="tok-3")
    any_journal.accepted(known, task_id="t3")

    assert any_journal.settle_callback("tok-1", task_id="t1") == lost
    assert any_journal.settle_callback("tok-1", task_id="t1") is None  # settled already
    assert any_journal.settle_callback("unknown", task_id="t9") is None  # another journal's
    assert any_journal.settle_callback("tok-3", task_id="t3") is None  # its answer came
    # The callback may come before the create's own outcome: that outcome then changes nothing.
    assert any_journal.settle_callback("tok-2", task_id="t2") == racing
    any_journal.uncertain(racing, reason="read timeout")
    any_journal.accepted(racing, task_id="t2")
    assert [(e.status, e.task_id) for e in any_journal.entries()] == [
        ("accepted", "t1"), ("accepted", "t2"), ("accepted", "t3"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not sending or uncertain"):
        any_journal.resolve(lost, task_id=None)  # settled: nothing to reconcile by hand


def test_a_task_to_collect_has_its_submission_time_on_its_own_host(
    any_journal: SqlJournal,
) -> None:
    """What a wait on a bare task id places its visibility grace by."""
    kie, other = "https://api.kie.ai", "http://127.0.0.1:1"
    any_journal.accepted(any_journal.begin(model=MODEL, input=INPUT, host=kie), task_id="t")
    any_journal.accepted(any_journal.begin(model=MODEL, input=INPUT), task_id="anywhere")
    any_journal.accepted(any_journal.begin(model=MODEL, input=INPUT, host=kie), task_id="done")
    any_journal.finished("done", succeeded=True, host=kie)
    (entry,) = [e for e in any_journal.entries() if e.task_id == "t"]
    assert any_journal.submission("t", host=kie) == entry
    assert any_journal.submission("t") == entry
    assert any_journal.submission("t", host=other) is None  # a namesake elsewhere: not this
    assert any_journal.submission("anywhere", host=other) is not None  # no host recorded
    assert any_journal.submission("done", host=kie) is None  # finished: nothing to hide
    assert any_journal.submission("unknown", host=kie) is None


def test_a_submission_prefers_its_own_hosts_entry_as_finished_does(
    any_journal: SqlJournal,
) -> None:
    kie = "https://api.kie.ai"
    own = any_journal.begin(model=MODEL, input=INPUT, host=kie)
    any_journal.accepted(own, task_id="t")
    unnamed = any_journal.begin(model="other/model", input=INPUT)  # newer, its host not recorded
    any_journal.uncertain(unnamed, reason="read timeout")
    any_journal.resolve(unnamed, task_id="t")
    found = any_journal.submission("t", host=kie)
    assert found is not None
    assert found.id == own
    any_journal.finished("t", succeeded=True, host=kie)  # the same entry is finished
    assert {e.id: e.status for e in any_journal.entries()}[own] is JournalStatus.SUCCEEDED


def test_a_callback_never_gives_one_task_to_two_entries(any_journal: SqlJournal) -> None:
    first = any_journal.begin(model=MODEL, input=INPUT, host="h")
    any_journal.accepted(first, task_id="t1")
    second = any_journal.begin(model=MODEL, input=INPUT, host="h", token="tok")
    any_journal.uncertain(second, reason="read timeout")
    assert any_journal.settle_callback("tok", task_id="t1") is None
    assert [e.status for e in any_journal.entries()] == ["accepted", "uncertain"]


def test_the_journal_command_reads_and_settles_the_database_journal(
    backend: Backend, kie_database_url: str
) -> None:
    journal = backend.journal
    accepted = journal.begin(model=MODEL, input=INPUT, host="https://api.kie.ai")
    journal.accepted(accepted, task_id="t1")
    lost = journal.begin(model=MODEL, input=INPUT, host="https://api.kie.ai")
    journal.uncertain(lost, reason="read timeout")
    runner = CliRunner()
    env = {"KIEFRAME_DATABASE_URL": kie_database_url, "KIEFRAME_JOURNAL": "off"}

    listed = runner.invoke(cli, ["journal"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "to collect: kieframe download t1" in listed.output
    assert f"kieframe journal resolve {lost} --task-id ID" in listed.output
    settled = runner.invoke(cli, ["journal", "resolve", str(lost), "--task-id", "t2"], env=env)
    assert settled.exit_code == 0, settled.output
    dismissed = runner.invoke(cli, ["journal", "resolve", str(accepted), "--dismiss"], env=env)
    assert dismissed.exit_code == 0, dismissed.output
    assert [(e.status, e.task_id) for e in journal.entries()] == [
        ("dismissed", "t1"), ("accepted", "t2"),
    ]  # fmt: skip
    shown = runner.invoke(cli, ["journal", "--all", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["journal"] == redact(kie_database_url)
    assert [entry["status"] for entry in document["entries"]] == ["dismissed", "accepted"]


def test_commands_journal_their_creates_in_the_database(
    kie_emulator: Emulator, kie_database_url: str, tmp_path: Path
) -> None:
    env = {
        "KIEFRAME_DATABASE_URL": kie_database_url,
        "KIEFRAME_JOURNAL": str(tmp_path / "not-this.sqlite3"),
        "KIE_API_KEY": Emulator.API_KEY,
    }
    options = ["--base-url", kie_emulator.base_url, "--prompt", "a cat", "--image-url",
               "https://example.com/cat.png"]  # fmt: skip
    done = CliRunner().invoke(cli, ["submit", MODEL, *options], env=env)
    assert done.exit_code == 0, done.output
    (info,) = kie_emulator.tasks
    (entry,) = connect(kie_database_url).journal.entries()
    assert (entry.task_id, entry.status) == (info.task_id, "accepted")
    assert not (tmp_path / "not-this.sqlite3").exists()


# -- budgets and fail-closed creates ----------------------------------------------------------


def test_an_unreachable_database_sends_no_create(kie_emulator: Emulator) -> None:
    with Client(
        Emulator.API_KEY, base_url=kie_emulator.base_url, database_url=NOWHERE, timeout=5
    ) as client:
        with pytest.raises(DatabaseUnavailable, match="nothing that needed it was sent") as caught:
            client.submit(MODEL, INPUT)
    assert caught.value.request_sent is False
    assert "hunter2" not in str(caught.value)
    assert kie_emulator.stats.requests.get("createTask", 0) == 0


def test_a_database_url_in_the_config_file_shares_every_store(
    kie_emulator: Emulator,
    kie_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"database_url = {kie_database_url!r}\n")
    monkeypatch.setenv("KIEFRAME_CONFIG", str(config))
    with Client(Emulator.API_KEY, base_url=kie_emulator.base_url) as client:
        backend = connect()  # the same backend: the config file names the same database
        assert (client.journal, client.callbacks) == (backend.journal, backend.hub)
        task = client.submit(MODEL, INPUT)
    (entry,) = backend.journal.entries()
    assert (entry.task_id, entry.status) == (task.task_id, "accepted")
    monkeypatch.setenv("KIEFRAME_DATABASE_URL", NOWHERE)  # the environment wins over the file
    with Client(Emulator.API_KEY, base_url=kie_emulator.base_url, timeout=5) as client:
        with pytest.raises(DatabaseUnavailable):
            client.submit(MODEL, INPUT)
    assert kie_emulator.stats.requests.get("createTask", 0) == 1


def test_a_budget_fails_closed_and_unlimited_needs_no_database() -> None:
    window = PostgresWindow(
        connect(NOWHERE).database, account="a", kind="create", limit=2, window=1.0
    )
    with pytest.raises(DatabaseUnavailable):
        window.reserve()
    unlimited = PostgresWindow(window._db, account="a", kind="create", limit=0, window=1.0)
    assert unlimited.reserve() == 0.0


@pytest.mark.parametrize("limit", [1, 4])
def test_a_budget_grants_its_limit_then_holds_back(kie_database_url: str, limit: int) -> None:
    backend = Backend(kie_database_url)
    create, _ = backend.windows("acct", RateLimits(creates=limit, create_window=1.0))
    start = _db_clock(kie_database_url)
    for _ in range(limit):
        assert create.reserve() == 0.0  # free at once
    create.reserve()  # the next one waits for the window to pass (a bound on the database's
    assert _db_clock(kie_database_url) >= start + 1.0  # clock, which no delay can break)
    backend.close()


def _booked(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT cardinality(slots) FROM kieframe_budgets").fetchone()
    return int(row[0]) if row is not None else 0


def _db_clock(url: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    assert row is not None
    return float(row[0])


def test_a_429_cancels_the_bookings_not_yet_due(kie_database_url: str) -> None:
    backend = Backend(kie_database_url)
    create, _ = backend.windows("acct", RateLimits(creates=1, create_window=1.0))
    create.reserve()  # the only slot of this second
    ended: list[float] = []
    booked = threading.Thread(target=lambda: ended.append(create.reserve() + _db_clock(
        kie_database_url)))  # fmt: skip
    booked.start()
    _until_true(lambda: _booked(kie_database_url) == 2)  # it booked the next second's slot
    create.penalise(3.0)  # then a 429: every process holds back 3 s
    with psycopg.connect(kie_database_url) as conn:
        row = conn.execute("SELECT blocked_until FROM kieframe_budgets").fetchone()
    assert row is not None
    booked.join()
    assert ended[0] >= float(row[0])  # it booked again, after the pause
    backend.close()


def _until_true(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a generous bound, not a timing
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


async def test_the_async_client_shares_the_budget_and_journal(
    kie_emulator: Emulator, kie_database_url: str
) -> None:
    async with AsyncClient(
        Emulator.API_KEY,
        base_url=kie_emulator.base_url,
        database_url=kie_database_url,
        rate_limits=RateLimits(creates=5, create_window=1.0),
    ) as client:
        task = await client.submit(MODEL, INPUT)
        record = await client.wait(task, timeout=30)
    assert record.succeeded
    (entry,) = connect(kie_database_url).journal.entries()
    assert (entry.task_id, entry.status) == (task.task_id, "succeeded")


def test_a_journal_outage_after_a_finished_wait_spoils_nothing(
    kie_emulator: Emulator,
    kie_postgres: PostgresCluster,
    kie_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Client(
        Emulator.API_KEY,
        base_url=kie_emulator.base_url,
        database_url=kie_database_url,
        rate_limits=RateLimits.off(),  # no budget to take from the database
        poll=kieframe.PollPlan.every(0.05),
    ) as client:
        task = client.submit(MODEL, INPUT)
        kie_postgres.stop()
        try:
            record = client.wait(task, timeout=60)  # the journal cannot record its end
        finally:
            kie_postgres.start()
    assert record.succeeded
    assert "the journal could not record it" in caplog.text
    (entry,) = connect(kie_database_url).journal.entries()
    assert (entry.task_id, entry.status) == (task.task_id, "accepted")  # still to collect


# -- callbacks ------------------------------------------------------------------------------


def test_a_delivery_wakes_a_wait_on_another_hub(kie_database_url: str) -> None:
    sender, listener = Backend(kie_database_url), Backend(kie_database_url)
    try:
        listener.hub.start()
        threading.Timer(0.1, sender.hub.deliver, (_record("t1"),), {"confirmed": True}).start()
        delivery = listener.hub.wait("t1", timeout=30)
        assert delivery is not None
        assert (delivery.record.task_id, delivery.confirmed) == ("t1", True)
        # A hub started later still knows the records delivered before it.
        late = Backend(kie_database_url)
        try:
            assert (found := late.hub.wait("t1", timeout=0)) is not None
            assert found.record.state == "success"
        finally:
            late.close()
    finally:
        sender.close()
        listener.close()


def test_a_listener_that_lost_its_connection_catches_up(kie_database_url: str) -> None:
    sender, listener = Backend(kie_database_url), Backend(kie_database_url)
    try:
        listener.hub.start()
        with psycopg.connect(kie_database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
            )
        sender.hub.deliver(_record("t2", "fail"), confirmed=False)  # while it reconnects
        delivery = listener.hub.wait("t2", timeout=30)
        assert delivery is not None
        assert (delivery.record.state, delivery.confirmed) == ("fail", False)
        assert listener.hub.listening
    finally:
        sender.close()
        listener.close()


def test_a_receiver_answers_while_a_delivery_waits_for_the_database(
    kie_database_url: str,
) -> None:
    backend = Backend(kie_database_url)
    receiver = CallbackReceiver(reread=False, hub=backend.hub)
    body = {"code": 200, "msg": "ok", "data": {"taskId": "t1", "state": "success"}}
    with psycopg.connect(kie_database_url) as lock, CallbackServer(receiver, port=0) as server:
        lock.execute("LOCK TABLE kieframe_callbacks IN EXCLUSIVE MODE")  # writes wait
        assert httpx.post(f"{server.url}/kie", json=body, timeout=30).status_code == 200
        _until_true(lambda: _waiting_on_a_lock(kie_database_url))  # the delivery is stuck
        second = {**body, "data": {"taskId": "t2", "state": "success"}}
        answer = httpx.post(f"{server.url}/kie", json=second, timeout=30)
        assert answer.status_code == 200  # the loop that answers kie.ai is free
        lock.rollback()
        _until_true(lambda: receiver.stats.delivered == 2)
    backend.close()


def _waiting_on_a_lock(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'WITH added AS (INSERT INTO kieframe_callbacks%%'"
        ).fetchone()
    return row is not None and int(row[0]) > 0


def test_claims_are_granted_once_across_backends(kie_database_url: str) -> None:
    first, second = Backend(kie_database_url), Backend(kie_database_url)
    assert first.claims.claim("t1", "success")
    assert not second.claims.claim("t1", "success")
    assert second.claims.claim("t1", "fail")  # another state is another callback
    first.close()
    second.close()


# -- the upload cache -----------------------------------------------------------------------


def test_uploads_are_shared_until_they_expire(kie_database_url: str) -> None:
    first, second = Backend(kie_database_url), Backend(kie_database_url)
    one = first.upload_cache("https://uploads")
    two = second.upload_cache("https://uploads")
    elsewhere = second.upload_cache("https://other")
    one.put("abc", "https://uploads/f.png", now=1000.0)
    assert two.get("abc", now=1000.0 + one.ttl - 1) == "https://uploads/f.png"
    assert two.get("abc", now=1000.0 + one.ttl + 1) is None
    assert elsewhere.get("abc", now=1000.0) is None
    assert connect(NOWHERE).upload_cache("https://uploads").get("abc") is None  # a miss
    first.close()
    second.close()


class _Astray(Database):
    """Sends its statements to another database, as a transaction-mode pooler may route them."""

    def __init__(self, url: str, elsewhere: str) -> None:
        super().__init__(url)
        self._elsewhere = Database(elsewhere)

    @contextmanager
    def session(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with self._elsewhere.session() as conn:
            yield conn

    def close(self) -> None:
        self._elsewhere.close()
        super().close()


def test_a_listener_that_misses_its_own_notification_says_why(
    kie_postgres: PostgresCluster, kie_database_url: str
) -> None:
    elsewhere = kie_postgres.create_database()
    database = _Astray(kie_database_url, elsewhere)
    hub = PostgresCallbackHub(database)
    try:
        with pytest.raises(DatabaseUnavailable, match="need a session connection"):
            hub.start()
        assert not hub.listening
    finally:
        database.close()
        kie_postgres.drop_database(elsewhere)

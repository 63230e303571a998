"""``kieframe batch ... --state postgresql://...``: run, status and resolve on a shared database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

import kieframe.batch
from kieframe.batch import LineStatus
from kieframe.testing import Emulator
from kieframe.testing.postgres import PostgresCluster

from .test_cli import _restore_logging, emu, invoke, jsonl

__all__ = ["_restore_logging", "emu"]  # the fixtures of test_cli, used here too


def test_a_batch_runs_and_is_read_back_from_the_database(
    tmp_path: Path, emu: Emulator, kie_database_url: str
) -> None:
    source = jsonl(tmp_path, 3)
    out = tmp_path / "videos"
    state = ("--state", kie_database_url)
    fast = ("--listen", "127.0.0.1:0", "--progress-every", "0.1")  # waits end by callback
    code, _, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(out), *state,
                          *fast, "--yes", "--json")  # fmt: skip
    assert code == 0, err
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [(line["id"], line["status"]) for line in manifest] == [
        ("v0", "succeeded"), ("v1", "succeeded"), ("v2", "succeeded"),
    ]  # fmt: skip
    assert not (out / "batch.sqlite3").exists()  # the state is in the database, by folder name
    with psycopg.connect(kie_database_url) as conn:
        row = conn.execute("SELECT count(*) FROM kieframe_batch_lines").fetchone()
        assert row is not None
        assert row[0] == 3
        names = conn.execute("SELECT name FROM kieframe_batches").fetchall()
        assert names == [("videos",)]

    code, text, _ = invoke(tmp_path, emu, "batch", "status", str(out), *state, "--json")
    assert code == 0
    status = json.loads(text)
    assert status["all_succeeded"] is True
    assert status["running"] is False

    # Run again: nothing to do, nothing paid; a changed input is refused as with SQLite.
    code, _, _ = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(out), *state,
                        "--yes")  # fmt: skip
    assert code == 0
    assert len(emu.tasks) == 3
    source.write_text(source.read_text().replace('"p1"', '"changed"'))
    code, _, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(out), *state,
                          "--yes")  # fmt: skip
    assert code == 2
    assert "v1" in err
    assert len(emu.tasks) == 3

    code, _, err = invoke(tmp_path, emu, "batch", "resolve", str(out), "v1", "--not-created",
                          *state)  # fmt: skip
    assert code == 2
    assert "uncertain" in err  # only an uncertain line is settled by hand


@pytest.mark.parametrize("command", ["status", "resolve"])
def test_a_batch_not_in_the_database_is_reported(
    tmp_path: Path, emu: Emulator, kie_database_url: str, command: str
) -> None:
    args = ["v1", "--not-created"] if command == "resolve" else []
    code, _, err = invoke(tmp_path, emu, "batch", command, str(tmp_path / "none"), *args,
                          "--state", kie_database_url)  # fmt: skip
    assert code == 2
    assert "no batch 'none'" in err


def test_a_database_without_the_tables_is_refused_before_anything_is_sent(
    tmp_path: Path, emu: Emulator, kie_postgres: PostgresCluster
) -> None:
    url = kie_postgres.create_database(migrate=False)
    source = jsonl(tmp_path, 1)
    code, _, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out",
                          str(tmp_path / "o"), "--state", url, "--yes")  # fmt: skip
    assert code == 2
    assert "kieframe db init" in err
    assert emu.tasks == ()
    kie_postgres.drop_database(url)


def test_a_retry_says_how_many_lines_a_stopped_workers_lease_still_holds(
    tmp_path: Path, emu: Emulator, kie_database_url: str
) -> None:
    """A failed line held by a killed worker whose lease has not lapsed is not retried: said so."""
    source = jsonl(tmp_path, 3)
    out = tmp_path / "videos"
    state = ("--state", kie_database_url)
    code, _, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(out), *state,
                          "--yes")  # fmt: skip
    assert code == 0, err
    with psycopg.connect(kie_database_url, autocommit=True) as conn:
        # v1 failed in a worker that was killed: its lease runs for ten more minutes.
        conn.execute(
            "INSERT INTO kieframe_batch_workers (batch, owner, lease_until)"
            " SELECT id, 'killed', clock_timestamp() + interval '600 s' FROM kieframe_batches"
        )
        conn.execute("UPDATE kieframe_batch_lines SET status = 'failed', owner = 'killed'"
                     " WHERE id IN ('v1', 'v2')")  # fmt: skip
    code, text, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(out),
                             *state, "--failed", "--yes", "--json")  # fmt: skip
    assert code == 5  # the lines stay failed
    assert len(emu.tasks) == 3  # nothing sent again
    summary = json.loads(text.splitlines()[-1])["summary"]
    assert summary["not_retried"] == {"failed": 2}
    said = [line for line in err.splitlines() if "not retried" in line]
    assert len(said) == 1
    assert said[0].startswith("2 failed lines not retried: another worker's lease")

    # The Python API says it in what the run returns, and the preview asks for none of them.
    asked: list[kieframe.batch.Preview] = []
    result = kieframe.batch.run(source, out=out, state=kie_database_url, retry=["failed"],
                                api_key=Emulator.API_KEY, base_url=emu.base_url,
                                on_preview=asked.append)  # fmt: skip
    assert [preview.to_send for preview in asked] == [0]
    assert any("2 failed lines left out of the retry" in note for note in asked[0].notes)
    assert result.not_retried == {"failed": 2}
    assert [line.status for line in result.records].count(LineStatus.FAILED) == 2
    assert len(emu.tasks) == 3


def _batch_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        batches = conn.execute("SELECT name, id FROM kieframe_batches ORDER BY name").fetchall()
        lines = conn.execute(
            "SELECT id, status, digest, input::text, updated_at FROM kieframe_batch_lines"
            " ORDER BY id"
        ).fetchall()
        workers = conn.execute("SELECT count(*) FROM kieframe_batch_workers").fetchall()
    return [*batches, *lines, *workers]


def test_a_dry_run_on_a_database_reads_the_batch_and_writes_no_row(
    tmp_path: Path, emu: Emulator, kie_database_url: str
) -> None:
    source = jsonl(tmp_path, 3)
    out = tmp_path / "videos"
    run = ["batch", "run", str(source), "--out", str(out), "--state", kie_database_url]
    code, _, err = invoke(tmp_path, emu, *run, "--dry-run")
    assert code == 0, err
    assert _batch_rows(kie_database_url) == [(0,)]  # no batch made, no worker row
    code, _, err = invoke(tmp_path, emu, *run, "--yes", "--listen", "127.0.0.1:0")
    assert code == 0, err
    before = _batch_rows(kie_database_url)
    source.write_text(source.read_text().replace('"p1"', '"changed"'))
    code, stdout, err = invoke(tmp_path, emu, *run, "--dry-run", "--replace", "--json")
    assert code == 0, err
    preview = json.loads(stdout.splitlines()[0])["preview"]
    assert (preview["to_send"], preview["counts"]) == (1, {"pending": 1, "succeeded": 2})
    assert _batch_rows(kie_database_url) == before
    assert len(emu.tasks) == 3

"""A ``kieframe emulator`` process serves ``submit``, ``status``, ``wait`` and ``download`` runs."""

from __future__ import annotations

from pathlib import Path

from kieframe.testing import Emulator

from .conftest import Runner

WAN = "wan/2-5-image-to-video"


def test_a_task_outlives_the_command_that_submitted_it(cli: Runner, standalone: str) -> None:
    env = {"KIE_BASE_URL": standalone, "KIE_API_KEY": Emulator.API_KEY}
    submitted = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "https://example.com/cat.png", **env
    )
    assert submitted.code == 0, submitted.err
    task_id = submitted.out.strip()
    assert task_id

    status = cli("status", task_id, "--json", **env)
    assert status.code == 0, status.err
    record = status.json()
    assert isinstance(record, dict)
    assert record["task_id"] == task_id

    waited = cli("wait", task_id, "--poll-every", "0.05", "--json", **env)
    assert waited.code == 0, waited.err
    final = waited.json()
    assert isinstance(final, dict)
    assert final["state"] == "success"
    assert f"task {task_id}: success" in waited.err

    fetched = cli("download", task_id, "--out", "results", **env)
    assert fetched.code == 0, fetched.err
    lines = fetched.out.splitlines()
    saved = [line.removeprefix("saved ") for line in lines if line.startswith("saved ")]
    assert saved
    for name in saved:
        path = cli.cwd / name
        assert path.parent == cli.cwd / "results"
        assert Path(path).read_bytes()[4:8] == b"ftyp"

    credits = cli("credits", "--json", **env)
    assert credits.json() == {"credits": 10_000 - Emulator.TASK_COST}


def test_creates_are_journaled_until_their_task_is_collected(cli: Runner, standalone: str) -> None:
    env = {"KIE_BASE_URL": standalone, "KIE_API_KEY": Emulator.API_KEY}
    assert cli("journal", **env).out.strip() == "nothing to collect or reconcile"
    submitted = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "https://example.com/cat.png", **env
    )
    task_id = submitted.out.strip()
    pending = cli("journal", "--json", **env).json()
    assert isinstance(pending, dict)
    (entry,) = pending["entries"]
    assert (entry["status"], entry["task_id"], entry["model"]) == ("accepted", task_id, WAN)
    assert entry["host"] == standalone
    assert entry["input"]["prompt"] == "a cat"

    assert cli("wait", task_id, "--poll-every", "0.05", **env).code == 0
    assert cli("journal", "--json", **env).json() == {
        "journal": str(cli.cwd / "journal.sqlite3"),
        "entries": [],
    }
    every = cli("journal", "--all", **env)
    assert "succeeded" in every.out
    assert Emulator.API_KEY.encode() not in (cli.cwd / "journal.sqlite3").read_bytes()


def test_the_journal_can_be_turned_off(cli: Runner, standalone: str) -> None:
    env = {"KIE_BASE_URL": standalone, "KIE_API_KEY": Emulator.API_KEY, "KIEFRAME_JOURNAL": "off"}
    before = set(cli.cwd.iterdir())
    cli("submit", WAN, "--prompt", "a cat", "--image-url", "https://example.com/cat.png", **env)
    assert set(cli.cwd.iterdir()) == before  # no journal file of any name
    assert cli("journal", "--json", **env).json() == {"journal": None, "entries": []}

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

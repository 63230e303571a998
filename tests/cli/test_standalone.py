"""A ``kieframe emulator`` process serves ``submit``, ``status``, ``wait`` and ``download`` runs."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from kieframe.testing import Emulator

from .conftest import COMMAND_TIMEOUT, Runner, clean_env, command

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


_SNIPPET = """
import kieframe
with kieframe.Client(poll=kieframe.PollPlan.every(0.05)) as client:
    result = client.run(
        "wan/2-5-image-to-video", {"prompt": "a fox", "image_url": "https://example.com/f.png"}
    )
print(result.record.state, client.base_url)
"""


def test_the_emulators_export_hint_works_for_the_cli_and_for_python(cli: Runner) -> None:
    args = command("emulator", "--port", "0", "--generating", "0.2")
    # A fixed program: this interpreter running the kieframe emulator.
    with subprocess.Popen(  # noqa: S603
        args, cwd=cli.cwd, env=clean_env(cli.cwd), stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(2)]
            [hint] = [line.strip() for line in lines if line.strip().startswith("export ")]
            exported = dict(pair.split("=", 1) for pair in hint.removeprefix("export ").split())
            assert set(exported) == {"KIE_BASE_URL", "KIE_API_KEY"}

            credits = cli("credits", **exported)
            assert credits.code == 0, credits.err
            # Python in the same shell: no base_url argument, only the exported variables.
            done = cli.python(_SNIPPET, **exported)
            assert done.code == 0, done.err
            assert done.out.split() == ["success", exported["KIE_BASE_URL"]]
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=COMMAND_TIMEOUT) == 0
        finally:
            if process.poll() is None:
                process.kill()

"""Run the real ``kieframe`` command in subprocesses, against emulators on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kieframe.testing import Emulator, Timing

#: Seconds one command may take before the test fails instead of hanging.
COMMAND_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished ``kieframe`` process left: exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        """Stdout, parsed as the one JSON document ``--json`` prints."""
        return json.loads(self.out)


def command(*args: str) -> list[str]:
    """The command line that runs ``kieframe`` with ``args`` in this interpreter."""
    return [sys.executable, "-m", "kieframe", *args]


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a command: no key, no config file and no base URL unless given."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "KIE_API_KEY",
            "KIE_BASE_URL",
            "KIE_UPLOAD_BASE_URL",
            "KIEFRAME_CONFIG",
            "KIEFRAME_DATABASE_URL",
            "KIEFRAME_JOURNAL",
        }
    }
    env.update(
        KIEFRAME_CONFIG=str(tmp / "no-config.toml"),
        KIEFRAME_JOURNAL=str(tmp / "journal.sqlite3"),
        COLUMNS="200",
    )
    env.update(extra)
    return env


class Runner:
    """Runs ``kieframe`` in a temporary working directory with a controlled environment."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Outcome:
        """Run ``kieframe args...`` to completion."""
        return self._run(command(*args), stdin=stdin, env=env)

    def python(self, code: str, **env: str) -> Outcome:
        """Run Python ``code`` in this interpreter, in the same environment as the commands."""
        return self._run([sys.executable, "-c", code], stdin=None, env=env)

    def _run(self, argv: list[str], *, stdin: str | None, env: dict[str, str]) -> Outcome:
        # A fixed program: this interpreter, running kieframe or a test's snippet.
        done = subprocess.run(  # noqa: S603
            argv,
            cwd=self.cwd,
            env=clean_env(self.cwd, **env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    """Run the ``kieframe`` command in a fresh directory."""
    return Runner(tmp_path)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator in the test process, scriptable, for commands started with --base-url."""
    with Emulator(timing=Timing(invisible=0.05, waiting=0.05, queuing=0.05, generating=0.2)) as emu:
        yield emu


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[str]:
    """A ``kieframe emulator`` process on a free port; yields its base URL, stops it after."""
    args = command("emulator", "--port", "0", "--generating", "0.3", "--json")
    # A fixed program: this interpreter running the kieframe emulator.
    with subprocess.Popen(  # noqa: S603
        args, cwd=tmp_path, env=clean_env(tmp_path), stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            banner = json.loads(process.stdout.readline())
            assert banner["api_key"] == Emulator.API_KEY
            yield str(banner["base_url"])
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=COMMAND_TIMEOUT) == 0
        finally:
            if process.poll() is None:
                process.kill()

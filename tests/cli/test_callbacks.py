"""``kieframe callbacks serve`` takes a signed callback, re-reads the task, saves its files."""

from __future__ import annotations

import json
import selectors
import signal
import socket
import subprocess
import time
from pathlib import Path

from kieframe.testing import Emulator, Timing

from .conftest import COMMAND_TIMEOUT, Runner, clean_env, command

WAN = "wan/2-5-image-to-video"
HMAC_KEY = "webhook-test-key"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _read_line(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return process.stdout.readline()
    raise AssertionError("the receiver printed nothing in time")


def test_a_callback_is_verified_reread_and_its_files_saved(cli: Runner) -> None:
    port = _free_port()
    with Emulator(hmac_key=HMAC_KEY, timing=Timing(generating=0.1)) as emulator:
        args = command(
            "callbacks", "serve", "--port", str(port), "--hmac-key", HMAC_KEY, "--json",
            "--out", "received", "--spool", "spool/callbacks.sqlite",
            "--base-url", emulator.base_url,
        )  # fmt: skip
        env = clean_env(cli.cwd, KIE_API_KEY=Emulator.API_KEY)
        # A fixed program: this interpreter running kieframe.
        with subprocess.Popen(  # noqa: S603
            args, cwd=cli.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as receiver:
            try:
                deadline = time.monotonic() + COMMAND_TIMEOUT
                while time.monotonic() < deadline:  # wait until the receiver listens
                    with socket.socket() as probe:
                        if probe.connect_ex(("127.0.0.1", port)) == 0:
                            break
                    time.sleep(0.05)
                submitted = cli(
                    "submit", WAN, "--prompt", "a cat", "--image-url", "https://example.com/a.png",
                    "--callback-url", f"http://127.0.0.1:{port}/kie/done",
                    "--base-url", emulator.base_url, KIE_API_KEY=Emulator.API_KEY,
                )  # fmt: skip
                assert submitted.code == 0, submitted.err
                line = json.loads(_read_line(receiver, deadline))
                receiver.send_signal(signal.SIGINT)
                assert receiver.wait(timeout=COMMAND_TIMEOUT) == 0
            finally:
                if receiver.poll() is None:
                    receiver.kill()
        assert line["task_id"] == submitted.out.strip()
        assert line["state"] == "success"
        assert [attempt.status for attempt in emulator.callback_log] == [200]
    assert (cli.cwd / "spool" / "callbacks.sqlite").is_file()  # acknowledged from the spool
    [saved] = line["files"]
    assert Path(cli.cwd / saved).parent == cli.cwd / "received"
    assert (cli.cwd / saved).read_bytes()[4:8] == b"ftyp"
    # Collected: the journal no longer lists the task as one to collect.
    journal = cli("journal", "--json").json()
    assert isinstance(journal, dict)
    assert journal["entries"] == []
    every = cli("journal", "--all", "--json").json()
    assert isinstance(every, dict)
    [entry] = every["entries"]
    assert (entry["task_id"], entry["status"]) == (line["task_id"], "succeeded")
    assert saved in entry["detail"]

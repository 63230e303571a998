"""``python -m kieframe.testing._emulator`` serves until interrupted."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx

from kieframe.testing._emulator import Emulator


def test_serves_until_ctrl_c() -> None:
    command = [sys.executable, "-m", "kieframe.testing._emulator", "--port", "0", "--seed", "3"]
    # A fixed command: this interpreter running the emulator.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:  # noqa: S603
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            assert match is not None, line
            answer = httpx.get(
                f"{match.group()}/api/v1/chat/credit",
                headers={"Authorization": f"Bearer {Emulator.API_KEY}"},
            ).json()
            assert answer == {"code": 200, "msg": "success", "data": 10_000}
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()

"""Batch workers forked from one process that has imported kieframe already.

Starting Python and importing kieframe takes about a second on a busy machine, and the kill tests
start many workers. A *zygote* (a child of the test, with no threads of its own) imports once,
then forks a worker for each request: the worker runs one batch and exits, and is stopped and
killed as a process of its own would be. The zygote reaps the workers and tells how each ended
(``0``, or minus the signal that killed it, as :attr:`subprocess.Popen.returncode` does).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from waiting import wait_for

from ._support import CHILD_PRELUDE

SUPPORT = Path(__file__).with_name("_support.py")

ZYGOTE = (
    CHILD_PRELUDE
    + """
import json, os, traceback
import kieframe._batch._run, kieframe._callbacks._serve  # what a run loads: once, here
import kieframe._postgres._batch, kieframe._postgres._backend, kieframe._postgres._callbacks

def work(spec):
    make = support.shared_options if spec["shared"] else support.batch_options
    options = {**make(spec["emulator"], registry), **spec["options"]}
    if "listen" in options:
        options["listen"] = tuple(options["listen"])
    kieframe.batch.run(spec["source"], out=spec["out"], **options)

ended = {}
for line in sys.stdin:
    command, argument = json.loads(line)
    if command == "run":
        pid = os.fork()
        if pid == 0:  # the worker: its prints go to stderr, never among the zygote's answers
            os.dup2(2, 1)
            code = 0
            try:
                work(argument)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stderr.flush()
            os._exit(code)
        answer = pid
    else:  # "poll": how it ended, null while it runs
        if argument not in ended:
            pid, status = os.waitpid(argument, os.WNOHANG)
            if pid:
                ended[argument] = os.waitstatus_to_exitcode(status)
        answer = ended.get(argument)
    print(json.dumps(answer), flush=True)
"""
)


class Zygote:
    """Forks batch workers from one process that imported kieframe (see the module)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", ZYGOTE, str(SUPPORT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._running: set[int] = set()

    def _ask(self, command: str, argument: Any) -> Any:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps([command, argument]) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def run(
        self, source: Path, out: Path, emulator: str, *, shared: bool = False, **options: Any
    ) -> int:
        """Fork a worker running ``kieframe.batch.run(source, out=out, ...)``; its pid.

        Its options are :func:`~._support.batch_options` for ``emulator`` (``shared``:
        :func:`~._support.shared_options`) with ``options`` over them (JSON values).
        """
        spec = {"source": str(source), "out": str(out), "emulator": emulator, "shared": shared}
        pid = int(self._ask("run", {**spec, "options": options}))
        self._running.add(pid)
        return pid

    def poll(self, pid: int) -> int | None:
        """How worker ``pid`` ended, or None while it runs."""
        code: int | None = self._ask("poll", pid)
        if code is not None:
            self._running.discard(pid)
        return code

    def wait(self, pid: int) -> int:
        """How worker ``pid`` ended, once it has (a worker that hangs fails the test)."""
        ended: list[int] = []

        def probe() -> bool:
            code = self.poll(pid)
            if code is not None:
                ended.append(code)
            return bool(ended)

        wait_for(probe, timeout=120.0)
        return ended[0]

    def signal(self, pid: int, number: int) -> None:
        """Send signal ``number`` to worker ``pid``."""
        os.kill(pid, number)

    def close(self) -> None:
        """Kill the workers still running, then end the zygote."""
        for pid in list(self._running):
            os.kill(pid, signal.SIGKILL)
            self.wait(pid)
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

"""The throwaway cluster of the tests does not outlive the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kieframe.testing.postgres import PostgresCluster

_STARTER = """
import time
from kieframe.testing.postgres import PostgresCluster
cluster = PostgresCluster.start_new()
assert cluster._server is not None
print(cluster._server.pid, cluster.root, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_a_killed_test_process_leaves_no_server_behind(kie_postgres: PostgresCluster) -> None:
    # (kie_postgres: only to skip where there are no binaries)
    starter = subprocess.Popen(  # noqa: S603 - our interpreter and code
        [sys.executable, "-c", _STARTER], stdout=subprocess.PIPE, text=True
    )
    assert starter.stdout is not None
    pid, root = starter.stdout.readline().split()
    assert _alive(int(pid))
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    starter.stdout.close()
    deadline = time.monotonic() + 60  # a generous bound, not a timing
    while _alive(int(pid)) or Path(root).exists():
        assert time.monotonic() < deadline, "the server outlived its test process"
        time.sleep(0.05)

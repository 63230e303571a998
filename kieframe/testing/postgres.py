"""A throwaway PostgreSQL cluster for tests, from the binaries of Debian's ``postgresql`` package.

::

    with PostgresCluster.start_new() as cluster:
        url = cluster.create_database()   # a fresh, migrated database
        ...

The cluster lives in a temporary folder (data, log and unix socket), listens on a free loopback
port, trusts local connections and is stopped and deleted on exit. A watchdog process stops
and deletes it too when the process that started it dies without cleaning up (a SIGKILLed
pytest leaves no server behind). Run as root, it runs as the
``postgres`` user (PostgreSQL refuses to run as root). Through ``kieframe.testing.pytest_plugin``
the session-scoped ``kie_postgres`` fixture gives one cluster to a test session and
``kie_database_url`` a fresh database to each test; both skip the test when no binaries are
installed (``apt-get install postgresql``).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["PostgresCluster", "find_binaries"]

_USER = "kieframe"
_RUN_AS = "postgres"
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0

# Waits for its stdin to close (the test process died), then stops the server (argv 1, its pid)
# at once and deletes the cluster's folder (argv 2). An orderly stop kills the watchdog first.
_WATCHDOG = """
import os, shutil, signal, sys, time
pid, root = int(sys.argv[1]), sys.argv[2]
sys.stdin.buffer.read()
for sig in (signal.SIGQUIT, signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
shutil.rmtree(root, ignore_errors=True)
"""


def find_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb`` and ``pg_ctl``, if any."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        folder = Path(initdb).parent
        version = folder.parent.name
        if (folder / "pg_ctl").exists() and version.isdigit():
            found.append((int(version), folder))
    return max(found)[1] if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A PostgreSQL cluster in a temporary folder; see the module's documentation."""

    def __init__(self, binaries: Path, root: Path, port: int) -> None:
        self.binaries = binaries
        self.root = root
        self.port = port
        self._as_other_user = os.geteuid() == 0
        self._server: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"<PostgresCluster port={self.port} root={self.root}>"

    @classmethod
    def start_new(cls, binaries: Path | None = None) -> Self:
        """Create (``initdb``) and start a cluster; raise RuntimeError without binaries."""
        folder = binaries or find_binaries()
        if folder is None:
            raise RuntimeError(
                "no PostgreSQL binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
            )
        root = Path(tempfile.mkdtemp(prefix="kieframe-pg-"))
        cluster = cls(folder, root, _free_port())
        try:
            if cluster._as_other_user:
                shutil.chown(root, user=_RUN_AS, group=_RUN_AS)
            cluster._run(
                "initdb",
                "--pgdata", str(root / "data"),
                "--username", _USER,
                "--auth", "trust",
                "--encoding", "UTF8",
                "--no-sync",
            )  # fmt: skip
            cluster.start()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    def _user(self) -> dict[str, Any]:
        """``subprocess`` options that run a program as ``postgres`` when this process is root."""
        if not self._as_other_user:
            return {}
        return {"user": _RUN_AS, "group": _RUN_AS, "extra_groups": []}

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        done = subprocess.run(  # noqa: S603 - our own binaries and arguments
            command, capture_output=True, text=True, check=False, **self._user()
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
            )

    @property
    def running(self) -> bool:
        """Whether the server runs."""
        return self._server is not None and self._server.poll() is None

    def start(self) -> None:
        """Start the server (again, after :meth:`stop`); return once it accepts connections."""
        import psycopg

        if self.running:
            return
        log = (self.root / "server.log").open("ab")
        with log:
            self._server = subprocess.Popen(  # noqa: S603 - our own binary and arguments
                [
                    str(self.binaries / "postgres"), "-D", str(self.root / "data"),
                    "-p", str(self.port), "-k", str(self.root),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                    "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **self._user(),
            )  # fmt: skip
        self._watchdog = subprocess.Popen(  # noqa: S603 - our interpreter and code
            [sys.executable, "-c", _WATCHDOG, str(self._server.pid), str(self.root)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self._server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = (self.root / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"PostgreSQL did not start:\n{tail}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server now (a fast shutdown: connections are cut); the data stays."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:  # first, so that it neither stops nor deletes anything
            watchdog.kill()
            watchdog.wait()
            if watchdog.stdin is not None:
                watchdog.stdin.close()
        server, self._server = self._server, None
        if server is None:
            return
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def remove(self) -> None:
        """Stop the server and delete the cluster's folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` (over the unix socket in the cluster's folder)."""
        return f"postgresql://{_USER}@/{database}?host={self.root}&port={self.port}"

    def create_database(self, *, migrate: bool = True) -> str:
        """Create a fresh database (with kieframe's tables unless ``migrate`` is false)."""
        import psycopg

        from .._postgres._schema import migrate as apply

        name = f"kieframe_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}".encode())
        url = self.url(name)
        if migrate:
            with psycopg.connect(url, autocommit=True) as conn:
                apply(conn)
        return url

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, cutting its connections."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())

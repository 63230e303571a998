"""A worker process for the multi-process PostgreSQL tests and benchmark (run as a script).

Modes (the first argument) print one JSON line per event on stdout:

- ``submit``: create ``--count`` tasks through a client sharing ``--database``; each create
  that the database made impossible is reported (``unavailable``) and tried again; with
  ``--barrier`` it reports ``ready`` once warmed up and starts on a line from stdin;
- ``wait``: create ``--count`` tasks whose callbacks go to ``--callback-url``, then wait for
  each in turn;
- ``receive``: serve a callback receiver sharing the database's hub and claims; its handler
  reports each task it handles;
- ``hold``: take the create budget's row lock and sleep (until killed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

import kieframe
from kieframe import CallbackReceiver, CallbackServer, Client, RateLimits
from kieframe.postgres import DatabaseUnavailable, account_label
from kieframe.testing import Emulator

MODEL = "wan/2-5-image-to-video"
INPUT = {"prompt": "a cat surfing a wave at sunset", "image_url": "https://example.com/cat.png"}


def emit(**event: Any) -> None:
    """Print one event as a JSON line, at once."""
    print(json.dumps({"at": time.time(), **event}), flush=True)


def client(args: argparse.Namespace) -> Client:
    """A client of the emulator whose budgets, journal and callbacks live in the database."""
    return Client(
        Emulator.API_KEY,
        base_url=args.base_url,
        upload_base_url=args.base_url,
        database_url=args.database,
        rate_limits=RateLimits(creates=args.creates, create_window=args.window, reads=0),
        poll=kieframe.PollPlan.every(0.05),
        timeout=10.0,
    )


def submit(args: argparse.Namespace) -> None:
    with client(args) as kie:
        # Warm up as a long-running worker would be: the first request of a fresh process (its
        # connection, lazy imports) can lag far behind its budget slot.
        kie.credits()
        if args.barrier:  # start together with the other workers: the test says when
            emit(event="ready")
            sys.stdin.readline()
        done = 0
        while done < args.count:
            try:
                task = kie.submit(MODEL, INPUT)
            except DatabaseUnavailable as error:
                emit(event="unavailable", message=str(error))
                time.sleep(0.05)
                continue
            done += 1
            emit(event="created", task_id=task.task_id)


def wait(args: argparse.Namespace) -> None:
    with client(args) as kie:
        assert kie.callbacks is not None
        kie.callbacks.watchdog = 600.0  # a wait that returns is woken by a callback, not a poll
        tasks = [
            kie.submit(MODEL, INPUT, callback_url=args.callback_url) for _ in range(args.count)
        ]
        for task in tasks:
            emit(event="created", task_id=task.task_id)
        for task in tasks:
            record = kie.wait(task, timeout=20)
            emit(event="finished", task_id=record.task_id, state=str(record.state))


def receive(args: argparse.Namespace) -> None:
    logging.getLogger("kieframe").setLevel(logging.ERROR)  # unsigned callbacks: a test receiver
    with client(args) as kie:

        def handle(record: kieframe.TaskRecord) -> None:
            emit(event="handled", task_id=record.task_id, state=str(record.state))

        receiver = CallbackReceiver(client=kie, handler=handle, database_url=args.database)
        with CallbackServer(receiver) as server:
            emit(event="ready", url=server.url)
            sys.stdin.read()  # until the test closes our stdin


def hold(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(args.database) as conn:
        conn.execute(
            "INSERT INTO kieframe_budgets (account, kind) VALUES (%s, 'create')"
            " ON CONFLICT DO NOTHING",
            (account_label(Emulator.API_KEY),),
        )
        conn.commit()
        conn.execute(
            "SELECT 1 FROM kieframe_budgets WHERE account = %s AND kind = 'create' FOR UPDATE",
            (account_label(Emulator.API_KEY),),
        )
        emit(event="holding")
        time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["submit", "wait", "receive", "hold"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--base-url", default="")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--window", type=float, default=10.5)
    parser.add_argument("--callback-url", default="")
    parser.add_argument("--barrier", action="store_true", help="wait for a line on stdin")
    args = parser.parse_args()
    {"submit": submit, "wait": wait, "receive": receive, "hold": hold}[args.mode](args)


if __name__ == "__main__":
    main()

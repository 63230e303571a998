"""Servers for the benchmarks, each in its own process, until killed.

    python -m benchmarks._apps receiver|receiver-spool[-nofsync]|starlette|emulator|emulator-fast

``receiver`` and ``starlette`` print the port they listen on, then serve a callback endpoint with
uvicorn (same settings for both): kieframe's receiver, which re-reads each callback (its default)
through a client with kie.ai's default read budget from an emulator in the same process, or a
bare Starlette endpoint with the same HMAC check. ``receiver-spool`` acknowledges a callback only
once it is in a spool file (in a temporary directory), flushed to the disk (without ``-nofsync``)
or handed to the operating system. ``emulator`` prints the URL of an emulator with
no rate limits, plenty of credits and tasks that run for an hour (0.2 s: ``emulator-fast``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import sys
import tempfile
import threading
from typing import Any

import uvicorn

KEY = "benchmark-webhook-key"


def starlette_app() -> Any:
    """A bare Starlette endpoint with the same HMAC check as kieframe's receiver."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    secret = KEY.encode()

    async def callback(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            task_id = json.loads(body)["data"]["taskId"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "malformed"}, status_code=400)
        stamp = request.headers.get("x-webhook-timestamp", "")
        digest = hmac.new(secret, f"{task_id}.{stamp}".encode(), hashlib.sha256).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, request.headers.get("x-webhook-signature", "")):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/", callback, methods=["POST"])])


def receiver_app(*, spool: str | None = None, fsync: bool = True) -> Any:
    """kieframe's receiver, re-reading through a default client from a local emulator."""
    import kieframe
    from kieframe.callbacks import CallbackReceiver
    from kieframe.testing import Emulator

    emulator = Emulator(hmac_key=KEY).start()
    reader = kieframe.Client(Emulator.API_KEY, base_url=emulator.base_url)
    return CallbackReceiver(hmac_key=KEY, client=reader, spool=spool, spool_fsync=fsync)


def emulator(*, fast: bool) -> None:
    """Serve an emulator until killed: tasks of an hour, or of 0.2 s (``fast``)."""
    from kieframe.testing import Emulator, Timing

    if fast:
        timing = Timing(invisible=0.0, waiting=0.05, queuing=0.05, generating=0.1)
    else:
        timing = Timing(invisible=0.0, waiting=1800.0, queuing=1800.0, generating=3600.0)
    with Emulator(timing=timing, rate_limits=False, credits=10**9, result_size=100_000) as emu:
        print(emu.base_url, flush=True)
        threading.Event().wait()


def main() -> None:
    logging.disable(logging.WARNING)  # the receiver logs every callback of an unknown task
    if sys.argv[1].startswith("emulator"):
        emulator(fast=sys.argv[1] == "emulator-fast")
        return
    if sys.argv[1] == "starlette":
        app = starlette_app()
    elif sys.argv[1].startswith("receiver-spool"):
        spool = f"{tempfile.mkdtemp(prefix='kieframe-bench-')}/spool.sqlite"
        app = receiver_app(spool=spool, fsync=not sys.argv[1].endswith("nofsync"))
    else:
        app = receiver_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="auto")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()

"""Callback endpoints served in their own process: kieframe's receiver, or bare Starlette.

    python -m benchmarks._apps receiver|starlette

prints the port it listens on, then serves with uvicorn (same settings for both) until killed.
The receiver re-reads each callback (its default) through a client with kie.ai's default read
budget, from an emulator in the same process.
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


def receiver_app() -> Any:
    """kieframe's receiver, re-reading through a default client from a local emulator."""
    import kieframe
    from kieframe.testing import Emulator

    emulator = Emulator(hmac_key=KEY).start()
    reader = kieframe.Client(Emulator.API_KEY, base_url=emulator.base_url)
    return kieframe.CallbackReceiver(hmac_key=KEY, client=reader)


def main() -> None:
    logging.disable(logging.WARNING)  # the receiver logs every callback of an unknown task
    app = receiver_app() if sys.argv[1] == "receiver" else starlette_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="auto")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()

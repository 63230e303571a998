"""A receiver whose handler never returns, serving until killed.

``python _spool_app.py SPOOL fsync|nofsync`` prints its port once it listens; the crash test
kills it after its acknowledgements.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading

import uvicorn

from kieframe.callbacks import CallbackReceiver

KEY = "webhook-secret"


def main() -> None:
    never = threading.Event()

    def handler(record: object) -> None:
        never.wait()  # killed before any handler returns

    fsync = sys.argv[2] == "fsync"
    receiver = CallbackReceiver(
        hmac_key=KEY, reread=False, handler=handler, spool=sys.argv[1], spool_fsync=fsync
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until the server accepts them
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(receiver, log_level="warning", access_log=False, lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()

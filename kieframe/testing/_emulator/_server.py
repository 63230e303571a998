"""Running the ASGI app under uvicorn in a background thread, on a socket bound here."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import uvicorn

from ..._serving import bind, wait_until_started
from ._app import App
from ._callbacks import Callbacks

__all__ = ["ServerThread"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10


class ServerThread:
    """One uvicorn server on ``host:port`` (0 picks a free port), serving from its own thread."""

    def __init__(self, app: App, callbacks: Callbacks, *, host: str, port: int) -> None:
        self._socket, self.base_url = bind(host, port)
        self._app = app
        self._callbacks = callbacks
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=_STOP_TIMEOUT // 2,
        )
        self._server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = asyncio.Event()  # bound to the server's loop when first awaited there
        self._thread = threading.Thread(target=self._run, name="kieframe-emulator", daemon=True)

    def start(self) -> None:
        """Serve; returns once the server accepts connections."""
        self._thread.start()
        if not wait_until_started(self._server, self._thread, timeout=_START_TIMEOUT):
            self.stop()
            raise RuntimeError("the kie.ai emulator failed to start; see uvicorn's log")

    def stop(self) -> None:
        """Stop serving: end injected latencies, close connections, cancel pending callbacks."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(self._request_exit)
            self._thread.join(_STOP_TIMEOUT)
        self._socket.close()

    def _request_exit(self) -> None:
        self._app.stop_waiting()
        self._exit.set()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        # What uvicorn's serve() does, except that it notices should_exit only on a 0.1 s tick;
        # waiting on an event makes stopping prompt, which keeps suites of many emulators fast.
        self._loop = asyncio.get_running_loop()
        config = self._server.config
        config.load()
        self._server.lifespan = config.lifespan_class(config)
        async with self._callbacks.serving():
            await self._server.startup(sockets=[self._socket])
            ticks = asyncio.create_task(self._server.main_loop())  # Date header, once a second
            await self._exit.wait()
            ticks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticks
            await self._server.shutdown(sockets=[self._socket])

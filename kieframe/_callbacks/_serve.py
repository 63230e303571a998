"""Serving a :class:`CallbackReceiver` on its own with uvicorn: in the foreground or a thread.

uvicorn comes with the ``server`` (or ``cli``) extra: ``pip install 'kieframe[server]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from .._client import AsyncClient
from .._serving import bind, wait_until_started
from ._receiver import CallbackReceiver

if TYPE_CHECKING:
    import uvicorn

__all__ = ["CallbackServer", "serve_callbacks"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


def _uvicorn() -> type[uvicorn.Server]:
    try:
        import uvicorn
    except ImportError as error:  # pragma: no cover - uvicorn is in the test extra
        raise ImportError(
            "serving callbacks needs uvicorn: pip install 'kieframe[server]'"
        ) from error
    return uvicorn.Server


def _config(
    receiver: CallbackReceiver,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        receiver,
        host=host,
        port=port,
        lifespan="on",  # the receiver starts its workers, and drains them on shutdown
        ws="none",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level=log_level,
        access_log=access_log,
    )


def serve_callbacks(
    receiver: CallbackReceiver,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    forwarded_allow_ips: str | None = None,
    on_bound: Callable[[str], object] | None = None,
) -> None:
    """Serve ``receiver`` with uvicorn until interrupted (Ctrl-C, SIGTERM); blocks.

    Every path answers, so kie.ai's ``callBackUrl`` can be ``https://host/any/path``. Behind a
    reverse proxy, list its address in ``forwarded_allow_ips`` so the logs show real clients.
    The address is bound first: one that is taken raises ``OSError`` before anything is served;
    then ``on_bound`` is called with the root URL (``port=0`` picks a free port).
    """
    server_class = _uvicorn()
    config = _config(
        receiver,
        log_level=log_level,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    sock, url = bind(host, port)
    try:
        if on_bound is not None:
            on_bound(url)
        server_class(config).run(sockets=[sock])
    finally:
        sock.close()


class CallbackServer:
    """A receiver served by uvicorn from a background thread (``port=0`` picks a free port).

    For tests and for programs that are not ASGI apps themselves::

        with kieframe.callbacks.CallbackServer(receiver, port=0) as server:
            client.submit(model, input, callback_url=f"{server.url}/kie")
    """

    def __init__(
        self, receiver: CallbackReceiver, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if receiver.reread and isinstance(receiver._client, AsyncClient):
            raise ValueError(
                "CallbackServer serves the receiver on a loop of its own thread, where an "
                "AsyncClient cannot read: give the receiver a Client, or mount the receiver in "
                "an ASGI app on the AsyncClient's loop"
            )
        server_class = _uvicorn()
        self._socket, url = bind(host, port)
        #: The server's root URL, such as ``http://127.0.0.1:54321``.
        self.url = url
        self.receiver = receiver
        self._server = server_class(_config(receiver, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._run, name="kieframe-callbacks", daemon=True)

    def __repr__(self) -> str:
        return f"<CallbackServer {self.url}>"

    def _run(self) -> None:
        # uvicorn exits (SystemExit) when the receiver fails to start: start() reports that.
        with contextlib.suppress(SystemExit):
            asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self) -> Self:
        """Serve; returns once the server accepts connections."""
        self._thread.start()
        if not wait_until_started(self._server, self._thread, timeout=_START_TIMEOUT):
            self.stop()
            raise RuntimeError("the callback server failed to start; see uvicorn's log")
        return self

    def stop(self) -> None:
        """Finish queued callbacks, stop serving and release the port."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

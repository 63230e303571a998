"""ASGI plumbing: one request/response exchange that can also cut its connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import msgspec

__all__ = ["BodyTooLarge", "Exchange", "Message", "Receive", "Scope", "Send"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body is over the route's limit."""


class Exchange:
    """One HTTP request and its response.

    With :attr:`cut_after` set, the response head goes out, then at most that many body bytes,
    then the connection is closed: the client never sees a complete response.
    """

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query_string: str = scope["query_string"].decode("latin-1")
        self.headers: dict[str, str] = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        self.cut_after: int | None = None
        self._receive = receive
        self._send = send
        self._sent = 0
        self._closed = False
        self._body: bytes | None = None

    def query(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = parse_qs(self.query_string).get(name)
        return values[0] if values else None

    async def body(self, *, limit: int) -> bytes:
        """The whole request body, read once; raises :class:`BodyTooLarge` past ``limit`` bytes."""
        if self._body is None:
            chunks = bytearray()
            while len(chunks) <= limit:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    break
                chunks += message.get("body", b"")
                if not message.get("more_body", False):
                    break
            self._body = bytes(chunks)
        if len(self._body) > limit:
            raise BodyTooLarge
        return self._body

    async def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        """Send the response head."""
        if self._closed:
            return
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )

    async def write(self, chunk: bytes, *, more: bool) -> None:
        """Send body bytes (``more`` if others follow), cutting the connection if asked to."""
        if self._closed:
            return
        if self.cut_after is None:
            await self._send({"type": "http.response.body", "body": chunk, "more_body": more})
            return
        allowed = chunk[: max(0, self.cut_after - self._sent)]
        self._sent += len(allowed)
        if allowed:
            await self._send({"type": "http.response.body", "body": allowed, "more_body": True})
        if self._sent >= self.cut_after or not more:
            await self.cut()

    async def respond(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Send a complete response."""
        head = [("content-type", content_type), ("content-length", str(len(body))), *headers]
        await self.start(status, head)
        await self.write(body, more=False)

    async def json(
        self, status: int, value: object, *, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Send ``value`` as a JSON response."""
        body = msgspec.json.encode(value)
        await self.respond(status, body, content_type="application/json", headers=headers)

    async def cut(self) -> None:
        """Close the connection now, whatever was sent, and wait until it is gone.

        ASGI has no message for this, so the transport of uvicorn's protocol cycle (the owner
        of ``send``) is closed directly; waiting for ``http.disconnect`` afterwards keeps uvicorn
        from reporting an incomplete response.
        """
        if self._closed:
            return
        self._closed = True
        cycle = getattr(self._send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if not isinstance(transport, asyncio.BaseTransport):
            raise RuntimeError("cutting a connection needs uvicorn's h11 or httptools protocol")
        transport.close()
        while (await self._receive())["type"] != "http.disconnect":
            pass

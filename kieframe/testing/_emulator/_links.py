"""Signed, expiring file links, checked the way an object store checks a presigned URL."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Literal
from urllib.parse import parse_qs, quote, urlencode

from ._state import Clock

__all__ = ["LinkSigner", "LinkStatus"]

#: ``ok`` serves the file, ``expired`` and ``invalid`` answer 403.
LinkStatus = Literal["ok", "expired", "invalid"]


class LinkSigner:
    """Issues links carrying an expiry time, a generation and a signature; checks them.

    :meth:`expire_all` starts a new generation, which invalidates every link issued so far.
    """

    def __init__(self, *, seed: int, clock: Clock) -> None:
        self._lock = threading.Lock()
        self._secret = hashlib.sha256(f"kieframe-emulator-links:{seed}".encode()).digest()
        self._clock = clock
        self._generation = 0
        self.base_url = ""

    def _signature(self, path: str, expires: int, generation: int) -> str:
        message = f"{path}\n{expires}\n{generation}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def sign(self, path: str, *, lifetime: float, issued_ms: int | None = None) -> str:
        """A link to ``path`` valid for ``lifetime`` seconds from ``issued_ms`` (default: now)."""
        issued = self._clock.unix_ms() if issued_ms is None else issued_ms
        expires = issued + round(lifetime * 1000)
        with self._lock:
            generation = self._generation
        query = urlencode(
            {
                "expires": expires,
                "gen": generation,
                "sig": self._signature(path, expires, generation),
            }
        )
        return f"{self.base_url}{quote(path)}?{query}"

    def check(self, path: str, query_string: str) -> LinkStatus:
        """Whether the link to ``path`` with ``query_string`` may be served now."""
        query = parse_qs(query_string)
        try:
            expires = int(query["expires"][0])
            generation = int(query["gen"][0])
            signature = query["sig"][0]
        except (KeyError, ValueError):
            return "invalid"
        if not hmac.compare_digest(signature, self._signature(path, expires, generation)):
            return "invalid"
        with self._lock:
            current = generation == self._generation
        if not current or self._clock.unix_ms() >= expires:
            return "expired"
        return "ok"

    def expire_all(self) -> None:
        """Invalidate every link issued so far."""
        with self._lock:
            self._generation += 1

"""Receiving kie.ai's task callbacks: verify them, route them to waits, serve them.

A :class:`CallbackReceiver` is an ASGI application (mount it in any framework, or run it with
:func:`serve_callbacks`); pass it to a client as ``callbacks=...`` and ``wait()`` returns as soon
as a task's callback arrives. :class:`CallbackHub` is the part that wakes the waits, for feeding
records from a framework of your own; :func:`verify_callback` checks one request by hand.
"""

from __future__ import annotations

from ._callbacks._hub import CallbackHub
from ._callbacks._receiver import (
    CallbackClaims,
    CallbackHandler,
    CallbackReceiver,
    ReceiverStats,
)
from ._callbacks._serve import CallbackServer, serve_callbacks
from ._callbacks._verify import verify_callback
from ._core._effects import Delivery

__all__ = [
    "CallbackClaims",
    "CallbackHandler",
    "CallbackHub",
    "CallbackReceiver",
    "CallbackServer",
    "Delivery",
    "ReceiverStats",
    "serve_callbacks",
    "verify_callback",
]

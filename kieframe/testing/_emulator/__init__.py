"""A local kie.ai emulator: a real HTTP server on loopback for tests, CI and demos.

Start it with ``with Emulator() as emu:`` and point a client at ``emu.base_url``; or run
``python -m kieframe.testing._emulator`` to serve until Ctrl-C.
"""

from __future__ import annotations

from ._app import ModelSource
from ._callbacks import sign as sign_callback
from ._emulator import Emulator
from ._mp4 import build_mp4
from ._records import (
    CallbackAttempt,
    Endpoint,
    FaultKind,
    Lifetimes,
    Outcome,
    Stats,
    TaskInfo,
    Timing,
    UploadInfo,
    UploadMethod,
)

__all__ = [
    "CallbackAttempt",
    "Emulator",
    "Endpoint",
    "FaultKind",
    "Lifetimes",
    "ModelSource",
    "Outcome",
    "Stats",
    "TaskInfo",
    "Timing",
    "UploadInfo",
    "UploadMethod",
    "build_mp4",
    "sign_callback",
]

"""The installed version of kieframe."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("kieframe")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

"""A limit kie.ai states only in prose, as JSON-Schema keywords for one property."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Limit"]


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit kie.ai states only in prose, as JSON-Schema keywords for one property."""

    model: str
    field: str
    patch: Mapping[str, Any]
    source: str

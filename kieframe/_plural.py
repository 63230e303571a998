"""Counts in words, singular or plural as the count says: "1 line", "2 lines", "0 lines"."""

from __future__ import annotations

__all__ = ["counted", "noun_for"]


def noun_for(count: float, noun: str, plural: str | None = None) -> str:
    """``noun``, or its plural (``plural``, else ``noun`` + "s") unless ``count`` is 1."""
    return noun if count == 1 else plural or noun + "s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` in the number it calls for: "1 line", "2 line ids"."""
    return f"{count} {noun_for(count, noun, plural)}"

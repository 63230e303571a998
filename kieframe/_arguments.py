"""Checks of the arguments the public API is given, before anything is built or sent.

A wrong type is a ``TypeError`` and a value out of range a ``ValueError`` (``error=`` picks a
subclass: the clients raise :class:`~kieframe.ConfigurationError`), each naming the argument as it
is spelt in Python and what it takes: not an ``AttributeError`` from deep inside, nor a value that
quietly means something else.
"""

from __future__ import annotations

import math
import os
from typing import Any

__all__ = [
    "check_instance",
    "check_number",
    "check_path",
    "check_path_or",
    "check_str",
    "check_whole",
]


def _kind(value: object) -> str:
    return type(value).__name__


def check_str(name: str, value: object, what: str = "a str") -> None:
    """``value`` is a str or None."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} takes {what}, not {_kind(value)}")


def check_instance(name: str, value: object, kind: type | tuple[type, ...], what: str) -> None:
    """``value`` is None or a ``kind``."""
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{name} takes {what}, not {_kind(value)}")


def check_number(
    name: str,
    value: object,
    *,
    positive: bool = True,
    optional: bool = False,
    unit: str = "seconds",
    error: type[ValueError] = ValueError,
) -> None:
    """``value`` is a finite int or float (not a bool): above 0 (at least 0 unless ``positive``)."""
    if value is None and optional:
        return
    least = "above 0" if positive else "0 or more"
    what = f"a number of {unit} {least}" + (" or None" if optional else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} takes {what}, not {_kind(value)} {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise error(f"{name} takes {what}, not {value!r}")


def check_whole(
    name: str, value: object, *, least: int, what: str, error: type[ValueError] = ValueError
) -> None:
    """``value`` is an int (not a bool) of at least ``least``; ``what`` says what it counts."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} takes an int ({what}), not {_kind(value)} {value!r}")
    if value < least:
        raise error(f"{name} takes an int of at least {least} ({what}), not {value!r}")


def check_path(name: str, value: Any) -> None:
    """``value`` is None, a str or an ``os.PathLike``."""
    check_instance(name, value, (str, os.PathLike), "a file path (a str or a pathlib.Path)")


def _members(protocol: type) -> list[str]:
    """The public methods and attributes a ``Protocol`` class asks for, in declaration order."""
    names: dict[str, None] = {}
    for base in reversed(protocol.__mro__):
        if base.__module__ in ("typing", "builtins"):  # Protocol, Generic, object
            continue
        names.update(dict.fromkeys(getattr(base, "__annotations__", {})))
        names.update(dict.fromkeys(vars(base)))
    return [name for name in names if not name.startswith("_")]


def check_path_or(name: str, value: object, protocol: type, what: str) -> None:
    """``value`` is None, a path (a str or an ``os.PathLike``) or has what ``protocol`` asks for.

    An object meant to implement the protocol gets a ``TypeError`` naming what it lacks, not the
    one ``open()`` gives when it takes the object for a path.
    """
    if value is None or isinstance(value, str | os.PathLike):
        return
    missing = [member for member in _members(protocol) if not hasattr(value, member)]
    if missing:
        raise TypeError(
            f"{name} takes a file path or {what}; this {type(value).__name__} has no "
            + ", ".join(missing)
        )

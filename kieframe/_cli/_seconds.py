"""The click type of every option that takes seconds: a number in range, and finite."""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = ["Seconds"]


class Seconds(click.FloatRange):
    """A ``click.FloatRange`` that also refuses ``nan`` and ``inf``.

    ``FloatRange`` lets ``nan`` through (no comparison with it is true), and ``inf`` when the
    range has no top: a wait with such a timeout would never end, or fail deep inside.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number

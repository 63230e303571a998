"""A griffe extension: turn Sphinx roles in docstrings into links of the API reference.

kieframe's docstrings name other objects with roles (:class:, :func:, :meth:...), which the
rendered reference would show literally. Each role becomes an autorefs link to the place where
the reference renders the object (its public home: ``kieframe.Client``,
``kieframe.errors.NotFoundError``...), or plain code when the object is not rendered (private
objects, attributes and constants).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

# Where docs/reference.md renders each public module's names; earlier modules win.
_RENDERED = (
    "kieframe.errors",
    "kieframe",
    "kieframe.lifecycle",
    "kieframe.callbacks",
    "kieframe.journal",
    "kieframe.files",
    "kieframe.registry",
    "kieframe.authoring",
    "kieframe.hookspecs",
    "kieframe.testing",
)
_ROLE = re.compile(r":(class|func|meth|data|attr|exc|mod):`(~?)([\w.]+)`")


def _homes() -> dict[str, str]:
    homes: dict[str, str] = {}
    for module in _RENDERED:
        for name in importlib.import_module(module).__all__:
            homes.setdefault(name, f"{module}.{name}")
    return homes


class CrossReferences(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def __init__(self) -> None:
        self._homes = _homes()

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(self._link, obj.docstring.value)

    def _link(self, match: re.Match[str]) -> str:
        kind, short, target = match.groups()
        if kind == "mod":
            rendered = target in _RENDERED and target != "kieframe"  # its names are, not it
            return f"[`{target}`][{target}]" if rendered else f"`{target}`"
        parts = [part for part in target.split(".") if part != "kieframe"]
        call = "()" if kind in ("func", "meth") else ""
        if kind in ("attr", "data"):  # attributes and constants have no anchor of their own
            return f"`{'.'.join(parts[-2:]) if short == '' else parts[-1]}`"
        for index, part in enumerate(parts):
            if part in self._homes:
                rest = parts[index + 1 :]
                path = ".".join([self._homes[part], *rest])
                shown = rest[-1] if short and rest else ".".join(parts[index:])
                return f"[`{shown}{call}`][{path}]"
        return f"`{parts[-1]}{call}`"

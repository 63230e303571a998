"""kieframe plugin: every model of kie.ai's Jobs API, from kie.ai's published input schemas.

The catalogue serves each model its data file lists (``models.json``, regenerated from a kie.ai
schema dump by ``python -m kieframe_catalogue.update``), with the limits kie.ai states only in
prose added from a reviewed table (:mod:`kieframe_catalogue._overrides`). It is a *fallback*
provider: a hand-written plugin for the same model id (the first-party ``wan`` and ``hailuo``
plugins, or any installed third-party plugin) replaces the catalogue's entry.

Each input Struct is compiled from its schema on first use, so listing the catalogue costs almost
nothing.
"""

from __future__ import annotations

from kieframe.hookspecs import hookimpl

from ._catalogue import ENTRIES, Entry, entry, specs

__all__ = ["ENTRIES", "Entry", "entry", "kieframe_fallback_models", "specs"]


@hookimpl
def kieframe_fallback_models() -> list[object]:
    """Provide every catalogue model, each replaced by any other plugin serving the same id."""
    return list(specs())

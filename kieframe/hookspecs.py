"""The hooks a kieframe plugin can implement, and the markers to declare them.

A plugin is a module (or any object) registered under the ``kieframe`` entry-point group::

    # pyproject.toml of your package
    [project.entry-points.kieframe]
    mymodel = "kieframe_mymodel"

Its hook implementations are marked with :data:`hookimpl`::

    import msgspec
    import kieframe

    class Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        prompt: str
        image_url: kieframe.authoring.ImageUrl

    @kieframe.authoring.hookimpl
    def kieframe_models() -> list[kieframe.authoring.ModelSpec[Input]]:
        return [
            kieframe.authoring.ModelSpec(
                id="acme/animate", input_type=Input, title="Acme Animate",
                docs_url="https://docs.kie.ai/market/acme/animate",
            )
        ]

kieframe checks hook names when it loads a plugin, so a misspelled hook (``kieframe_model``) is an
error that names the plugin rather than a silently ignored function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pluggy

from ._spec import ModelSpec

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "kieframe_models"]

#: The one name used for the plugin manager, the entry-point group and the hook prefix.
PROJECT_NAME = "kieframe"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a function as the implementation of a kieframe hook.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def kieframe_models() -> Sequence[ModelSpec[Any]]:
    """Return the models this plugin provides, as :class:`~kieframe.ModelSpec` records.

    Called once per registry, when a model is first looked up. Each model id must be unique across
    all installed plugins; a clash is reported naming both plugins.
    """
    raise NotImplementedError  # pragma: no cover - a spec is never called

"""The plugin registry: which models are installed, from which plugins, and which failed.

:func:`get_model` and :func:`models` are also importable from :mod:`kieframe`; a
:class:`Registry` of your own isolates a set of plugins (for tests, or a service).
"""

from __future__ import annotations

from ._registry import PluginFailure, PluginInfo, Registry, get_model, models, plugins

__all__ = ["PluginFailure", "PluginInfo", "Registry", "get_model", "models", "plugins"]

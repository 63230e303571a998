"""The plugin registry: entry-point discovery, loading, listing and model lookup.

Plugins are found through the ``kieframe`` entry-point group and loaded lazily, on the first
lookup. Three environment switches steer loading (each a comma-separated list of plugin names,
i.e. entry-point names):

``KIEFRAME_PLUGINS``
    load only these plugins (set it empty to load none);
``KIEFRAME_BLOCK_PLUGINS``
    never load these;
``KIEFRAME_STRICT_PLUGINS``
    set to ``1`` to raise :class:`~kieframe.PluginError` on a plugin that fails to load, instead of
    logging it and going on without it.

Tests build an isolated :class:`Registry` (``Registry(entry_points=False)`` plus ``register``)
instead of touching the process-wide one.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from . import hookspecs
from ._errors import PluginError, UnknownModelError
from ._spec import ModelSpec
from ._validation import Preparer

__all__ = [
    "ModelSource",
    "PluginFailure",
    "PluginInfo",
    "Registry",
    "default_registry",
    "get_model",
    "model_key",
    "models",
    "plugins",
]

logger = logging.getLogger("kieframe.registry.plugins")

ENV_ONLY = "KIEFRAME_PLUGINS"
ENV_BLOCK = "KIEFRAME_BLOCK_PLUGINS"
ENV_STRICT = "KIEFRAME_STRICT_PLUGINS"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A loaded plugin: its name, the distribution and version that ship it, and its models.

    ``fallback`` says the plugin serves its models only where no other plugin provides them (a
    catalogue); ``overrides`` lists the ids of its models that replace a fallback plugin's entry.
    """

    name: str
    distribution: str | None
    version: str | None
    models: tuple[str, ...]
    fallback: bool = False
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Which plugin serves a model, and which fallback plugin's entry it replaces, if any."""

    plugin: str
    fallback: bool
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str | None
    error: str


@dataclass(frozen=True, slots=True)
class _Origin:
    distribution: str | None
    version: str | None


class _PluginManager(pluggy.PluginManager):
    """Treats every ``kieframe_*`` function as a hook implementation, marked or not.

    That way a misspelled hook (``kieframe_model``) reaches ``check_pending`` and is reported,
    instead of being silently ignored for lack of a marker.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        is_hook_name = name.startswith(f"{hookspecs.PROJECT_NAME}_")
        if opts is None and is_hook_name and callable(getattr(plugin, name, None)):
            return pluggy.HookimplOpts(
                wrapper=False,
                hookwrapper=False,
                optionalhook=False,
                tryfirst=False,
                trylast=False,
                specname=None,
            )
        return opts


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(part.strip() for part in value.split(",") if part.strip())


_RETURN_A_LIST = "a model hook returns a list of ModelSpec (return [spec] for one model)"


def _kind(returned: object) -> str:
    if isinstance(returned, ModelSpec):
        return f"the ModelSpec {returned.id!r} alone"
    return f"a {type(returned).__name__}" if returned is not None else "None"


class Registry:
    """A set of plugins and the models they provide.

    ``entry_points`` chooses whether installed plugins are discovered; ``only``, ``block`` and
    ``strict`` default to the environment switches described in the module docstring.
    """

    def __init__(
        self,
        *,
        entry_points: bool = True,
        only: Collection[str] | None = None,
        block: Collection[str] | None = None,
        strict: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._entry_points = entry_points
        self._only = frozenset(only) if only is not None else _names(env.get(ENV_ONLY))
        self._block = frozenset(block) if block is not None else _names(env.get(ENV_BLOCK))
        self._strict = strict if strict is not None else env.get(ENV_STRICT, "") not in ("", "0")
        self._pm = _PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._origins: dict[str, _Origin] = {}
        self._failures: list[PluginFailure] = []
        self._models: dict[str, tuple[ModelSpec[Any], str]] | None = None
        #: Each submitted model's one pass (see :meth:`_preparer`) by id, emptied with the
        #: catalogue: a submit looks its model's up here, without a call.
        self._preparers: dict[str, Preparer[Any]] = {}
        self._sources: dict[str, ModelSource] = {}
        self._replaced: dict[str, ModelSpec[Any]] = {}
        self._discovered = False
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        state = "loaded" if self._discovered else "not loaded"
        return f"<Registry {state}, {len(self._pm.get_plugins())} plugins>"

    # -- registration -------------------------------------------------------------------------

    def register(self, plugin: object, *, name: str | None = None) -> None:
        """Register a plugin object (a module, class or instance with hook implementations).

        Raises :class:`~kieframe.PluginError` if it implements a hook kieframe does not know.
        """
        with self._lock:
            plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
            self._add(plugin, plugin_name, _Origin(None, getattr(plugin, "__version__", None)))
            self._models = None
            self._preparers = {}

    def _add(self, plugin: object, name: str, origin: _Origin) -> None:
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as error:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            raise PluginError(f"plugin {name!r} is invalid: {error}") from error
        self._origins[name] = origin

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        if not self._entry_points:
            return
        for entry in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
            if self._only is not None and entry.name not in self._only:
                continue
            if self._block and entry.name in self._block:
                continue
            dist = entry.dist
            origin = _Origin(dist.name if dist else None, dist.version if dist else None)
            try:
                self._add(entry.load(), entry.name, origin)
            except Exception as error:  # a broken third-party plugin must not break the rest
                self._fail(entry.name, origin.distribution, error)

    def _fail(self, name: str, distribution: str | None, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        if self._strict:
            raise PluginError(f"plugin {name!r} failed to load: {text}") from error
        logger.warning("kieframe plugin %r failed to load and was skipped: %s", name, text)
        self._failures.append(PluginFailure(name=name, distribution=distribution, error=text))

    # -- models ------------------------------------------------------------------------------

    def _catalogue(self) -> dict[str, tuple[ModelSpec[Any], str]]:
        models = self._models  # once built, read without the lock (register() drops it)
        if models is not None:
            return models
        with self._lock:
            self._discover()
            if self._models is None:
                self._models = self._collect()
            return self._models

    def _collect(self) -> dict[str, tuple[ModelSpec[Any], str]]:
        ordinary = self._provided(self._pm.hook.kieframe_models)
        fallback = self._provided(self._pm.hook.kieframe_fallback_models)
        found = dict(fallback)
        sources = {
            key: ModelSource(plugin=owner, fallback=True) for key, (_, owner) in found.items()
        }
        self._replaced = {}
        for key, (spec, owner) in ordinary.items():
            replaced = fallback.get(key)
            if replaced is not None:
                self._replaced[key] = replaced[0]
            found[key] = (spec, owner)
            sources[key] = ModelSource(
                plugin=owner, fallback=False, replaces=replaced[1] if replaced else None
            )
        self._sources = sources
        return found

    def _provided(self, hook: Any) -> dict[str, tuple[ModelSpec[Any], str]]:
        """The models of one hook, by id; a clash between two of its plugins is an error."""
        found: dict[str, tuple[ModelSpec[Any], str]] = {}
        for impl in reversed(hook.get_hookimpls()):
            try:
                returned: Any = impl.function()
                if isinstance(returned, ModelSpec) or not isinstance(returned, Iterable):
                    raise TypeError(f"{hook.name} returned {_kind(returned)}: {_RETURN_A_LIST}")
                specs: list[object] = list(returned)
                bad = [spec for spec in specs if not isinstance(spec, ModelSpec)]
                if bad:
                    raise TypeError(f"{hook.name} returned {bad[0]!r}, not a ModelSpec")
            except Exception as error:
                self._fail(impl.plugin_name, self._origins[impl.plugin_name].distribution, error)
                self._pm.unregister(name=impl.plugin_name)
                continue
            for spec in specs:
                assert isinstance(spec, ModelSpec)  # checked above; narrows the type
                if spec.id in found:
                    other = found[spec.id][1]
                    raise PluginError(
                        f"model id {spec.id!r} is registered by two plugins: "
                        f"{other!r} and {impl.plugin_name!r}; uninstall or block one of them "
                        f"(for example {ENV_BLOCK}={impl.plugin_name})"
                    )
                found[spec.id] = (spec, impl.plugin_name)
        return found

    def source(self, model_id: str) -> ModelSource:
        """Which plugin serves ``model_id`` and what it replaces; raises for an unknown id."""
        catalogue = self._catalogue()
        if model_id not in catalogue:
            raise self._unknown(model_id, catalogue)
        return self._sources[model_id]

    def replaced(self, model_id: str) -> ModelSpec[Any] | None:
        """The fallback (catalogue) spec that another plugin's ``model_id`` replaces, if any."""
        self._catalogue()
        return self._replaced.get(model_id)

    def get_model(self, model_id: str | ModelSpec[Any]) -> ModelSpec[Any]:
        """The spec of ``model_id`` (or of a ModelSpec's id); raises UnknownModelError if none."""
        if type(model_id) is not str:  # a ModelSpec, or a mistake: checked off a submit's path
            model_id = model_key(model_id)
        catalogue = self._models or self._catalogue()  # read without a call once it is built
        try:
            return catalogue[model_id][0]  # one lookup: a submit's first step
        except KeyError:
            pass
        raise self._unknown(model_id, catalogue)

    def _preparer(self, model_id: str, record: Callable[..., Any]) -> Preparer[Any]:
        """A submit's one pass over the inputs of ``model_id`` (kept in ``_preparers``), which
        gives its creates as ``record`` (the submit's ``Submission``, its one caller: the cache
        is keyed by model alone, so another ``record`` would need a cache of its own).

        Raises :class:`~kieframe.UnknownModelError` if no plugin provides the model.
        """
        with self._lock:  # not kept for a model a register() call has just replaced
            prepare = self.get_model(model_id)._prepare(record)
            self._preparers[model_id] = prepare
            return prepare

    def _unknown(self, model_id: str, catalogue: Iterable[str]) -> UnknownModelError:
        """The error for an unknown id; it names the plugins that failed to load."""
        return UnknownModelError(
            model_id,
            suggestions=_suggest(model_id, catalogue),
            failed_plugins=[
                f"{failure.name!r}, which failed to load: {failure.error}"
                for failure in self._failures
            ],
        )

    def models(self) -> tuple[ModelSpec[Any], ...]:
        """Every registered model, sorted by id."""
        catalogue = self._catalogue()
        return tuple(catalogue[key][0] for key in sorted(catalogue))

    def plugins(self) -> tuple[PluginInfo, ...]:
        """Every loaded plugin with its distribution, version and models, sorted by name."""
        catalogue = self._catalogue()
        with self._lock:
            names = sorted(name for name in self._origins if self._pm.get_plugin(name) is not None)
            return tuple(self._info(name, catalogue) for name in names)

    def _info(self, name: str, catalogue: Mapping[str, tuple[ModelSpec[Any], str]]) -> PluginInfo:
        served = sorted(key for key, (_, owner) in catalogue.items() if owner == name)
        plugin = self._pm.get_plugin(name)
        return PluginInfo(
            name=name,
            distribution=self._origins[name].distribution,
            version=self._origins[name].version,
            models=tuple(served),
            fallback=any(
                impl.plugin is plugin
                for impl in self._pm.hook.kieframe_fallback_models.get_hookimpls()
            ),
            overrides=tuple(key for key in served if self._sources[key].replaces is not None),
        )

    @property
    def failures(self) -> tuple[PluginFailure, ...]:
        """Plugins that failed to load (empty in strict mode, which raises instead)."""
        self._catalogue()
        return tuple(self._failures)


def model_key(model: object) -> str:
    """The id of a model given by id or by its :class:`ModelSpec`; else a ``TypeError``."""
    if isinstance(model, str):
        return model
    if isinstance(model, ModelSpec):
        return model.id
    raise TypeError(
        "a model is given by its model id (a str, such as 'wan/2-5-image-to-video') or its "
        f"ModelSpec, not {type(model).__name__}"
    )


def _suggest(model_id: str, known: Iterable[str]) -> list[str]:
    known = list(known)
    close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
    if not close:  # a bare name such as "wan" should still point at "wan/2-5-image-to-video"
        close = [name for name in known if model_id and model_id.lower() in name.lower()][:3]
    return close


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry of installed plugins, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Registry()
        return _default


def get_model(model_id: str | ModelSpec[Any]) -> ModelSpec[Any]:
    """The spec of an installed model; raises :class:`~kieframe.UnknownModelError` if none."""
    return default_registry().get_model(model_id)


def models() -> tuple[ModelSpec[Any], ...]:
    """Every installed model, sorted by id."""
    return default_registry().models()


def plugins() -> tuple[PluginInfo, ...]:
    """Every installed plugin: name, distribution, version and models."""
    return default_registry().plugins()

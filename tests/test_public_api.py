"""The public surface: one sorted ``__all__``, everything in it importable and documented."""

from __future__ import annotations

import inspect

import kieframe
import kieframe.testing


def _public_names(module: object) -> set[str]:
    return {name for name in vars(module) if not name.startswith("_")} - {"annotations"}


def test_all_is_exactly_what_init_exports() -> None:
    exported = _public_names(kieframe) - {"hookspecs", "postgres", "testing"}  # submodules
    assert set(kieframe.__all__) - {"__version__"} == exported


def test_all_has_no_duplicates() -> None:
    # The order is ruff's (RUF022: constants, then classes, then functions), checked by the linter.
    for module in (kieframe, kieframe.testing):
        assert len(module.__all__) == len(set(module.__all__))


def test_every_public_name_resolves_and_is_documented() -> None:
    for module in (kieframe, kieframe.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert inspect.getdoc(obj), f"{module.__name__}.{name} has no docstring"


def test_version_is_the_installed_distribution_version() -> None:
    import importlib.metadata

    assert kieframe.__version__ == importlib.metadata.version("kieframe")

"""Shared test configuration: hypothesis profiles and an isolated plugin registry."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from kieframe.registry import Registry

pytest_plugins = ["kieframe.testing.pytest_plugin"]

# "dev" is quick for the edit-test loop; "ci" is thorough and derandomised, so CI is repeatable.
# Neither times examples: the machine is shared and noisy, and speed is the benchmarks' business
# (a deadline or the too_slow health check fails a correct test on a busy machine).
_untimed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", _untimed, max_examples=60)
settings.register_profile("ci", _untimed, max_examples=300, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def no_outside_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the developer's config file or host variables, or writes their journal."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("KIEFRAME_CONFIG", str(base / "no-config.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))  # the default journal's home
    monkeypatch.delenv("KIEFRAME_JOURNAL", raising=False)
    monkeypatch.delenv("KIE_BASE_URL", raising=False)
    monkeypatch.delenv("KIE_UPLOAD_BASE_URL", raising=False)
    monkeypatch.delenv("KIEFRAME_DATABASE_URL", raising=False)


@pytest.fixture
def registry() -> Registry:
    """A registry with the installed plugins, private to one test."""
    return Registry(environ={})

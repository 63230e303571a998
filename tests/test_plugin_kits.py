"""The plugin author's kit runs its own tests where kieframe's test tools (pytest-asyncio) live.

``contrib/check`` proves the whole path in a fresh environment; this runs the contract test of the
example package and of a freshly rendered template, with their own pytest configuration, in this
environment (which has pytest-asyncio, like an author's with ``kieframe[test]``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _author_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the project's contract test as its author would: its own rootdir and ini options."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    env.pop("HYPOTHESIS_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "contract"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_example_plugins_tests_run_with_pytest_asyncio_installed(tmp_path: Path) -> None:
    pytest.importorskip("pytest_asyncio")  # in kieframe[test]: the setting this test is about
    project = tmp_path / "kieframe-example"
    shutil.copytree(ROOT / "contrib" / "kieframe-example", project)
    done = _author_pytest(project)
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr


def _kit_extras(pyproject: str) -> list[str]:
    return [line for line in pyproject.splitlines() if line.startswith("test = ")]


@pytest.mark.parametrize(
    "pyproject",
    ["contrib/kieframe-example/pyproject.toml", "contrib/template/template/pyproject.toml.jinja"],
)
def test_a_kits_test_extra_brings_the_command_its_readme_runs(pyproject: str) -> None:
    [extra] = _kit_extras((ROOT / pyproject).read_text())
    assert '"kieframe[cli]"' in extra


def _generate(tmp_path: Path) -> None:
    """A plugin generated from the copier template into ``tmp_path / "generated"``."""
    copier = pytest.importorskip("copier")
    shutil.copytree(ROOT / "contrib" / "template", tmp_path / "template")
    copier.run_copy(
        str(tmp_path / "template"),
        str(tmp_path / "generated"),
        data={"project_name": "kieframe-acme", "model_id": "acme/animate"},
        defaults=True,
        quiet=True,
        unsafe=False,
    )


def test_a_generated_plugins_tests_run_with_pytest_asyncio_installed(tmp_path: Path) -> None:
    pytest.importorskip("pytest_asyncio")
    _generate(tmp_path)
    done = _author_pytest(tmp_path / "generated")
    assert "INTERNALERROR" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_generated_plugin_passes_its_own_linter(tmp_path: Path) -> None:
    _generate(tmp_path)
    for check in (["check"], ["format", "--check"]):
        done = subprocess.run(  # noqa: S603 - this interpreter's ruff, fixed arguments
            [sys.executable, "-m", "ruff", *check, "--no-cache", "."],
            cwd=tmp_path / "generated",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

"""The emulator's counters forgive unseen endpoints; without uvicorn, it says what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kieframe.testing import Emulator


def test_an_endpoint_nothing_reached_counts_zero() -> None:
    with Emulator() as emu:
        stats = emu.stats
    assert stats.requests["upload"] == 0  # files.md's example, before any upload
    assert stats.rate_limited["createTask"] == 0
    assert stats.user_agents["curl/8"] == 0


@pytest.mark.parametrize(
    ("name", "blocked", "extra"),
    [("Emulator", "uvicorn", "server"), ("valid_inputs", "hypothesis", "test")],
)
def test_a_missing_dependency_names_the_extra_to_install(
    name: str, blocked: str, extra: str
) -> None:
    code = f"import sys; sys.modules[{blocked!r}] = None\nfrom kieframe.testing import {name}"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: ")
    assert f"kieframe.testing.{name} needs {blocked}" in last
    assert f"pip install 'kieframe[{extra}]'" in last

"""The emulator's counters forgive unseen endpoints; without uvicorn, it says what to install."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kieframe.testing import Emulator
from kieframe.testing._emulator import Stats  # what Emulator.stats returns


def test_an_endpoint_nothing_reached_counts_zero() -> None:
    with Emulator() as emu:
        stats = emu.stats
    assert stats.requests["upload"] == 0  # files.md's example, before any upload
    assert stats.rate_limited["createTask"] == 0
    assert stats.user_agents["curl/8"] == 0


@given(
    requests=st.dictionaries(st.text(max_size=12), st.integers(0, 10**6), max_size=4),
    agents=st.dictionaries(st.text(max_size=12), st.integers(0, 10**6), max_size=4),
    missing=st.integers(0, 10**6),
)
def test_stats_round_trip_through_msgspec(
    requests: dict[str, int], agents: dict[str, int], missing: int
) -> None:
    stats = Stats(
        requests=Counter(requests), rate_limited=Counter(), user_agents=Counter(agents),
        missing_user_agent=missing,
    )  # fmt: skip
    for again in (
        msgspec.json.decode(msgspec.json.encode(stats), type=Stats),
        msgspec.convert(msgspec.to_builtins(stats), Stats),
    ):
        assert again == stats
        assert again.requests["never reached"] == 0  # still counts 0, decoded too


def test_a_used_emulators_stats_round_trip() -> None:
    with Emulator() as emu:
        httpx.get(f"{emu.base_url}/api/v1/chat/credit", headers={"User-Agent": "probe/1"})
        stats = emu.stats
    again = msgspec.json.decode(msgspec.json.encode(stats), type=Stats)
    assert again == stats
    assert again.user_agents["probe/1"] == 1
    assert again.requests["upload"] == 0


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

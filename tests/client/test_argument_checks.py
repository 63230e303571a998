"""Options of the wrong type or out of range are refused where they are given, by their name.

A wrong type is a TypeError, a value out of range a ValueError (a ConfigurationError for a
client's options): never an AttributeError from deep inside, a TypeError from arithmetic at the
first request, nor a value that quietly means something else.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import kieframe
from kieframe.errors import ConfigurationError
from kieframe.lifecycle import RateLimits
from kieframe.testing import Emulator

KEY, NOWHERE = "key", "http://127.0.0.1:9"  # nothing is sent: every check comes first
WAN = "wan/2-5-image-to-video"
INPUT = {"prompt": "a fox", "image_url": "https://example.com/f.png"}

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()),
)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _seconds(value: object) -> bool:
    return _number(value) and math.isfinite(value) and value > 0  # type: ignore[arg-type,operator]


def _whole(least: int) -> Callable[[object], bool]:
    return lambda value: type(value) is int and value >= least


# Each client option, and whether a value is one it takes.
CLIENT_OPTIONS: dict[str, Callable[[object], bool]] = {
    # a str is a key or URL to check (another test's business), None a look-up elsewhere
    "api_key": lambda value: value is None or isinstance(value, str),
    "base_url": lambda value: value is None or isinstance(value, str),
    "upload_base_url": lambda value: value is None or isinstance(value, str),
    "database_url": lambda value: value is None or isinstance(value, str),
    "timeout": lambda value: value is None or _seconds(value),
    "visibility_grace": lambda value: _number(value) and math.isfinite(value) and value >= 0,  # type: ignore[arg-type,operator]
    "create_attempts": _whole(1),
    "read_attempts": _whole(1),
    "read_retry_timeout": _seconds,
    "registry": lambda value: value is None,
    "poll": lambda value: value is None,
    "rate_limits": lambda value: value is None,
    "callbacks": lambda value: value is None,
    "upload_cache": lambda value: value is None or isinstance(value, str),
}


@pytest.mark.parametrize("client", [kieframe.Client, kieframe.AsyncClient])
@given(name=st.sampled_from(sorted(CLIENT_OPTIONS)), value=anything)
def test_a_client_option_it_cannot_take_is_refused_by_name(
    client: type[kieframe.Client | kieframe.AsyncClient], name: str, value: object
) -> None:
    assume(not CLIENT_OPTIONS[name](value))
    options: dict[str, Any] = {"api_key": KEY, "base_url": NOWHERE, name: value}
    with pytest.raises((TypeError, ConfigurationError), match=rf"^{name} takes "):
        client(**options)


@pytest.mark.parametrize(
    ("options", "error", "says"),
    [
        ({"api_key": 123}, TypeError, "api_key takes a str, not int"),
        ({"timeout": "x"}, TypeError, "timeout takes a number of seconds above 0 or None, not str"),
        ({"timeout": -1}, ConfigurationError, "timeout takes a number of seconds above 0"),
        ({"read_attempts": 0}, ConfigurationError, "read_attempts takes an int of at least 1"),
        ({"create_attempts": -1}, ConfigurationError, "create_attempts takes an int of at least 1"),
        ({"create_attempts": 2.0}, TypeError, "create_attempts takes an int"),
        ({"rate_limits": {"creates": 5}}, TypeError, "rate_limits takes a kieframe.lifecycle"),
        ({"callbacks": "http://hook"}, TypeError, "callbacks takes a kieframe.callbacks"),
    ],
)
def test_the_reviewers_examples(options: dict[str, Any], error: type[Exception], says: str) -> None:
    with pytest.raises(error) as caught:
        kieframe.Client(**{"api_key": KEY, "base_url": NOWHERE, **options})
    assert str(caught.value).startswith(says)


def test_the_options_it_takes_still_build_a_client() -> None:
    with kieframe.Client(
        KEY,
        base_url=NOWHERE,
        timeout=httpx.Timeout(5.0),
        visibility_grace=0,
        create_attempts=1,
        read_attempts=1,
        read_retry_timeout=0.5,
        rate_limits=RateLimits(creates=0, reads=3, read_window=2),
    ) as client:
        assert client.timeout == httpx.Timeout(5.0)


@given(
    timeout=anything.filter(lambda value: not (value is None or _seconds(value))),
    hook=st.one_of(st.none(), st.integers(), st.text(max_size=3)),
)
def test_a_wait_option_it_cannot_take_is_refused_before_any_read(
    timeout: object, hook: object
) -> None:
    sync_client = kieframe.Client(KEY, base_url=NOWHERE, read_attempts=1)
    async_client = kieframe.AsyncClient(KEY, base_url=NOWHERE, read_attempts=1)
    with sync_client, pytest.raises((TypeError, ValueError), match=r"^timeout takes "):
        sync_client.wait("task-1", timeout=timeout, on_update=None)  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError), match=r"^timeout takes "):
        asyncio.run(async_client.wait("task-1", timeout=timeout))  # type: ignore[arg-type]
    if hook is not None:
        with pytest.raises(TypeError, match=r"^on_update takes a function"):
            asyncio.run(async_client.wait("task-1", timeout=5, on_update=hook))  # type: ignore[arg-type]
    asyncio.run(async_client.aclose())


def test_run_refuses_a_bad_wait_option_before_submitting(
    kie_client: kieframe.Client, kie_emulator: Emulator
) -> None:
    with pytest.raises(TypeError, match="timeout takes a number of seconds"):
        kie_client.run(WAN, INPUT, timeout="5")  # type: ignore[arg-type]
    assert kie_emulator.stats.requests.get("createTask", 0) == 0


async def test_async_run_refuses_a_bad_wait_option_before_submitting(
    kie_async_client: kieframe.AsyncClient, kie_emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="timeout takes a number of seconds above 0"):
        await kie_async_client.run(WAN, INPUT, timeout=0)
    assert kie_emulator.stats.requests.get("createTask", 0) == 0


def test_a_callback_url_is_named_as_the_argument() -> None:
    with kieframe.Client(KEY, base_url=NOWHERE) as client:
        with pytest.raises(kieframe.InputValidationError) as caught:
            client.submit(WAN, INPUT, callback_url="x")
        assert [problem.field for problem in caught.value.problems] == ["callback_url"]
        with pytest.raises(TypeError, match="callback_url takes an http"):
            client.submit(WAN, INPUT, callback_url=5)  # type: ignore[arg-type]


@given(name=st.sampled_from(["creates", "reads", "create_window", "read_window"]), value=anything)
def test_rate_limits_refuse_what_they_cannot_take(name: str, value: object) -> None:
    if name in ("creates", "reads"):
        assume(not _whole(0)(value))
    else:
        assume(not _seconds(value))
    with pytest.raises((TypeError, ConfigurationError), match=rf"^{name} takes "):
        RateLimits(**{name: value})  # type: ignore[arg-type]


def test_rate_limits_say_that_zero_lifts_a_limit() -> None:
    assert RateLimits(creates=0).reads == RateLimits().reads
    assert RateLimits.off() == RateLimits(creates=0, reads=0)
    with pytest.raises(
        ConfigurationError, match=r"creates takes an int of at least 0 \(0: no limit"
    ):
        RateLimits(creates=-1)

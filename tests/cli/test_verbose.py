"""``-v`` shows each request and retry on stderr, never the key; without it they stay silent."""

from __future__ import annotations

from kieframe.testing import Emulator

from .conftest import Runner

SECRET = "sk-verbose-secret-0123456789"


def test_verbose_shows_requests_and_retries_without_the_key(
    cli: Runner, emulator: Emulator
) -> None:
    emulator.fault("credit", "http_500", times=1)
    done = cli("-v", "credits", "--base-url", emulator.base_url, KIE_API_KEY=SECRET)
    assert done.code == 0, done.err
    assert f"GET {emulator.base_url}/api/v1/chat/credit" in done.err  # each request
    assert "500 Internal Server Error" in done.err
    assert "retrying the request above in" in done.err  # and the retry, with its reason
    assert "after ServerError: internal server error" in done.err
    assert SECRET not in done.err + done.out


def test_without_verbose_retries_are_silent(cli: Runner, emulator: Emulator) -> None:
    emulator.fault("credit", "http_500", times=1)
    done = cli("credits", "--base-url", emulator.base_url, KIE_API_KEY=SECRET)
    assert done.code == 0, done.err
    assert done.err == ""

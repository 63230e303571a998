"""``-v`` shows each request and retry on stderr, never the key; without it they stay silent."""

from __future__ import annotations

import logging

import stamina.instrumentation

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


def test_a_command_run_in_process_leaves_logging_as_it_found_it(emulator: Emulator) -> None:
    from click.testing import CliRunner

    from kieframe._cli import cli as command

    kieframe_log = logging.getLogger("kieframe")
    httpx_log = logging.getLogger("httpx")
    before = [(log.level, log.propagate, list(log.handlers)) for log in (kieframe_log, httpx_log)]
    hooks = stamina.instrumentation.get_on_retry_hooks()
    for flags in ([], ["-v"]):
        done = CliRunner().invoke(
            command,
            [*flags, "credits", "--base-url", emulator.base_url],
            env={"KIE_API_KEY": SECRET},
        )
        assert done.exit_code == 0, done.output
    after = [(log.level, log.propagate, list(log.handlers)) for log in (kieframe_log, httpx_log)]
    assert after == before
    assert stamina.instrumentation.get_on_retry_hooks() == hooks

"""``-v`` shows each request and retry on stderr, never the key; without it they stay silent."""

from __future__ import annotations

import io
import logging
import string
from pathlib import Path

import pytest
import stamina.instrumentation
from hypothesis import given
from hypothesis import strategies as st

from kieframe._cli._verbose import log_activity
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

    logs = (
        logging.getLogger("kieframe"),
        logging.getLogger("httpx"),
        logging.getLogger("httpcore"),
    )
    before = [(log.level, log.propagate, list(log.handlers)) for log in logs]
    hooks = stamina.instrumentation.get_on_retry_hooks()
    for flags in ([], ["-v"], ["-vv"]):
        done = CliRunner().invoke(
            command,
            [*flags, "credits", "--base-url", emulator.base_url],
            env={"KIE_API_KEY": SECRET},
        )
        assert done.exit_code == 0, done.output
    after = [(log.level, log.propagate, list(log.handlers)) for log in logs]
    assert after == before
    assert stamina.instrumentation.get_on_retry_hooks() == hooks


def test_vv_adds_the_connection_trace_without_the_key(cli: Runner, emulator: Emulator) -> None:
    once = cli("-v", "credits", "--base-url", emulator.base_url, KIE_API_KEY=SECRET)
    twice = cli("-vv", "credits", "--base-url", emulator.base_url, KIE_API_KEY=SECRET)
    assert once.code == twice.code == 0, twice.err
    for done in (once, twice):
        assert f"GET {emulator.base_url}/api/v1/chat/credit" in done.err
        assert SECRET not in done.err + done.out
    trace = ("httpcore.connection: connect_tcp.started", "receive_response_headers.complete")
    for line in trace:  # the connection and the response headers: -vv only
        assert line in twice.err
        assert line not in once.err


@given(
    key=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8, max_size=40),
    template=st.sampled_from(
        [
            "headers=[(b'authorization', b'Bearer {key}')]",
            "Authorization: Bearer {key}",
            "sent {key} somewhere",
            "{key}",
        ]
    ),
)
def test_the_verbose_log_never_shows_the_key(key: str, template: str) -> None:
    stream = io.StringIO()
    restore = log_activity(2, stream=stream, secrets=[key])
    try:
        logging.getLogger("httpcore.http11").debug(template.format(key="%s"), key)
        logging.getLogger("kieframe").info(template.format(key=key))
    finally:
        restore()
    text = stream.getvalue()
    assert key not in text
    assert all("********" in line for line in text.splitlines())
    assert len(text.splitlines()) == 2


def test_the_keys_of_the_environment_and_the_config_file_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('api_key = "sk-from-the-config-file"\n')
    monkeypatch.setenv("KIEFRAME_CONFIG", str(config))
    monkeypatch.setenv("KIE_API_KEY", SECRET)
    monkeypatch.setenv("KIE_WEBHOOK_HMAC_KEY", "whk-new-0123 whk-old-4567")
    stream = io.StringIO()
    restore = log_activity(1, stream=stream)
    try:
        for secret in (SECRET, "sk-from-the-config-file", "whk-new-0123", "whk-old-4567"):
            logging.getLogger("kieframe").info("a line with %s in it", secret)
    finally:
        restore()
    assert stream.getvalue() == "kieframe: a line with ******** in it\n" * 4

"""The API key never shows in a repr, a log line, an exception or a file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import kieframe
from kieframe.testing import Emulator
from kieframe.testing.pytest_plugin import FAST_POLL

SECRET = "sk-live-0123456789-very-secret"


def test_key_stays_out_of_reprs_logs_and_errors(
    kie_emulator: Emulator, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with kieframe.Client(SECRET, base_url=kie_emulator.base_url, poll=FAST_POLL) as client:
            seen.append(repr(client))
            seen.append(repr(vars(client)) if hasattr(client, "__dict__") else "")
            result = client.run(
                "wan/2-5-image-to-video", {"prompt": "p", "image_url": "https://e.com/i.png"}
            )
            seen += [repr(result), str(result.record)]
            kie_emulator.fault("credit", "code", code=401, msg="bad key")
            with pytest.raises(kieframe.AuthenticationError) as caught:
                client.credits()
            seen += [str(caught.value), repr(caught.value), repr(caught.value.__dict__)]
    seen.append(caplog.text)
    for text in seen:
        assert SECRET not in text
    for path in tmp_path.rglob("*"):
        assert SECRET.encode() not in path.read_bytes()

"""A taken port or an output folder that cannot exist is one clear line and exit 2, not a
traceback (or uvicorn's exit code, which reads as kieframe's AUTH)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from kieframe._cli import ExitCode
from kieframe.testing import Emulator

from .conftest import Runner

WAN = "wan/2-5-image-to-video"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_the_emulator_on_a_taken_port_says_so(cli: Runner, taken_port: int) -> None:
    done = cli("emulator", "--port", str(taken_port))
    assert done.code == ExitCode.BAD_INPUT
    assert done.err.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{taken_port}: Address already in use; "
        "give another --port (0 for any free one)"
    ]
    assert "kie.ai emulator serving" not in done.out


def test_the_emulator_on_a_taken_port_reports_json_with_json(cli: Runner, taken_port: int) -> None:
    done = cli("emulator", "--port", str(taken_port), "--json")
    assert done.code == ExitCode.BAD_INPUT
    report = done.json()
    assert isinstance(report, dict)
    assert report["error"]["exit_code"] == ExitCode.BAD_INPUT
    assert "cannot listen" in report["error"]["message"]


def test_the_callback_receiver_on_a_taken_port_says_so_and_never_that_it_receives(
    cli: Runner, taken_port: int
) -> None:
    done = cli("callbacks", "serve", "--port", str(taken_port), "--trust-body", KIE_API_KEY="k")
    assert done.code == ExitCode.BAD_INPUT  # not 3, uvicorn's start-up failure (kieframe's AUTH)
    assert "receiving callbacks" not in done.out + done.err
    assert f"cannot listen on 127.0.0.1:{taken_port}" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize("option", ["--out", "--state"])
def test_a_batch_whose_folder_cannot_exist_is_refused_before_anything_is_sent(
    cli: Runner, emulator: Emulator, option: str
) -> None:
    (cli.cwd / "notes").write_text("a file, not a folder")
    lines = cli.cwd / "lines.jsonl"
    line = {"id": "a", "input": {"prompt": "a cat", "image_url": "https://example.com/c.png"}}
    lines.write_text(json.dumps(line) + "\n")
    places = {"--out": "notes/out", "--state": "out"}
    extra = ("--state", "notes/batch.sqlite3") if option == "--state" else ()
    done = cli(
        "batch", "run", str(lines), "--model", WAN, "--out", places[option], *extra, "--yes",
        "--base-url", emulator.base_url, KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT, done.err
    assert f"error: {option}: cannot save files in" in done.err
    assert "notes is not a folder" in done.err
    assert "Traceback" not in done.err
    assert not emulator.tasks


def test_serve_callbacks_raises_on_a_taken_port_before_announcing_anything(
    taken_port: int,
) -> None:
    from kieframe.callbacks import CallbackReceiver, serve_callbacks

    announced: list[str] = []
    receiver = CallbackReceiver(handler=lambda record: None, reread=False)
    with pytest.raises(OSError, match="in use"):
        serve_callbacks(receiver, port=taken_port, on_bound=announced.append)
    assert announced == []


def test_the_callback_receiver_refuses_an_out_folder_that_cannot_exist(cli: Runner) -> None:
    (cli.cwd / "notes").write_text("a file, not a folder")
    done = cli(
        "callbacks", "serve", "--port", "0", "--trust-body", "--out", "notes/results",
        KIE_API_KEY="k",
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert "notes is not a folder" in done.err
    assert "receiving callbacks" not in done.out + done.err

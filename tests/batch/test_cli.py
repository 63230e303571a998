"""``kieframe batch``: confirmation, --json status objects, exit codes, status, CSV input."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from click.testing import CliRunner

import kieframe.batch
from kieframe._cli import cli
from kieframe._cli._verbose import _LOGGERS
from kieframe.testing import Emulator, Timing

MODEL = "wan/2-5-image-to-video"
IMAGE = "https://example.com/cat.png"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(timing=Timing(invisible=0.02, waiting=0.02, queuing=0.02, generating=0.1),
                  result_size=4096) as emulator:  # fmt: skip
        yield emulator


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The command configures logging and stamina's hooks for its process: undo it after."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    hooks = stamina.instrumentation.get_on_retry_hooks()
    yield
    stamina.instrumentation.set_on_retry_hooks(hooks)
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def invoke(tmp_path: Path, emu: Emulator, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    env = {"KIE_API_KEY": Emulator.API_KEY, "KIEFRAME_CONFIG": str(tmp_path / "none.toml")}
    result = runner.invoke(
        cli, ["--base-url", emu.base_url, *args], env=env, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def jsonl(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": f"v{n}", "model": MODEL, "input": {"prompt": f"p{n}", "image_url": IMAGE}}
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_without_a_terminal_nothing_is_paid_unless_yes(tmp_path: Path, emu: Emulator) -> None:
    source = jsonl(tmp_path, 3)
    code, _, err = invoke(tmp_path, emu, "batch", "run", str(source), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "--yes" in err
    assert "time floor" in err
    assert emu.tasks == ()


def test_a_batch_runs_with_json_status_objects_and_exits_0(tmp_path: Path, emu: Emulator) -> None:
    source = jsonl(tmp_path, 4)
    out = tmp_path / "o"
    args = ["batch", "run", str(source), "--out", str(out), "--yes", "--json"]
    args += ["--listen", "127.0.0.1:0", "--progress-every", "0.1"]
    code, stdout, _ = invoke(tmp_path, emu, *args)
    assert code == 0
    objects = [json.loads(line) for line in stdout.splitlines()]
    assert objects[0]["preview"]["to_send"] == 4
    assert objects[0]["preview"]["balance"] == 10_000
    assert objects[0]["preview"]["mode"] == "callbacks"
    assert objects[-1]["summary"]["counts"] == {"succeeded": 4}
    assert objects[-1]["summary"]["all_succeeded"] is True
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["v0", "v1", "v2", "v3"]
    assert len(emu.tasks) == 4

    code, stdout, _ = invoke(tmp_path, emu, "batch", "status", str(out), "--json")
    assert code == 0
    status = json.loads(stdout)
    assert status["counts"] == {"succeeded": 4}
    assert status["running"] is False
    assert status["reconcile"] == []


def test_invalid_lines_exit_2_naming_their_line_numbers(tmp_path: Path, emu: Emulator) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"id,prompt,image_url,duration\na,hello,{IMAGE},5\nb,,{IMAGE},7\n")
    args = ["batch", "run", str(source), "--out", str(tmp_path / "o"), "--model", MODEL, "--yes"]
    code, _, err = invoke(tmp_path, emu, *args)
    assert code == 2
    assert "line 3 (id b)" in err  # the file's line: the header is line 1
    assert "duration" in err
    assert emu.tasks == ()


def test_a_csv_batch_types_cells_like_set(tmp_path: Path, emu: Emulator) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        f"id,prompt,image_url,duration,seed,enable_prompt_expansion\nx,hi,{IMAGE},10,7,false\n"
    )
    args = ["batch", "run", str(source), "--out", str(tmp_path / "o"), "--model", MODEL, "--yes"]
    code, _, _ = invoke(tmp_path, emu, *args, "--listen", "127.0.0.1:0")
    assert code == 0
    (task,) = emu.tasks
    assert task.input["duration"] == "10"
    assert task.input["seed"] == 7
    assert task.input["enable_prompt_expansion"] is False


def test_a_dry_run_pays_nothing_and_writes_nothing(tmp_path: Path, emu: Emulator) -> None:
    source = jsonl(tmp_path, 2)
    args = ["batch", "run", str(source), "--out", str(tmp_path / "o"), "--dry-run", "--yes"]
    code, stdout, err = invoke(tmp_path, emu, *args)
    assert code == 0
    assert "balance: 10000 credits" in err
    assert "in flight" in err  # polling cannot follow 180 s tasks at the create rate
    assert "2 pending" in stdout
    assert "dry run: nothing was sent or written" in stdout
    assert "manifest" not in stdout  # there is none
    assert emu.tasks == ()
    assert not (tmp_path / "o").exists()
    # An edited line is no conflict with a dry run: there is no batch yet.
    source.write_text(source.read_text().replace('"p1"', '"changed"'))
    code, _, err = invoke(tmp_path, emu, *args)
    assert code == 0, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["in.csv", "in.jsonl"])
def test_a_file_that_is_not_utf8_exits_2_saying_how_to_save_it(
    tmp_path: Path, emu: Emulator, name: str
) -> None:
    source = tmp_path / name
    if name.endswith(".csv"):
        source.write_bytes(f"id,prompt,image_url\na,caf\xe9,{IMAGE}\n".encode("cp1252"))
    else:
        line = {"id": "a", "input": {"prompt": "caf\xe9", "image_url": IMAGE}}
        source.write_bytes(json.dumps(line, ensure_ascii=False).encode("latin-1") + b"\n")
    args = ["batch", "run", str(source), "--out", str(tmp_path / "o"), "--model", MODEL]
    code, _, err = invoke(tmp_path, emu, *args, "--dry-run")
    assert code == 2
    assert f"line {2 if name.endswith('.csv') else 1}: " in err
    assert "not UTF-8: byte 0xe9" in err
    assert "save it as UTF-8" in err
    assert ('"CSV UTF-8"' in err) is name.endswith(".csv")
    assert "Traceback" not in err


def test_a_second_run_beside_a_running_batch_exits_10_naming_batch_status(
    tmp_path: Path, emu: Emulator
) -> None:
    source = jsonl(tmp_path, 2)
    out = tmp_path / "o"
    running = kieframe.batch.SQLiteBatchStore(out / kieframe.batch.STATE_FILE)
    running.lock()  # another process runs the batch
    try:
        args = ["batch", "run", str(source), "--out", str(out), "--yes"]
        code, stdout, err = invoke(tmp_path, emu, *args, "--json")
        assert code == 10
        assert "another process is running the batch" in err
        assert f"kieframe batch status {out}\n" in err.replace("\n ", " ")
        assert json.loads(stdout)["error"]["type"] == "BatchBusy"
        assert json.loads(stdout)["error"]["exit_code"] == 10
        code, _, err = invoke(tmp_path, emu, "batch", "resolve", str(out), "v0", "--not-created")
        assert code == 10
        code, _, _ = invoke(tmp_path, emu, *args, "--dry-run")  # a dry run only reads
        assert code == 0
    finally:
        running.close()
    assert emu.tasks == ()

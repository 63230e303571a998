"""``kieframe run`` and ``submit`` build the input from options, files and ``--set``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from video import decode

from kieframe._cli import ExitCode
from kieframe._cli._inputs import INPUT_LIMIT
from kieframe._registry import default_registry
from kieframe._spec import ModelSpec
from kieframe.testing import Emulator, Timing

from .conftest import Outcome, Runner

WAN = "wan/2-5-image-to-video"
DATA = Path(__file__).parent.parent / "data"


def _is_mp4(path: Path) -> bool:
    head = path.read_bytes()[:12]
    return len(head) == 12 and head[4:8] == b"ftyp"


def test_the_readme_quick_start_leaves_an_mp4(cli: Runner) -> None:
    done = cli(
        "run", WAN, "--emulator", "--prompt", "a cat surfing a wave",
        "--image-url", "https://example.com/cat.png",
    )  # fmt: skip
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0].startswith("task ")
    assert lines[0].endswith(f"submitted ({WAN})")
    task_id = lines[0].split()[1]
    assert f"task {task_id}: success" in lines
    saved = [Path(line.removeprefix("saved ")) for line in lines if line.startswith("saved ")]
    assert saved
    for path in saved:
        full = cli.cwd / path
        assert full.parent == cli.cwd / "kieframe-output"
        assert _is_mp4(full)
        frames = decode(full.read_bytes())  # it plays: FFmpeg decodes every frame
        assert len(frames) > 1
        assert (frames[0].width, frames[0].height) == (320, 180)


def test_run_json_prints_the_record_and_the_files(cli: Runner, tmp_path: Path) -> None:
    out = tmp_path / "videos"
    done = cli(
        "run", WAN, "--emulator", "--json", "--out", str(out),
        "--set", "prompt=hello", "--set", "image_url=https://example.com/a.png",
    )  # fmt: skip
    assert done.code == 0, done.err
    result = done.json()
    assert isinstance(result, dict)
    assert result["state"] == "success"
    assert result["files"]
    assert all(_is_mp4(Path(name)) and Path(name).parent == out for name in result["files"])
    assert f"task {result['task_id']}: success" in done.err


def test_set_reads_values_as_the_field_types(cli: Runner) -> None:
    done = cli(
        "submit", WAN, "--emulator", "--json",
        "--set", "prompt=true", "--set", "image_url=https://example.com/a.png",
        "--set", "duration=5", "--set", "enable_prompt_expansion=false", "--set", "seed=7",
    )  # fmt: skip
    assert done.code == 0, done.err
    sent = done.json()
    assert isinstance(sent, dict)
    assert sent["input"]["prompt"] == "true"  # a string field keeps the text
    assert sent["input"]["duration"] == "5"  # the field takes the string "5"
    assert sent["input"]["enable_prompt_expansion"] is False
    assert sent["input"]["seed"] == 7


def test_field_options_override_set_which_overrides_the_input_file(cli: Runner) -> None:
    request = json.loads((DATA / "wan-2-5-image-to-video.request.json").read_text())
    done = cli(
        "submit", WAN, "--emulator", "--json",
        "--input", str(DATA / "wan-2-5-image-to-video.request.json"),
        "--set", "resolution=720p", "--set", "seed=1",
        "--seed", "2", "--no-enable-prompt-expansion",
    )  # fmt: skip
    assert done.code == 0, done.err
    sent = done.json()
    assert isinstance(sent, dict)
    assert sent["input"] == {
        **request["input"],
        "resolution": "720p",
        "seed": 2,
        "enable_prompt_expansion": False,
    }


def test_the_input_can_come_from_stdin(cli: Runner) -> None:
    body = {"prompt": "from stdin", "image_url": "https://example.com/a.png"}
    done = cli("submit", WAN, "--emulator", "--json", "--input", "-", stdin=json.dumps(body))
    assert done.code == 0, done.err
    sent = done.json()
    assert isinstance(sent, dict)
    assert sent["input"]["prompt"] == "from stdin"


def test_a_request_body_for_another_model_is_refused(cli: Runner) -> None:
    body = {"model": "hailuo/02-image-to-video-pro", "input": {"prompt": "a cat"}}
    done = cli("submit", WAN, "--emulator", "--input", "-", stdin=json.dumps(body))
    assert done.code == ExitCode.BAD_INPUT
    assert "hailuo/02-image-to-video-pro" in done.err
    assert done.out == ""  # nothing was sent


def test_input_json_nested_too_deeply_is_a_clean_error(cli: Runner) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    done = cli("submit", WAN, "--emulator", "--input", "-", stdin=deep)
    assert done.code == ExitCode.BAD_INPUT
    assert "nested too deeply" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize("source", ["/dev/zero", "big.json"])
def test_input_past_its_size_limit_is_refused_without_reading_it_all(
    cli: Runner, tmp_path: Path, source: str
) -> None:
    """An endless device or stream is read up to the limit only (it was read into memory)."""
    if source == "big.json":
        with (tmp_path / source).open("wb") as handle:
            handle.truncate(INPUT_LIMIT + 1)  # sparse: no 16 MiB written
    done = cli("submit", WAN, "--emulator", "--input", source)
    assert done.code == ExitCode.BAD_INPUT
    assert "over the limit of 16 MiB" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize("source", ["-", "bom.json"])
def test_an_input_file_may_start_with_a_utf8_bom(cli: Runner, tmp_path: Path, source: str) -> None:
    """As in batch files (Notepad and Excel write one): the BOM is no data."""
    body = "\ufeff" + json.dumps({"prompt": "with a BOM", "image_url": "https://example.com/a.png"})
    (tmp_path / "bom.json").write_text(body, encoding="utf-8")
    stdin = body if source == "-" else None
    done = cli("submit", WAN, "--emulator", "--json", "--input", source, stdin=stdin)
    assert done.code == 0, done.err
    sent = done.json()
    assert isinstance(sent, dict)
    assert sent["input"]["prompt"] == "with a BOM"


def test_bad_input_is_one_message_listing_every_problem(cli: Runner) -> None:
    done = cli(
        "run", WAN, "--emulator", "--prompt", "", "--duration", "7", "--seed", "1.5",
        "--image-url", "https://example.com/a.png", "--set", "resolutoin=720p",
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert done.out == ""
    assert "Traceback" not in done.err
    assert f"invalid input for {WAN} (4 problems)" in done.err
    for text in ("prompt: must not be empty", "duration:", "seed:", "did you mean 'resolution'?"):
        assert text in done.err


def test_bad_input_in_json_mode_is_a_json_error(cli: Runner) -> None:
    done = cli("submit", WAN, "--emulator", "--json", "--prompt", "x")
    assert done.code == ExitCode.BAD_INPUT
    error = done.json()
    assert isinstance(error, dict)
    assert error["error"]["type"] == "InputValidationError"
    assert error["error"]["exit_code"] == ExitCode.BAD_INPUT
    assert "image_url: is required" in error["error"]["message"]


def test_a_local_image_path_is_uploaded(cli: Runner, emulator: Emulator) -> None:
    image = cli.cwd / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    done = cli(
        "submit", WAN, "--json", "--base-url", emulator.base_url,
        "--prompt", "a cat", "--image-url", "cat.png", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == 0, done.err
    sent = done.json()
    assert isinstance(sent, dict)
    [upload] = emulator.uploads
    assert sent["input"]["image_url"].startswith(emulator.base_url)
    assert upload.size == image.stat().st_size


@pytest.mark.parametrize("command", ["submit", "run"])
def test_a_local_file_is_read_once(cli: Runner, emulator: Emulator, command: str) -> None:
    """Checked before its upload line is printed, then sent as it was read: never read again."""
    (cli.cwd / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    args = [
        command,
        WAN,
        "--base-url",
        emulator.base_url,
        "--prompt",
        "a",
        "--image-url",
        "cat.png",
    ]
    args += ["--no-download"] if command == "run" else []
    code = f"""
import pathlib, kieframe._files._local as local
from kieframe._cli import cli
reads = []
read = local._read_path
local._read_path = lambda *args: reads.append(args) or read(*args)
try:
    cli.main({args!r})
except SystemExit as stop:
    assert not stop.code, stop.code
pathlib.Path("reads").write_text(str(len(reads)))
"""
    done = cli.python(code, KIE_API_KEY=Emulator.API_KEY)
    assert done.code == 0, done.err
    assert "upload image_url" in done.out + done.err
    assert len(emulator.uploads) == 1
    assert (cli.cwd / "reads").read_text() == "1"


@pytest.mark.parametrize("content", [None, b"not an image"], ids=["missing", "refused"])
def test_a_refused_local_file_is_never_announced_as_an_upload(
    cli: Runner, emulator: Emulator, content: bytes | None
) -> None:
    if content is not None:
        (cli.cwd / "cat.png").write_bytes(content)
    done = cli(
        "run", WAN, "--base-url", emulator.base_url,
        "--prompt", "a cat", "--image-url", "cat.png", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert "image_url" in done.err
    assert "upload image_url" not in done.out + done.err
    assert not emulator.uploads
    assert not emulator.tasks


def test_out_with_a_file_name_writes_that_file(cli: Runner) -> None:
    done = cli(
        "run", WAN, "--emulator", "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "-o", "clips/video.mp4",
    )  # fmt: skip
    assert done.code == 0, done.err
    video = cli.cwd / "clips" / "video.mp4"
    assert done.out.splitlines()[-1] == f"saved {Path('clips/video.mp4')}"
    assert _is_mp4(video)
    assert json.loads((cli.cwd / "clips" / "video.mp4.json").read_text())["task_id"]
    assert sorted(path.name for path in video.parent.iterdir()) == ["video.mp4", "video.mp4.json"]
    assert not (cli.cwd / "kieframe-output").exists()  # no folder made


def test_out_never_overwrites_a_file_and_refuses_before_sending(
    cli: Runner, emulator: Emulator
) -> None:
    (cli.cwd / "video.mp4").write_bytes(b"precious")
    done = cli(
        "run", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "--base-url", emulator.base_url, "-o", "video.mp4", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert "video.mp4 exists" in done.err
    assert (cli.cwd / "video.mp4").read_bytes() == b"precious"
    assert not emulator.tasks  # nothing was paid for


def test_out_naming_one_file_for_a_model_of_several_files_is_refused_before_sending(
    cli: Runner, emulator: Emulator
) -> None:
    done = cli(
        "run", "wan/2-7-image", "--prompt", "a cat", "--base-url", emulator.base_url,
        "-o", "one.png", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert "give a folder" in done.err
    assert "--out one" in done.err
    assert not emulator.tasks  # nothing was paid for


def _run_with_meanwhile(cli: Runner, emulator: Emulator, out: str, meanwhile: str) -> Outcome:
    """``kieframe run ... --out OUT``, where Python ``meanwhile`` runs once the task is done
    and before its files are saved (another command, a full disk...)."""
    args = [
        "run", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "--base-url", emulator.base_url, "--poll-every", "0.05", "--out", out,
    ]  # fmt: skip
    code = f"""
import pathlib, kieframe
wait = kieframe.Client.wait
def wait_then_meanwhile(self, *args, **kwargs):
    record = wait(self, *args, **kwargs)
    {meanwhile}
    return record
kieframe.Client.wait = wait_then_meanwhile
from kieframe._cli import cli
cli.main({args!r})
"""
    return cli.python(code, KIE_API_KEY=Emulator.API_KEY)


def test_an_out_file_made_by_another_command_meanwhile_is_kept_and_the_result_too(
    cli: Runner, emulator: Emulator
) -> None:
    """Two `run -o same.mp4` at once: both pass the check before sending; the later one to
    finish replaces nothing, keeps its result under the task's name and says where (exit 8)."""
    meanwhile = (
        "pathlib.Path('same.mp4').write_bytes(b\"the other run's video\"); "
        "pathlib.Path('same.mp4.json').write_text(\"the other run's metadata\")"
    )
    done = _run_with_meanwhile(cli, emulator, "same.mp4", meanwhile)
    [task] = emulator.tasks
    assert done.code == ExitCode.API_ERROR, done.err
    assert "Usage:" not in done.err
    assert (cli.cwd / "same.mp4").read_bytes() == b"the other run's video"
    assert (cli.cwd / "same.mp4.json").read_text() == "the other run's metadata"
    [kept] = [path for path in cli.cwd.glob(f"{task.task_id}*") if path.suffix == ".mp4"]
    assert _is_mp4(kept)
    assert json.loads(kept.with_name(f"{kept.name}.json").read_text())["task_id"] == task.task_id
    assert f"saved as {kept.name}" in done.err.replace("\n", " ")
    assert f"[task {task.task_id}]" in done.err


@pytest.mark.parametrize("out", ["notes", "notes/videos", "notes/clip.mp4"])
def test_out_where_no_file_can_be_saved_is_refused_before_sending(
    cli: Runner, emulator: Emulator, out: str
) -> None:
    (cli.cwd / "notes").write_text("a file, not a folder")
    done = cli(
        "run", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "--base-url", emulator.base_url, "--out", out, KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT, done.err
    assert "notes is not a folder" in done.err
    assert "nothing was sent" in done.err
    assert "Traceback" not in done.err
    assert not emulator.tasks  # nothing was paid for


def test_a_save_failing_after_the_task_is_paid_says_how_to_collect_it(
    cli: Runner, emulator: Emulator
) -> None:
    meanwhile = "pathlib.Path('videos').write_text('someone made a file here meanwhile')"
    done = _run_with_meanwhile(cli, emulator, "videos", meanwhile)
    [task] = emulator.tasks
    assert done.code == ExitCode.API_ERROR, done.err
    assert "Traceback" not in done.err
    assert f"[task {task.task_id}]" in done.err
    assert f"kieframe download {task.task_id} --out DIR --base-url {emulator.base_url}" in done.err


@pytest.mark.parametrize("command_name", ["run", "submit"])
def test_an_unknown_model_with_json_after_it_is_reported_as_json(
    cli: Runner, command_name: str
) -> None:
    done = cli(command_name, "wan/2-5-image-to-vide", "--json", "--prompt", "x", "--emulator")
    assert done.code == ExitCode.BAD_INPUT
    report = done.json()
    assert isinstance(report, dict)
    assert report["error"]["type"] == "UnknownModelError"
    assert "wan/2-5-image-to-video" in report["error"]["message"]  # did you mean


@pytest.mark.parametrize("command_name", ["run", "submit"])
def test_field_options_without_a_model_name_the_missing_model(
    cli: Runner, command_name: str
) -> None:
    done = cli(command_name, "--prompt", "x", "--emulator")
    assert done.code == ExitCode.BAD_INPUT
    assert "missing the MODEL argument" in done.err
    assert "'x'" not in done.err  # the prompt is not taken for a model id


def test_options_may_come_before_the_model(cli: Runner) -> None:
    done = cli(
        "submit", "--prompt", "a cat", "wan/2-5-image-to-video", "--emulator",
        "--image-url", "https://example.com/c.png",
    )  # fmt: skip
    assert done.code == 0, done.err


_TASK_ID = re.compile(r"\b[0-9a-f]{32}\b")


def test_the_quick_start_page_shows_what_the_command_prints(cli: Runner) -> None:
    page = (Path(__file__).parent.parent.parent / "docs" / "quickstart.md").read_text()
    block = page.split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    start = next(n for n, line in enumerate(block) if line.startswith("$ kieframe run"))
    command, documented = block[start].removeprefix("$ "), block[start + 1 :]
    done = cli(*shlex.split(command)[1:])
    assert done.code == 0, done.err
    printed = [_TASK_ID.sub("ID", line) for line in done.out.splitlines()]
    expected = [_TASK_ID.sub("ID", line) for line in documented]
    # The first and last lines exactly; the states in between as documented, in order (a busy
    # machine may poll past a short state, never invent one).
    assert printed[0] == expected[0]
    assert printed[-2:] == expected[-2:]
    states = iter(expected[1:-2])
    assert all(line in states for line in printed[1:-2])


@pytest.mark.parametrize("name", ["c.png", "c.mp3", "c.txt"])
def test_out_named_as_another_kind_of_media_is_refused_before_sending(
    cli: Runner, emulator: Emulator, name: str
) -> None:
    done = cli(
        "run", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "--base-url", emulator.base_url, "-o", name, KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert f"--out {name} is named as" in done.err
    assert f"{WAN} makes a video" in done.err
    assert "--out c.mp4" in done.err
    assert not emulator.tasks  # nothing was paid for
    assert not (cli.cwd / name).exists()


# .ts, .3gp: video, whatever the system's mimetypes table says (Debian's: text, audio).
@pytest.mark.parametrize("name", ["c.mov", "c.bin", "c.result", "c.ts", "c.3gp", "c.M4V"])
def test_out_named_as_the_same_kind_or_no_kind_is_kept(cli: Runner, name: str) -> None:
    done = cli(
        "run", WAN, "--emulator", "--prompt", "a cat", "--image-url", "https://example.com/c.png",
        "-o", name,
    )  # fmt: skip
    assert done.code == 0, done.err
    assert _is_mp4(cli.cwd / name)


@dataclass(frozen=True)
class _Returning:
    """A registry for the emulator in which WAN returns other results than kieframe expects."""

    output: Literal["video", "image", "audio", "text"] = "video"
    outputs: Literal["one", "many"] = "one"

    def get_model(self, model_id: str, /) -> ModelSpec[Any]:
        spec = default_registry().get_model(model_id)
        return dataclasses.replace(spec, output=self.output, outputs=self.outputs)


def _run_against(cli: Runner, returning: _Returning, name: str) -> tuple[Outcome, Emulator]:
    with Emulator(registry=returning, timing=Timing(invisible=0.05, generating=0.2)) as emu:
        done = cli(
            "run", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png",
            "--base-url", emu.base_url, "-o", name, KIE_API_KEY=Emulator.API_KEY,
        )  # fmt: skip
    return done, emu


def test_a_paid_result_of_another_kind_is_saved_under_its_own_extension(cli: Runner) -> None:
    done, emulator = _run_against(cli, _Returning(output="image"), "c.mp4")
    assert done.code == 0, done.err
    assert len(emulator.tasks) == 1
    assert not (cli.cwd / "c.mp4").exists()
    assert (cli.cwd / "c.png").read_bytes().startswith(b"\x89PNG")
    assert "saved c.png" in done.out
    assert "is an image (.png), not a video as --out c.mp4 says" in done.err


def test_several_paid_results_for_one_out_file_are_saved_numbered_beside_it(cli: Runner) -> None:
    done, _ = _run_against(cli, _Returning(outputs="many"), "c.mp4")
    assert done.code == 0, done.err
    assert not (cli.cwd / "c.mp4").exists()
    for name in ("c-1.mp4", "c-2.mp4"):
        assert _is_mp4(cli.cwd / name)
        assert f"saved {name}" in done.out
        assert (cli.cwd / f"{name}.json").exists()
    assert "but task" in done.err
    assert "has 2 results: they are saved as numbered files beside it" in done.err


def test_download_to_a_file_named_as_another_kind_is_refused(
    cli: Runner, emulator: Emulator
) -> None:
    against = ("--base-url", emulator.base_url)
    task = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "https://example.com/c.png", *against,
        KIE_API_KEY=Emulator.API_KEY,
    ).out.strip()  # fmt: skip
    done = cli("download", task, "-o", "c.png", *against, KIE_API_KEY=Emulator.API_KEY)
    assert done.code == ExitCode.BAD_INPUT
    assert f"kieframe download {task} --out c.mp4" in done.err
    assert not (cli.cwd / "c.png").exists()
    saved = cli("download", task, "-o", "c.mp4", *against, KIE_API_KEY=Emulator.API_KEY)
    assert saved.code == 0, saved.err
    assert _is_mp4(cli.cwd / "c.mp4")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_a_local_file_is_refused_not_waited_on(
    cli: Runner, emulator: Emulator
) -> None:
    os.mkfifo(cli.cwd / "cat.png")  # no writer: reading it would wait forever
    done = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "cat.png",
        "--base-url", emulator.base_url, KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert "cat.png is a named pipe (FIFO), not a file" in done.err
    assert not emulator.uploads
    assert not emulator.tasks


def test_the_kind_table_agrees_with_the_extensions_kieframe_saves() -> None:
    from kieframe._cli._commands import _kind
    from kieframe._files._sniff import EXTENSIONS

    for media_type, suffix in EXTENSIONS.items():
        kind = media_type.partition("/")[0]
        assert _kind(f"a{suffix}") == (
            kind if kind in ("video", "image", "audio", "text") else None
        )

"""Each kind of failure ends ``kieframe`` with its documented exit code and one clear message."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kieframe._cli import ExitCode
from kieframe.errors import DownloadError, NoAnswerError
from kieframe.testing import Emulator

from .conftest import COMMAND_TIMEOUT, Outcome, Runner, clean_env, command

WAN = "wan/2-5-image-to-video"
INPUT = ("--prompt", "a cat", "--image-url", "https://example.com/cat.png")
SECRET = "sk-kieframe-test-secret-0123456789"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _against(emulator: Emulator) -> tuple[str, ...]:
    return ("--base-url", emulator.base_url, "--poll-every", "0.05")


def _run_undecided(cli: Runner, emulator: Emulator, *options: str) -> tuple[Outcome, str]:
    """``kieframe run --json`` of one task that ends undecided (exit 6); the outcome, the task id.

    The --json error report names the task and the exit code.
    """
    done = cli(
        "run", WAN, *INPUT, *_against(emulator), *options, "--json", KIE_API_KEY=Emulator.API_KEY
    )  # fmt: skip
    assert done.code == ExitCode.TIMED_OUT
    [task] = emulator.tasks
    error = done.json()
    assert isinstance(error, dict)
    assert (error["error"]["task_id"], error["error"]["exit_code"]) == (task.task_id, 6)
    return done, task.task_id


def test_a_missing_key_is_an_auth_error_that_says_where_keys_come_from(cli: Runner) -> None:
    done = cli("credits")
    assert done.code == ExitCode.AUTH
    assert "KIE_API_KEY" in done.err
    assert "config.toml" in done.err
    assert "401" not in done.err  # nothing was sent: kie.ai refused nothing
    assert "--emulator" in done.err  # the way to try without a key
    assert "Traceback" not in done.err


@pytest.mark.parametrize("variable", ["KIE_BASE_URL", "KIE_UPLOAD_BASE_URL"])
def test_a_bad_host_in_the_environment_is_named_by_its_variable(cli: Runner, variable: str) -> None:
    done = cli("credits", KIE_API_KEY=SECRET, **{variable: "notaurl"})
    assert done.code == ExitCode.BAD_INPUT
    assert f"{variable}: 'notaurl' is not an http(s) URL" in done.err
    assert "the argument" not in done.err


def test_a_refused_key_is_an_auth_error(cli: Runner, emulator: Emulator) -> None:
    done = cli("credits", *_against(emulator), KIE_API_KEY=Emulator.INVALID_KEY)
    assert done.code == ExitCode.AUTH


def test_the_key_from_the_config_file_is_used_and_never_printed(
    cli: Runner, emulator: Emulator
) -> None:
    config = cli.cwd / "config.toml"
    config.write_text(f'api_key = "{SECRET}"\nbase_url = "{emulator.base_url}"\n')
    done = cli("credits", "--json", KIEFRAME_CONFIG=str(config))
    assert done.code == 0, done.err
    assert done.json() == {"credits": emulator.credits}
    failed = cli("submit", WAN, "--prompt", "", KIEFRAME_CONFIG=str(config))
    assert failed.code == ExitCode.BAD_INPUT
    for outcome in (done, failed):
        assert SECRET not in outcome.out + outcome.err


def test_the_environment_key_wins_over_the_config_file(cli: Runner, emulator: Emulator) -> None:
    config = cli.cwd / "config.toml"
    config.write_text(f'api_key = "{Emulator.INVALID_KEY}"\n')
    done = cli("credits", *_against(emulator), KIEFRAME_CONFIG=str(config), KIE_API_KEY=SECRET)
    assert done.code == 0, done.err
    assert SECRET not in done.out + done.err


def test_a_broken_config_file_is_a_usage_error(cli: Runner) -> None:
    config = cli.cwd / "config.toml"
    config.write_text("api_key = \n")
    done = cli("credits", KIEFRAME_CONFIG=str(config))
    assert done.code == ExitCode.BAD_INPUT
    assert str(config) in done.err


@pytest.mark.parametrize(
    ("content", "named"),
    [  # not "no API key" (exit 3): the typo is named; a newer kieframe's key is refused too
        (f'api-key = "{SECRET}"\n', "unknown key 'api-key' (did you mean 'api_key'?)"),
        (f'api_key = "{SECRET}"\ntimeout = 3\n', "unknown key 'timeout' (known keys: "),
    ],
)
def test_an_unknown_config_key_is_a_usage_error_naming_it(
    cli: Runner, content: str, named: str
) -> None:
    config = cli.cwd / "config.toml"
    config.write_text(content)
    done = cli("credits", KIEFRAME_CONFIG=str(config))
    assert done.code == ExitCode.BAD_INPUT
    assert named in done.err
    assert "Warning" not in done.err  # an error, not a warning
    assert SECRET not in done.err + done.out


def test_insufficient_credits(cli: Runner, emulator: Emulator) -> None:
    done = cli("submit", WAN, *INPUT, *_against(emulator), KIE_API_KEY=Emulator.NO_CREDITS_KEY)
    assert done.code == ExitCode.NO_CREDITS


def test_a_failed_task(cli: Runner, emulator: Emulator) -> None:
    emulator.script(outcome="fail", fail_code="500", fail_msg="the model crashed")
    done = cli("run", WAN, *INPUT, *_against(emulator), "--json", KIE_API_KEY=Emulator.API_KEY)
    assert done.code == ExitCode.TASK_FAILED
    [task] = emulator.tasks
    assert task.task_id in done.err
    assert "the model crashed" in done.err
    assert done.err.count("failCode 500") == 1  # said once,
    assert "(code 500)" not in done.err  # not again as the error's code
    error = done.json()
    assert isinstance(error, dict)
    assert error["error"]["code"] == 500  # kie.ai's failCode "500", as a number


def test_kies_408_for_a_task_is_a_failed_task_as_the_exit_codes_say(
    cli: Runner, emulator: Emulator
) -> None:
    """kie.ai fails a task that got no result upstream for 10 minutes with a 408."""
    emulator.fault("recordInfo", "code", code=408, msg="no result in 10 minutes", probability=1)
    done = cli("run", WAN, *INPUT, *_against(emulator), KIE_API_KEY=Emulator.API_KEY)
    assert done.code == ExitCode.TASK_FAILED
    assert "408" in ExitCode.TASK_FAILED.meaning
    assert "408" not in ExitCode.API_ERROR.meaning


def test_a_timeout_names_the_task_to_wait_for_again(cli: Runner, emulator: Emulator) -> None:
    emulator.script(outcome="never")
    done, task_id = _run_undecided(cli, emulator, "--timeout", "0.5")
    assert f"kieframe wait {task_id} --base-url {emulator.base_url}\n" in done.err


def test_an_accepted_task_kie_ai_does_not_show_is_undecided_not_bad_input(
    cli: Runner, emulator: Emulator
) -> None:
    """kie.ai accepted the create (it is paid for) but keeps answering "recordInfo is null"."""
    emulator.fault("recordInfo", "code", code=422, msg="recordInfo is null", probability=1)
    done, task_id = _run_undecided(cli, emulator, "--visibility-grace", "0.3")
    assert f"kieframe download {task_id} --base-url {emulator.base_url} " in done.err
    assert "kieframe journal" in done.err
    listed = cli("journal", "--json")
    assert task_id in listed.out  # kept as accepted, to collect


def test_waiting_for_a_mistyped_id_soon_says_it_is_unknown(cli: Runner, emulator: Emulator) -> None:
    """An id this process did not submit gets a short grace (not the 60 s a new task gets)."""
    mistyped = "0123456789abcdef0123456789abcdeX"
    done = cli(
        "wait", mistyped, "--base-url", emulator.base_url, "--poll-every", "0.5",
        "--timeout", "45", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.BAD_INPUT
    assert mistyped in done.err
    assert "check the task id" in done.err
    assert "submitted" not in done.err


@pytest.mark.parametrize("command_name", ["wait", "download"])
def test_waiting_for_a_journaled_id_counts_the_grace_from_its_submission(
    cli: Runner, emulator: Emulator, command_name: str
) -> None:
    """A task `kieframe submit` journaled gets the --visibility-grace, not the unknown id's 10 s;
    past it, the task is undecided (it was accepted: paid for), not a bad input."""
    submitted = cli("submit", WAN, *INPUT, *_against(emulator), KIE_API_KEY=Emulator.API_KEY)
    task_id = submitted.out.strip()
    emulator.fault("recordInfo", "code", code=422, msg="recordInfo is null", probability=1)
    done = cli(
        command_name, task_id, *_against(emulator), "--visibility-grace", "0.3",
        "--timeout", "45", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.TIMED_OUT, done.err
    assert "after it was submitted" in done.err
    assert f"kieframe download {task_id}" in done.err
    assert "check the task id" not in done.err


@pytest.mark.parametrize("args", [("submit", WAN, *INPUT), ("journal",)], ids=["submit", "journal"])
def test_a_corrupt_journal_is_one_clear_error(
    cli: Runner, emulator: Emulator, args: tuple[str, ...]
) -> None:
    journal = cli.cwd / "corrupt.sqlite3"
    journal.write_bytes(b"not a database\n" * 200)
    done = cli(
        *args, *(_against(emulator) if args[0] == "submit" else ()),
        KIE_API_KEY=Emulator.API_KEY, KIEFRAME_JOURNAL=str(journal),
    )  # fmt: skip
    assert done.code == ExitCode.UNEXPECTED
    assert "Traceback" not in done.err
    assert "sqlite3" not in done.err.split(":", 1)[0]
    assert str(journal) in done.err
    assert "KIEFRAME_JOURNAL" in done.err
    assert not emulator.tasks  # nothing was sent


def test_an_uncertain_submission_is_not_resent(cli: Runner, emulator: Emulator) -> None:
    emulator.fault("createTask", "drop")
    done = cli("submit", WAN, *INPUT, *_against(emulator), KIE_API_KEY=Emulator.API_KEY)
    assert done.code == ExitCode.SUBMISSION_UNCERTAIN
    assert "may or may not" in done.err
    assert len(emulator.tasks) == 1


def test_an_api_error(cli: Runner, emulator: Emulator) -> None:
    emulator.fault("credit", "code", code=505)
    done = cli("credits", *_against(emulator), KIE_API_KEY=Emulator.API_KEY)
    assert done.code == ExitCode.API_ERROR
    assert "505" in done.err


def test_no_answer_from_kie_ai(cli: Runner) -> None:
    with socket.socket() as probe:  # bound, never listening: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        done = cli(
            "submit", WAN, *INPUT, "--base-url", f"http://127.0.0.1:{port}",
            KIE_API_KEY=Emulator.API_KEY,
        )  # fmt: skip
    assert done.code == ExitCode.NO_ANSWER
    assert "Traceback" not in done.err
    assert f"could not connect to http://127.0.0.1:{port}: is the server up" in done.err
    assert "--base-url, KIE_BASE_URL or the config file's base_url" in done.err


def test_an_unreachable_upload_host_is_named_with_its_own_setting() -> None:
    from kieframe._cli._commands import _hint

    url = "http://u:secret@127.0.0.1:9/api/file-stream-upload"
    cause = httpx.ConnectError("refused", request=httpx.Request("POST", url))
    error = NoAnswerError("POST /api/file-stream-upload failed", request_sent=False)
    error.__cause__ = cause
    hint = _hint(error, None)
    assert hint is not None
    assert hint.startswith("could not connect to http://127.0.0.1:9:")
    assert "--upload-base-url, KIE_UPLOAD_BASE_URL" in hint
    assert "secret" not in hint


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A local port bound but never listening: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


def test_an_unreachable_base_url_is_named_for_uploads_too(cli: Runner, refused_port: int) -> None:
    # Only --base-url given: it serves uploads too, so the upload's refusal names it.
    (cli.cwd / "cat.png").write_bytes(PNG)
    done = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "./cat.png",
        "--base-url", f"http://u:secret@127.0.0.1:{refused_port}", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.NO_ANSWER
    assert f"could not connect to http://127.0.0.1:{refused_port}:" in done.err
    assert "--base-url, KIE_BASE_URL or the config file's base_url" in done.err
    assert "upload" not in done.err.split("could not connect", 1)[1]
    assert "secret" not in done.err


def test_an_unreachable_upload_base_url_is_named(
    cli: Runner, emulator: Emulator, refused_port: int
) -> None:
    (cli.cwd / "cat.png").write_bytes(PNG)
    done = cli(
        "submit", WAN, "--prompt", "a cat", "--image-url", "./cat.png", *_against(emulator),
        "--upload-base-url", f"http://127.0.0.1:{refused_port}", KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == ExitCode.NO_ANSWER
    assert f"could not connect to http://127.0.0.1:{refused_port}:" in done.err
    assert "--upload-base-url, KIE_UPLOAD_BASE_URL or the config file's upload_base_url" in done.err
    assert not emulator.tasks  # the upload comes first: nothing was created


def _interrupted_run(cli: Runner, emulator: Emulator, *extra: str) -> tuple[str, str]:
    """``kieframe run`` on a task that never ends, Ctrl-C'd once it generates: stdout, stderr."""
    emulator.script(outcome="never")
    args = command("run", WAN, *INPUT, *_against(emulator), *extra)
    env = clean_env(cli.cwd, KIE_API_KEY=Emulator.API_KEY)
    # A fixed program: this interpreter running kieframe.
    with subprocess.Popen(  # noqa: S603
        args, cwd=cli.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            commentary = process.stderr if "--json" in extra else process.stdout
            assert commentary is not None
            # Signal once the wait is under way (the task reports a state), not at the start.
            seen = []
            for line in commentary:  # ends at EOF if the command died early
                seen.append(line)
                if "generating" in line:
                    break
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=COMMAND_TIMEOUT) == ExitCode.INTERRUPTED
            out, err = process.communicate(timeout=COMMAND_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
    if commentary is process.stdout:
        out = "".join(seen) + out
    return out, err


def test_ctrl_c_while_waiting_keeps_the_task_id(cli: Runner, emulator: Emulator) -> None:
    out, err = _interrupted_run(cli, emulator)
    [task] = emulator.tasks
    assert out.startswith(f"task {task.task_id} submitted")
    # One line, with the task id and the command that collects the task (on the same host).
    assert err.strip().splitlines() == [
        f"interrupted: task {task.task_id} keeps running on kie.ai; "
        f"to collect it later: kieframe download {task.task_id} --base-url {emulator.base_url}"
    ]


def test_ctrl_c_with_json_still_prints_one_json_document(cli: Runner, emulator: Emulator) -> None:
    out, _ = _interrupted_run(cli, emulator, "--json")
    [task] = emulator.tasks
    report = json.loads(out)
    assert report == {
        "error": {
            "type": "KeyboardInterrupt",
            "message": f"interrupted: task {task.task_id} keeps running on kie.ai; to collect it "
            f"later: kieframe download {task.task_id} --base-url {emulator.base_url}",
            "code": None,
            "task_id": task.task_id,
            "exit_code": ExitCode.INTERRUPTED,
        }
    }


def test_an_uncertain_submission_reports_what_was_sent(cli: Runner, emulator: Emulator) -> None:
    emulator.fault("createTask", "drop")
    done = cli("submit", WAN, *INPUT, "--json", *_against(emulator), KIE_API_KEY=Emulator.API_KEY)
    report = done.json()
    assert isinstance(report, dict)
    error = report["error"]
    assert (error["type"], error["model"]) == ("SubmissionUncertain", WAN)
    assert error["input"]["prompt"] == emulator.tasks[0].input["prompt"]
    assert error["sent_at"] > 0
    journal = cli("journal", "--json", KIE_API_KEY=Emulator.API_KEY).json()
    assert isinstance(journal, dict)
    assert [e["status"] for e in journal["entries"]] == ["uncertain"]


@pytest.mark.parametrize(
    "args",
    [
        ("wait", "abc", "--timeout", "nan"),
        ("wait", "abc", "--timeout", "inf"),
        ("download", "abc", "--visibility-grace", "nan"),
        ("--poll-every", "nan", "wait", "abc"),
        ("wait", "abc", "--poll-every", "inf"),
        ("batch", "run", "lines.jsonl", "--out", "o", "--lease", "nan"),
    ],
)
def test_a_number_of_seconds_that_is_not_finite_is_a_usage_error(
    cli: Runner, args: tuple[str, ...]
) -> None:
    done = cli(*args, "--emulator")
    assert done.code == ExitCode.BAD_INPUT, done.err
    assert "is not a finite number of seconds" in done.err
    assert "Traceback" not in done.err


@given(
    userinfo=st.sampled_from(["u:secret@", "secret@", "u:s%40cret@"]),
    path=st.sampled_from(["", "/", "/kie", "/kie/v2/"]),
)
def test_a_hint_repeats_the_base_url_without_its_credentials(userinfo: str, path: str) -> None:
    from kieframe._cli._commands import _hint, _interrupted
    from kieframe._cli._connect import Connection
    from kieframe._cli._root import _State

    state = _State(connection=Connection(base_url=f"http://{userinfo}127.0.0.1:9{path}"))
    state.task_id = "t1"
    shown = f"--base-url http://127.0.0.1:9{path.rstrip('/')}"
    hint = _hint(DownloadError("disk full", task_id="t1"), state)
    assert hint is not None
    assert hint.endswith(shown)
    line = _interrupted(state, KeyboardInterrupt())
    assert line.endswith(shown)
    assert "secret" not in hint + line
    assert "s%40cret" not in hint + line

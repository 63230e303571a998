"""``kieframe journal`` shows whole task ids and settles entries (resolve, no task, dismiss)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kieframe._cli import ExitCode
from kieframe._journal import Journal, JournalStatus
from kieframe.testing import Emulator

from .conftest import Runner

LONG_ID = "0123456789abcdef0123456789abcdef-with-a-long-tail"


@pytest.fixture
def book(cli: Runner) -> Path:
    """The journal the commands use (see clean_env), with an accepted and an uncertain create."""
    path = cli.cwd / "journal.sqlite3"
    journal = Journal(path)
    accepted = journal.begin(model="wan/2-5-image-to-video", input={}, host="http://127.0.0.1:9")
    journal.accepted(accepted, task_id=LONG_ID)
    uncertain = journal.begin(model="wan/2-5-image-to-video", input={}, host="https://api.kie.ai")
    journal.uncertain(uncertain, reason="ReadTimeout: no answer")
    journal.close()
    return path


def _statuses(path: Path) -> dict[int, tuple[JournalStatus, str | None]]:
    journal = Journal(path)
    try:
        return {entry.id: (entry.status, entry.task_id) for entry in journal.entries()}
    finally:
        journal.close()


@pytest.mark.parametrize("columns", ["20", "80", "300"])
def test_task_ids_are_whole_at_any_width_when_piped(cli: Runner, book: Path, columns: str) -> None:
    done = cli("journal", COLUMNS=columns)
    assert done.code == 0, done.err
    assert LONG_ID in done.out.split()
    assert f"kieframe download {LONG_ID} --base-url http://127.0.0.1:9" in done.out
    assert "kieframe journal resolve 2 --task-id ID" in done.out


def test_an_uncertain_entry_is_resolved_to_the_task_found(cli: Runner, book: Path) -> None:
    done = cli("journal", "resolve", "2", "--task-id", "found-it")
    assert done.code == 0, done.err
    assert "to collect: kieframe download found-it" in done.out
    assert _statuses(book)[2] == (JournalStatus.ACCEPTED, "found-it")


def test_an_uncertain_entry_is_resolved_to_no_task(cli: Runner, book: Path) -> None:
    assert cli("journal", "resolve", "2", "--no-task").code == 0
    assert _statuses(book)[2][0] is JournalStatus.REJECTED
    assert [line for line in cli("journal").out.splitlines() if line[:2] == "2:"] == []


def test_an_accepted_entry_can_be_dismissed_not_written_off(cli: Runner, book: Path) -> None:
    refused = cli("journal", "resolve", "1", "--no-task")
    assert refused.code == ExitCode.BAD_INPUT
    assert "nothing to resolve" in refused.err
    assert cli("journal", "resolve", "1", "--dismiss", "--json").code == 0
    assert _statuses(book)[1][0] is JournalStatus.DISMISSED
    listed = cli("journal", "--json").json()
    assert isinstance(listed, dict)
    assert [entry["id"] for entry in listed["entries"]] == [2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("resolve", "9", "--dismiss"), "no entry 9"),
        (("resolve", "2"), "exactly one of"),
        (("resolve", "2", "--no-task", "--dismiss"), "exactly one of"),
    ],
)
def test_a_bad_resolve_is_a_usage_error(
    cli: Runner, book: Path, args: tuple[str, ...], message: str
) -> None:
    done = cli("journal", *args)
    assert done.code == ExitCode.BAD_INPUT
    assert message in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize("flag", [None, "--tag-callback-url", "--no-tag-callback-url"])
def test_submit_tags_the_callback_url_unless_told_not_to(
    cli: Runner, emulator: Emulator, flag: str | None
) -> None:
    url = "https://hooks.example/kie?tenant=7"
    done = cli(
        "submit", "wan/2-5-image-to-video", "--base-url", emulator.base_url,
        "--prompt", "a cat", "--image-url", "https://example.com/cat.png",
        "--callback-url", url, *([flag] if flag else []),
        KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    assert done.code == 0, done.err
    (info,) = emulator.tasks
    assert info.callback_url is not None
    if flag == "--no-tag-callback-url":
        assert info.callback_url == url
    else:
        assert info.callback_url.startswith(f"{url}&kieframe_submission=")
    assert _statuses(cli.cwd / "journal.sqlite3") == {  # journaled either way
        1: (JournalStatus.ACCEPTED, done.out.strip())
    }


_COUNTED_WAIT = """
import sys
from kieframe._cli import cli
from kieframe._journal import Journal
lookups = []
run = Journal._run
def counted(self, sql, args):
    if sql.startswith("SELECT") and "status IN" in sql:
        lookups.append(sql)
    return run(self, sql, args)
Journal._run = counted
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    print("lookups:", len(lookups), file=sys.stderr)
"""


@pytest.mark.parametrize("command_name", ["wait", "download"])
def test_a_journaled_wait_reads_the_journal_once(
    cli: Runner, emulator: Emulator, command_name: str
) -> None:
    connection = ("--base-url", emulator.base_url, "--poll-every", "0.05")
    submitted = cli(
        "submit", "wan/2-5-image-to-video", "--prompt", "a cat",
        "--image-url", "https://example.com/cat.png", *connection, KIE_API_KEY=Emulator.API_KEY,
    )  # fmt: skip
    task_id = submitted.out.strip()
    out = ("--out", str(cli.cwd / "out")) if command_name == "download" else ()
    args = [command_name, task_id, *connection, *out]
    done = cli.python(
        _COUNTED_WAIT.replace("sys.argv[1:]", repr(args)), KIE_API_KEY=Emulator.API_KEY
    )
    assert done.code == 0, done.err
    assert "lookups: 1" in done.err

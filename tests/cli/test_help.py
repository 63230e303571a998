"""``kieframe --help`` lists every command without loading them (a quick start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kieframe._cli import cli
from kieframe._cli._root import COMMANDS

_HEAVY = ["httpx", "rich", "uvicorn", "psycopg", "kieframe._cli._commands", "kieframe.testing"]


def test_help_lists_every_command_without_loading_them() -> None:
    code = (
        "import sys\n"
        "from kieframe._cli import main\n"
        "sys.argv = ['kieframe', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {_HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    shown = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert shown.stderr.strip() == "[]"
    listed = shown.stdout.split("Commands:\n", 1)[1]
    for name in COMMANDS:
        assert f"\n  {name} " in f"\n{listed}"


def test_the_summaries_shown_are_the_commands_own() -> None:
    ctx = click.Context(cli)
    loaded = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    assert set(loaded) == set(COMMANDS), "add new commands to COMMANDS in _cli/_root.py"
    for name, command in loaded.items():
        assert command is not None
        summary = click.Command(name, help=COMMANDS[name]).get_short_help_str(10_000)
        assert summary == command.get_short_help_str(10_000), name


def test_a_command_s_help_loads_it() -> None:
    result = CliRunner().invoke(cli, ["models", "--help"])
    assert result.exit_code == 0, result.output
    assert "--category" in result.output


def _run_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``kieframe ARGS`` in an interpreter where ``module`` cannot be imported."""
    code = (
        "import sys\n"
        f"sys.modules[{module!r}] = None\n"
        f"sys.argv = ['kieframe', *{list(args)!r}]\n"
        "from kieframe._cli import main\n"
        "main()\n"
    )
    return subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("module", ["click", "rich", "uvicorn"])
def test_without_the_cli_extra_the_command_says_what_to_install(module: str) -> None:
    done = _run_without(module, "plugins")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "kieframe[cli]" in done.stderr
    assert module in done.stderr


def test_the_command_line_page_lists_every_command() -> None:
    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text("utf-8")
    table = page.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    listed = {row.split("`")[1].split()[1] for row in table.splitlines()[2:]}
    assert listed == set(COMMANDS)

"""The ``kieframe`` group: its options, and its commands loaded only when one runs.

``kieframe --help`` lists the commands from :data:`COMMANDS` without importing them: the
commands need the HTTP stack, rich, the registry and more, which a start-up that only shows
the help should not pay for. Running (or asking the help of) any command loads them all
(``_commands``). A test checks that :data:`COMMANDS` says what the commands say.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

from .._errors import KieError
from .._version import __version__
from ._connect import Connection, connection_from, connection_options
from ._exit import EPILOG

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["COMMANDS", "cli"]

#: Each command's summary, the first paragraph of its help, as ``kieframe --help`` shows it.
COMMANDS = {
    "batch": "Run many generations from a JSONL or CSV file: resumable, never paid twice.",
    "callbacks": "Receive kie.ai's task callbacks.",
    "credits": "Print the account's remaining credits.",
    "db": "The shared PostgreSQL backend: create its tables, show their version.",
    "describe": "Show a model's input fields with their limits, defaults, media inputs and "
    "example.",
    "download": "Save a task's result files (waiting for it to finish first).",
    "emulator": "Serve a local kie.ai emulator until Ctrl-C; print its base URL.",
    "journal": "List journaled creates: tasks to collect and creates to reconcile.",
    "models": "List the installed models, optionally filtered by category, family and words.",
    "plugins": "List the installed plugins (name, distribution, version, models) and failed ones.",
    "run": "Run MODEL: submit, show each state change, and save the result files.",
    "status": "Show a task's current record.",
    "submit": "Submit a MODEL task and print its id, without waiting.",
    "wait": "Wait for a task to finish, showing each state change; print its final record.",
}


def _commands() -> ModuleType:
    """The commands' module, imported on first use (it adds the commands to :data:`cli`)."""
    return importlib.import_module(f"{__package__}._commands")


@dataclass(slots=True)
class _State:
    """What the group passes to its commands: the output mode and the connection options."""

    connection: Connection = field(default_factory=Connection)
    json: bool = False
    #: The task the command is working on, once known: an interrupt names it.
    task_id: str | None = None
    #: Whether this command submitted that task, or the journal has it to collect (kie.ai
    #: accepted it: it exists and is paid for).
    submitted: bool = False

    @property
    def progress(self) -> Console:
        """Where running commentary goes: stderr when stdout is reserved for JSON."""
        from ._console import err, out

        return err if self.json else out


def _json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        ctx.ensure_object(_State).json = ctx.ensure_object(_State).json or value
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        expose_value=False,
        callback=remember,
        help="Print one JSON document on stdout (commentary goes to stderr).",
    )(function)


class _Group(click.Group):
    """Loads its commands when one is asked for; turns kieframe's errors into exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS.keys() | self.commands.keys())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            _commands()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, as click shows them, without loading them."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, _summary(self, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KieError, KeyboardInterrupt) as error:
            _commands().fail(ctx, error)  # one clear message and the documented exit code
            raise  # pragma: no cover - fail() always raises


def _summary(group: click.Group, name: str, limit: int) -> str:
    """A command's summary, shortened to ``limit`` as click does (loaded or not)."""
    command = group.commands.get(name) or click.Command(name, help=COMMANDS[name])
    return command.get_short_help_str(limit)


@click.group(
    cls=_Group,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="kieframe")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show each request and retry on stderr; -vv adds the connection trace (connects, TLS, "
    "response headers) and debug lines. Keys are masked.",
)
@connection_options
@_json_option
@click.pass_context
def cli(ctx: click.Context, /, verbose: int, **options: Any) -> None:
    """Run kie.ai's media models from the command line: list, describe, run, wait, download.

    The API key comes from KIE_API_KEY or from api_key in ~/.config/kieframe/config.toml (the
    file is $KIEFRAME_CONFIG if set); it is never printed. Add --emulator to any command that
    talks to kie.ai to use a local emulator instead: no key, no cost.
    """
    from ._verbose import log_activity

    ctx.call_on_close(log_activity(verbose))
    ctx.ensure_object(_State).connection = connection_from(options)

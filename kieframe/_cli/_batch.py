"""``kieframe batch``: run, watch and reconcile batches; a thin layer over :mod:`kieframe.batch`."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from .. import batch as kb
from .._errors import DownloadError
from .._files._finish import check_folder
from .._plural import counted, noun_for
from ..errors import KieError
from ..lifecycle import PollPlan
from ._commands import _connection, _err, _json_option, _out, _State
from ._connect import (
    EMULATOR_PHASES,
    EMULATOR_POLL_SECONDS,
    Connection,
    client_settings,
    connection_options,
)
from ._exit import ExitCode, exit_code_for
from ._seconds import Seconds

__all__ = ["batch"]

_encoder = msgspec.json.Encoder()


def _status_line(status: kb.BatchStatus) -> str:
    counts = " · ".join(f"{count} {name}" for name, count in sorted(status.counts.items()))
    eta = "" if status.eta_seconds is None else f" · ETA {status.eta_seconds / 60:.1f} min"
    return (
        f"{counts} · {status.creates_per_minute}/{status.create_budget} creates/min{eta}"
        f" · {status.bytes_downloaded / 1e6:.1f} MB"
        f" · {status.credits:g} {noun_for(status.credits, 'credit')}"
    )


def _print_json(data: Any) -> None:
    click.echo(_encoder.encode(data).decode())


def _listen(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint="--listen")
    return host or "127.0.0.1", int(port)


def _exit_code(status: kb.BatchStatus) -> ExitCode:
    counts = status.counts
    if status.all_succeeded:
        return ExitCode.OK
    if counts.get(kb.LineStatus.UNCERTAIN.value) or counts.get(kb.LineStatus.SENDING.value):
        return ExitCode.SUBMISSION_UNCERTAIN
    if not status.done:
        return ExitCode.TIMED_OUT
    return ExitCode.TASK_FAILED


@click.group()
def batch() -> None:
    """Run many generations from a JSONL or CSV file: resumable, never paid twice.

    Exit codes of `batch run`: 0 every line succeeded; 5 some lines ended failed, rejected,
    invalid or download_failed; 6 some are still in progress (run again); 7 some creates are
    uncertain (see `batch status`); 2 the input is invalid or the batch was not confirmed;
    10 another process is running the batch (with SQLite: one process at a time).
    """


@batch.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--state", metavar="PATH|URL",
    help="Where the state lives: a SQLite file [default: OUT/batch.sqlite3], or a postgresql://"
    " URL, where every worker started with it runs the batch with the others.",
)  # fmt: skip
@click.option(
    "--batch", "batch_name", metavar="NAME",
    help="The batch's name in the database (--state URL) [default: the --out folder's name].",
)  # fmt: skip
@click.option(
    "--lease", default=30.0, show_default=True, type=Seconds(min=0.1, min_open=False),
    metavar="SECONDS", help="With a database: how long a worker that stops answering holds its"
    " lines before the others take them over.",
)  # fmt: skip
@click.option(
    "--db-outage-timeout", default=180.0, show_default=True, type=Seconds(min=0),
    metavar="SECONDS", help="With a database: how long a worker waits for it to come back after"
    " it went away (nothing is sent meanwhile) before it stops with exit code 9 (0: at once).",
)  # fmt: skip
@click.option(
    "--maintenance-timeout", default=900.0, show_default=True, type=Seconds(min=0),
    metavar="SECONDS", help="How long creates (and uploads of local files) kie.ai"
    " refuses for maintenance (455) are sent again later before the batch stops sending and"
    " leaves the lines pending (0: at once).",
)  # fmt: skip
@click.option("--model", metavar="ID", help="The model of lines that name none (CSV: all).")
@click.option("--skip-invalid", is_flag=True, help="Record invalid lines as such; run the rest.")
@click.option("--replace", is_flag=True, help="Send lines whose input changed since the last run.")
@click.option("--failed", is_flag=True, help="Send failed lines again (pays again).")
@click.option("--rejected", is_flag=True, help="Send lines kie.ai rejected again.")
@click.option("--download-failed", is_flag=True, help="Download failed downloads again.")
@click.option(
    "--dry-run", is_flag=True, help="Validate, show balance and time floor; pay and write nothing."
)
@click.option("--yes", "-y", is_flag=True, help="Pay without asking (needed without a terminal).")
@click.option("--callback-url", metavar="URL", help="kie.ai's public route to this receiver.")
@click.option("--listen", metavar="HOST:PORT", help="Serve callbacks here [default: loopback].")
@click.option(
    "--hmac-key", metavar="KEY", envvar="KIE_WEBHOOK_HMAC_KEY",
    help="Verify callback signatures with this webhook HMAC key [env KIE_WEBHOOK_HMAC_KEY: "
    "better, a command line is visible to every user in ps].",
)  # fmt: skip
@click.option(
    "--concurrency", default=8, show_default=True, type=click.IntRange(min=1),
    help="Creates in flight at once (the create budget still applies).",
)  # fmt: skip
@click.option(
    "--progress-every", default=3.0, show_default=True, type=Seconds(0.1),
    metavar="SECONDS", help="How often progress (or a --json status object) is printed.",
)  # fmt: skip
@connection_options
@_json_option
@click.pass_context
def run_command(ctx: click.Context, /, file: str, **options: Any) -> None:
    """Run (or resume) the batch in FILE, writing results and manifest.jsonl to --out.

    FILE is JSONL ({"id": ..., "model": ..., "input": {...}} per line) or CSV (a model's field
    names plus id as columns, typed like --set). Every line is checked first; then the balance,
    the time floor of the create budget and how tasks are awaited are shown, and the batch asks
    before paying (--yes). Run the same command again to continue: nothing is paid twice.
    """
    state: _State = ctx.ensure_object(_State)
    _check_places(options["out"], options["state"])
    _check_database(options["state"])
    connection = _connection(ctx, options)
    with contextlib.ExitStack() as stack:
        settings = _settings(connection, stack)
        _run(state, file, settings, options)


def _check_places(out: str, state: str | None) -> None:
    """Exit with a clear message, before anything is read or sent, when the output folder (or
    the folder of a --state file) cannot hold files."""
    from .._batch._run import database_url

    places = [("--out", Path(out))]
    if state is not None and database_url(state) is None:
        places.append(("--state", Path(state).parent))
    for option, folder in places:
        try:
            check_folder(folder)
        except DownloadError as error:
            _err.print(f"error: {option}: {error.message}", style="red")
            raise click.exceptions.Exit(ExitCode.BAD_INPUT) from None


def _check_database(state: str | None) -> None:
    """Exit with a clear message when ``state`` is a database whose tables are not ready."""
    from .._batch._run import database_url

    url = database_url(state)
    if url is None:
        return
    from .._postgres._backend import backend_from_url

    try:
        backend_from_url(url).check_schema()
    except RuntimeError as error:  # its message says to run `kieframe db init`
        _err.print(f"error: {error}", style="red")
        raise click.exceptions.Exit(ExitCode.BAD_INPUT) from None


def _settings(connection: Connection, stack: contextlib.ExitStack) -> dict[str, Any]:
    """The client options of ``connection``; with --emulator, one runs for the batch."""
    if not connection.emulator:
        return client_settings(connection)
    from ..testing import Emulator, Timing

    emulator = stack.enter_context(Emulator(timing=Timing(**EMULATOR_PHASES)))
    return {
        "api_key": Emulator.API_KEY,
        "base_url": emulator.base_url,
        "upload_base_url": emulator.upload_base_url,
        "poll": PollPlan.every(connection.poll_every or EMULATOR_POLL_SECONDS),
    }


def _run(state: _State, file: str, settings: dict[str, Any], options: dict[str, Any]) -> None:
    retry = [name for name in ("failed", "rejected", "download_failed") if options[name]]
    yes, as_json = options["yes"], state.json

    def show_preview(preview: kb.Preview) -> None:
        if as_json:
            _print_json({"preview": msgspec.to_builtins(_preview_data(preview))})
        for line in preview.describe():
            _err.print(line)
        for problem in preview.problems:
            _err.print(f"  skipped: {problem}", style="yellow")
        for item in preview.reconcile:
            _err.print(f"  to reconcile: line {item.line} ({item.id}) sent {item.sent_at}")

    def confirm(preview: kb.Preview) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            _err.print("not confirmed: pass --yes to pay without a terminal", style="red")
            return False
        question = f"Send {counted(preview.to_send, 'create')}?"
        return click.confirm(question, default=False, err=True)

    def progress(status: kb.BatchStatus) -> None:
        if as_json:
            _print_json({"status": _status_data(status)})
        else:
            _err.print(_status_line(status))

    try:
        result = kb.run(
            file,
            out=options["out"],
            state=options["state"],
            model=options["model"],
            **settings,
            callback_url=options["callback_url"],
            listen=_listen(options["listen"]),
            hmac_key=options["hmac_key"],
            skip_invalid=options["skip_invalid"],
            replace=options["replace"],
            retry=retry,
            dry_run=options["dry_run"],
            confirm=confirm,
            on_preview=show_preview,
            on_progress=progress,
            progress_every=options["progress_every"],
            concurrency=options["concurrency"],
            batch=options["batch_name"],
            lease=options["lease"],
            db_outage_timeout=options["db_outage_timeout"],
            maintenance_timeout=options["maintenance_timeout"],
        )
    except (kb.BatchInvalid, kb.BatchConflict, kb.BatchCancelled) as error:
        _err.print(f"error: {error}", style="red")
        raise click.exceptions.Exit(ExitCode.BAD_INPUT) from None
    if as_json:
        _print_json({"summary": {**_status_data(result.status),
                                 "not_retried": dict(result.not_retried)}})  # fmt: skip
    else:
        _out.print(_status_line(result.status))
        if options["dry_run"]:
            _out.print("dry run: nothing was sent or written")
        else:
            _out.print(f"manifest: {Path(options['out']) / kb.MANIFEST}")
    for item in result.reconcile:
        _err.print(
            f"to reconcile: line {item.line} ({item.id}) sent {item.sent_at}: {item.reason}",
            style="yellow",
        )
    for note in result.notes():
        _err.print(note, style="yellow")
    if not options["dry_run"]:
        raise click.exceptions.Exit(_exit_code(result.status))


def _status_data(status: kb.BatchStatus) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(status)
    data["all_succeeded"] = status.all_succeeded
    return data


def _preview_data(preview: kb.Preview) -> dict[str, Any]:
    return {
        "total": preview.total,
        "to_send": preview.to_send,
        "counts": dict(preview.counts),
        "problems": [str(problem) for problem in preview.problems],
        "balance": preview.balance,
        "mode": preview.mode.value,
        "creates_per_minute": preview.create_rate * 60,
        "floor_seconds": preview.floor_seconds,
        "in_flight": preview.in_flight,
        "expected_creates_per_minute": (
            None if preview.expected_rate is None else preview.expected_rate * 60
        ),
        "reads_needed_per_second": preview.reads_needed,
        "read_budget_per_second": preview.read_budget,
        "notes": list(preview.notes),
    }


_STATE = click.option(
    "--state", metavar="PATH|URL", help="The state given to `batch run` (a file or a database)."
)
_BATCH = click.option(
    "--batch", "batch_name", metavar="NAME", help="The batch's name given to `batch run`."
)


@batch.command("status")
@click.argument("path", type=click.Path())
@click.option("--lines", "show_lines", is_flag=True, help="Every line's record too.")
@_STATE
@_BATCH
@_json_option
@click.pass_context
def status_command(
    ctx: click.Context, /, path: str, show_lines: bool, state: str | None, batch_name: str | None
) -> None:
    """Show the state of the batch in PATH (its output folder or state file), running or not."""
    _check_database(state)
    where: dict[str, Any] = {"state": state, "batch": batch_name}
    try:
        status = kb.status(path, **where)
        reconcile = kb.to_reconcile(path, **where)
        lines = kb.read_records(path, **where) if show_lines else []
    except FileNotFoundError as error:
        _err.print(f"error: {error}", style="red")
        raise click.exceptions.Exit(ExitCode.BAD_INPUT) from None
    if ctx.ensure_object(_State).json:
        data = _status_data(status)
        data["reconcile"] = msgspec.to_builtins(reconcile)
        if show_lines:
            data["lines"] = msgspec.to_builtins(lines)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _out.print(("running: " if status.running else "stopped: ") + _status_line(status))
    for item in reconcile:
        sent = json.dumps(item.sent_input, ensure_ascii=False) if item.sent_input else "?"
        _out.print(f"to reconcile: line {item.line} ({item.id}) sent {item.sent_at}: {sent}")
    for line in lines:
        _out.print(_encoder.encode(line).decode())


@batch.command("resolve")
@click.argument("path", type=click.Path())
@click.argument("line_id")
@click.option("--task-id", metavar="ID", help="The task kie.ai made for the line.")
@click.option("--not-created", is_flag=True, help="kie.ai made no task: send the line again.")
@_STATE
@_BATCH
def resolve_command(
    path: str,
    line_id: str,
    task_id: str | None,
    not_created: bool,
    state: str | None,
    batch_name: str | None,
) -> None:
    """Settle an uncertain line after checking kie.ai (its dashboard, or `kieframe status`)."""
    if (task_id is None) == (not not_created):
        raise click.UsageError("give exactly one of --task-id and --not-created")
    _check_database(state)
    try:
        record = kb.resolve(path, line_id, task_id=task_id, state=state, batch=batch_name)
    except (KieError, FileNotFoundError) as error:  # a line not uncertain, a batch running...
        _err.print(f"error: {error}", style="red")
        code = exit_code_for(error) if isinstance(error, KieError) else ExitCode.BAD_INPUT
        raise click.exceptions.Exit(code) from None
    _out.print(f"line {record.id}: {record.status.value}; run the batch again to continue")

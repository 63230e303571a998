"""The ``kieframe`` command: click commands over :class:`kieframe.Client` and the registry."""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import posixpath
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click
import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from .._client import Client
from .._config import DEFAULT_BASE_URL, DEFAULT_VISIBILITY_GRACE, resolve_hosts
from .._core._fileplan import DownloadProgress
from .._core._submit import Submission, prepare_submission
from .._errors import (
    AuthenticationError,
    ConfigurationError,
    DownloadError,
    KieError,
    NoAnswerError,
    NotFoundError,
    SubmissionUncertain,
    WaitTimeout,
)
from .._files._finish import check_folder, place
from .._files._names import safe_extension
from .._journal import JournalEntry, JournalStatus
from .._plural import counted
from .._records import Task, TaskRecord
from .._registry import default_registry
from .._spec import ModelSpec
from ._connect import Connection, connect, connection_from, connection_options, opened_journal
from ._console import err, out
from ._db import db
from ._exit import ExitCode, exit_code_for
from ._inputs import FIELD_PREFIX, build_input, describe_uploads, field_options, flag_words
from ._render import (
    describe_json,
    fields_table,
    matches,
    model_markdown,
    models_table,
    plugins_json,
    plugins_tables,
    record_json,
    record_table,
    source_line,
)
from ._root import _json_option as _json_option
from ._root import _State as _State
from ._root import cli
from ._seconds import Seconds

__all__ = ["cli", "fail"]

DEFAULT_OUTPUT = "kieframe-output"

_out, _err = out, err  # the names _batch imports


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


#: The width tables are laid out in when stdout is no terminal: wide enough to cut nothing.
_UNCUT = 10_000


def _print_table(table: Table) -> None:
    """Print a listing on stdout; piped or redirected, at its natural width (nothing cut to fit
    80 columns), so that ``kieframe models | grep`` sees whole titles."""
    if _out.is_terminal:
        _out.print(table)
        return
    # print(width=...) cannot go past the console's width: a console of the natural one.
    Console(file=_out.file, markup=False, highlight=False, width=_UNCUT).print(table)


def _unseen(state: _State | None, error: KieError) -> bool:
    """Whether ``error`` says kie.ai does not show the task this command submitted.

    kie.ai accepted that task (it exists, and is paid for): not showing it yet, even past the
    visibility grace, leaves it undecided (like a timeout), never a bad input.
    """
    return (
        isinstance(error, NotFoundError)
        and state is not None
        and state.submitted
        and error.task_id == state.task_id
    )


def _hint(error: KieError, state: _State | None) -> str | None:
    if _unseen(state, error):
        return (
            f"kie.ai accepted task {error.task_id} (it is paid for) and may still show it; to"
            f" collect it later: kieframe download {error.task_id}{_host_flag(state)} (kieframe"
            " journal lists it)"
        )
    if isinstance(error, WaitTimeout):
        return (
            "the task keeps running; wait again with: "
            f"kieframe wait {error.task_id}{_host_flag(state)}"
        )
    emulated = state is not None and state.connection.emulator  # its tasks end with it
    if isinstance(error, DownloadError) and error.task_id is not None and not emulated:
        return (
            f"the task is done; to save its files: kieframe download {error.task_id} "
            f"--out DIR{_host_flag(state)}"
        )
    if isinstance(error, NoAnswerError) and not error.request_sent:
        unreached = _unreached(error, state)
        if unreached is not None:
            origin, setting = unreached
            return (
                f"could not connect to {origin}: is the server up, and is it the host meant? "
                f"(it comes from --{setting.replace('_', '-')}, KIE_{setting.upper()} or the "
                f"config file's {setting})"
            )
    if isinstance(error, AuthenticationError) and error.code is None:  # no key at all
        return "to try kieframe without a key, add --emulator (a local kie.ai emulator, no cost)"
    return None


def _unreached(error: NoAnswerError, state: _State | None) -> tuple[str, str] | None:
    """The origin a connection could not be opened to (from the error's httpx cause, with no
    credentials), and the setting it comes from: ``base_url`` when it is the Jobs host (which
    serves uploads too unless ``upload_base_url`` names another), else ``upload_base_url``."""
    cause = error.__cause__
    if not isinstance(cause, httpx.HTTPError):
        return None
    try:
        url = cause.request.url
    except RuntimeError:  # an httpx error made without its request
        return None
    origin = _origin(url)
    given = state.connection if state is not None else None
    try:
        jobs, _uploads = resolve_hosts(
            base_url=given.base_url if given is not None else None,
            upload_base_url=given.upload_base_url if given is not None else None,
        )
    except KieError:  # an unreadable setting: name the host by the request's path alone
        jobs = None
    if jobs is not None and origin == _origin(httpx.URL(jobs)):
        return origin, "base_url"
    return origin, "upload_base_url" if url.path.startswith("/api/file-") else "base_url"


def _origin(url: httpx.URL) -> str:
    """``scheme://host:port`` of ``url``, with no credentials and no path."""
    return str(httpx.URL(scheme=url.scheme, host=url.host, port=url.port)).rstrip("/")


def fail(ctx: click.Context, error: KieError | KeyboardInterrupt) -> NoReturn:
    """Print one clear message for ``error`` (and a JSON report with --json); exit with its code."""
    state = ctx.find_object(_State)
    if isinstance(error, KeyboardInterrupt):
        line = _interrupted(state, error)
        _err.print(line, markup=False)
        if state is not None and state.json:  # the one document --json promises, even now
            stopped: dict[str, Any] = {
                "type": "KeyboardInterrupt",
                "message": line,
                "code": None,
                "task_id": state.task_id,
                "exit_code": int(ExitCode.INTERRUPTED),
            }
            _emit({"error": stopped})
        raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
    code = ExitCode.TIMED_OUT if _unseen(state, error) else exit_code_for(error)
    _err.print(f"error: {error}", style="red")
    hint = _hint(error, state)
    if hint:
        _err.print(hint)
    if state is not None and state.json:
        report: dict[str, Any] = {
            "type": type(error).__name__,
            "message": error.message,
            "code": error.code,
            "task_id": error.task_id,
            "exit_code": int(code),
        }
        if isinstance(error, SubmissionUncertain):  # what a script needs to reconcile
            report.update(model=error.model, input=error.input, sent_at=error.sent_at)
        _emit({"error": report})
    raise click.exceptions.Exit(code) from None


def _interrupted(state: _State | None, interrupt: KeyboardInterrupt) -> str:
    """The one line a Ctrl-C prints: which task keeps running, and how to collect it."""
    task_id = state.task_id if state is not None else None
    if task_id is not None:
        return (
            f"interrupted: task {task_id} keeps running on kie.ai; "
            f"to collect it later: kieframe download {task_id}{_host_flag(state)}"
        )
    notes = getattr(interrupt, "__notes__", ())
    if notes:  # a create kie.ai accepted just before the interrupt (the client noted it)
        return f"interrupted: {notes[-1].removeprefix('kieframe: ')}; see kieframe journal"
    return "interrupted"


def _host_flag(state: _State | None) -> str:
    """`` --base-url URL`` when the command was given one: a later command needs it too."""
    base_url = state.connection.base_url if state is not None else None
    if not base_url:
        return ""
    url = httpx.URL(base_url)
    if not url.userinfo:
        return f" --base-url {base_url}"
    return f" --base-url {_origin(url)}{url.raw_path.decode('ascii').rstrip('/')}"  # no password


def _connection(ctx: click.Context, options: dict[str, Any]) -> Connection:
    state = ctx.ensure_object(_State)
    state.connection = state.connection.merged(connection_from(options))
    return state.connection


# -- models, describe, plugins --------------------------------------------------------------


@cli.command()
@click.option(
    "--category",
    type=click.Choice(["video", "image", "audio", "text"]),
    help="Only models that make this.",
)
@click.option("--family", help="Only this family (Kling, Wan, Seedream, ...).")
@click.option("--search", metavar="WORDS", help="Only models whose id, title or tags hold all.")
@_json_option
@click.pass_obj
def models(state: _State, category: str | None, family: str | None, search: str | None) -> None:
    """List the installed models, optionally filtered by category, family and words."""
    registry = default_registry()
    specs = tuple(
        spec
        for spec in registry.models()
        if matches(spec, category_is=category, family_is=family, search=search)
    )
    served = {spec.id: registry.source(spec.id).plugin for spec in specs}
    if state.json:
        _emit([describe_json(spec, registry.source(spec.id)) for spec in specs])
    else:
        _print_table(models_table(specs, served))
    for failure in registry.failures:  # their models are missing from the list
        _err.print(
            f"note: plugin {failure.name!r} failed to load, so its models are not listed: "
            f"{failure.error} (see kieframe plugins)",
            markup=False,
        )


@cli.command()
@click.argument("model")
@click.option("--json-schema", is_flag=True, help="Print the input's JSON Schema.")
@click.option("--markdown", is_flag=True, help="Print the model's documentation page.")
@_json_option
@click.pass_obj
def describe(state: _State, model: str, json_schema: bool, markdown: bool) -> None:
    """Show a model's input fields with their limits, defaults, media inputs and example."""
    registry = default_registry()
    spec = registry.get_model(model)
    source = registry.source(model)
    if json_schema:
        _emit(spec.json_schema())
    elif markdown:
        click.echo(model_markdown(spec), nl=False)
    elif state.json:
        _emit(describe_json(spec, source))
    else:
        _out.print(f"{spec.title} ({spec.id})", style="bold")
        if spec.summary:
            _out.print(spec.summary)
        outputs = "one file" if spec.outputs == "one" else "one or several files"
        _out.print(f"output: {spec.output} ({outputs}); docs: {spec.docs_url}")
        _out.print(source_line(spec, source, registry.replaced(model)))
        _out.print(f"usually {spec.typical_seconds:g} s; a wait gives up after {spec.deadline:g} s")
        if spec.requires_callback:
            _out.print("kie.ai requires a callback URL for this model: pass --callback-url")
        _out.print(fields_table(spec))
        if spec.rule_notes:
            _out.print("across fields:", style="bold")
            for note in spec.rule_notes:
                _out.print(f"  - {note}", markup=False)
        for example in spec.examples:
            _out.print("documented example:", style="bold")
            _out.print_json(data=dict(example))


@cli.command()
@_json_option
@click.pass_obj
def plugins(state: _State) -> None:
    """List the installed plugins (name, distribution, version, models) and failed ones."""
    registry = default_registry()
    infos, failures = registry.plugins(), registry.failures
    if state.json:
        _emit(plugins_json(infos, failures))
    else:
        for table in plugins_tables(infos, failures):
            _print_table(table)


# -- run and submit --------------------------------------------------------------------------


class _ModelCommand(click.Command):
    """A command whose first argument is a model id: it grows one option per input field."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        model = self._model_argument(args)
        if model is None and not any(arg in ("-h", "--help") for arg in args):
            fields = [arg for arg in args if arg.startswith("--") and not self._known(arg)]
            if fields:  # field options, but no model to give them meaning
                raise click.UsageError(
                    f"missing the MODEL argument (for {fields[0]}): name the model first, as in "
                    f"kieframe {ctx.info_name} MODEL {fields[0]} ...; kieframe models lists them",
                    ctx,
                )
        if model is not None:
            wants_help = any(arg in ("-h", "--help") for arg in args)
            try:
                spec = default_registry().get_model(model)
            except KieError:
                if not wants_help:
                    options = args[: args.index("--")] if "--" in args else args
                    if "--json" in options:  # parsed only after the model: report as asked
                        ctx.ensure_object(_State).json = True
                    raise
            else:
                base = [p for p in self.params if not (p.name or "").startswith(FIELD_PREFIX)]
                taken = {opt for p in base for opt in (*p.opts, *p.secondary_opts)}
                generated = field_options(spec, taken=taken | {"-h", "--help"})
                self.params = [*base, *generated]
                flags = {
                    option.opts[0]: (option.name or "").removeprefix(FIELD_PREFIX)
                    for option in generated
                    if option.is_flag
                }
                args = flag_words(args, flags)
        return super().parse_args(ctx, args)

    def _known(self, arg: str) -> bool:
        name = arg.split("=", 1)[0]
        return any(name in (*param.opts, *param.secondary_opts) for param in self.params)

    def _model_argument(self, args: Sequence[str]) -> str | None:
        """The first argument that is no option's value: the model (None if there is none).

        An option the command does not know yet is a model's field option, taken to have a
        value (``--prompt x``), so that ``x`` is never mistaken for the model.
        """
        takes_value = {
            opt
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for opt in param.opts
        }
        skip = False
        for position, arg in enumerate(args):
            if skip:
                skip = False
            elif arg == "--":
                return args[position + 1] if position + 1 < len(args) else None
            elif arg in takes_value or (
                arg.startswith("--") and "=" not in arg and not self._known(arg)
            ):
                skip = True
            elif not arg.startswith("-"):
                return arg
        return None


def _input_options(function: Callable[..., Any]) -> Callable[..., Any]:
    decorators = (
        click.argument("model"),
        click.option(
            "--set",
            "assignments",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set an input field; the value is read as the field's type (repeatable).",
        ),
        click.option(
            "--input",
            "input_file",
            metavar="FILE.json",
            help="Read the input object from a JSON file ('-' for stdin).",
        ),
        click.option("--callback-url", metavar="URL", help="Ask kie.ai to POST the result here."),
        click.option(
            "--tag-callback-url/--no-tag-callback-url",
            default=True,
            help="Add the create's journal token to --callback-url (?kieframe_submission=...), so "
            "that its callback settles it if the create's answer is lost [default: tag]; "
            "--no-tag-callback-url sends the URL as given (such a create is then settled by hand: "
            "kieframe journal resolve).",
        ),
    )
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


def _model_input(spec: ModelSpec[Any], options: dict[str, Any]) -> dict[str, Any]:
    field_values = {
        key.removeprefix(FIELD_PREFIX): options.pop(key)
        for key in list(options)
        if key.startswith(FIELD_PREFIX)
    }
    return build_input(
        spec,
        input_file=options.pop("input_file"),
        assignments=options.pop("assignments"),
        field_values=field_values,
    )


def _show_update(state: _State) -> Callable[[TaskRecord], None]:
    def show(record: TaskRecord) -> None:
        state.progress.print(f"task {record.task_id}: {record.state}")

    return show


@contextlib.contextmanager
def _download_progress(console: Console) -> Iterator[DownloadProgress | None]:
    """A progress bar per result file, on a terminal; nothing when output is captured."""
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bars:
        rows: dict[Path, TaskID] = {}
        lock = threading.Lock()

        def show(path: Path, received: int, total: int | None) -> None:
            with lock:
                if path not in rows:
                    rows[path] = bars.add_task(path.name, total=total)
            bars.update(rows[path], completed=received, total=total)

        yield show


def _timeout_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--timeout",
        type=Seconds(min=0, min_open=True),
        metavar="SECONDS",
        help="Give up waiting after this long (default: the model's deadline).",
    )(function)


def _grace_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--visibility-grace",
        type=Seconds(min=0),
        default=DEFAULT_VISIBILITY_GRACE,
        show_default=True,
        metavar="SECONDS",
        help='How long after its submission kie.ai may not show the task yet ("recordInfo is'
        ' null") before the wait gives up on it. `wait` and `download` count it from the'
        " submission the journal has; an id the journal does not have gets at most 10 s.",
    )(function)


def _out_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--out",
        "-o",
        type=click.Path(path_type=Path),
        default=DEFAULT_OUTPUT,
        show_default=True,
        help="Folder to save the result files in; or, for a task with one result, the file to "
        "write (a name with an extension for what the model makes, such as video.mp4).",
    )(function)


def _names_a_file(out: Path) -> bool:
    """Whether ``--out`` names the result file itself: it has an extension and is no folder."""
    return bool(out.suffix) and not out.is_dir()


#: The extension suggested for a model's result, by what it makes.
_SUFFIXES = {"video": ".mp4", "image": ".png", "audio": ".mp3"}


#: What a file name's extension says it holds: a fixed table, so that the answer is the same on
#: every system (the ``mimetypes`` table reads /etc/mime.types, where ``.ts`` may be text).
_KIND_EXTENSIONS = {
    "video": ".mp4 .m4v .mov .mkv .webm .avi .ts .mts .m2ts .3gp .3g2 .ogv .mpg .mpeg .wmv",
    "image": ".png .jpg .jpeg .jpe .webp .gif .bmp .tif .tiff .heic .heif .avif .svg .ico",
    "audio": ".mp3 .wav .aac .m4a .ogg .oga .opus .flac .aif .aiff .wma .weba .mid .midi",
    "text": ".txt .md .srt .vtt",
}
_KINDS = {suffix: kind for kind, names in _KIND_EXTENSIONS.items() for suffix in names.split()}


def _kind(name: str) -> str | None:
    """What a file name's extension says it holds (video, image, audio, text), if it says."""
    return _KINDS.get(posixpath.splitext(name)[1].lower())  # .bin, .json: no say


def _check_out(out: Path, spec: ModelSpec[Any] | None = None) -> None:
    """Refuse, before anything is sent, an ``--out`` file that exists (nothing is overwritten),
    one file for a model that returns several, a file named as another kind of media than the
    model makes (``c.png`` for a video), or a place no file can be saved in."""
    folder = out.parent if _names_a_file(out) else out
    try:
        check_folder(folder)
    except DownloadError as error:
        named = f"--out {out}: " if folder != out else ""
        raise click.UsageError(f"{named}{error.message}; nothing was sent") from None
    if _names_a_file(out) and (out.exists() or out.is_symlink()):
        raise click.UsageError(f"--out {out} exists; kieframe overwrites nothing: name a new file")
    if _names_a_file(out) and spec is not None and spec.outputs == "many":
        raise click.UsageError(
            f"--out {out} names one file, but {spec.id} may return several: give a folder to "
            f"save them in (for example --out {out.with_suffix('')})"
        )
    if _names_a_file(out) and spec is not None and spec.output in _SUFFIXES:
        _check_kind(out, spec.output, f"{spec.id} makes", _SUFFIXES[spec.output], "for example ")


def _check_kind(out: Path, kind: str, maker: str, suffix: str, how: str) -> None:
    """Refuse an ``--out`` file whose extension names another kind of media than ``kind``."""
    named = _kind(out.name)
    if named is not None and named != kind:
        raise click.UsageError(
            f"--out {out} is named as {named} ({out.suffix}), but {maker} {_a(kind)}: "
            f"name it for what it holds ({how}--out {out.with_suffix(suffix)})"
        )


def _save(
    client: Client,
    record: TaskRecord,
    out: Path,
    progress: DownloadProgress | None,
    *,
    paid_now: bool = False,
) -> tuple[Path, ...]:
    """Download the results into the folder ``out``, or the single result as the file ``out``.

    ``paid_now`` (``run``): the task was just paid for, so a result that does not fit ``out``
    (another kind of media, several files) is saved all the same, under its own extension or
    numbered names beside ``out``, with a note; ``download`` refuses it (nothing is paid any
    more: a new name is one command away)."""
    if not _names_a_file(out):
        return client.download(record, to=out, progress=progress)
    names = _result_names(record, out, paid_now=paid_now)
    saved = client.download(record, to=out.parent, progress=progress)
    for path, name in zip(saved, names, strict=True):
        _rename_result(path, name, record.task_id)
    return names


def _result_names(record: TaskRecord, out: Path, *, paid_now: bool) -> tuple[Path, ...]:
    """The names ``record``'s results are saved under, for the ``--out`` file ``out``."""
    task_id, count = record.task_id, len(record.result_urls)
    if count != 1 and not paid_now:
        raise click.UsageError(
            f"--out {out} names one file, but task {task_id} has {counted(count, 'result')}: "
            f"give a folder (kieframe download {task_id} --out {out.with_suffix('')})"
        )
    names = []
    for index, url in enumerate(record.result_urls, start=1):
        suffix = safe_extension(url, default="")
        kind, wanted = _KINDS.get(suffix), _kind(out.name)
        if kind is not None and wanted is not None and kind != wanted:
            if not paid_now:
                how = f"kieframe download {task_id} "
                _check_kind(out, kind, f"task {task_id}'s result ({suffix}) is", suffix, how)
            _err.print(
                f"note: task {task_id}'s result is {_a(kind)} ({suffix}), not {_a(wanted)} as "
                f"--out {out} says: it is saved under its own extension",
                markup=False,
            )
        else:
            suffix = out.suffix
        names.append(
            out.with_name(f"{out.stem}-{index}{suffix}" if count > 1 else out.stem + suffix)
        )
    if count > 1:
        _err.print(
            f"note: --out {out} names one file, but task {task_id} has {counted(count, 'result')}: "
            "they are saved as numbered files beside it",
            markup=False,
        )
    return tuple(names)


def _a(kind: str) -> str:
    """``kind`` with its article: "a video", "an image"."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _rename_result(saved: Path, out: Path, task_id: str) -> None:
    """Give a saved result (and its metadata) the name ``--out`` asked for, never replacing a
    file: one that appeared there meanwhile (another command) keeps it, and the result keeps
    its own name, which the ``DownloadError`` gives."""
    if saved == out:
        return
    metadata, named = saved.with_name(f"{saved.name}.json"), out.with_name(f"{out.name}.json")
    moved = metadata.exists() and place(metadata, named)  # first: both names move, or neither
    if (moved or not metadata.exists()) and place(saved, out):
        return
    if moved:
        place(named, metadata)  # give the metadata back to the result it describes
    raise DownloadError(
        f"{out} was created by something else while the task ran, and kieframe overwrites "
        f"nothing: the result is saved as {saved}",
        task_id=task_id,
    )


@cli.command(cls=_ModelCommand)
@_input_options
@_timeout_option
@_grace_option
@_out_option
@click.option("--no-download", is_flag=True, help="Print the result URLs, download nothing.")
@connection_options
@_json_option
@click.pass_context
def run(ctx: click.Context, /, model: str, **options: Any) -> None:
    """Run MODEL: submit, show each state change, and save the result files.

    Fields are set with their own options (see `kieframe run MODEL --help`), --set KEY=VALUE or
    --input FILE.json. A local path in an image field is uploaded first.
    """
    state: _State = ctx.ensure_object(_State)
    spec = default_registry().get_model(model)
    data = _model_input(spec, options)
    if not options["no_download"]:
        _check_out(options["out"], spec)
    prepared = _show_uploads(state, model, data, options["callback_url"])
    tag = options.pop("tag_callback_url")
    grace = options["visibility_grace"]
    with connect(
        _connection(ctx, options), tag_callback_urls=tag, visibility_grace=grace
    ) as client:
        task = _submit(client, model, data, options["callback_url"], prepared)
        state.task_id, state.submitted = task.task_id, True
        state.progress.print(f"task {task.task_id} submitted ({model})")
        record = client.wait(task, timeout=options["timeout"], on_update=_show_update(state))
        files: tuple[Path, ...] = ()
        if not options["no_download"]:
            with _download_progress(state.progress) as progress:
                files = _save(client, record, options["out"], progress, paid_now=True)
    _report_result(state, record, files)


def _show_uploads(
    state: _State, model: str, data: dict[str, Any], callback_url: str | None
) -> Submission | None:
    """Say which local files will be uploaded, and into which field, once the input (its files
    included) is valid: a refused input lists its problems, never an upload. Return the input
    so validated (each file read once: the submit sends it), or None without local files."""
    lines = describe_uploads(data)
    if not lines:
        return None
    # Raises with every problem, before anything is sent.
    prepared = prepare_submission(default_registry(), model, data, callback_url=callback_url)
    for line in lines:
        state.progress.print(f"upload {line}")
    return prepared


def _submit(
    client: Client,
    model: str,
    data: dict[str, Any],
    callback_url: str | None,
    prepared: Submission | None,
) -> Task:
    if prepared is not None:
        return client._submit_prepared(prepared)
    return client.submit(model, data, callback_url=callback_url)


def _show_record(state: _State, record: TaskRecord) -> None:
    """Print a task's record: JSON for scripts, a table for people."""
    if state.json:
        _emit(record_json(record))
    else:
        _out.print(record_table(record))


def _report_result(state: _State, record: TaskRecord, files: Sequence[Path]) -> None:
    if state.json:
        _emit({**record_json(record), "files": [str(path) for path in files]})
        return
    if files:
        for path in files:
            _out.print(f"saved {path}")
    elif record.result_object is not None:  # a text model's answer
        text = record.result_object
        _out.print(text if isinstance(text, str) else json.dumps(text, indent=2), markup=False)
    else:
        for url in record.result_urls:
            _out.print(url)


@cli.command(cls=_ModelCommand)
@_input_options
@connection_options
@_json_option
@click.pass_context
def submit(ctx: click.Context, /, model: str, **options: Any) -> None:
    """Submit a MODEL task and print its id, without waiting."""
    state: _State = ctx.ensure_object(_State)
    spec = default_registry().get_model(model)
    data = _model_input(spec, options)
    prepared = _show_uploads(state, model, data, options["callback_url"])
    tag = options.pop("tag_callback_url")
    with connect(_connection(ctx, options), tag_callback_urls=tag) as client:
        task = _submit(client, model, data, options["callback_url"], prepared)
    if state.json:
        _emit({"task_id": task.task_id, "model": task.model, "input": dict(task.input)})
    else:
        _out.print(task.task_id)


# -- status, wait, download, credits ------------------------------------------------------


@cli.command()
@click.argument("task_id")
@connection_options
@_json_option
@click.pass_context
def status(ctx: click.Context, /, task_id: str, **options: Any) -> None:
    """Show a task's current record."""
    state: _State = ctx.ensure_object(_State)
    with connect(_connection(ctx, options)) as client:
        record = client.get(task_id)
    _show_record(state, record)


@cli.command()
@click.argument("task_id")
@_timeout_option
@_grace_option
@connection_options
@_json_option
@click.pass_context
def wait(ctx: click.Context, /, task_id: str, timeout: float | None, **options: Any) -> None:
    """Wait for a task to finish, showing each state change; print its final record."""
    state: _State = ctx.ensure_object(_State)
    state.task_id = task_id
    grace = options.pop("visibility_grace")
    with connect(_connection(ctx, options), visibility_grace=grace) as client:
        journaled = client._journaled(task_id)  # one lookup, for the hint and the wait
        state.submitted = journaled is not None
        record = client.wait(journaled or task_id, timeout=timeout, on_update=_show_update(state))
    _show_record(state, record)


@cli.command()
@click.argument("task_id")
@_timeout_option
@_grace_option
@_out_option
@connection_options
@_json_option
@click.pass_context
def download(
    ctx: click.Context, /, task_id: str, timeout: float | None, out: Path, **options: Any
) -> None:
    """Save a task's result files (waiting for it to finish first)."""
    state: _State = ctx.ensure_object(_State)
    state.task_id = task_id
    _check_out(out)
    grace = options.pop("visibility_grace")
    with connect(_connection(ctx, options), visibility_grace=grace) as client:
        journaled = client._journaled(task_id)  # one lookup, for the hint and the wait
        state.submitted = journaled is not None
        record = client.wait(journaled or task_id, timeout=timeout, on_update=_show_update(state))
        with _download_progress(state.progress) as progress:
            files = _save(client, record, out, progress)
    _report_result(state, record, files)


@cli.command()
@connection_options
@_json_option
@click.pass_context
def credits(ctx: click.Context, /, **options: Any) -> None:
    """Print the account's remaining credits."""
    state: _State = ctx.ensure_object(_State)
    with connect(_connection(ctx, options)) as client:
        remaining = client.credits()
    if state.json:
        _emit({"credits": remaining})
    else:
        _out.print(str(remaining))


@cli.group(invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Every entry, not only the unfinished.")
@_json_option
@click.pass_context
def journal(ctx: click.Context, /, show_all: bool) -> None:
    """List journaled creates: tasks to collect and creates to reconcile.

    Commands that create tasks write each create to the journal ($KIEFRAME_JOURNAL, else
    ~/.local/state/kieframe/journal.sqlite3; KIEFRAME_JOURNAL=off turns it off) before sending it,
    and its outcome after; with a database ($KIEFRAME_DATABASE_URL or the config file), to the
    journal every process shares there. An "accepted" task exists: collect it with `kieframe
    download ID`. A "sending" or "uncertain" create may or may not have made a task: check before
    resubmitting, then settle it with `kieframe journal resolve` (a create sent with a callback
    URL is settled by its callback when a receiver with this journal gets it: `kieframe callbacks
    serve`, not with --trust-body alone).
    """
    if ctx.invoked_subcommand is not None:
        return
    state: _State = ctx.ensure_object(_State)
    entries: list[JournalEntry] = []
    with opened_journal() as (where, book):
        if book is not None:
            entries = book.entries() if show_all else book.unfinished()
    if state.json:
        _emit({"journal": where, "entries": [_entry_json(e) for e in entries]})
        return
    if not entries:
        _out.print("nothing to collect or reconcile" if not show_all else "the journal is empty")
    for entry in entries:  # plain lines: task ids are never cut, whatever the width
        for line in _entry_lines(entry):
            click.echo(line)


@journal.command()
@click.argument("entry", type=int)
@click.option("--task-id", metavar="ID", help="The task kie.ai made for it: to collect.")
@click.option("--no-task", is_flag=True, help="kie.ai made no task for it: nothing to pay.")
@click.option("--dismiss", is_flag=True, help="Set the entry aside, whatever its status.")
@_json_option
@click.pass_context
def resolve(
    ctx: click.Context, /, entry: int, task_id: str | None, no_task: bool, dismiss: bool
) -> None:
    """Settle journal ENTRY (the number `kieframe journal` shows).

    After looking for the task (kie.ai's dashboard, `kieframe status ID`): --task-id ID records
    the task found for a "sending" or "uncertain" create, so it is listed to collect; --no-task
    records that there is none. --dismiss sets any unfinished entry aside.
    """
    if [task_id is not None, no_task, dismiss].count(True) != 1:
        raise click.UsageError("give exactly one of --task-id ID, --no-task and --dismiss")
    with opened_journal() as (_, book):
        if book is None:
            raise click.UsageError("there is no journal (see `kieframe journal --help`)")
        if entry not in {known.id for known in book.entries()}:
            raise click.UsageError(f"the journal has no entry {entry}")
        try:
            if dismiss:
                book.dismiss(entry, reason="dismissed from the command line")
            else:
                book.resolve(entry, task_id=task_id)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        [settled] = [known for known in book.entries() if known.id == entry]
    if ctx.ensure_object(_State).json:
        _emit(_entry_json(settled))
    else:
        for line in _entry_lines(settled):
            click.echo(line)


def _entry_lines(entry: JournalEntry) -> list[str]:
    """An entry for people: what it is, where and when, and what to do about it."""
    task = f"task {entry.task_id}" if entry.task_id else "no task id"
    where = f"on {entry.host}, " if entry.host else ""
    lines = [
        f"{entry.id}: {entry.status.value}, {task} ({entry.model})",
        f"  {where}updated {entry.updated_at.isoformat(timespec='seconds')}",
    ]
    if entry.detail:
        lines.append(f"  {entry.detail}")
    base = ""
    if entry.host and httpx.URL(entry.host).host != httpx.URL(DEFAULT_BASE_URL).host:
        base = f" --base-url {entry.host}"
    if entry.status is JournalStatus.ACCEPTED:
        lines.append(f"  to collect: kieframe download {entry.task_id}{base}")
    elif entry.status in (JournalStatus.SENDING, JournalStatus.UNCERTAIN):
        lines.append(
            f"  to reconcile: look for the task, then kieframe journal resolve {entry.id} "
            "--task-id ID (or --no-task)"
        )
    return lines


def _collected(client: Client, record: TaskRecord, files: Sequence[Path]) -> None:
    """Mark a task the journal lists as "to collect" done: its files saved, or it failed."""
    if client.journal is None:
        return
    detail = f"saved {', '.join(str(path) for path in files)}" if files else record.fail_msg
    client.journal.finished(
        record.task_id, succeeded=record.succeeded, detail=detail, host=str(client.base_url)
    )


def _entry_json(entry: JournalEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status.value,
        "task_id": entry.task_id,
        "model": entry.model,
        "host": entry.host,
        "input": dict(entry.input),
        "detail": entry.detail,
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
    }


# -- emulator ------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8787, show_default=True, help="Port to bind; 0 for any free one.")
@click.option(
    "--seed",
    default=0,
    show_default=True,
    help="Seed for chance faults (task ids are new each run).",
)
@click.option("--hmac-key", metavar="KEY", help="Sign callbacks with this webhook HMAC key.")
@click.option(
    "--generating",
    type=Seconds(min=0),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How long each task generates.",
)
@click.option("--credits", "credit_balance", default=10_000, show_default=True, help="Credits.")
@click.option("--errors-as-http-status", is_flag=True, help="Send errors with that HTTP status.")
@click.option("--no-rate-limits", is_flag=True, help="Turn the emulated rate limits off.")
@_json_option
@click.pass_obj
def emulator(
    state: _State,
    host: str,
    port: int,
    seed: int,
    hmac_key: str | None,
    generating: float,
    credit_balance: int,
    errors_as_http_status: bool,
    no_rate_limits: bool,
) -> None:
    """Serve a local kie.ai emulator until Ctrl-C; print its base URL.

    Point other commands at it with --base-url (or KIE_BASE_URL) and any API key, for example
    KIE_API_KEY=emulator-key.
    """
    from ..testing import Emulator, Timing

    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(
                Emulator(
                    timing=Timing(generating=generating),
                    seed=seed,
                    hmac_key=hmac_key,
                    credits=credit_balance,
                    errors_as_http_status=errors_as_http_status,
                    rate_limits=not no_rate_limits,
                    host=host,
                    port=port,
                )
            )
        except OSError as error:
            _cannot_listen(host, port, error)
        if state.json:
            click.echo(
                json.dumps(
                    {
                        "base_url": server.base_url,
                        "upload_base_url": server.upload_base_url,
                        "api_key": Emulator.API_KEY,
                    }
                )
            )
        else:
            _out.print(f"kie.ai emulator serving at {server.base_url}")
            _out.print(f"  export KIE_BASE_URL={server.base_url} KIE_API_KEY={Emulator.API_KEY}")
            _out.print("press Ctrl-C to stop")
        try:
            stop.wait()
        except KeyboardInterrupt:
            _out.print("stopped")


# -- callbacks -----------------------------------------------------------------------------


@cli.group()
def callbacks() -> None:
    """Receive kie.ai's task callbacks."""


@callbacks.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, help="Port to bind.")
@click.option(
    "--hmac-key",
    "hmac_keys",
    multiple=True,
    envvar="KIE_WEBHOOK_HMAC_KEY",
    metavar="KEY",
    help="Verify signatures with this webhook HMAC key; repeat while rotating keys "
    "[env KIE_WEBHOOK_HMAC_KEY: better, a command line is visible to every user in ps; "
    "several keys separated by spaces].",
)
@click.option(
    "--trust-body",
    is_flag=True,
    help="Trust the (unsigned) callback body instead of re-reading the task from kie.ai. "
    "Without --out (or a database) it opens no client, so no journal: an uncertain create "
    "is then not settled by its callback (use `kieframe journal resolve`).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Download the result files of each successful task into this folder.",
)
@click.option(
    "--spool",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep accepted callbacks in this file until handled: answered once on disk, and "
    "handled after a restart if the receiver was killed.",
)
@click.option(
    "--forwarded-allow-ips", metavar="IPS", help="Proxies whose X-Forwarded-* headers to trust."
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
    help="uvicorn's log level.",
)
@connection_options
@_json_option
@click.pass_context
def serve(
    ctx: click.Context,
    /,
    host: str,
    port: int,
    hmac_keys: tuple[str, ...],
    trust_body: bool,
    out: Path | None,
    spool: Path | None,
    forwarded_allow_ips: str | None,
    log_level: str,
    **options: Any,
) -> None:
    """Serve a callback receiver until Ctrl-C; print each finished task.

    Every path answers, so the callBackUrl can be http(s)://HOST:PORT/any/path. Each task is
    re-read from kie.ai before it is trusted (the body is not signed), unless --trust-body.
    With --json, each finished task is one JSON line.
    """
    from .._callbacks._receiver import CallbackReceiver
    from .._callbacks._serve import serve_callbacks

    state: _State = ctx.ensure_object(_State)
    try:  # before serving: a callback's files must have somewhere to go
        if out is not None:
            check_folder(out)
    except DownloadError as error:
        raise click.UsageError(error.message) from None
    connection = _connection(ctx, options)
    with contextlib.ExitStack() as stack:
        client = None if trust_body and out is None else stack.enter_context(connect(connection))

        def handle(record: TaskRecord) -> None:
            files: tuple[Path, ...] = ()
            if out is not None and client is not None and record.succeeded:
                files = client.download(record, to=out)
            if client is not None and (files or record.failed):
                _collected(client, record, files)
            if state.json:
                line = {**record_json(record), "files": [str(path) for path in files]}
                click.echo(json.dumps(line, ensure_ascii=False))
            else:
                _out.print(f"task {record.task_id}: {record.state}")
                for path in files:
                    _out.print(f"saved {path}")

        receiver = CallbackReceiver(
            hmac_key=list(hmac_keys) or None,
            client=client,
            handler=handle,
            reread=not trust_body,
            spool=spool,
        )
        try:
            # uvicorn re-raises the Ctrl-C it handled; stopping a server that way is a success.
            with contextlib.suppress(KeyboardInterrupt):
                serve_callbacks(
                    receiver,
                    host=host,
                    port=port,
                    log_level=log_level,
                    forwarded_allow_ips=forwarded_allow_ips,
                    on_bound=lambda url: state.progress.print(f"receiving callbacks at {url}/"),
                )
        except OSError as error:
            _cannot_listen(host, port, error)
        except SystemExit as stop:  # uvicorn's own exit: the receiver failed to start
            if stop.code not in (None, 0):
                _err.print("error: the callback receiver failed to start (see its log above)")
                raise click.exceptions.Exit(ExitCode.UNEXPECTED) from None
            raise


def _cannot_listen(host: str, port: int, error: OSError) -> NoReturn:
    """A server's address that cannot be bound (taken, not this machine's): a bad setting."""
    reason = error.strerror or str(error)
    raise ConfigurationError(
        f"cannot listen on {host}:{port}: {reason}; give another --port (0 for any free one)"
        if error.errno == errno.EADDRINUSE
        else f"cannot listen on {host}:{port}: {reason}; check --host and --port"
    ) from None


cli.add_command(db)
cli.add_command(importlib.import_module(f"{__package__}._batch").batch)  # after the helpers it uses

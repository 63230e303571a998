"""Reading a batch's input (JSONL or CSV) and validating every line before anything is paid.

JSONL: one object per line, ``{"id": ..., "model": ..., "input": {...}}`` (``model`` may come
from the caller). CSV: a header of the model's field names plus ``id`` (and optionally
``model``); each cell is typed from the model's spec exactly like the command line's ``--set``.
A line without an id gets its line number. In media fields, anything but an http(s) URL is a
local file, relative to the input file's folder, uploaded when the line is sent.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import LineProblem
from .._fields import media_limits
from .._files._local import stage_input
from .._registry import Registry
from .._spec import ModelSpec
from .._text_values import is_url, parse_value
from ..errors import BatchInvalid, InputValidationError, UnknownModelError
from ._records import LineError, LineInput

__all__ = ["BatchInvalid", "LineProblem", "read_lines", "submit_input"]

_JSONL_KEYS = frozenset({"id", "model", "input"})
_CALLBACK_REQUIRED = (
    "the model requires a callback URL, and this run has none: give one with --callback-url"
    " or --listen (callback_url= in Python); a later run with one sends the line"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Raw:
    line: int
    id: str | None
    model: str | None
    input: Mapping[str, Any] | None
    cells: Mapping[str, str] | None = None  # CSV: typed once the model is known
    problem: str | None = None
    #: The id of a line that gives none; the line number unless set (a CSV row's number).
    default_id: str | None = None


def read_lines(
    path: str | os.PathLike[str], *, model: str | None, registry: Registry, callback: bool
) -> tuple[list[LineInput], list[LineProblem]]:
    """Read and validate every line; return the lines (invalid ones carry their error) and all
    problems, each with its line number. Without a ``callback`` URL, a line of a model that
    requires one is a problem: it cannot be sent (until a run gives one)."""
    source = Path(path)
    folder = source.parent
    raws = _read_csv(source, model) if source.suffix.lower() == ".csv" else _read_jsonl(source)
    lines: list[LineInput] = []
    problems: list[LineProblem] = []
    seen: set[str] = set()
    for raw in raws:
        ident = raw.id if raw.id is not None else (raw.default_id or str(raw.line))
        found: list[LineProblem] = []
        if raw.problem is not None:
            found.append(LineProblem(line=raw.line, id=raw.id, field=None, message=raw.problem))
        if ident in seen:
            message = f"the id {ident!r} is used by an earlier line"
            found.append(LineProblem(line=raw.line, id=ident, field="id", message=message))
            ident = f"{ident}#line{raw.line}"  # recorded (as invalid) under an id of its own
        seen.add(ident)
        chosen = raw.model or model
        data: dict[str, Any] = dict(raw.input or {})
        if not found:
            if chosen is None:
                message = "no model: give one in the line or with --model"
                found.append(LineProblem(line=raw.line, id=ident, field="model", message=message))
            else:
                data, errors = _check(registry, chosen, raw, folder, callback=callback)
                found += [
                    LineProblem(line=raw.line, id=ident, field=field, message=message)
                    for field, message in errors
                ]
        error = None
        if found:
            problems += found
            message = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in found)
            error = LineError(type="InputValidationError", message=message)
        lines.append(LineInput(id=ident, line=raw.line, model=chosen, input=data, error=error))
    return lines, problems


def _check(
    registry: Registry, model: str, raw: _Raw, folder: Path, *, callback: bool
) -> tuple[dict[str, Any], list[tuple[str | None, str]]]:
    """The line's JSON-ready input (local paths made absolute) and its problems."""
    try:
        spec = registry.get_model(model)
    except UnknownModelError as error:
        return dict(raw.input or {}), [("model", str(error))]
    if raw.cells is not None:
        by_name = {field.name: field for field in spec.fields}
        data = {key: parse_value(by_name.get(key), text) for key, text in raw.cells.items()}
    else:
        data = dict(raw.input or {})
    ready = {key: _ready(spec, key, value, folder) for key, value in data.items()}
    problems: list[tuple[str | None, str]] = []
    if spec.requires_callback and not callback:
        problems.append(("callback_url", _CALLBACK_REQUIRED))
    try:
        stage_input(spec, submit_input(spec, ready))
    except InputValidationError as error:
        problems += [(problem.field, _text(problem)) for problem in error.problems]
    return ready, problems


def _text(problem: Any) -> str:
    text = str(problem)
    prefix = f"{problem.field}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _ready(spec: ModelSpec[Any], key: str, value: Any, folder: Path) -> Any:
    """A value as stored: a local path in a media field becomes an absolute path string."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and _is_media(spec, key) and not is_url(value):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else folder / path)
    return value


def _is_media(spec: ModelSpec[Any], key: str) -> bool:
    return any(field.name == key and media_limits(field.type) for field in spec.fields)


def submit_input(spec: ModelSpec[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """A stored input as the client takes it: local paths in media fields as :class:`Path`."""
    return {
        key: Path(value) if isinstance(value, str) and _is_media(spec, key) and not is_url(value)
        else value
        for key, value in data.items()
    }  # fmt: skip


@contextlib.contextmanager
def _utf8(path: Path) -> Iterator[None]:
    """Turn a decoding error while reading ``path`` into :class:`BatchInvalid` (no guessing)."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise _not_utf8(path, error) from None


def _not_utf8(path: Path, error: UnicodeDecodeError) -> BatchInvalid:
    """Where ``path`` first stops being UTF-8: its line, byte offset and byte."""
    data = path.read_bytes()  # only on this error: the stream's offsets are a chunk's
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as whole:
        error = whole
    start = error.start
    line = data.count(b"\n", 0, start) + 1
    bad = error.object[start : start + 1].hex()
    excel = ' (in Excel: Save As, "CSV UTF-8")' if path.suffix.lower() == ".csv" else ""
    message = (
        f"{path} is not UTF-8: byte 0x{bad} at byte offset {start} ({error.reason}); save it"
        f" as UTF-8{excel}: kieframe does not guess encodings"
    )
    problem = LineProblem(line=line, id=None, field=None, message=message)
    return BatchInvalid([problem], unreadable=True)


def _read_jsonl(path: Path) -> Iterator[_Raw]:
    # -sig: a BOM (Excel, Notepad) is no data
    with _utf8(path), path.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except (ValueError, RecursionError) as error:
                why = "nested too deeply" if isinstance(error, RecursionError) else error
                yield _Raw(line=number, id=None, model=None, input=None, problem=f"not JSON: {why}")
                continue
            yield _jsonl_line(number, item)


def _jsonl_line(number: int, item: Any) -> _Raw:
    if not isinstance(item, dict):
        return _Raw(line=number, id=None, model=None, input=None, problem="not a JSON object")
    ident = item.get("id")
    ident = str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None
    problem = None
    unknown = sorted(set(item) - _JSONL_KEYS)
    model, data = item.get("model"), item.get("input")
    if unknown:
        problem = f"unknown keys {unknown}: a line holds id, model and input"
    elif "id" in item and ident is None:
        problem = "id must be a string or an integer"
    elif ident is not None and not _is_text(ident):
        problem, ident = f"id {_SURROGATE}", None
    elif model is not None and not isinstance(model, str):
        problem = "model must be a string"
    elif model is not None and not _is_text(model):
        problem, model = f"model {_SURROGATE}", None
    elif not isinstance(data, dict):
        problem = "input must be a JSON object"
    return _Raw(
        line=number,
        id=ident,
        model=model if isinstance(model, str) else None,
        input=data if isinstance(data, dict) else None,
        problem=problem,
    )


_SURROGATE = "holds a lone surrogate (a \\ud800-\\udfff escape), which is no character"


def _is_text(value: str) -> bool:
    """Whether ``value`` is text UTF-8 can hold (JSON's ``"\\ud800"`` decodes to what it cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_csv(path: Path, model: str | None) -> Iterator[_Raw]:
    """The rows under the header, numbered by the file line they start on (the header is 1).

    A row's default id stays its row number (1 for the first row under the header): ids were
    that before rows were numbered by file line, and a resumed batch must find its lines.
    """
    # Excel's "CSV UTF-8" has a BOM; its plain "CSV" is cp1252, refused (see _not_utf8)
    with _utf8(path), path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = _next_row(reader, path) or []
        # Which of two columns of one name would hold the value? (The last did, silently.) Empty
        # names are no columns: Excel ends rows with empty cells.
        repeated = sorted({name for name in header if name and header.count(name) > 1})
        if repeated:
            names = ", ".join(repr(name) for name in repeated)
            message = f"{path} has the column {names} more than once in its header: keep one"
            problem = LineProblem(line=1, id=None, field=None, message=message)
            raise BatchInvalid([problem], unreadable=True)
        row_number = 0
        while True:
            start = reader.line_num + 1
            row = _next_row(reader, path)
            if row is None:
                return
            if not row:  # a blank line
                continue
            row_number += 1
            if len(row) > len(header):
                yield _Raw(
                    line=start,
                    id=None,
                    model=None,
                    input=None,
                    problem="more cells than columns",
                    default_id=str(row_number),
                )
                continue
            cells = {key: value for key, value in zip(header, row, strict=False) if value != ""}
            ident = cells.pop("id", None)
            chosen = cells.pop("model", None) or model
            yield _Raw(
                line=start,
                id=ident,
                model=chosen,
                input={},
                cells=cells,
                default_id=str(row_number),
            )


def _next_row(reader: Any, path: Path) -> list[str] | None:
    """The reader's next row (None at the end); a file it cannot read is :class:`BatchInvalid`."""
    try:
        return next(reader, None)
    except csv.Error as error:  # a cell past the csv module's field size limit
        message = f"{path} cannot be read as CSV: {error}"
        problem = LineProblem(line=reader.line_num, id=None, field=None, message=message)
        raise BatchInvalid([problem], unreadable=True) from None

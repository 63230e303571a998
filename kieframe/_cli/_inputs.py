"""Turn command-line text into a model input: ``--set key=value``, ``--input file.json`` and the
options generated per field (``--prompt``, ``--image-url``, ...).

Text is parsed against the field's declared type, read with ``msgspec.inspect``: ``true``/``false``
for booleans, numbers for number fields, ``null`` where the field allows it; strings stay strings
(``duration=5`` stays ``"5"`` for a field that takes the string ``"5"``). A value that fits no
reading is passed on as text, so that validation reports it against the field's documented limit.
For a media field, anything but an http(s) URL is a local file path, given as a
:class:`pathlib.Path` so that the client uploads it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import msgspec.inspect as mi

from .._fields import is_list_type, media_limits
from .._files._local import is_local
from .._spec import ModelSpec
from .._text_values import media_value, parse_value
from .._validation_describe import describe_type, ordered_choices
from .._validation_types import FieldInfo

__all__ = [
    "FIELD_PREFIX",
    "INPUT_LIMIT",
    "build_input",
    "describe_uploads",
    "field_options",
    "has_option",
    "is_flag",
    "option_name",
    "parse_assignment",
    "parse_value",
    "read_input_file",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A whole createTask body, as in the model docs, is unwrapped to its input.
_REQUEST_KEYS = frozenset({"model", "input", "callBackUrl"})
#: The most ``--input`` reads (16 MiB): inputs are small; files go in media fields as paths.
INPUT_LIMIT = 16 << 20
#: The keyword arguments that carry generated field options into a command's callback.
FIELD_PREFIX = "field__"


def parse_assignment(spec: ModelSpec[Any], assignment: str) -> tuple[str, Any]:
    """Split ``key=value`` and parse the value against the field ``key``."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise click.BadParameter(f"{assignment!r} is not of the form key=value", param_hint="--set")
    by_name = {field.name: field for field in spec.fields}
    return key, parse_value(by_name.get(key), text)


def read_input_file(path: str, *, model: str | None = None) -> dict[str, Any]:
    """Read a JSON input object (``-`` for standard input); a full request body is unwrapped.

    A body for another model than ``model`` is refused: its input was written for that one.
    """
    try:
        data = json.loads(_read_capped(path))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}", param_hint="--input") from None
    except RecursionError:
        raise click.BadParameter(
            f"cannot read {path}: its JSON is nested too deeply", param_hint="--input"
        ) from None
    if isinstance(data, dict) and set(data) <= _REQUEST_KEYS and "input" in data:
        named = data.get("model")
        if model is not None and named is not None and named != model:
            raise click.BadParameter(
                f"{path} is a request for the model {named!r}, not {model!r}: run {named!r}, "
                'or drop its "model" key to send its input to this model',
                param_hint="--input",
            )
        data = data["input"]
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} must hold a JSON object", param_hint="--input")
    return data


def _read_capped(path: str) -> str:
    """The text of ``path`` (``-``: standard input), read up to :data:`INPUT_LIMIT` bytes.

    A named pipe (``--input <(jq ...)``) is read like a file; an endless one (``/dev/zero``) is
    refused once past the limit. A UTF-8 BOM is no data, as in batch files.
    """
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes (a test's): characters, not bytes
            text = sys.stdin.read(INPUT_LIMIT + 1)
            _check_size(path, len(text))
            return text.removeprefix("\ufeff")
        data: bytes = stream.read(INPUT_LIMIT + 1)
    else:
        with Path(path).open("rb") as handle:
            data = handle.read(INPUT_LIMIT + 1)
    _check_size(path, len(data))
    return data.decode("utf-8-sig")


def _check_size(path: str, size: int) -> None:
    if size > INPUT_LIMIT:
        raise click.BadParameter(
            f"{path} is over the limit of {INPUT_LIMIT >> 20} MiB for an input: a model input is"
            " a small JSON object (local media files go in its fields as paths)",
            param_hint="--input",
        )


def build_input(
    spec: ModelSpec[Any],
    *,
    input_file: str | None,
    assignments: Iterable[str],
    field_values: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge the input file, then ``--set``, then the per-field options (the last one wins)."""
    data: dict[str, Any] = read_input_file(input_file, model=spec.id) if input_file else {}
    by_name = {field.name: field for field in spec.fields}
    for key, value in data.items():
        field = by_name.get(key)
        if field is not None and media_limits(field.type) is not None:
            if isinstance(value, list):
                data[key] = [media_value(field.type, item) for item in value]
            elif isinstance(value, str):
                data[key] = media_value(field.type, value)
    data.update(parse_assignment(spec, assignment) for assignment in assignments)
    for key, value in field_values.items():
        if value is None or value == ():
            continue
        field = by_name[key]
        if isinstance(value, tuple):  # a repeated list option: one item each
            data[key] = [item for text in value for item in parse_value(field, text)]
        else:
            data[key] = value if isinstance(value, bool) else parse_value(field, value)
    return data


def describe_uploads(data: Mapping[str, Any]) -> list[str]:
    """One line per local file in an input (``image_urls[1]: cat.png``), at any depth."""
    lines: list[str] = []
    _find_local(data, "", lines)
    return lines


def _find_local(value: Any, path: str, lines: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _find_local(item, f"{path}.{key}" if path else str(key), lines)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_local(item, f"{path}[{index}]", lines)
    elif is_local(value):
        lines.append(f"{path}: {value}")


def option_name(field: FieldInfo) -> str:
    """The option generated for a field: ``image_url`` becomes ``--image-url``."""
    return "--" + field.name.replace("_", "-").lower()


def has_option(field: FieldInfo) -> bool:
    """Whether a field gets an option of its own (else ``--set NAME=VALUE`` sets it)."""
    return bool(_NAME.match(field.name))


def is_flag(field: FieldInfo) -> bool:
    """Whether a field's option is a ``--x/--no-x`` flag (a boolean field)."""
    return _is_bool(field.type)


def field_options(spec: ModelSpec[Any], *, taken: Iterable[str]) -> list[click.Option]:
    """One option per input field whose names are all free; booleans get ``--x/--no-x`` flags.

    A field whose option (or, for a boolean, its ``--no-x``) a command option or an earlier
    field holds gets none: ``--set NAME=VALUE`` sets it.
    """
    taken = set(taken)
    options = []
    for field in spec.fields:
        name = option_name(field)
        names = {name, f"--no-{name[2:]}"} if _is_bool(field.type) else {name}
        if not has_option(field) or names & taken:
            continue
        taken |= names
        limits = media_limits(field.type)
        text = describe_type(field.type)
        if limits is not None:
            text += f"; or a local file ({limits.describe()}), uploaded"
        if not field.required:
            text += f" [default: {json.dumps(field.default)}]"
        decls = [name, FIELD_PREFIX + field.name]
        if _is_bool(field.type):
            decls[0] = f"{name}/--no-{name[2:]}"
            options.append(click.Option(decls, default=None, help=text))
        elif limits is not None and is_list_type(field.type):
            text += "; repeat the option for each item"
            options.append(
                click.Option(decls, multiple=True, default=(), metavar="PATH|URL", help=text)
            )
        else:
            metavar = "PATH|URL" if limits is not None else _metavar(field.type)
            options.append(click.Option(decls, default=None, metavar=metavar, help=text))
    return options


#: What a boolean field's option took as its value before it was a flag, and still takes.
_FLAG_WORDS = ("true", "false", "null")


def flag_words(args: Sequence[str], flags: Mapping[str, str]) -> list[str]:
    """``args`` with a boolean field's ``--x true``, ``--x false`` and ``--x null`` (or
    ``--x=...``) read as ``--x``, ``--no-x`` and ``--set x=null``: the spellings the model pages
    and scripts used while some boolean options took a value. ``flags`` maps each boolean field's
    option to its field name; nothing after ``--`` is touched."""
    end = args.index("--") if "--" in args else len(args)
    words: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        name, equals, value = arg.partition("=")
        if position > end or name not in flags:
            words.append(arg)
            continue
        if not equals and position < end and args[position].lower() in _FLAG_WORDS:
            value, equals = args[position], "="
            position += 1
        word = value.lower() if equals else None
        if word == "true":
            words.append(name)
        elif word == "false":
            words.append(f"--no-{name[2:]}")
        elif word == "null":
            words += ["--set", f"{flags[name]}=null"]
        else:  # the flag alone, or a value it does not take (click says so)
            words.append(arg)
    return words


def _metavar(node: mi.Type) -> str:
    if isinstance(node, mi.Metadata):
        return _metavar(node.type)
    if isinstance(node, mi.UnionType):
        names = [_metavar(member) for member in node.types if member != mi.NoneType()]
        return "|".join(names) if len(names) == 1 else "VALUE"
    if isinstance(node, mi.LiteralType):
        return "[" + "|".join(str(value) for value in ordered_choices(node.values)) + "]"
    if isinstance(node, mi.IntType):
        return "INTEGER"
    if isinstance(node, mi.FloatType):
        return "NUMBER"
    return "TEXT"


def _is_bool(node: mi.Type) -> bool:
    """Whether a field is a boolean: ``bool``, or ``bool | None`` (unset is left out)."""
    while isinstance(node, mi.Metadata):
        node = node.type
    if isinstance(node, mi.UnionType):
        members = [member for member in node.types if member != mi.NoneType()]
        return len(members) == 1 and _is_bool(members[0])
    return isinstance(node, mi.BoolType)

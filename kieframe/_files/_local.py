"""Local inputs: files, bytes and file objects given where a model takes a media URL.

:func:`stage_input` runs before anything is sent: it finds each local input wherever a media field
sits (alone, in a list, in a nested object), reads it, checks its type (from the content) and size
(and, where the field bounds them and the file's header states them, its pixel size, aspect ratio
and duration) against the field's :class:`~kieframe.MediaLimits`, swaps in a placeholder URL and
validates the
whole input, so that one :class:`~kieframe.InputValidationError` lists every problem and a bad
prompt never costs an upload. :func:`put_urls` then puts kie.ai's links where the files were.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import msgspec
import msgspec.inspect as mi

from .._errors import InputValidationError, Problem
from .._fields import HttpUrl, MediaLimits, media_limits
from .._records import Unchecked
from .._spec import ModelSpec
from .._validation_types import input_fields, struct_attributes
from ._file_rules import FileRule, LocalFile, LocalFiles
from ._file_rules import Location as Location  # where a value sits, for _core
from ._probe import UNKNOWN, MediaInfo, probe
from ._sniff import canonical_media_type, sniff

__all__ = [
    "PLACEHOLDER_URL",
    "PendingUpload",
    "Rehost",
    "Staged",
    "describe_size",
    "put_urls",
    "stage_input",
]

logger = logging.getLogger("kieframe")

#: What a local input stands as while the rest of the input is validated.
PLACEHOLDER_URL = "https://upload.kieframe.invalid/pending"


@dataclass(frozen=True, slots=True)
class Rehost:
    """Have kie.ai copy ``url`` to its own file host and use the copy as the input.

    Put it where a model takes an image URL, as ``{"image_url": kieframe.files.Rehost(url)}``: for a
    link that expires, or one kie.ai's models cannot reach directly. kie.ai fetches the file
    (``POST /api/file-url-upload``); its type and size can only be checked from kie.ai's answer,
    so unlike a local file it is checked *after* the copy (a wrong one still creates no task).
    """

    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingUpload:
    """A checked local input waiting to be uploaded into the field at ``field`` (a path).

    Either ``data`` (with its ``sha256``, sniffed ``media_type`` and what its header states,
    ``info``) or a ``source_url`` to rehost. ``location`` is the path as keys and indexes, for
    :func:`put_urls`.
    """

    field: str
    limits: MediaLimits
    label: str
    data: bytes = b""
    sha256: str = ""
    media_type: str = ""
    info: MediaInfo = UNKNOWN
    source_url: str | None = None
    location: Location = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Staged:
    """A validated input (placeholders where local files were), its uploads and unchecked fields."""

    value: msgspec.Struct
    uploads: tuple[PendingUpload, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def is_local(value: object) -> bool:
    """Whether ``value`` is a local input (path, bytes, binary file object, :class:`Rehost`)."""
    if isinstance(value, str):
        return False
    return isinstance(value, PurePath | os.PathLike | bytes | bytearray | memoryview | Rehost) or (
        callable(getattr(value, "read", None))
    )


def describe_size(size: int) -> str:
    """A size for people: ``"812 bytes"``, ``"3.4 KB"``, ``"10.5 MB"``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def stage_input(spec: ModelSpec[Any], data: Any) -> Staged:
    """Validate ``data`` with local inputs checked and replaced by a placeholder URL.

    Returns the validated input (placeholders still in it), the uploads to make and the
    :class:`~kieframe.Unchecked` fields to send as they are. Raises
    :class:`~kieframe.InputValidationError` with every problem, of the files and of the other
    fields, before anything is uploaded.
    """
    if isinstance(data, msgspec.Struct):
        data = {
            name: getattr(data, attribute)
            for name, attribute in struct_attributes(type(data)).items()
        }
    if not isinstance(data, Mapping):
        return Staged(value=spec.validate(data))
    problems: list[Problem] = []
    extra = _unchecked(spec, data, problems)
    if extra or problems:  # Unchecked fields the model lacks: sent as they are, or refused here
        known = {info.name for info in spec.fields}
        data = {k: v for k, v in data.items() if k in known or not isinstance(v, Unchecked)}
    uploads: list[PendingUpload] = []
    try:
        staged = _stage_struct(spec.input_type, data, (), uploads, problems)
    except RecursionError:
        raise InputValidationError(spec.id, [Problem("input", "is nested too deeply")]) from None
    try:
        value = spec.validate(staged)
    except InputValidationError as error:
        raise InputValidationError(spec.id, [*error.problems, *problems]) from None
    problems += _file_problems(spec, value, uploads)
    if problems:
        raise InputValidationError(spec.id, problems)
    if extra:
        logger.warning(
            "%s: sending fields the plugin does not check: %s", spec.id, ", ".join(extra)
        )
    return Staged(value=value, uploads=tuple(uploads), extra=extra)


def _file_problems(
    spec: ModelSpec[Any], value: msgspec.Struct, uploads: list[PendingUpload]
) -> list[Problem]:
    """What the spec's file rules find in the checked local files (rehosted ones are URLs)."""
    rules = [rule for rule in spec.rules if isinstance(rule, FileRule)]
    if not rules:
        return []
    files = LocalFiles(
        {
            upload.location: LocalFile(upload.field, upload.label, len(upload.data), upload.info)
            for upload in uploads
            if upload.source_url is None
        }
    )
    if not files:
        return []
    return [problem for rule in rules for problem in rule.check(value, files)]


def _unchecked(
    spec: ModelSpec[Any], data: Mapping[Any, Any], problems: list[Problem]
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    known = {info.name for info in spec.fields}
    for key, value in data.items():
        if not isinstance(value, Unchecked):
            continue
        if key in known:
            problems.append(
                Problem(str(key), "is a field of this model: give its value, not Unchecked")
            )
            continue
        try:
            # As the body is encoded: a lone surrogate is refused here, naming its field.
            json.dumps({key: value.value}, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except Exception as error:
            problems.append(
                Problem(
                    repr(key)[1:-1],
                    f"Unchecked value cannot be sent as JSON ({type(error).__name__})",
                )
            )
            continue
        extra[key] = value.value
    return extra


def put_urls(data: Mapping[str, Any], urls: Mapping[Location, str]) -> dict[str, Any]:
    """A copy of the ``input`` object with each upload's URL at its location."""
    result: dict[str, Any] = dict(data)
    for location, url in urls.items():
        _put(result, location, url)
    return result


def _put(container: Any, location: Location, url: str) -> None:
    head, rest = location[0], location[1:]
    if not rest:
        container[head] = url
        return
    child = container[head]
    copy = list(child) if isinstance(child, list) else dict(child)
    container[head] = copy
    _put(copy, rest, url)


def _label(location: Location) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@functools.cache
def _media_plan(input_type: type[msgspec.Struct]) -> tuple[tuple[str, mi.Type], ...]:
    """The fields of a Struct that hold media somewhere (alone, in lists, in nested Structs)."""
    return tuple(
        (info.name, info.type) for info in input_fields(input_type) if _holds_media(info.type)
    )


def _holds_media(node: mi.Type, depth: int = 0) -> bool:
    if depth > 20:  # a recursive Struct: deep enough for any input kie.ai takes
        return False
    if media_limits(node) is not None:
        return True
    if isinstance(node, mi.Metadata):
        return _holds_media(node.type, depth)
    if isinstance(node, mi.UnionType):
        return any(_holds_media(member, depth) for member in node.types)
    if isinstance(node, mi.ListType):
        return _holds_media(node.item_type, depth)
    if isinstance(node, mi.StructType):
        return any(_holds_media(field.type, depth + 1) for field in node.fields)
    return False


def _stage_struct(
    input_type: type[msgspec.Struct],
    data: Mapping[Any, Any],
    location: Location,
    uploads: list[PendingUpload],
    problems: list[Problem],
) -> dict[Any, Any]:
    staged = dict(data)
    for name, node in _media_plan(input_type):
        if name in data:
            staged[name] = _stage(node, data[name], (*location, name), uploads, problems)
    return staged


def _stage(
    node: mi.Type,
    value: Any,
    location: Location,
    uploads: list[PendingUpload],
    problems: list[Problem],
) -> Any:
    for member, limits in _options(node, None):
        if limits is not None and isinstance(member, mi.StrType) and is_local(value):
            found = _load(_label(location), limits, value)
            if isinstance(found, Problem):
                problems.append(found)
            else:
                uploads.append(dataclasses.replace(found, location=location))
            return PLACEHOLDER_URL
        if isinstance(member, mi.ListType) and isinstance(value, list | tuple):
            return [
                _stage(member.item_type, item, (*location, index), uploads, problems)
                for index, item in enumerate(value)
            ]
        if isinstance(member, mi.StructType) and isinstance(value, Mapping):
            return _stage_struct(member.cls, value, location, uploads, problems)
    return value


def _options(
    node: mi.Type, limits: MediaLimits | None
) -> Iterator[tuple[mi.Type, MediaLimits | None]]:
    """The members of a (possibly annotated, possibly union) type, each with its media limits."""
    if isinstance(node, mi.Metadata):
        own = media_limits(node) if isinstance(node.type, mi.StrType | mi.Metadata) else None
        yield from _options(node.type, own or limits)
    elif isinstance(node, mi.UnionType):
        for member in node.types:
            yield from _options(member, limits)
    else:
        yield node, limits


def _load(name: str, limits: MediaLimits, value: Any) -> PendingUpload | Problem:
    if isinstance(value, Rehost):
        try:
            msgspec.convert(value.url, HttpUrl)
        except msgspec.ValidationError:
            return Problem(name, f"Rehost({value.url!r}) needs an http(s) URL")
        return PendingUpload(
            field=name, limits=limits, label=f"Rehost({value.url})", source_url=value.url
        )
    if isinstance(value, PurePath | os.PathLike):
        label = f"file {Path(value).name}"
        read = _read_path(name, limits, Path(value))
        if isinstance(read, Problem):
            return read
        content = read
    elif isinstance(value, bytes | bytearray | memoryview):
        label, content = "the given bytes", bytes(value)
    else:
        file_name = getattr(value, "name", None)
        label = (
            f"file {os.path.basename(file_name)}"
            if isinstance(file_name, str)
            else "the file object"
        )
        try:
            chunk = value.read(limits.max_bytes + 1)
        except (OSError, ValueError) as error:
            return Problem(name, f"{label} cannot be read ({error})")
        if not isinstance(chunk, bytes | bytearray):
            return Problem(name, f"{label} must be opened in binary mode ('rb')")
        content = bytes(chunk)
    return _check(name, limits, label, content)


#: Opening a named pipe without a writer must not block: the file is refused instead.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _read_path(name: str, limits: MediaLimits, path: Path) -> bytes | Problem:
    try:
        odd = _not_a_file(path.stat().st_mode)
        if odd is not None:
            return Problem(name, f"{path} is {odd}, not a file")
        # Opened without blocking and checked again: it may have been swapped since.
        with open(os.open(path, os.O_RDONLY | _NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            odd = _not_a_file(info.st_mode)
            if odd is not None:
                return Problem(name, f"{path} is {odd}, not a file")
            if info.st_size > limits.max_bytes:
                message = f"file {path.name} is {info.st_size:,} bytes"
                return Problem(name, message, limits.describe())
            return handle.read(limits.max_bytes + 1)
    except FileNotFoundError:
        return Problem(name, f"file {path} does not exist")
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        return Problem(name, f"file {path} cannot be read ({reason})")


def _not_a_file(mode: int) -> str | None:
    """What a path is when it is not a regular file (whose reading could block or never end)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def _check(name: str, limits: MediaLimits, label: str, content: bytes) -> PendingUpload | Problem:
    if not content:
        return Problem(name, f"{label} is empty", limits.describe())
    if len(content) > limits.max_bytes:
        # Only max_bytes + 1 bytes were read: the exact size is unknown, "more than" is not.
        return Problem(name, f"{label} is over {limits.max_bytes:,} bytes", limits.describe())
    media_type = sniff(content)
    accepted = {canonical_media_type(item) for item in limits.media_types}
    if media_type is None or media_type not in accepted:
        kind = media_type or f"not a recognised {limits.kind} file"
        return Problem(name, f"{label} is {kind}", limits.describe())
    info = probe(content, media_type)
    breach = out_of_bounds(limits, info)
    if breach is not None:
        return Problem(name, f"{label} {breach}", limits.describe())
    return PendingUpload(
        field=name,
        limits=limits,
        label=label,
        data=content,
        sha256=hashlib.sha256(content).hexdigest(),
        media_type=media_type,
        info=info,
    )


def out_of_bounds(limits: MediaLimits, info: MediaInfo) -> str | None:
    """What breaks the bounds of ``limits`` in a file's ``info`` (``"is 120x90 px"``), else None.

    What the header does not state is not checked.
    """
    if info.width is not None and info.height is not None:
        width, height = info.width, info.height
        size = f"is {width}x{height} px"
        if not _within(width, limits.min_width, limits.max_width):
            return size
        if not _within(height, limits.min_height, limits.max_height):
            return size
        if not _within(width * height, limits.min_pixels, limits.max_pixels):
            return f"{size} ({width * height:,} pixels)"
        if not _within(width / height, limits.min_aspect, limits.max_aspect, slack=1e-9):
            return f"{size} (width/height {width / height:.3g})"
    if info.duration is not None and not _within(
        info.duration, limits.min_duration, limits.max_duration, slack=1e-6
    ):
        return f"lasts {info.duration:.3g} s"
    if info.fps is not None and not _within(info.fps, limits.min_fps, limits.max_fps, slack=2e-3):
        return f"runs at {info.fps:.3g} fps"
    return None


def _within(value: float, low: float | None, high: float | None, *, slack: float = 0.0) -> bool:
    return (low is None or value >= low * (1 - slack)) and (
        high is None or value <= high * (1 + slack)
    )

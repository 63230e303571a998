"""Local inputs: files, bytes and file objects given where a model takes an image URL.

:func:`stage_input` runs before anything is sent: it reads each local input, checks its type (from
the content) and size against the field's :class:`~kieframe.MediaLimits`, swaps in a placeholder
URL and validates the whole input, so that one :class:`~kieframe.InputValidationError` lists every
problem and a bad prompt never costs an upload.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import msgspec

from .._errors import InputValidationError, Problem
from .._fields import HttpUrl, MediaLimits
from .._spec import MediaField, ModelSpec
from ._sniff import sniff

__all__ = ["PLACEHOLDER_URL", "PendingUpload", "Rehost", "describe_size", "stage_input"]

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
    """A checked local input waiting to be uploaded into ``field``.

    Either ``data`` (with its ``sha256`` and sniffed ``media_type``) or a ``source_url`` to rehost.
    """

    field: str
    limits: MediaLimits
    label: str
    data: bytes = b""
    sha256: str = ""
    media_type: str = ""
    source_url: str | None = None


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


def stage_input(
    spec: ModelSpec[Any], data: Mapping[str, Any] | msgspec.Struct
) -> tuple[msgspec.Struct, tuple[PendingUpload, ...]]:
    """Validate ``data`` with local inputs checked and replaced by a placeholder URL.

    Returns the validated input (placeholders still in it) and the uploads to make. Raises
    :class:`~kieframe.InputValidationError` with every problem, of the files and of the other
    fields, before anything is uploaded.
    """
    if isinstance(data, msgspec.Struct):
        data = {
            field.encode_name: getattr(data, field.name) for field in msgspec.structs.fields(data)
        }
    if not isinstance(data, Mapping):
        return spec.validate(data), ()
    staged = dict(data)
    uploads: list[PendingUpload] = []
    problems: list[Problem] = []
    for media in spec.media_fields:
        value = data.get(media.name)
        if not is_local(value):
            continue
        staged[media.name] = PLACEHOLDER_URL
        found = _load(media, value)
        if isinstance(found, Problem):
            problems.append(found)
        else:
            uploads.append(found)
    try:
        value = spec.validate(staged)
    except InputValidationError as error:
        raise InputValidationError(spec.id, [*error.problems, *problems]) from None
    if problems:
        raise InputValidationError(spec.id, problems)
    return value, tuple(uploads)


def _load(media: MediaField, value: Any) -> PendingUpload | Problem:
    limits = media.limits
    if isinstance(value, Rehost):
        try:
            msgspec.convert(value.url, HttpUrl)
        except msgspec.ValidationError:
            return Problem(media.name, f"Rehost({value.url!r}) needs an http(s) URL")
        return PendingUpload(
            field=media.name, limits=limits, label=f"Rehost({value.url})", source_url=value.url
        )
    if isinstance(value, PurePath | os.PathLike):
        label = f"file {Path(value).name}"
        read = _read_path(media, Path(value), limits.max_bytes + 1)
        if isinstance(read, Problem):
            return read
        content = read
    elif isinstance(value, bytes | bytearray | memoryview):
        label, content = "the given bytes", bytes(value)
    else:
        name = getattr(value, "name", None)
        label = f"file {os.path.basename(name)}" if isinstance(name, str) else "the file object"
        try:
            chunk = value.read(limits.max_bytes + 1)
        except OSError as error:
            return Problem(media.name, f"{label} cannot be read ({error})")
        if not isinstance(chunk, bytes | bytearray):
            return Problem(media.name, f"{label} must be opened in binary mode ('rb')")
        content = bytes(chunk)
    return _check(media, label, content)


def _read_path(media: MediaField, path: Path, at_most: int) -> bytes | Problem:
    try:
        if path.is_dir():
            return Problem(media.name, f"{path} is a folder, not a file")
        size = path.stat().st_size
        if size > media.limits.max_bytes:
            message = f"file {path.name} is {size:,} bytes"
            return Problem(media.name, message, media.limits.describe())
        with path.open("rb") as handle:
            return handle.read(at_most)
    except FileNotFoundError:
        return Problem(media.name, f"file {path} does not exist")
    except OSError as error:
        return Problem(media.name, f"file {path} cannot be read ({error.strerror or error})")


def _check(media: MediaField, label: str, content: bytes) -> PendingUpload | Problem:
    limits = media.limits
    if not content:
        return Problem(media.name, f"{label} is empty", limits.describe())
    if len(content) > limits.max_bytes:
        # Only max_bytes + 1 bytes were read: the exact size is unknown, "more than" is not.
        return Problem(media.name, f"{label} is over {limits.max_bytes:,} bytes", limits.describe())
    media_type = sniff(content)
    if media_type not in limits.media_types:
        kind = media_type or "not a recognised image"
        return Problem(media.name, f"{label} is {kind}", limits.describe())
    return PendingUpload(
        field=media.name,
        limits=limits,
        label=label,
        data=content,
        sha256=hashlib.sha256(content).hexdigest(),
        media_type=media_type,
    )

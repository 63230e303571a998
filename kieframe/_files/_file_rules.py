"""Rules on the local files of an input: totals across files, sizes that must match, by field.

A :class:`FileRule` is a cross-field rule that also sees what the local files given in the input
are: their size in bytes and what their headers state (pixel size, duration). It runs before
anything is uploaded, once every field passed its own limits, and its problems are reported in the
same :class:`~kieframe.InputValidationError`. URLs are never fetched, so a rule sees only the local
files; a value a header does not state is unknown, and a rule does not refuse on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import Problem
from ._probe import MediaInfo

__all__ = ["FileRule", "LocalFile", "LocalFiles"]

#: Where a value sits in an input: keys of objects and indexes of lists.
Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A local file given in an input: where it sits, how it is named, its size and header facts.

    ``field`` is its path (``"reference_audio_urls[1]"``), ``label`` how problems name it
    (``"file voice.wav"``), ``size`` its length in bytes and ``info`` what its header states.
    """

    field: str
    label: str
    size: int
    info: MediaInfo


class LocalFiles(Mapping[Location, LocalFile]):
    """The local files of one input, by where they sit (keys of objects and list indexes)."""

    __slots__ = ("_files",)

    def __init__(self, files: Mapping[Location, LocalFile]) -> None:
        self._files = dict(files)

    def __getitem__(self, location: Location) -> LocalFile:
        return self._files[location]

    def __iter__(self) -> Iterator[Location]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def at(self, path: str) -> tuple[LocalFile, ...]:
        """The local files in the top-level field ``path``: the field itself or its list's items.

        Files in nested objects are found by their full location instead.
        """
        return tuple(
            file
            for location, file in self._files.items()
            if location[0] == path
            and (len(location) == 1 or (len(location) == 2 and isinstance(location[1], int)))
        )


@dataclass(frozen=True, slots=True)
class FileRule:
    """A cross-field rule that sees the input's local files; give it in ``ModelSpec(rules=...)``.

    ``check`` takes the validated input and its :class:`LocalFiles` and yields a
    :class:`~kieframe.Problem` per breach. It runs once, when an input with local files is staged
    for upload (``Client.submit``, ``run``, batches). An input without local files has nothing
    for it to check (a URL's file is kie.ai's to check), so as an ordinary rule
    (``ModelSpec.validate``) it finds nothing.
    """

    check: Callable[[Any, LocalFiles], Iterable[Problem]]

    def __call__(self, value: Any) -> Iterable[Problem]:
        """Nothing: without local files there is nothing to check (see the class)."""
        return ()

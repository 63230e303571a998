"""What adding a file's lines to a batch does to each line: the one decision every store makes.

Pure (no I/O): a store reads what it knows of its lines, asks :func:`plan_intake`, and writes
the :class:`Intake` it gets back in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._records import LineStatus

if TYPE_CHECKING:
    from ._records import LineError, LineInput

__all__ = ["IN_FLIGHT", "UNSENT", "Intake", "Known", "Placed", "plan_intake"]

#: A line in these states may have made a task that is not settled: its input is never replaced.
IN_FLIGHT = frozenset({LineStatus.SENDING, LineStatus.UNCERTAIN, LineStatus.ACCEPTED})
#: A line in these states was never sent: each reading of the file judges it again (a line
#: invalid only for want of a callback URL, or a local file since found, is sent again; a line
#: still invalid, but for another reason, says the new one).
UNSENT = frozenset({LineStatus.PENDING, LineStatus.INVALID})


@dataclass(frozen=True, slots=True)
class Known:
    """What a store knows of a line already in the batch."""

    digest: str
    status: LineStatus
    seq: int
    line: int
    #: Why the line is ``invalid`` (None for the other states, or when the store did not say).
    error: LineError | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    """A line to write whole, at its place in the file, in its first status."""

    seq: int
    line: LineInput
    status: LineStatus  # pending, or invalid for a line that failed validation


@dataclass(frozen=True, slots=True, kw_only=True)
class Intake:
    """What to write for a file's lines (see :func:`plan_intake`)."""

    inserts: tuple[Placed, ...] = ()  # lines new to the batch
    resets: tuple[Placed, ...] = ()  # changed lines replaced: back to the start, new input
    moves: tuple[tuple[str, int, int], ...] = ()  # (id, seq, line) of known lines that moved
    changed: tuple[str, ...] = ()  # changed lines left as they were (reported to the caller)


def plan_intake(known: Mapping[str, Known], lines: Sequence[LineInput], *, replace: bool) -> Intake:
    """What recording ``lines`` (in file order, ids unique) in a batch holding ``known`` does.

    A new line is inserted; a known line with the same input only takes its new place, unless it
    was never sent (:data:`UNSENT`) and this reading judges it otherwise (another status, or
    invalid for another reason): then it starts again, pending or invalid as it now reads (with
    the new reason); a known line whose input changed is reported in
    ``changed``, unless ``replace`` and it is not in flight (:data:`IN_FLIGHT`): then it starts
    again with its new input (and is paid again).
    """
    inserts: list[Placed] = []
    resets: list[Placed] = []
    moves: list[tuple[str, int, int]] = []
    changed: list[str] = []
    for seq, line in enumerate(lines):
        status = LineStatus.INVALID if line.error is not None else LineStatus.PENDING
        old = known.get(line.id)
        if old is None:
            inserts.append(Placed(seq, line, status))
        elif old.digest == line.digest and old.status in UNSENT and _judged_again(old, line):
            resets.append(Placed(seq, line, status))
        elif old.digest == line.digest:
            if (old.seq, old.line) != (seq, line.line):
                moves.append((line.id, seq, line.line))
        elif replace and old.status not in IN_FLIGHT:
            resets.append(Placed(seq, line, status))
        else:
            changed.append(line.id)
    return Intake(
        inserts=tuple(inserts), resets=tuple(resets), moves=tuple(moves), changed=tuple(changed)
    )


def _judged_again(old: Known, line: LineInput) -> bool:
    """Whether this reading of a never-sent line differs from the last: its status or its error."""
    if line.error is None:
        return old.status != LineStatus.PENDING
    return old.status != LineStatus.INVALID or old.error != line.error

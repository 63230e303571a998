"""The client's journal hook writing to the batch store: ``sending`` just before a create leaves.

A line is marked ``sending`` (durably) right before its create leaves (after its local files are
uploaded); a line left ``sending`` by a dead runner becomes ``uncertain`` and is never resent on
its own.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._records import LineStatus
from ._store import BatchStore, StaleTransition, StoredLine, fail_fast

__all__ = ["Claim", "LineJournal", "current_claim"]

logger = logging.getLogger("kieframe")


@dataclass(slots=True)
class Claim:
    """The line a task is sending, whose owner, and whether its create has left.

    ``accepted`` is the line as the journal wrote it ``accepted`` (None until it did).
    """

    line: str
    owner: str
    callback_url: str | None
    sent: bool = False
    accepted: StoredLine | None = None


#: The line the current task (or a thread copied from its context) is sending.
current_claim: contextvars.ContextVar[Claim] = contextvars.ContextVar("kieframe_batch_claim")


class LineJournal:
    """The client's journal (a :class:`~kieframe.SubmissionLog`) writing to the batch store.

    The client calls it from the line's own task (or a thread copied from its context), so the
    line is found in a context variable. Outcomes other than acceptance are written by the runner,
    which knows the error; an interrupted create stays ``sending`` and becomes ``uncertain``.
    """

    def __init__(self, store: BatchStore) -> None:
        self._store = store

    def begin(self, *, model: str, input: Mapping[str, Any], host: str | None = None) -> int:
        claim = current_claim.get()
        with fail_fast():  # a create leaves now or not at all: never after an outage
            self._store.transition(
                claim.line,
                expect=LineStatus.CLAIMED,
                to=LineStatus.SENDING,
                owner=claim.owner,
                sent_input=dict(input),
                sent_at=time.time(),
                callback_url=claim.callback_url,
            )
        claim.sent = True
        return 0

    def accepted(self, entry: int, *, task_id: str) -> None:
        claim = current_claim.get()
        try:
            claim.accepted = self._store.transition(
                claim.line,
                expect=LineStatus.SENDING,
                to=LineStatus.ACCEPTED,
                owner=claim.owner,
                task_id=task_id,
            )
        except StaleTransition as stale:  # its callback settled it first, or the lease ran
            logger.info("%s", stale)  # out: the runner settles it with the task id if need be

    def rejected(self, entry: int, *, reason: str) -> None:
        """Written by the runner, with the typed error."""

    def uncertain(self, entry: int, *, reason: str) -> None:
        """Written by the runner; an interrupted create stays ``sending`` (then ``uncertain``)."""

    def finished(
        self, task_id: str, *, succeeded: bool, detail: str | None = None, host: str | None = None
    ) -> None:
        """Written by the runner."""

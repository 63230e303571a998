"""Callbacks that name a batch's lines: the submission id in the callback URL, and settling by it.

An ``uncertain`` line is settled when a callback names its submission (kie.ai echoes the
create's ``callBackUrl``, query string included, in the record's ``param``), and the attempt
that is in flight: a line sent again (a retry) gets a callback URL of its own, so a late
callback of its earlier task never settles it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from .._records import TaskRecord
from ._records import LineStatus
from ._store import BatchStore, StaleTransition

__all__ = [
    "ATTEMPT_PARAM",
    "SUBMISSION_PARAM",
    "settle_handler",
    "submission_of",
    "submission_url",
]

logger = logging.getLogger("kieframe")

#: The query parameter of the callback URL that carries a line's submission id.
SUBMISSION_PARAM = "kieframe_submission"
#: The query parameter of the callback URL that tells a line's attempts apart.
ATTEMPT_PARAM = "kieframe_attempt"

_SETTLED_FROM = (LineStatus.UNCERTAIN, LineStatus.SENDING)


def submission_url(callback_url: str, batch_id: str, line_id: str) -> str:
    """``callback_url`` with the line's submission id, and a new attempt id, in its query string."""
    joiner = "&" if urlsplit(callback_url).query else "?"
    query = urlencode({SUBMISSION_PARAM: f"{batch_id}:{line_id}", ATTEMPT_PARAM: uuid.uuid4().hex})
    return f"{callback_url}{joiner}{query}"


def _param(url: object, name: str) -> str | None:
    """The value of the query parameter ``name`` of ``url`` (None if none, or not a URL)."""
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def submission_of(record: TaskRecord) -> tuple[str, str] | None:
    """The (batch id, line id) a task's record names in its echoed ``callBackUrl``, if any."""
    value = _param((record.param or {}).get("callBackUrl"), SUBMISSION_PARAM)
    if value is None:
        return None
    batch, sep, line = value.partition(":")
    return (batch, line) if sep else None


def settle_handler(
    store: BatchStore, *, on_settled: Callable[[str], None] | None = None
) -> Callable[[TaskRecord], None]:
    """A callback handler settling this batch's ``uncertain`` lines from their callbacks.

    Pass it as ``handler=`` to a :class:`~kieframe.CallbackReceiver` (which re-reads each record
    from kie.ai before the handler sees it). It relies on kie.ai echoing the create's
    ``callBackUrl``, query string included, in the task's ``param``. ``on_settled`` is called
    with the id of each line it settles (the runner then follows the line at once).
    """
    batch_id = store.batch_id

    def settle(record: TaskRecord) -> None:
        found = submission_of(record)
        if found is None or found[0] != batch_id:
            return
        # A line still ``sending`` is settled too: its worker may have died with the create in
        # flight (if it lives, it finds the line accepted when the create's answer comes). Read
        # first: most callbacks are of lines accepted already, and a read takes no write lock.
        line = next((line for line in store.lines(_SETTLED_FROM) if line.id == found[1]), None)
        if line is None:  # settled already, or not waiting for a task
            return
        echoed = _param((record.param or {}).get("callBackUrl"), ATTEMPT_PARAM)
        if line.callback_url is not None and _param(line.callback_url, ATTEMPT_PARAM) != echoed:
            logger.info(
                "the callback of task %s is of an earlier attempt of line %s: not settled by it",
                record.task_id,
                line.id,
            )
            return
        with contextlib.suppress(StaleTransition):  # settled meanwhile: nothing to do
            store.transition(
                found[1],
                expect=_SETTLED_FROM,
                to=LineStatus.ACCEPTED,
                task_id=record.task_id,
                error=None,
            )
            logger.info("line %s settled by the callback of task %s", found[1], record.task_id)
            if on_settled is not None:
                on_settled(found[1])

    return settle

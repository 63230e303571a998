"""Callbacks that name a batch's lines: the submission id in the callback URL, and settling by it.

An ``uncertain`` line is settled when a callback names its submission (kie.ai echoes the
create's ``callBackUrl``, query string included, in the record's ``param``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from .._records import TaskRecord
from ._records import LineStatus
from ._store import BatchStore, StaleTransition

__all__ = ["SUBMISSION_PARAM", "settle_handler", "submission_of", "submission_url"]

logger = logging.getLogger("kieframe")

#: The query parameter of the callback URL that carries a line's submission id.
SUBMISSION_PARAM = "kieframe_submission"


def submission_url(callback_url: str, batch_id: str, line_id: str) -> str:
    """``callback_url`` with the line's submission id in its query string."""
    joiner = "&" if urlsplit(callback_url).query else "?"
    return f"{callback_url}{joiner}{urlencode({SUBMISSION_PARAM: f'{batch_id}:{line_id}'})}"


def submission_of(record: TaskRecord) -> tuple[str, str] | None:
    """The (batch id, line id) a task's record names in its echoed ``callBackUrl``, if any."""
    url = (record.param or {}).get("callBackUrl")
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get(SUBMISSION_PARAM)
    if not values:
        return None
    batch, sep, line = values[0].partition(":")
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
        # flight (if it lives, it finds the line accepted when the create's answer comes).
        with contextlib.suppress(StaleTransition):  # settled already: nothing to do
            store.transition(
                found[1],
                expect=(LineStatus.UNCERTAIN, LineStatus.SENDING),
                to=LineStatus.ACCEPTED,
                task_id=record.task_id,
                error=None,
            )
            logger.info("line %s settled by the callback of task %s", found[1], record.task_id)
            if on_settled is not None:
                on_settled(found[1])

    return settle

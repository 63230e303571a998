"""Batch runs: thousands of generations from a JSONL or CSV file, resumable, never paid twice.

::

    import kieframe.batch

    result = kieframe.batch.run("prompts.jsonl", out="videos", confirm=lambda preview: True)
    for line in result.records:
        print(line.id, line.status, [f.path for f in line.files])

The batch's state lives in a :class:`BatchStore` (by default SQLite, ``batch.sqlite3`` in the
output folder; with ``state="postgresql://..."``, a database where several workers, on any
machines, run one batch together: see :class:`kieframe.postgres.PostgresBatchStore`). Running
the same batch again continues where it stopped: finished lines are skipped, accepted tasks are
waited for and downloaded, and a create that may have reached kie.ai without an answer is never
resent on its own; it is listed (:func:`to_reconcile`) and settled when its callback arrives, or
by :func:`resolve`. ``manifest.jsonl`` in the output folder holds one :class:`LineRecord` per
input line, in input order.
"""

from __future__ import annotations

from ._batch._api import read_records, resolve, run, status, to_reconcile
from ._batch._lines import BatchInvalid, LineProblem
from ._batch._manifest import MANIFEST, SUMMARY
from ._batch._plan import Preview, WaitMode
from ._batch._records import (
    BatchStatus,
    FileEntry,
    LineError,
    LineInput,
    LineRecord,
    LineStatus,
    Reconcile,
)
from ._batch._run import STATE_FILE, BatchCancelled, BatchResult, run_async
from ._batch._runner import BatchConflict, RetryClass
from ._batch._settle import SUBMISSION_PARAM, settle_handler
from ._batch._store import (
    BatchBusy,
    BatchStore,
    SQLiteBatchStore,
    StaleTransition,
    StoredLine,
)

__all__ = [
    "MANIFEST",
    "STATE_FILE",
    "SUBMISSION_PARAM",
    "SUMMARY",
    "BatchBusy",
    "BatchCancelled",
    "BatchConflict",
    "BatchInvalid",
    "BatchResult",
    "BatchStatus",
    "BatchStore",
    "FileEntry",
    "LineError",
    "LineInput",
    "LineProblem",
    "LineRecord",
    "LineStatus",
    "Preview",
    "Reconcile",
    "RetryClass",
    "SQLiteBatchStore",
    "StaleTransition",
    "StoredLine",
    "WaitMode",
    "read_records",
    "resolve",
    "run",
    "run_async",
    "settle_handler",
    "status",
    "to_reconcile",
]

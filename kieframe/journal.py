"""The submission journal: every create written down before it is sent, and its outcome after.

Pass a path (or any :class:`SubmissionLog`) to a client as ``journal=...``; after a crash,
:meth:`Journal.unfinished` lists the creates to collect or reconcile.
"""

from __future__ import annotations

from ._journal import Journal, JournalEntry, JournalStatus, SubmissionLog

__all__ = ["Journal", "JournalEntry", "JournalStatus", "SubmissionLog"]

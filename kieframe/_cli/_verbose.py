"""``-v``/``--verbose``: the requests a command sends and the retries it makes, on stderr.

Requests are httpx's own log lines (method, URL, status: never a header, so never the key);
retries are one line each from stamina's retry hook, after the request they repeat, with the
attempt, the pause and the error. Without ``-v`` both stay silent.
"""

from __future__ import annotations

import logging
import sys

import stamina.instrumentation

__all__ = ["log_activity"]

_LOGGERS = ("kieframe", "httpx")


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    error = details.caused_by
    logging.getLogger("kieframe").info(
        "retrying the request above in %.1f s (attempt %d) after %s: %s",
        details.wait_for,
        details.retry_num + 1,
        type(error).__name__,
        error,
    )


def log_activity(verbosity: int) -> None:
    """Route retries to the ``kieframe`` logger; with ``verbosity`` > 0, print it and httpx's."""
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)

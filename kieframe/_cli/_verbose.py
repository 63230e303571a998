"""``-v``/``--verbose``: the requests a command sends and the retries it makes, on stderr.

Requests are httpx's own log lines (method, URL, status: never a header, so never the key);
retries are one line each from stamina's retry hook, after the request they repeat, with the
attempt, the pause and the error. Without ``-v`` both stay silent, and of kieframe's own log
only errors show.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

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


class _Brief(logging.Formatter):
    """``logger: message``, without tracebacks: the command line reports errors itself."""

    def formatException(self, ei: object) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


def log_activity(verbosity: int) -> Callable[[], None]:
    """Print kieframe's errors on stderr; with ``verbosity`` > 0 its activity and httpx's too.

    Without ``-v`` only errors show (say, a task created but not journaled): warnings such as
    "wait interrupted" repeat what the command itself prints. Returns the function that puts the
    loggers and stamina's retry hooks back as they were: a command run in-process (a test, an
    embedding program) leaves the global logging state as it found it.
    """
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Brief("%(name)s: %(message)s"))
    level = logging.ERROR if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    saved: list[tuple[logging.Logger, int, bool]] = []
    for name in _LOGGERS if verbosity > 0 else _LOGGERS[:1]:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # printed once, here

    def restore() -> None:
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate
        stamina.instrumentation.set_on_retry_hooks(hooks)

    return restore

"""``-v``/``--verbose``: the requests a command sends and the retries it makes, on stderr.

Requests are httpx's own log lines (method, URL, status: never a header, so never the key);
retries are one line each from stamina's retry hook, after the request they repeat, with the
attempt, the pause and the error. ``-vv`` adds the connection trace (httpcore's debug lines:
connects, TLS, each request's steps, the response headers) and kieframe's debug lines. Without
``-v`` all stay silent, and of kieframe's own log only errors show.

Every line passes a filter that masks the secrets the command may hold (the API key and webhook
keys from the environment and the config file, and a webhook key given on the command line) and
any ``Bearer`` credential: httpcore logs no request header today, and a later version that did
must not print the key.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

import stamina.instrumentation

__all__ = ["log_activity", "mask"]

_LOGGERS = ("kieframe", "httpx")
#: Logged at ``-vv`` only: the connection trace.
_WIRE = ("httpcore",)
_MASK = "********"
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;)\]]+")


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


class _Redact(logging.Filter):
    """Masks the secrets, and any ``Bearer`` credential, in every record's message.

    ``secrets`` is called at the first record: a command that logs nothing looks for none.
    :func:`mask` adds a command's own (an ``--hmac-key`` on its command line).
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._find = secrets
        self._added: frozenset[str] = frozenset()
        self._secrets: list[str] | None = None

    def add(self, secrets: Iterable[str]) -> None:
        self._added |= set(secrets)
        self._secrets = None  # found again, with these, at the next record

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if secrets is None:  # longest first: one that contains another is masked whole
            found = {secret for secret in (*self._find(), *self._added) if len(secret) >= 4}
            secrets = self._secrets = sorted(found, key=len, reverse=True)
        message = record.getMessage()
        masked = message
        for secret in secrets:
            masked = masked.replace(secret, _MASK)
        masked = _BEARER.sub(rf"\g<1>{_MASK}", masked)
        if masked != message:
            record.msg, record.args = masked, None
        return True


#: The filters of the handlers :func:`log_activity` set up and has not put back yet.
_ACTIVE: list[_Redact] = []


def mask(*secrets: str) -> None:
    """Mask ``secrets`` too in every line logged from now on (a command's own ``--hmac-key``)."""
    for redact in list(_ACTIVE):
        redact.add(secret.strip() for secret in secrets)


def _known_secrets() -> list[str]:
    """The secrets a command may hold: the API key and webhook keys of the environment and the
    config file (the command's own options come through :func:`mask`)."""
    from .._config import ENV_KEY, config_path, read_config
    from .._errors import ConfigurationError

    found = [os.environ.get(ENV_KEY, "").strip()]
    found += os.environ.get("KIE_WEBHOOK_HMAC_KEY", "").split()
    try:
        key = read_config(config_path(), check_keys=False).get("api_key")
    except ConfigurationError:  # broken: the command reports that
        key = None
    if isinstance(key, str):
        found.append(key.strip())
    return found


def log_activity(
    verbosity: int, *, stream: TextIO | None = None, secrets: Iterable[str] | None = None
) -> Callable[[], None]:
    """Print kieframe's errors on stderr; with ``verbosity`` > 0 its activity and httpx's too,
    and with 2 or more the connection trace (httpcore) and debug lines.

    Without ``-v`` only errors show (say, a task created but not journaled): warnings such as
    "wait interrupted" repeat what the command itself prints. ``secrets`` (default: the API key
    and webhook keys of the environment and the config file), and those the command passes to
    :func:`mask` later, are masked in every line, as is any ``Bearer`` credential. Returns the
    function that puts the loggers and stamina's retry hooks back as they were: a command run
    in-process (a test, an embedding program) leaves the global logging state as it found it.
    """
    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(_Brief("%(name)s: %(message)s"))
    given = None if secrets is None else tuple(secrets)
    redact = _Redact(_known_secrets if given is None else lambda: given)
    handler.addFilter(redact)
    _ACTIVE.append(redact)
    level = logging.ERROR if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    saved: list[tuple[logging.Logger, int, bool]] = []
    names = _LOGGERS[:1] if verbosity <= 0 else _LOGGERS if verbosity == 1 else _LOGGERS + _WIRE
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # printed once, here

    def restore() -> None:
        _ACTIVE.remove(redact)
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate
        stamina.instrumentation.set_on_retry_hooks(hooks)

    return restore

"""Every exception kieframe raises, drawn by one question: did kie.ai answer?

The errors people catch most are also importable from :mod:`kieframe` itself. See
``docs/errors.md`` for the tree and for what kieframe retries on its own.
"""

from __future__ import annotations

from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CallbackError,
    CallbackMalformedError,
    CallbackSignatureError,
    CallbackStaleError,
    CallbackTooLargeError,
    ConfigurationError,
    DatabaseUnavailable,
    DownloadError,
    InputValidationError,
    InsufficientCreditsError,
    JournalError,
    KieError,
    NoAnswerError,
    NotFoundError,
    PluginError,
    Problem,
    RateLimitError,
    ServerError,
    SubmissionUncertain,
    TaskFailed,
    UnknownModelError,
    WaitTimeout,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CallbackError",
    "CallbackMalformedError",
    "CallbackSignatureError",
    "CallbackStaleError",
    "CallbackTooLargeError",
    "ConfigurationError",
    "DatabaseUnavailable",
    "DownloadError",
    "InputValidationError",
    "InsufficientCreditsError",
    "JournalError",
    "KieError",
    "NoAnswerError",
    "NotFoundError",
    "PluginError",
    "Problem",
    "RateLimitError",
    "ServerError",
    "SubmissionUncertain",
    "TaskFailed",
    "UnknownModelError",
    "WaitTimeout",
]

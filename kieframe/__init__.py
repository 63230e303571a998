"""kieframe: a typed, plugin-based client for kie.ai's asynchronous media-generation API.

The names here are the everyday ones: the clients, the task records, the model registry's
look-ups and the errors people catch. The rest lives in public submodules, imported on first use:

- :mod:`kieframe.errors`: the whole exception tree;
- :mod:`kieframe.lifecycle`: client options (:class:`~kieframe.PollPlan`,
  :class:`~kieframe.RateLimits`, update hooks, default hosts);
- :mod:`kieframe.callbacks`: receiving kie.ai's callbacks;
- :mod:`kieframe.journal`: the submission journal;
- :mod:`kieframe.files`: :class:`~kieframe.Rehost` and download progress;
- :mod:`kieframe.registry`: plugin registries and what they loaded;
- :mod:`kieframe.postgres`: one database shared by every process (the ``postgres`` extra);
- :mod:`kieframe.batch`: batch runs from a JSONL or CSV file, resumable, never paid twice;
- :mod:`kieframe.authoring` and :mod:`kieframe.hookspecs`: writing a model plugin;
- :mod:`kieframe.testing`: the kie.ai emulator, strategies and the plugin contract.

``import kieframe`` stays cheap: the clients (and httpx) load on first use of ``kieframe.Client``.
Every public exception is also reachable as ``kieframe.<Name>`` (its ``__module__``), and so are
the names that were top-level before 0.2, without a warning.
"""

from __future__ import annotations

import importlib
import logging
import typing

from ._errors import (
    APIError,
    AuthenticationError,
    DownloadError,
    InputValidationError,
    InsufficientCreditsError,
    KieError,
    NoAnswerError,
    RateLimitError,
    SubmissionUncertain,
    TaskFailed,
    UnknownModelError,
    WaitTimeout,
)
from ._records import RawInput, Result, Task, TaskRecord, TaskState, Unchecked
from ._registry import get_model, models
from ._version import __version__

# The clients are imported on first use: httpx loads click and rich when they are installed.
if typing.TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "DownloadError",
    "InputValidationError",
    "InsufficientCreditsError",
    "KieError",
    "NoAnswerError",
    "RateLimitError",
    "RawInput",
    "Result",
    "SubmissionUncertain",
    "Task",
    "TaskFailed",
    "TaskRecord",
    "TaskState",
    "Unchecked",
    "UnknownModelError",
    "WaitTimeout",
    "__version__",
    "get_model",
    "models",
]

# A library's logger: silent unless the application configures logging (no last-resort output).
logging.getLogger("kieframe").addHandler(logging.NullHandler())

_SUBMODULES = frozenset(
    {"authoring", "batch", "callbacks", "errors", "files", "hookspecs", "journal", "lifecycle"}
    | {"postgres", "registry", "testing"}
)

# Names reachable as ``kieframe.<name>`` outside ``__all__``: the rest of the error tree (so
# reprs and pickles of ``kieframe.<Error>`` resolve) and names that were top-level before 0.2.
_HOMES = {
    **dict.fromkeys(["AsyncClient", "Client"], "_client"),
    **dict.fromkeys(
        [
            "BadRequestError",
            "CallbackError",
            "CallbackMalformedError",
            "CallbackSignatureError",
            "CallbackStaleError",
            "CallbackTooLargeError",
            "ConfigurationError",
            "ConfigurationWarning",
            "DatabaseUnavailable",
            "JournalError",
            "NotFoundError",
            "PluginError",
            "Problem",
            "ServerError",
        ],
        "errors",
    ),
    **dict.fromkeys(
        [
            "CallbackClaims",
            "CallbackHandler",
            "CallbackHub",
            "CallbackReceiver",
            "CallbackServer",
            "ReceiverStats",
            "serve_callbacks",
            "verify_callback",
        ],
        "callbacks",
    ),
    **dict.fromkeys(["Journal", "JournalEntry", "JournalStatus", "SubmissionLog"], "journal"),
    **dict.fromkeys(["DownloadProgress", "Rehost"], "files"),
    **dict.fromkeys(["PluginFailure", "PluginInfo", "Registry", "plugins"], "registry"),
    **dict.fromkeys(
        [
            "DEFAULT_BASE_URL",
            "DEFAULT_UPLOAD_BASE_URL",
            "PollPhase",
            "PollPlan",
            "RateLimits",
            "UpdateHook",
        ],
        "lifecycle",
    ),
    **dict.fromkeys(
        [
            "HttpUrl",
            "ImageUrl",
            "MediaField",
            "MediaLimits",
            "ModelSpec",
            "OptionalImageUrl",
            "hookimpl",
        ],
        "authoring",
    ),
}


def __getattr__(name: str) -> typing.Any:
    """Import public submodules, and names outside ``__all__``, on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES})

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
the names that were top-level before 0.2, without a warning. Type checkers and IDEs see all of
these after a bare ``import kieframe``: ``kieframe.callbacks.CallbackReceiver`` is typed, and a
misspelt ``kieframe.PollPlan.evry`` is an error, not ``Any``.
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

# The clients, the submodules and the names outside ``__all__`` are imported on first use (httpx
# loads click and rich when they are installed). Type checkers see them all here, so that
# ``kieframe.callbacks.CallbackReceiver`` is typed after a bare ``import kieframe``.
if typing.TYPE_CHECKING:
    from . import authoring as authoring
    from . import batch as batch
    from . import callbacks as callbacks
    from . import errors as errors
    from . import files as files
    from . import hookspecs as hookspecs
    from . import journal as journal
    from . import lifecycle as lifecycle
    from . import postgres as postgres
    from . import registry as registry
    from . import testing as testing
    from ._client import AsyncClient as AsyncClient
    from ._client import Client as Client
    from .authoring import HttpUrl as HttpUrl
    from .authoring import ImageUrl as ImageUrl
    from .authoring import MediaField as MediaField
    from .authoring import MediaLimits as MediaLimits
    from .authoring import ModelSpec as ModelSpec
    from .authoring import OptionalImageUrl as OptionalImageUrl
    from .authoring import hookimpl as hookimpl
    from .callbacks import CallbackClaims as CallbackClaims
    from .callbacks import CallbackHandler as CallbackHandler
    from .callbacks import CallbackHub as CallbackHub
    from .callbacks import CallbackReceiver as CallbackReceiver
    from .callbacks import CallbackServer as CallbackServer
    from .callbacks import ReceiverStats as ReceiverStats
    from .callbacks import serve_callbacks as serve_callbacks
    from .callbacks import verify_callback as verify_callback
    from .errors import BadRequestError as BadRequestError
    from .errors import BatchBusy as BatchBusy
    from .errors import BatchCancelled as BatchCancelled
    from .errors import BatchConflict as BatchConflict
    from .errors import BatchInvalid as BatchInvalid
    from .errors import CallbackError as CallbackError
    from .errors import CallbackMalformedError as CallbackMalformedError
    from .errors import CallbackSignatureError as CallbackSignatureError
    from .errors import CallbackStaleError as CallbackStaleError
    from .errors import CallbackTooLargeError as CallbackTooLargeError
    from .errors import ConfigurationError as ConfigurationError
    from .errors import ConfigurationWarning as ConfigurationWarning
    from .errors import DatabaseUnavailable as DatabaseUnavailable
    from .errors import JournalError as JournalError
    from .errors import NotFoundError as NotFoundError
    from .errors import PluginError as PluginError
    from .errors import Problem as Problem
    from .errors import ServerError as ServerError
    from .errors import StaleTransition as StaleTransition
    from .files import DownloadProgress as DownloadProgress
    from .files import Rehost as Rehost
    from .journal import Journal as Journal
    from .journal import JournalEntry as JournalEntry
    from .journal import JournalStatus as JournalStatus
    from .journal import SubmissionLog as SubmissionLog
    from .lifecycle import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from .lifecycle import DEFAULT_UPLOAD_BASE_URL as DEFAULT_UPLOAD_BASE_URL
    from .lifecycle import AsyncUpdateHook as AsyncUpdateHook
    from .lifecycle import PollPhase as PollPhase
    from .lifecycle import PollPlan as PollPlan
    from .lifecycle import RateLimits as RateLimits
    from .lifecycle import UpdateHook as UpdateHook
    from .registry import PluginFailure as PluginFailure
    from .registry import PluginInfo as PluginInfo
    from .registry import Registry as Registry
    from .registry import plugins as plugins

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
            "BatchBusy",
            "BatchCancelled",
            "BatchConflict",
            "BatchInvalid",
            "StaleTransition",
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
            "AsyncUpdateHook",
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


# Hidden from type checkers: they would type every misspelt ``kieframe.<name>`` as Any.
if not typing.TYPE_CHECKING:

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

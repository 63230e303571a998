"""kieframe: a typed, plugin-based client for kie.ai's asynchronous media-generation API."""

from __future__ import annotations

from ._callbacks._hub import CallbackHub
from ._callbacks._receiver import CallbackHandler, CallbackReceiver, ReceiverStats
from ._callbacks._serve import CallbackServer, serve_callbacks
from ._callbacks._verify import verify_callback
from ._client import DEFAULT_BASE_URL, DEFAULT_UPLOAD_BASE_URL, AsyncClient, Client
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CallbackError,
    CallbackMalformedError,
    CallbackSignatureError,
    CallbackStaleError,
    CallbackTooLargeError,
    DownloadError,
    FeatureDisabledError,
    GenerationError,
    InputValidationError,
    InsufficientCreditsError,
    JournalError,
    KieError,
    MaintenanceError,
    NotFoundError,
    PluginError,
    Problem,
    RateLimitError,
    ServerError,
    SubmissionUncertain,
    TaskFailed,
    TransportError,
    UnknownModelError,
    UnprocessableError,
    UpstreamTimeoutError,
    UsageCapError,
    WaitTimeout,
)
from ._fields import HttpUrl, ImageUrl, MediaLimits, OptionalImageUrl
from ._files._downloads import DownloadProgress
from ._files._local import Rehost
from ._journal import Journal, JournalEntry, JournalStatus, SubmissionLog
from ._lifecycle import PollPhase, PollPlan
from ._operations import UpdateHook
from ._ratelimit import RateLimits
from ._records import RawInput, Result, Task, TaskRecord, TaskState
from ._registry import PluginFailure, PluginInfo, Registry, get_model, models, plugins
from ._spec import MediaField, ModelSpec
from ._version import __version__
from .hookspecs import hookimpl

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_UPLOAD_BASE_URL",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "CallbackError",
    "CallbackHandler",
    "CallbackHub",
    "CallbackMalformedError",
    "CallbackReceiver",
    "CallbackServer",
    "CallbackSignatureError",
    "CallbackStaleError",
    "CallbackTooLargeError",
    "Client",
    "DownloadError",
    "DownloadProgress",
    "FeatureDisabledError",
    "GenerationError",
    "HttpUrl",
    "ImageUrl",
    "InputValidationError",
    "InsufficientCreditsError",
    "Journal",
    "JournalEntry",
    "JournalError",
    "JournalStatus",
    "KieError",
    "MaintenanceError",
    "MediaField",
    "MediaLimits",
    "ModelSpec",
    "NotFoundError",
    "OptionalImageUrl",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "PollPhase",
    "PollPlan",
    "Problem",
    "RateLimitError",
    "RateLimits",
    "RawInput",
    "ReceiverStats",
    "Registry",
    "Rehost",
    "Result",
    "ServerError",
    "SubmissionLog",
    "SubmissionUncertain",
    "Task",
    "TaskFailed",
    "TaskRecord",
    "TaskState",
    "TransportError",
    "UnknownModelError",
    "UnprocessableError",
    "UpdateHook",
    "UpstreamTimeoutError",
    "UsageCapError",
    "WaitTimeout",
    "__version__",
    "get_model",
    "hookimpl",
    "models",
    "plugins",
    "serve_callbacks",
    "verify_callback",
]

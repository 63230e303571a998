"""kieframe: a typed, plugin-based client for kie.ai's asynchronous media-generation API."""

from __future__ import annotations

from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    FeatureDisabledError,
    GenerationError,
    InputValidationError,
    InsufficientCreditsError,
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
from ._registry import PluginFailure, PluginInfo, Registry, get_model, models, plugins
from ._spec import MediaField, ModelSpec
from ._version import __version__
from .hookspecs import hookimpl

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "FeatureDisabledError",
    "GenerationError",
    "HttpUrl",
    "ImageUrl",
    "InputValidationError",
    "InsufficientCreditsError",
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
    "Problem",
    "RateLimitError",
    "Registry",
    "ServerError",
    "SubmissionUncertain",
    "TaskFailed",
    "TransportError",
    "UnknownModelError",
    "UnprocessableError",
    "UpstreamTimeoutError",
    "UsageCapError",
    "WaitTimeout",
    "__version__",
    "get_model",
    "hookimpl",
    "models",
    "plugins",
]

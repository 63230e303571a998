"""What a plugin author needs: the model spec, field types with media limits, the hook marker.

A plugin's ``kieframe_models`` hook (see :mod:`kieframe.hookspecs`) returns :class:`ModelSpec`
records whose input Structs use these field types.
"""

from __future__ import annotations

from ._fields import HttpUrl, ImageUrl, MediaLimits, OptionalImageUrl
from ._records import RawInput
from ._spec import MediaField, ModelSpec
from .hookspecs import hookimpl

__all__ = [
    "HttpUrl",
    "ImageUrl",
    "MediaField",
    "MediaLimits",
    "ModelSpec",
    "OptionalImageUrl",
    "RawInput",
    "hookimpl",
]

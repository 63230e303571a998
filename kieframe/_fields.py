"""Field types for model inputs: URLs, and URLs that a local file may fill.

A model plugin declares its input as a frozen ``msgspec.Struct`` and uses these annotated types for
its URL fields. The limits live in ``msgspec.Meta`` so that validation, the JSON Schema, the docs
and the hypothesis strategies all read them from one place (``msgspec.inspect``).

A *media* field additionally carries :class:`MediaLimits` in ``Meta.extra``: the media types and the
size kie.ai accepts there. The client reads them to upload a local file given in that field, after
checking its content type and size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi

__all__ = [
    "HttpUrl",
    "ImageUrl",
    "MediaLimits",
    "OptionalImageUrl",
    "media_limits",
]

_EXTRA_KEY = "kieframe.media"
_URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
_MAX_URL_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What a media field accepts when it is filled from a file: media types and a size cap."""

    media_types: tuple[str, ...]
    max_bytes: int

    def describe(self) -> str:
        """A short human description, such as ``"image/jpeg, image/png; at most 10 MB"``."""
        return f"{', '.join(self.media_types)}; at most {_human_bytes(self.max_bytes)}"


def _human_bytes(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def _media_meta(limits: MediaLimits, *, optional: bool, description: str) -> msgspec.Meta:
    pattern = f"^(?:{_URL_PATTERN[1:-1]})?$" if optional else _URL_PATTERN
    return msgspec.Meta(
        pattern=pattern,
        max_length=_MAX_URL_LENGTH,
        description=description,
        extra={
            _EXTRA_KEY: {"media_types": list(limits.media_types), "max_bytes": limits.max_bytes}
        },
    )


_IMAGE_LIMITS = MediaLimits(
    media_types=("image/jpeg", "image/png", "image/webp"), max_bytes=10 << 20
)

#: A public http(s) URL.
HttpUrl = Annotated[
    str,
    msgspec.Meta(pattern=_URL_PATTERN, max_length=_MAX_URL_LENGTH, description="an http(s) URL"),
]

#: The URL of a JPEG, PNG or WebP image of at most 10 MB; a local file may fill it.
ImageUrl = Annotated[
    str,
    _media_meta(_IMAGE_LIMITS, optional=False, description="the http(s) URL of an image"),
]

#: Like :data:`ImageUrl`, but the empty string means "none".
OptionalImageUrl = Annotated[
    str,
    _media_meta(
        _IMAGE_LIMITS, optional=True, description="the http(s) URL of an image, or empty for none"
    ),
]


def media_limits(field_type: mi.Type) -> MediaLimits | None:
    """The :class:`MediaLimits` carried by a field's inspected type, or None for a plain field."""
    for node in _walk(field_type):
        if isinstance(node, mi.Metadata) and node.extra and _EXTRA_KEY in node.extra:
            raw: dict[str, Any] = node.extra[_EXTRA_KEY]
            return MediaLimits(media_types=tuple(raw["media_types"]), max_bytes=raw["max_bytes"])
    return None


def _walk(node: mi.Type) -> Iterable[mi.Type]:
    yield node
    if isinstance(node, mi.Metadata):
        yield from _walk(node.type)
    elif isinstance(node, mi.UnionType):
        for member in node.types:
            yield from _walk(member)

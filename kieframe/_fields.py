"""Field types for model inputs: URLs, and media URLs that a local file may fill.

A model plugin declares its input as a frozen ``msgspec.Struct`` and uses these annotated types for
its URL fields. The limits live in ``msgspec.Meta`` so that validation, the JSON Schema, the docs
and the hypothesis strategies all read them from one place (``msgspec.inspect``).

A *media* field additionally carries :class:`MediaLimits` in ``Meta.extra`` (and, for JSON Schema
readers, under ``x-kieframe-media``): its kind, the media types and the size kie.ai accepts there,
and optionally the pixel dimensions, aspect ratio and duration (:class:`MediaBounds`). The client
reads them to upload a local file given in that field, after checking its content type, size and,
where the file's header says them, its dimensions and duration. A media field may stand alone, in a
list (:func:`media_list`) or inside a nested Struct.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Annotated, Any, Literal, TypedDict, TypeVar, Unpack, cast, get_args

import msgspec
import msgspec.inspect as mi

__all__ = [
    "URL_SCHEMES",
    "AudioUrl",
    "HttpUrl",
    "ImageUrl",
    "MediaBounds",
    "MediaKind",
    "MediaLimits",
    "OptionalAudioUrl",
    "OptionalImageUrl",
    "OptionalVideoUrl",
    "VideoUrl",
    "by_node",
    "is_list_type",
    "leaf_types",
    "media",
    "media_limits",
    "media_list",
    "media_meta",
    "number_meta",
    "url_pattern",
]

#: The kinds of media a field may take.
MediaKind = Literal["image", "video", "audio"]

_EXTRA_KEY = "kieframe.media"
#: The ``Meta.extra`` key of a decimal step, checked by kieframe's validation.
STEP_KEY = "kieframe.step"
_SCHEMA_KEY = "x-kieframe-media"
_MAX_URL_LENGTH = 2048

#: What each kind accepts unless a field says otherwise (kie.ai's most common documented limits).
DEFAULT_MEDIA_TYPES: Mapping[str, tuple[str, ...]] = {
    "image": ("image/jpeg", "image/png", "image/webp"),
    "video": ("video/mp4", "video/quicktime", "video/x-matroska", "video/webm"),
    "audio": (
        "audio/mpeg",
        "audio/wav",
        "audio/aac",
        "audio/mp4",
        "audio/ogg",
        "audio/flac",
    ),
}
DEFAULT_MAX_BYTES: Mapping[str, int] = {"image": 10 << 20, "video": 100 << 20, "audio": 10 << 20}


def url_pattern(*schemes: str) -> str:
    """A pattern for absolute URLs of the given schemes: ``url_pattern("https", "oss")``.

    The host is a name (letters, digits, ``-``, ``_``; punycode for others), an IPv4 address or
    a bracketed IPv6 address, with an optional port up to 65535; no part may hold whitespace, a
    control character or a lone surrogate. With no schemes, http and https. kie.ai's media
    fields take http(s) URLs, and some also ``asset://`` references or ``oss://`` URLs.
    """
    chosen = schemes or ("http", "https")
    for scheme in chosen:
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
            raise ValueError(f"not a URL scheme: {scheme!r}")
    names = ["https?" if s == "https" and "http" in chosen else re.escape(s) for s in chosen]
    kept = [
        name
        for name, s in zip(names, chosen, strict=True)
        if not (s == "http" and "https" in chosen)
    ]
    alternatives = kept[0] if len(kept) == 1 else "(?:" + "|".join(kept) + ")"
    pattern = f"^{alternatives}://{_AUTHORITY}{_REST}"
    URL_SCHEMES[pattern] = chosen
    return pattern


def _ipv6() -> str:
    """RFC 3986's IPv6address: eight groups of hex digits, one run of them written ``::``."""
    h16, ls32 = "[0-9A-Fa-f]{1,4}", f"(?:[0-9A-Fa-f]{{1,4}}:[0-9A-Fa-f]{{1,4}}|{_IPV4})"
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    # [ *n( h16 ":" ) h16 ] "::" and what follows it, for n = 0 to 6.
    tails = [f"(?:{h16}:){{{n}}}{ls32}" for n in (4, 3, 2, 1)] + [ls32, h16, ""]
    forms += [f"(?:(?:{h16}:){{0,{n}}}{h16})?::{tail}" for n, tail in enumerate(tails)]
    return "(?:" + "|".join(forms) + ")"


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
#: A host name: dot-separated labels, one letter at least (``999.1.1.1`` is no IPv4 address).
_NAME = r"(?=[0-9.]*[A-Za-z_-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?"
#: A port from 1 to 65535, without leading zeros.
_PORT = (
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
)
_USERINFO = "(?:[A-Za-z0-9._~!$&'()*+,;=:%-]*@)?"
_AUTHORITY = rf"{_USERINFO}(?:{_IPV4}|{_NAME}|\[{_ipv6()}\]){_PORT}"
#: The path, query and fragment: any character but whitespace, a control character (Cc) and a
#: lone surrogate, spelled as ranges (faster to match than ``\s``; a class of what is allowed
#: would be slower still for hypothesis to draw from); ``(?!\n)`` because ``$`` also matches
#: before a final newline.
_REST = (
    r"(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    r"\ud800-\udfff]*)?(?!\n)$"
)


#: The schemes of each pattern :func:`url_pattern` wrote (and of its "or empty" form): what
#: test strategies draw such URLs from, part by part (drawn from the pattern itself, they are
#: slow to find).
URL_SCHEMES: dict[str, tuple[str, ...]] = {}
_URL_PATTERN = url_pattern()


class MediaBounds(TypedDict, total=False):
    """Limits of a media file beyond its type and size, as keyword options of :func:`media_meta`.

    Widths and heights are in pixels, ``min_aspect``/``max_aspect`` bound width divided by height,
    ``min_pixels``/``max_pixels`` bound width times height, durations are in seconds and
    ``min_fps``/``max_fps`` bound a video's frame rate (frames per second). All bounds
    are inclusive. They are checked for local files from the file's header only (never for URLs).
    """

    min_width: int
    max_width: int
    min_height: int
    max_height: int
    min_aspect: float
    max_aspect: float
    min_pixels: int
    max_pixels: int
    min_duration: float
    max_duration: float
    min_fps: float
    max_fps: float


#: The names of :class:`MediaBounds`, in the order they are described.
BOUND_NAMES: tuple[str, ...] = tuple(MediaBounds.__annotations__)


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What a media field accepts when it is filled from a file: media types, size and bounds.

    ``kind`` is the family the media types belong to (``"image"``, ``"video"`` or ``"audio"``).
    The optional bounds (see :class:`MediaBounds`) are None when kie.ai states none.
    """

    media_types: tuple[str, ...]
    max_bytes: int
    _: KW_ONLY
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    min_fps: float | None = None
    max_fps: float | None = None

    def __post_init__(self) -> None:
        if not self.media_types:
            raise ValueError("a media field must accept at least one media type")
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        for name in BOUND_NAMES:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        for quantity in ("width", "height", "aspect", "pixels", "duration", "fps"):
            low, high = getattr(self, f"min_{quantity}"), getattr(self, f"max_{quantity}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{quantity} must not exceed max_{quantity}")

    @property
    def kind(self) -> str:
        """The family of the first accepted media type: ``image``, ``video`` or ``audio``."""
        return self.media_types[0].partition("/")[0]

    @property
    def bounds(self) -> MediaBounds:
        """The bounds that are set, by name (what :func:`media_meta` takes as keywords)."""
        found = {name: getattr(self, name) for name in BOUND_NAMES}
        return cast("MediaBounds", {name: v for name, v in found.items() if v is not None})

    def describe(self) -> str:
        """A short human description, such as ``"image/jpeg, image/png; at most 10 MB"``."""
        parts = [", ".join(self.media_types), f"at most {_human_bytes(self.max_bytes)}"]
        for quantity, unit in (
            ("width", " px"),
            ("height", " px"),
            ("aspect", ""),
            ("pixels", ""),
            ("duration", " s"),
            ("fps", " fps"),
        ):
            text = _range(getattr(self, f"min_{quantity}"), getattr(self, f"max_{quantity}"), unit)
            if text:
                label = {
                    "aspect": "width/height",
                    "pixels": "pixels (width x height)",
                    "fps": "frame rate",
                }.get(quantity, quantity)
                parts.append(f"{label} {text}")
        return "; ".join(parts)


def _range(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)}{unit}"
    if low is not None:
        return f"at least {_number(low)}{unit}"
    if high is not None:
        return f"at most {_number(high)}{unit}"
    return ""


def _number(value: float) -> str:
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def _human_bytes(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def media_meta(
    kind: MediaKind,
    *,
    media_types: Iterable[str] | None = None,
    max_bytes: int | None = None,
    optional: bool = False,
    pattern: str | None = None,
    schemes: Iterable[str] | None = None,
    max_length: int = _MAX_URL_LENGTH,
    description: str | None = None,
    **bounds: Unpack[MediaBounds],
) -> msgspec.Meta:
    """The ``msgspec.Meta`` of a media URL field, for ``Annotated[str, media_meta(...)]``.

    ``media_types`` and ``max_bytes`` default to the kind's usual limits; ``optional`` also
    accepts ``""`` (kie.ai's "none"); ``pattern`` replaces the URL pattern outright, ``schemes``
    builds it from URL schemes (``("https", "asset")``). The keywords of :class:`MediaBounds`
    (``min_width=300``, ``max_aspect=2.5``, ``max_duration=60``, ...) bound a file's dimensions
    and duration; they are checked for local files whose header says them.
    """
    if kind not in get_args(MediaKind):
        raise ValueError(f"kind must be one of {', '.join(get_args(MediaKind))}, not {kind!r}")
    if pattern is not None and schemes is not None:
        raise ValueError("give pattern or schemes, not both")
    unknown = set(bounds) - set(BOUND_NAMES)
    if unknown:
        raise TypeError(f"unknown media bounds: {', '.join(sorted(unknown))}")
    limits = MediaLimits(
        media_types=tuple(media_types or DEFAULT_MEDIA_TYPES[kind]),
        max_bytes=max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES[kind],
        **bounds,
    )
    base = pattern if pattern is not None else url_pattern(*(schemes or ()))
    if optional:
        if pattern is not None:
            base = f"^$|{base}"
        else:  # (?!\n) again: $ also matches before a final newline, so "\n" alone would pass
            schemes_of = URL_SCHEMES[base]
            base = f"^(?:{base[1:-1]})?(?!\n)$"
            URL_SCHEMES[base] = schemes_of
    text = description or f"the URL of {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    raw = {
        "kind": kind,
        "media_types": list(limits.media_types),
        "max_bytes": limits.max_bytes,
        **limits.bounds,
    }
    return msgspec.Meta(
        pattern=base,
        max_length=max_length,
        description=f"{text}, or empty for none" if optional and not description else text,
        extra={_EXTRA_KEY: raw},
        extra_json_schema={_SCHEMA_KEY: raw},
    )


def media(
    kind: MediaKind,
    *,
    media_types: Iterable[str] | None = None,
    max_bytes: int | None = None,
    optional: bool = False,
    pattern: str | None = None,
    schemes: Iterable[str] | None = None,
    description: str | None = None,
    **bounds: Unpack[MediaBounds],
) -> Any:
    """A media URL field type built at run time (for ``msgspec.defstruct`` and generated specs).

    The same as ``Annotated[str, media_meta(kind, ...)]``, which hand-written Structs should use
    so that type checkers see a ``str``.
    """
    meta = media_meta(
        kind,
        media_types=media_types,
        max_bytes=max_bytes,
        optional=optional,
        pattern=pattern,
        schemes=schemes,
        description=description,
        **bounds,
    )
    return Annotated[str, meta]


def media_list(
    kind: MediaKind,
    *,
    min_items: int | None = None,
    max_items: int | None = None,
    media_types: Iterable[str] | None = None,
    max_bytes: int | None = None,
    pattern: str | None = None,
    schemes: Iterable[str] | None = None,
    description: str | None = None,
    **bounds: Unpack[MediaBounds],
) -> Any:
    """A list of media URLs, each with the limits of :func:`media`, and the list's item limits.

    Hand-written Structs spell it ``Annotated[list[ImageUrl], msgspec.Meta(max_length=4)]``.
    """
    if min_items is not None and max_items is not None and min_items > max_items:
        raise ValueError("min_items must not exceed max_items")
    item = media(
        kind,
        media_types=media_types,
        max_bytes=max_bytes,
        pattern=pattern,
        schemes=schemes,
        **bounds,
    )
    return Annotated[
        list[item],  # type: ignore[valid-type]
        msgspec.Meta(
            min_length=min_items,
            max_length=max_items,
            description=description or f"{kind} URLs",
        ),
    ]


#: A public http(s) URL.
HttpUrl = Annotated[
    str,
    msgspec.Meta(pattern=_URL_PATTERN, max_length=_MAX_URL_LENGTH, description="an http(s) URL"),
]

#: The URL of a JPEG, PNG or WebP image of at most 10 MB; a local file may fill it.
ImageUrl = Annotated[str, media_meta("image", description="the http(s) URL of an image")]

#: Like :data:`ImageUrl`, but the empty string means "none".
OptionalImageUrl = Annotated[
    str,
    media_meta(
        "image", optional=True, description="the http(s) URL of an image, or empty for none"
    ),
]

#: The URL of an MP4, MOV, MKV or WebM video of at most 100 MB; a local file may fill it.
VideoUrl = Annotated[str, media_meta("video", description="the http(s) URL of a video")]

#: Like :data:`VideoUrl`, but the empty string means "none".
OptionalVideoUrl = Annotated[
    str,
    media_meta("video", optional=True, description="the http(s) URL of a video, or empty for none"),
]

#: The URL of an MP3, WAV, AAC, M4A, OGG or FLAC file of at most 10 MB; a local file may fill it.
AudioUrl = Annotated[str, media_meta("audio", description="the http(s) URL of an audio file")]

#: Like :data:`AudioUrl`, but the empty string means "none".
OptionalAudioUrl = Annotated[
    str,
    media_meta(
        "audio", optional=True, description="the http(s) URL of an audio file, or empty for none"
    ),
]


def number_meta(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    step: float | None = None,
    description: str | None = None,
) -> msgspec.Meta:
    """The ``msgspec.Meta`` of a number field, for ``Annotated[float, number_meta(...)]``.

    Unlike ``msgspec.Meta(multiple_of=...)``, which is exact (0.3 is no multiple of 0.1 in binary
    floats), ``step`` is checked within float rounding, as kie.ai's ``multipleOf`` means it; the
    JSON Schema still shows ``multipleOf``.
    """
    if step is not None and not step > 0:
        raise ValueError("step must be positive")
    options: dict[str, Any] = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    if step is not None:
        options["extra"] = {STEP_KEY: step}
        options["extra_json_schema"] = {"multipleOf": step}
    meta: msgspec.Meta = msgspec.Meta(description=description, **options)
    return meta


T = TypeVar("T")


def by_node(compute: Callable[[mi.Type], T]) -> Callable[[mi.Type], T]:
    """``compute``, cached per inspected type.

    Inspected types are not hashable, so by id, each kept with its node (so the id is not reused
    while cached); the cache is emptied past 4096 entries.
    """
    cache: dict[int, tuple[mi.Type, T]] = {}

    @functools.wraps(compute)
    def cached(node: mi.Type) -> T:
        found = cache.get(id(node))
        if found is not None and found[0] is node:
            return found[1]
        if len(cache) > 4096:
            cache.clear()
        value = compute(node)
        cache[id(node)] = (node, value)
        return value

    return cached


@by_node  # staging asks on every submit
def media_limits(field_type: mi.Type) -> MediaLimits | None:
    """The :class:`MediaLimits` of a media URL type (or of a list's items), else None."""
    return _media_limits(field_type)


def _media_limits(field_type: mi.Type) -> MediaLimits | None:
    for node in _walk(field_type):
        if isinstance(node, mi.Metadata) and node.extra and _EXTRA_KEY in node.extra:
            raw: dict[str, Any] = node.extra[_EXTRA_KEY]
            return MediaLimits(
                media_types=tuple(raw["media_types"]),
                max_bytes=raw["max_bytes"],
                **{name: raw[name] for name in BOUND_NAMES if name in raw},
            )
    return None


def media_pattern(field_type: mi.Type) -> str | None:
    """The URL pattern of a media type (or of a list's items): what is a URL and not a file."""
    for node in _walk(field_type):
        if isinstance(node, mi.StrType) and node.pattern is not None:
            return node.pattern
    return None


def is_list_type(node: mi.Type) -> bool:
    """Whether an inspected field type is a list (possibly annotated, or in a union)."""
    if isinstance(node, mi.Metadata):
        return is_list_type(node.type)
    if isinstance(node, mi.UnionType):
        return any(is_list_type(member) for member in node.types)
    return isinstance(node, mi.ListType)


def leaf_types(node: mi.Type) -> list[mi.Type]:
    """The types an inspected field type may hold: through its Metadata and unions."""
    if isinstance(node, mi.Metadata):
        return leaf_types(node.type)
    if isinstance(node, mi.UnionType):
        return [leaf for member in node.types for leaf in leaf_types(member)]
    return [node]


def _walk(node: mi.Type) -> Iterable[mi.Type]:
    yield node
    if isinstance(node, mi.Metadata):
        yield from _walk(node.type)
    elif isinstance(node, mi.UnionType):
        for member in node.types:
            yield from _walk(member)
    elif isinstance(node, mi.ListType):
        yield from _walk(node.item_type)

"""What a model plugin's author imports: the spec, the hook marker, field types and rules.

A plugin describes a kie.ai model by its input, a frozen ``msgspec.Struct`` whose annotations carry
every documented limit, and a :class:`ModelSpec`::

    from typing import Annotated, Literal

    import msgspec
    from kieframe.authoring import (
        ImageUrl, ModelSpec, hookimpl, media_meta, mutually_exclusive, number_meta,
    )

    class Shot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
        duration: Annotated[int, msgspec.Meta(ge=1, le=10)] = 5

    class Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        prompt: Annotated[str, msgspec.Meta(max_length=5000)] = ""
        shots: Annotated[list[Shot], msgspec.Meta(max_length=6)] = []
        images: Annotated[list[ImageUrl], msgspec.Meta(min_length=1, max_length=4)] = []
        voice: Annotated[str, media_meta("audio", max_bytes=5 << 20, optional=True)] = ""
        cfg_scale: Annotated[float, number_meta(ge=0, le=1, step=0.1)] = 0.5

    SPEC = ModelSpec(
        id="acme/animate", input_type=Input, title="Acme Animate",
        docs_url="https://docs.kie.ai/market/acme/animate", output="video",
        rules=(mutually_exclusive("prompt", "shots"),),
    )

    @hookimpl
    def kieframe_models() -> list[ModelSpec[Input]]:
        return [SPEC]

Media fields (:data:`ImageUrl`, :func:`media_meta`, :func:`media`, :func:`media_list`) take URLs,
and a local path, bytes or file object given there is checked by content and size (and, with
:class:`MediaBounds` such as ``min_width``, ``max_duration`` or ``min_fps``, by the dimensions,
duration and frame rate its header states), uploaded once and replaced by kie.ai's URL,
wherever the field sits (alone, in a list, in a nested object).
:func:`media` and :func:`media_list` build the same types at run time, for generated Structs
(``msgspec.defstruct``); :func:`spec_from_schema` builds a whole spec from a JSON Schema of the
input (the shape kie.ai publishes per model). A *rule* is a callable taking the validated input
and yielding a :class:`Problem` per breach; the helpers below build the usual ones from field
paths.
"""

from __future__ import annotations

from ._errors import Problem
from ._fields import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MEDIA_TYPES,
    AudioUrl,
    HttpUrl,
    ImageUrl,
    MediaBounds,
    MediaKind,
    MediaLimits,
    OptionalAudioUrl,
    OptionalImageUrl,
    OptionalVideoUrl,
    VideoUrl,
    media,
    media_limits,
    media_list,
    media_meta,
    number_meta,
    url_pattern,
)
from ._files._file_rules import FileRule, LocalFile, LocalFiles
from ._files._probe import MediaInfo
from ._records import RawInput, Unchecked
from ._rules import (
    Rule,
    count_range,
    is_set,
    mutually_exclusive,
    one_of_required,
    only_with,
    requires,
    value_at,
)
from ._schema import SchemaError, spec_from_schema, struct_from_schema
from ._spec import MediaField, ModelSpec, OutputCount, OutputKind
from .hookspecs import hookimpl

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MEDIA_TYPES",
    "AudioUrl",
    "FileRule",
    "HttpUrl",
    "ImageUrl",
    "LocalFile",
    "LocalFiles",
    "MediaBounds",
    "MediaField",
    "MediaInfo",
    "MediaKind",
    "MediaLimits",
    "ModelSpec",
    "OptionalAudioUrl",
    "OptionalImageUrl",
    "OptionalVideoUrl",
    "OutputCount",
    "OutputKind",
    "Problem",
    "RawInput",
    "Rule",
    "SchemaError",
    "Unchecked",
    "VideoUrl",
    "count_range",
    "hookimpl",
    "is_set",
    "media",
    "media_limits",
    "media_list",
    "media_meta",
    "mutually_exclusive",
    "number_meta",
    "one_of_required",
    "only_with",
    "requires",
    "spec_from_schema",
    "struct_from_schema",
    "url_pattern",
    "value_at",
]

"""Compile a JSON-Schema description of a model's input into a msgspec Struct.

kie.ai publishes, for each model, the JSON Schema of the ``input`` object (its OpenAPI). This module
turns such a schema into a frozen ``msgspec.Struct`` (``forbid_unknown_fields=True``) whose
``Annotated[..., Meta(...)]`` fields carry the same limits, so that a schema-built model and a
hand-written one are the same thing to validation, the CLI, the docs and the contract kit.

What is kept, per property:

- ``type``: ``string``, ``integer`` (``int``), ``number`` (``float``), ``boolean``, ``array``,
  ``object`` (a nested Struct); each model keeps its own type (a digit-string enum stays strings);
- ``enum`` (a ``Literal``), ``minimum``/``maximum`` and their exclusive forms, ``multipleOf``,
  ``minLength``/``maxLength``, ``pattern``, ``minItems``/``maxItems``;
- ``default`` (an optional field without one is ``None`` and left out of the request);
- media: a URL property (or list of URLs) whose name or description names images, videos or audio
  becomes a media field with the media types and size kie.ai documents, so that a local file may
  fill it; its URL pattern admits the schemes the schema allows (``oss://``, ``asset://``);
- property names are trimmed (kie's docs hold a few names with a trailing space).

Limits kie.ai states only in prose are added with ``patches``: JSON-Schema keywords merged into a
property before it is compiled (``{"duration": {"minimum": 4, "maximum": 12}}``; a nested property
is addressed as ``"elements[].name"``).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from ._fields import MediaLimits

__all__ = ["SchemaError", "media_kind", "struct_from_schema"]

#: A media field's kind, as read from a property's name and description.
MediaKind = Literal["image", "video", "audio"]

_SCHEMA_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})


class SchemaError(ValueError):
    """A JSON Schema that cannot be compiled into a Struct; the message names the property."""


@dataclass(frozen=True, slots=True)
class _Context:
    """Where the walk is, for names of nested Structs and for error messages."""

    struct_name: str
    path: str
    patches: Mapping[str, Mapping[str, Any]]
    module: str | None


def struct_from_schema(
    schema: Mapping[str, Any],
    *,
    name: str,
    patches: Mapping[str, Mapping[str, Any]] | None = None,
    module: str | None = None,
) -> type[msgspec.Struct]:
    """Build a frozen ``msgspec.Struct`` named ``name`` from an object JSON Schema.

    ``patches`` maps a property path (``"duration"``, ``"elements[].name"``) to JSON-Schema keywords
    merged over that property first: the way to add limits the schema leaves to prose. A keyword
    patched to ``None`` is removed; a path the schema lacks adds a property (its patch must give a
    ``type``). Raises :class:`SchemaError` naming the property for a schema it cannot express.
    """
    patches = dict(patches or {})
    known = _paths(schema)
    for path, patch in patches.items():
        if path not in known and "type" not in patch:
            raise SchemaError(f"{name}: a patch names {path!r}, which the schema does not have")
    context = _Context(struct_name=name, path="", patches=patches, module=module)
    return _object(_merge_alternatives(schema), context)


def _paths(schema: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every property path of an object schema (for checking that patches name real ones)."""
    found: set[str] = set()
    for raw, prop in _properties(_merge_alternatives(schema)).items():
        path = prefix + raw.strip()
        found.add(path)
        if not isinstance(prop, Mapping):
            continue
        items = prop.get("items")
        if prop.get("type") == "object":
            found |= _paths(prop, path + ".")
        elif isinstance(items, Mapping) and items.get("type") == "object":
            found |= _paths(items, path + "[].")
    return found


def _patched(prop: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**prop, **patch}
    return {key: value for key, value in merged.items() if value is not None}


def _added(context: _Context, present: set[str]) -> dict[str, Mapping[str, Any]]:
    """Properties that patches add to this object (paths directly under it the schema lacks)."""
    added: dict[str, Mapping[str, Any]] = {}
    prefix = f"{context.path}." if context.path else ""
    for path in context.patches:
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if rest and "." not in rest and "[]" not in rest and rest not in present:
            added[rest] = {}
    return added


def _properties(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    props = schema.get("properties", {})
    return props if isinstance(props, Mapping) else {}


def _merge_alternatives(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """Fold ``oneOf``/``anyOf``/``allOf`` alternatives of an object into one set of properties.

    A property is required only if every alternative that lists properties requires it; the
    choice between alternatives is a cross-field rule, which the model's ``rules`` state.
    """
    alternatives = [
        branch
        for key in ("oneOf", "anyOf", "allOf")
        for branch in schema.get(key, ())
        if isinstance(branch, Mapping) and (branch.get("properties") or branch.get("anyOf"))
    ]
    if not alternatives:
        return schema
    merged: dict[str, Any] = dict(_properties(schema))
    required: set[str] | None = None
    for branch in alternatives:
        folded = _merge_alternatives(branch)
        for key, prop in _properties(folded).items():
            previous = merged.get(key)
            # A branch that only names a field as required says ``{"type": "string"}``: keep the
            # outer, fuller definition.
            if previous is None or len(json_keys(prop)) > len(json_keys(previous)):
                merged[key] = prop
        branch_required = set(folded.get("required", ()))
        required = branch_required if required is None else required & branch_required
    base_required = set(schema.get("required", ()))
    if schema.get("properties"):
        # The outer object lists the fields; its own ``required`` stands beside the branches'.
        required = base_required | (required or set())
    return {
        **{k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "allOf")},
        "properties": merged,
        "required": sorted(required or ()),
    }


def json_keys(prop: Any) -> tuple[str, ...]:
    """The keywords of a property schema (to prefer the fuller of two definitions)."""
    return tuple(prop) if isinstance(prop, Mapping) else ()


def _object(schema: Mapping[str, Any], context: _Context) -> type[msgspec.Struct]:
    required = {str(name).strip() for name in schema.get("required", ())}
    fields: list[tuple[str, Any, Any]] = []
    optional: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    seen: set[str] = set()
    properties = dict(_properties(schema))
    properties.update(_added(context, {str(raw).strip() for raw in properties}))
    for raw, prop in properties.items():
        key = raw.strip()
        if key in seen:
            raise SchemaError(f"{context.struct_name}: property {key!r} is listed twice")
        seen.add(key)
        path = f"{context.path}.{key}" if context.path else key
        if not isinstance(prop, Mapping):
            raise SchemaError(f"{context.struct_name}: property {path!r} is not a schema")
        prop = _patched(prop, context.patches.get(path, {}))
        inner = _Context(
            struct_name=context.struct_name + _camel(key),
            path=path,
            patches=context.patches,
            module=context.module,
        )
        annotation = _annotation(prop, key, inner, optional=key not in required)
        attribute = _attribute(key)
        if attribute != key:
            rename[attribute] = key
        if "default" in prop and _accepts(annotation, prop["default"]):
            optional.append((attribute, annotation, _default(prop["default"])))
        elif key in required:
            fields.append((attribute, annotation, msgspec.NODEFAULT))
        else:
            optional.append((attribute, annotation | None, None))
    definitions = [
        (name, annotation) if default is msgspec.NODEFAULT else (name, annotation, default)
        for name, annotation, default in fields + optional
    ]
    return msgspec.defstruct(
        context.struct_name,
        definitions,
        frozen=True,
        forbid_unknown_fields=True,
        rename=rename or None,
        module=context.module,
    )


def _default(value: Any) -> Any:
    """A Struct default; a non-empty list or object is copied for each instance."""
    if isinstance(value, list | dict) and value:
        return msgspec.field(default_factory=lambda: msgspec.json.decode(msgspec.json.encode(value)))
    return value


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a documented default satisfies the field's own limits (kie's sometimes do not)."""
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        return False
    return True


def _attribute(key: str) -> str:
    """A Python attribute name for a JSON property name (the Struct renames it back)."""
    name = re.sub(r"\W", "_", key)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = "f_" + name
    return name


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"\W|_", key) if part)


def _type_of(prop: Mapping[str, Any], path: str, struct: str) -> str:
    kind = prop.get("type")
    if kind is None:
        for key in ("anyOf", "oneOf", "allOf"):
            kinds = {b.get("type") for b in prop.get(key, ()) if isinstance(b, Mapping)}
            if len(kinds) == 1:
                kind = kinds.pop()
                break
        else:
            if "enum" in prop:
                kind = _enum_type(prop["enum"])
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind not in _SCHEMA_TYPES:
        raise SchemaError(f"{struct}: property {path!r} has no type this compiler can express")
    return str(kind)


def _enum_type(values: list[Any]) -> str | None:
    if all(isinstance(v, str) for v in values):
        return "string"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    return None


def _annotation(
    prop: Mapping[str, Any], key: str, context: _Context, *, optional: bool = False
) -> Any:
    kind = _type_of(prop, context.path, context.struct_name)
    description = _description(prop)
    if kind == "object":
        return _object(_merge_alternatives(prop), context)
    if kind == "array":
        return _array(prop, key, context, description)
    media = _media(prop, key, empty=optional)
    if media is not None:
        return media
    if kind == "boolean":
        return bool
    if "enum" in prop and kind == "number":
        return _number_enum(prop, context, description)
    if "enum" in prop:
        return _enum(prop, context, description)
    base: type[Any] = {"string": str, "integer": int, "number": float, "boolean": bool}[kind]
    constraints = _scalar_constraints(prop, kind)
    if kind == "string" and prop.get("format") == "uri" and "pattern" not in constraints:
        constraints["pattern"] = _URL_PATTERN
        constraints.setdefault("max_length", _MAX_URL_LENGTH)
    meta = _meta(constraints, description)
    return base if meta is None else Annotated[base, meta]


_URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
_MAX_URL_LENGTH = 2048


def _scalar_constraints(prop: Mapping[str, Any], kind: str) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    if kind == "string":
        for source, target in (("minLength", "min_length"), ("maxLength", "max_length")):
            if source in prop:
                constraints[target] = int(prop[source])
        if "pattern" in prop:
            constraints["pattern"] = str(prop["pattern"])
    elif kind in ("integer", "number"):
        cast: Callable[[Any], Any] = int if kind == "integer" else float
        for source, target in (
            ("minimum", "ge"),
            ("maximum", "le"),
            ("exclusiveMinimum", "gt"),
            ("exclusiveMaximum", "lt"),
        ):
            bound = prop.get(source)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                constraints[target] = cast(bound) if kind == "number" else _int_bound(
                    bound, target
                )
        step = prop.get("multipleOf")
        # ``multipleOf: 1`` on an integer says nothing; on a number it means "a whole number".
        if isinstance(step, int | float) and step > 0 and not (kind == "integer" and step == 1):
            constraints["multiple_of"] = cast(step)
    return constraints


def _int_bound(bound: float, target: str) -> int:
    """An integer bound for a possibly fractional one, keeping the same set of integers."""
    import math

    if float(bound).is_integer():
        return int(bound)
    return math.ceil(bound) if target in ("ge", "gt") else math.floor(bound)


def _meta(constraints: Mapping[str, Any], description: str | None) -> msgspec.Meta | None:
    if not constraints and not description:
        return None
    return msgspec.Meta(**constraints, description=description) if description else (
        msgspec.Meta(**constraints)
    )


def _description(prop: Mapping[str, Any]) -> str | None:
    text = prop.get("description")
    return text.strip() or None if isinstance(text, str) else None


def _enum(prop: Mapping[str, Any], context: _Context, description: str | None) -> Any:
    values = list(prop["enum"])
    if not values:
        raise SchemaError(f"{context.struct_name}: property {context.path!r} has an empty enum")
    if any(isinstance(v, bool) or not isinstance(v, str | int) for v in values):
        raise SchemaError(
            f"{context.struct_name}: property {context.path!r} has an enum of other than "
            "strings and integers"
        )
    literal = Literal[tuple(dict.fromkeys(values))]  # type: ignore[valid-type]
    return literal if description is None else Annotated[literal, msgspec.Meta(
        description=description
    )]


def _number_enum(prop: Mapping[str, Any], context: _Context, description: str | None) -> Any:
    """A number enum as a range and a step (``[0, 0.5, 1]``: 0 to 1 in steps of 0.5).

    msgspec has no float literals; an evenly spaced enum is exactly a range with ``multiple_of``.
    """
    values = sorted({float(v) for v in prop["enum"] if isinstance(v, int | float)})
    if len(values) < 2 or len(values) != len(prop["enum"]):
        raise SchemaError(f"{context.struct_name}: property {context.path!r} has an odd enum")
    step = values[1] - values[0]
    evenly = all(abs((b - a) - step) < 1e-9 for a, b in zip(values, values[1:], strict=False))
    if not evenly or abs(values[0] / step - round(values[0] / step)) > 1e-9:
        raise SchemaError(
            f"{context.struct_name}: property {context.path!r} has an unevenly spaced number enum"
        )
    meta = _meta({"ge": values[0], "le": values[-1], "multiple_of": step}, description)
    return Annotated[float, meta]


def _array(
    prop: Mapping[str, Any], key: str, context: _Context, description: str | None
) -> Any:
    items = prop.get("items")
    if not isinstance(items, Mapping):
        raise SchemaError(f"{context.struct_name}: array {context.path!r} has no item schema")
    constraints: dict[str, Any] = {}
    if "minItems" in prop:
        constraints["min_length"] = int(prop["minItems"])
    if "maxItems" in prop:
        constraints["max_length"] = int(prop["maxItems"])
    media = _media({**items, "description": prop.get("description", "")}, key, empty=False)
    if media is not None:
        item: Any = media
    else:
        item_context = _Context(
            struct_name=context.struct_name + "Item",
            path=context.path + "[]",
            patches=context.patches,
            module=context.module,
        )
        item = _annotation(items, key, item_context)
    meta = _meta(constraints, description)
    return list[item] if meta is None else Annotated[list[item], meta]  # type: ignore[valid-type]


# -- media ------------------------------------------------------------------------------------

_NAME_KINDS: tuple[tuple[str, MediaKind], ...] = (
    ("audio", "audio"),
    ("voice", "audio"),
    ("video", "video"),
    ("clip", "video"),
    ("image", "image"),
    ("frame", "image"),
    ("mask", "image"),
    ("input_urls", "image"),
    ("element_input_urls", "image"),
)

_DEFAULT_LIMITS: Mapping[MediaKind, MediaLimits] = {
    "image": MediaLimits(media_types=("image/jpeg", "image/png", "image/webp"), max_bytes=10 << 20),
    "video": MediaLimits(
        media_types=("video/mp4", "video/quicktime", "video/x-matroska"), max_bytes=100 << 20
    ),
    "audio": MediaLimits(
        media_types=("audio/mpeg", "audio/wav", "audio/x-wav", "audio/aac", "audio/mp4",
                     "audio/ogg"),
        max_bytes=10 << 20,
    ),
}

_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/m4a": "audio/mp4",
}


def media_kind(name: str, item: Mapping[str, Any]) -> MediaKind | None:
    """The media a URL property takes, from its documented types or its name; None if not media.

    A property is a URL property if it is a string of ``format: uri``, or its name ends in
    ``url``/``urls``, or its pattern starts with a URL scheme.
    """
    if item.get("type") != "string" or "enum" in item:
        return None
    text = str(item.get("description") or "")
    named = re.search(r"urls?$", name.strip()) is not None
    pattern = str(item.get("pattern") or "")
    schemed = re.match(r"\^\(?(https\?|http|oss|asset)", pattern) is not None
    if not (item.get("format") == "uri" or named or schemed):
        return None
    types = _documented_types(text)
    if types:
        kinds = {t.split("/", 1)[0] for t in types}
        if len(kinds) == 1 and (kind := kinds.pop()) in ("image", "video", "audio"):
            return kind  # type: ignore[return-value]
    lowered = name.lower()
    for word, kind in _NAME_KINDS:
        if word in lowered:
            return kind
    return None


def _documented_types(text: str) -> tuple[str, ...]:
    found = re.search(r"Accepted types?:\s*([^\n;]*)", text)
    if not found:
        return ()
    types = re.findall(r"\b(?:image|video|audio)/[\w.+-]+", found.group(1))
    return tuple(dict.fromkeys(_TYPE_ALIASES.get(t, t) for t in types))


def _documented_size(text: str) -> int | None:
    found = re.search(
        r"(?:max(?:imum)?[^\n.:]{0,30}size[^\n:\d]{0,20}:?|up to|under|at most)\s*"
        r"(\d+(?:\.\d+)?)\s*(MB|M|GB)\b",
        text,
        flags=re.IGNORECASE,
    )
    if not found:
        return None
    scale = 1 << 30 if found.group(2).upper() == "GB" else 1 << 20
    return int(float(found.group(1)) * scale)


def _schemes(pattern: str) -> tuple[str, ...]:
    """URL schemes a pattern such as ``^(https?|oss)://`` admits, besides http(s)."""
    head = re.match(r"\^\(?([a-z?|]+)\)?://", pattern)
    if not head:
        return ()
    names = [part.removesuffix("?") for part in head.group(1).split("|")]
    return tuple(n for n in names if n not in ("http", "https"))


def _media(item: Mapping[str, Any], name: str, *, empty: bool) -> Any | None:
    declared = item.get("x-media")
    if isinstance(declared, Mapping):
        kind: MediaKind | None = declared["kind"]
    else:
        kind = media_kind(name, item)
    if kind is None:
        return None
    text = str(item.get("description") or "")
    base = _DEFAULT_LIMITS[kind]
    declared = declared if isinstance(declared, Mapping) else {}
    types = tuple(declared.get("types", ())) or _documented_types(text) or base.media_types
    size = int(declared.get("max_bytes", 0)) or _documented_size(text) or base.max_bytes
    schemes = _schemes(str(item.get("pattern") or ""))
    if "asset://" in text:
        schemes = (*schemes, "asset")
    schemes = tuple(dict.fromkeys((*schemes, *declared.get("schemes", ()))))
    return _media_annotation(
        kind,
        MediaLimits(media_types=types, max_bytes=size),
        schemes=schemes,
        optional=empty or item.get("default") == "",
    )


def _media_annotation(
    kind: MediaKind, limits: MediaLimits, *, schemes: tuple[str, ...], optional: bool
) -> Any:
    schemes_re = "|".join(("https?", *schemes))
    body = rf"(?:{schemes_re})://[^\s/?#]+[^\s]*"
    pattern = f"^(?:{body})?$" if optional else f"^{body}$"
    return Annotated[
        str,
        msgspec.Meta(
            pattern=pattern,
            max_length=_MAX_URL_LENGTH,
            description=f"the URL of {'an' if kind in ('image', 'audio') else 'a'} {kind}",
            extra={
                "kieframe.media": {
                    "media_types": list(limits.media_types),
                    "max_bytes": limits.max_bytes,
                }
            },
        ),
    ]

"""Compile a JSON-Schema description of a model's input into a msgspec Struct.

kie.ai publishes, for each model, the JSON Schema of the ``input`` object (its OpenAPI). This module
turns such a schema into a frozen ``msgspec.Struct`` (``forbid_unknown_fields=True``) whose
``Annotated[..., Meta(...)]`` fields carry the same limits, so that a schema-built model and a
hand-written one are the same thing to validation, the CLI, the docs and the contract kit.

What is kept, per property:

- ``type``: ``string``, ``integer`` (``int``), ``number`` (``float``), ``boolean``, ``array``,
  ``object`` (a nested Struct); each model keeps its own type (a digit-string enum stays strings),
  and a whole number given for a ``number`` is kept an int, so it is sent as ``8``, not ``8.0``;
- ``enum`` (a ``Literal``), ``minimum``/``maximum`` and their exclusive forms, ``multipleOf``,
  ``minLength``/``maxLength``, ``pattern``, ``minItems``/``maxItems``;
- ``default``: an optional field is ``None`` and left out of the request unless given (kie.ai
  applies its documented default, which the JSON Schema shows); a *required* field with a default
  takes it, so it is always sent;
- media: a URL property (or list of URLs) whose name or description names images, videos or audio
  becomes a media field with the media types and size kie.ai documents, so that a local file may
  fill it; its URL pattern admits the schemes the schema allows (``oss://``, ``asset://``);
- property names are trimmed (kie's docs hold a few names with a trailing space).

Limits kie.ai states only in prose are added with ``patches``: JSON-Schema keywords merged into a
property before it is compiled (``{"duration": {"minimum": 4, "maximum": 12}}``; a nested property
is addressed as ``"elements[].name"``).
"""

from __future__ import annotations

import itertools
import keyword
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeGuard, cast

import msgspec

from ._errors import Problem
from ._fields import BOUND_NAMES, MediaKind, media, media_list, number_meta, url_pattern
from ._spec import ModelSpec, OutputCount, OutputKind
from ._spec_checks import check_input
from ._validation import Validator, validator_for
from ._validation_types import EXACT, WHOLE_NUMBERS, whole

__all__ = ["SchemaError", "media_facts", "media_kind", "spec_from_schema", "struct_from_schema"]

_MAX_URL_LENGTH = 2048
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


def spec_from_schema(
    schema: Mapping[str, Any],
    *,
    id: str,
    title: str,
    docs_url: str,
    patches: Mapping[str, Mapping[str, Any]] | None = None,
    rules: tuple[Callable[[Any], Iterable[Problem]], ...] = (),
    rule_notes: tuple[str, ...] = (),
    lazy: bool = False,
    summary: str = "",
    output: OutputKind = "video",
    outputs: OutputCount = "one",
    examples: tuple[Mapping[str, Any], ...] = (),
    typical_seconds: float = 120.0,
    deadline: float = 900.0,
    tags: tuple[str, ...] = (),
    requires_callback: bool = False,
) -> ModelSpec[Any]:
    """A :class:`~kieframe.authoring.ModelSpec` whose input Struct is compiled from a JSON Schema.

    ``schema`` is the JSON Schema of the ``input`` object (the shape kie.ai publishes per model);
    ``patches`` adds the limits it states only in prose (see :func:`struct_from_schema`) and
    ``rules`` the cross-field rules (``rule_notes`` say them in words). With ``lazy=True`` the
    Struct is compiled on first use of ``input_type`` (or anything that reads it), so that
    listing many models costs nothing; a
    schema that cannot be compiled then raises :class:`SchemaError` at that point.
    """
    name = _struct_name(id)
    options: dict[str, Any] = {
        "id": id,
        "title": title,
        "docs_url": docs_url,
        "summary": summary,
        "output": output,
        "outputs": outputs,
        "rules": rules,
        "rule_notes": rule_notes,
        "examples": examples,
        "typical_seconds": typical_seconds,
        "deadline": deadline,
        "tags": tags,
        "requires_callback": requires_callback,
    }

    def build() -> type[msgspec.Struct]:
        return struct_from_schema(schema, name=name, patches=patches)

    if lazy:
        return _DeferredSpec(build=build, **options)
    return ModelSpec(input_type=build(), **options)


def _struct_name(model_id: str) -> str:
    """``"seedream/4.5-edit"`` -> ``"Seedream45EditInput"``."""
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", model_id)) + "Input"


class _Pending(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Stands for an input Struct that is not compiled yet."""


_INPUT_SLOT: Any = ModelSpec.__dict__["input_type"]
_VALIDATOR_SLOT: Any = ModelSpec.__dict__["_validator"]


class _DeferredSpec(ModelSpec[Any]):
    """A :class:`ModelSpec` whose ``input_type`` is compiled on first use, once.

    Everything else about the spec (id, title, output, ...) is checked when it is made; the input
    Struct (and its validator) is built the first time ``input_type`` is read or an input is
    validated, under a lock.
    """

    __slots__ = ("_build",)
    _build: Callable[[], type[msgspec.Struct]] | None
    _checks_input_now = False  # the compiled Struct is checked when it is built

    def __init__(self, *, build: Callable[[], type[msgspec.Struct]], **options: Any) -> None:
        object.__setattr__(self, "_build", None)  # ModelSpec's own checks see the placeholder
        super().__init__(input_type=_Pending, **options)
        object.__setattr__(self, "_build", build)

    @property
    def input_type(self) -> type[msgspec.Struct]:
        """The input Struct, compiled on first use."""
        current: type[msgspec.Struct] = _INPUT_SLOT.__get__(self)
        if current is _Pending and self._build is not None:
            with _BUILD_LOCK:
                current = _INPUT_SLOT.__get__(self)
                if current is _Pending:
                    current = self._build()
                    check_input(self.id, current, self.rules)
                    _VALIDATOR_SLOT.__set__(self, validator_for(current))
                    _INPUT_SLOT.__set__(self, current)
        return current

    @input_type.setter
    def input_type(self, value: type[msgspec.Struct]) -> None:
        _INPUT_SLOT.__set__(self, value)

    @property
    def _validator(self) -> Validator:
        """The compiled input's validator (compiling it first, if need be)."""
        validator: Validator = _VALIDATOR_SLOT.__get__(self)
        if validator.input_type is _Pending:  # set before input_type: then it is complete
            _ = self.input_type
            validator = _VALIDATOR_SLOT.__get__(self)
        return validator

    @_validator.setter
    def _validator(self, value: Validator) -> None:
        _VALIDATOR_SLOT.__set__(self, value)

    @property
    def compiled(self) -> bool:
        """Whether the input Struct has been built yet."""
        return _INPUT_SLOT.__get__(self) is not _Pending


_BUILD_LOCK = threading.Lock()


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
    ``type``); ``"x-required": False`` makes a property optional (where kie's ``required`` list
    contradicts a conditional rule), ``True`` required. Raises :class:`SchemaError` naming the
    property for a schema it cannot express.
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
    """``prop`` with ``patch`` over it; an ``x-media`` patch adds to the media facts (of the items,
    for an array) instead of replacing them."""
    merged = {**prop, **patch}
    media_patch = patch.get("x-media")
    if isinstance(media_patch, Mapping):
        items = prop.get("items")
        target = items if isinstance(items, Mapping) else prop
        facts = {**(target.get("x-media") or {}), **media_patch}
        if isinstance(items, Mapping):
            del merged["x-media"]
            merged["items"] = {**items, "x-media": facts}
        else:
            merged["x-media"] = facts
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
    numbers: list[str] = []  # the fields typed JSON number
    lists: list[str] = []  # the lists of JSON numbers
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
        annotation = _annotation(
            prop, key, inner, optional=not prop.get("x-required", key in required)
        )
        attribute = _attribute(key)
        if attribute != key:
            rename[attribute] = key
        number_kind = _number_kind(prop)
        if number_kind is not None:
            (numbers if number_kind == "number" else lists).append(attribute)
        documented = "default" in prop and _accepts(annotation, prop["default"])
        if not prop.get("x-required", key in required):
            # kie.ai applies its own default to a field left out: leave it out unless given.
            if documented:
                annotation = Annotated[
                    annotation, msgspec.Meta(extra_json_schema={"default": prop["default"]})
                ]
            optional.append((attribute, annotation | None, None))
        elif documented:  # required, with a default: always sent, the default unless given
            optional.append((attribute, annotation, _default(prop["default"])))
        else:
            fields.append((attribute, annotation, msgspec.NODEFAULT))
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
        namespace=(
            {"__post_init__": _whole_numbers(tuple(numbers), tuple(lists))}
            if numbers or lists
            else None
        ),
    )


def _number_kind(prop: Mapping[str, Any]) -> str | None:
    """``"number"`` for a JSON number property, ``"list"`` for a list of them, else None.

    ``prop`` is compiled already, so it has a type.
    """
    kind = _type_of(prop, "", "")
    items = prop.get("items")
    if kind == "array" and isinstance(items, Mapping) and _type_of(items, "", "") == "number":
        return "list"
    return "number" if kind == "number" else None


def _whole_numbers(
    numbers: tuple[str, ...], lists: tuple[str, ...]
) -> Callable[[msgspec.Struct], None]:
    """A ``__post_init__`` that keeps whole numbers ints in number fields (and lists of them).

    A JSON ``number`` field is a ``float`` (to validation, describe, the docs), which msgspec
    converts ``8`` to; kie.ai's documented bodies send ``8`` and a strict server may want exactly
    that. So a whole value is stored as an int again, and is sent as ``8``, not ``8.0``. It is
    marked (:data:`WHOLE_NUMBERS`): a submit's sending twin does the same without it.
    """
    force = msgspec.structs.force_setattr

    def __post_init__(self: msgspec.Struct) -> None:
        for name in numbers:
            value = getattr(self, name)
            if type(value) is float and value.is_integer() and -EXACT <= value <= EXACT:
                force(self, name, int(value))
        for name in lists:
            value = getattr(self, name)
            if value:
                force(self, name, [whole(item) for item in value])

    setattr(__post_init__, WHOLE_NUMBERS, (numbers, lists))
    return __post_init__


def _default(value: Any) -> Any:
    """A Struct default; a non-empty list or object is copied for each instance."""
    if isinstance(value, list | dict) and value:
        return msgspec.field(
            default_factory=lambda: msgspec.json.decode(msgspec.json.encode(value))
        )
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
    kind: Any = prop.get("type")
    if kind is None:
        for key in ("anyOf", "oneOf", "allOf"):
            found = {b.get("type") for b in prop.get(key, ()) if isinstance(b, Mapping)}
            if len(found) == 1:
                kind = found.pop()
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
    if kind == "number":
        return _number(prop, context, description)
    if "enum" in prop:
        return _enum(prop, context, description)
    if kind == "integer":
        return _integer(prop, description)
    return _string(prop, description)


def _string(prop: Mapping[str, Any], description: str | None) -> Any:
    options: dict[str, Any] = {"description": description}
    if "minLength" in prop:
        options["min_length"] = int(prop["minLength"])
    if "maxLength" in prop:
        options["max_length"] = int(prop["maxLength"])
    if "pattern" in prop:
        options["pattern"] = str(prop["pattern"])
    elif prop.get("format") == "uri":
        options["pattern"] = url_pattern()
        options.setdefault("max_length", _MAX_URL_LENGTH)
    return _annotated(str, options)


def _integer(prop: Mapping[str, Any], description: str | None) -> Any:
    options: dict[str, Any] = {"description": description, **_bounds(prop, integer=True)}
    step = prop.get("multipleOf")
    if _is_number(step) and step > 1 and float(step).is_integer():
        options["multiple_of"] = int(step)
    return _annotated(int, options)


def _number(prop: Mapping[str, Any], context: _Context, description: str | None) -> Any:
    """A JSON number: a float with bounds and a step (``multipleOf``, checked within rounding).

    msgspec has no float literals, so an evenly spaced number enum (``[0, 0.5, 1]``) becomes
    exactly that: a range with a step.
    """
    if "enum" in prop:
        return Annotated[
            float, number_meta(**_evenly_spaced(prop, context), description=description)
        ]
    step = prop.get("multipleOf")
    return Annotated[
        float,
        number_meta(
            **_bounds(prop, integer=False),
            step=float(step) if _is_number(step) and step > 0 else None,
            description=description,
        ),
    ]


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bounds(prop: Mapping[str, Any], *, integer: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for source, target in (
        ("minimum", "ge"),
        ("maximum", "le"),
        ("exclusiveMinimum", "gt"),
        ("exclusiveMaximum", "lt"),
    ):
        bound = prop.get(source)
        if _is_number(bound):
            # An integral bound stays an int for numbers too (``ge=0``, as people write it):
            # typing caches ``Annotated`` by equal metadata, so 0 and 0.0 would render as
            # whichever was made first.
            whole = float(bound).is_integer()
            found[target] = _int_bound(bound, target) if integer or whole else float(bound)
    return found


def _int_bound(bound: float, target: str) -> int:
    """An integer bound for a possibly fractional one, keeping the same set of integers."""
    if float(bound).is_integer():
        return int(bound)
    return math.ceil(bound) if target in ("ge", "gt") else math.floor(bound)


def _evenly_spaced(prop: Mapping[str, Any], context: _Context) -> dict[str, float]:
    values = sorted({float(v) for v in prop["enum"] if _is_number(v)})
    step = values[1] - values[0] if len(values) > 1 else 0.0
    evenly = (
        len(values) == len(prop["enum"])
        and step > 0
        and all(math.isclose(b - a, step) for a, b in itertools.pairwise(values))
    )
    if not evenly or not math.isclose(values[0] / step, round(values[0] / step), abs_tol=1e-9):
        raise SchemaError(
            f"{context.struct_name}: property {context.path!r} has a number enum that is not "
            "an evenly spaced range"
        )
    return {"ge": values[0], "le": values[-1], "step": step}


def _annotated(base: Any, options: Mapping[str, Any]) -> Any:
    given = {key: value for key, value in options.items() if value is not None}
    return Annotated[base, msgspec.Meta(**given)] if given else base


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
    return _annotated(literal, {"description": description})


def _array(prop: Mapping[str, Any], key: str, context: _Context, description: str | None) -> Any:
    items = prop.get("items")
    if not isinstance(items, Mapping):
        raise SchemaError(f"{context.struct_name}: array {context.path!r} has no item schema")
    constraints: dict[str, Any] = {}
    if "minItems" in prop:
        constraints["min_length"] = int(prop["minItems"])
    if "maxItems" in prop:
        constraints["max_length"] = int(prop["maxItems"])
    facts = media_facts({**items, "description": prop.get("description", "")}, key)
    if facts is not None:
        return media_list(
            facts["kind"],
            min_items=constraints.get("min_length"),
            max_items=constraints.get("max_length"),
            description=description,
            **_options(facts),
        )
    item_context = _Context(
        struct_name=context.struct_name + "Item",
        path=context.path + "[]",
        patches=context.patches,
        module=context.module,
    )
    item = _annotation(items, key, item_context)
    return _annotated(list[item], {**constraints, "description": description})  # type: ignore[valid-type]


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

_TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/m4a": "audio/mp4",
}


def media_kind(name: str, item: Mapping[str, Any]) -> MediaKind | None:
    """The media a URL property takes, from its documented types, name or text; None if no media.

    A property is a URL property if it is a string of ``format: uri``, or its name ends in
    ``url``/``urls``, or its pattern starts with a URL scheme, or its name names a medium and its
    description calls it a URL (kie's ``image``, ``reference_image``).
    """
    if item.get("type") != "string" or "enum" in item:
        return None
    text = str(item.get("description") or "")
    lowered = name.lower()
    named = re.search(r"urls?$", lowered.strip()) is not None
    pattern = str(item.get("pattern") or "")
    schemed = re.match(r"\^\(?(https\?|http|oss|asset)", pattern) is not None
    described = "URL" in text and any(word in lowered for word, _ in _NAME_KINDS)
    if not (item.get("format") == "uri" or named or schemed or described):
        return None
    kinds = {media.split("/", 1)[0] for media in _documented_types(text)}
    if len(kinds) == 1:
        return cast("MediaKind", kinds.pop())
    for word, kind in _NAME_KINDS:
        if word in lowered:
            return kind
    said = re.search(r"\b(image|video|audio)\b", text, flags=re.IGNORECASE)
    return cast("MediaKind", said.group(1).lower()) if said else None


#: File-format words kie's prose uses, and their media types.
_FORMAT_WORDS: Mapping[str, str] = {
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "gif": "image/gif",
    "heic": "image/heic",
    "heif": "image/heif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
}


def _documented_types(text: str) -> tuple[str, ...]:
    """The media types a description accepts: ``Accepted types: image/png, ...`` or format words.

    Sentences that refuse formats ("does not support HEIC") are left out.
    """
    kept = " ".join(
        part
        for part in re.split(r"[.;\n]| - ", text)
        if not re.search(r"\bnot support", part, flags=re.IGNORECASE)
    )
    listed = re.search(
        r"(?:Accepted|Supported) (?:file )?(?:types?|formats?):\s*([^\n;]*)",
        kept,
        flags=re.IGNORECASE,
    )
    if listed:
        types = re.findall(r"\b(?:image|video|audio)/[\w.+-]+", listed.group(1))
        if types:
            return tuple(dict.fromkeys(_TYPE_ALIASES.get(t, t) for t in types))
    for run in _FORMAT_RUN.finditer(kept):
        words = re.findall(r"[a-z0-9]+", run.group(0).lower())
        types = [_FORMAT_WORDS[word] for word in words if word in _FORMAT_WORDS]
        if len(set(types)) >= 2:
            return tuple(dict.fromkeys(types))
    return ()


_WORD = "(?:" + "|".join(_FORMAT_WORDS) + ")"
#: Two or more format words in a row: "JPG, JPEG, or PNG", "mp4/mov", "`mp4`, `mov`".
_FORMAT_RUN = re.compile(
    rf"`?\b{_WORD}\b`?(?:[\s,/]+(?:and\s+|or\s+)?`?\b{_WORD}\b`?)+", flags=re.IGNORECASE
)


def _documented_size(text: str) -> int | None:
    found = re.search(
        r"(?:max(?:imum)?[^\n.:\d]{0,30}size[^\n:\d]{0,20}:?|up to|under|at most|no larger than|"
        r"not exceed(?:ing)?|cannot exceed|limited to|less than|max)[^\d\n]{0,4}"
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
    """The media field type of a URL property, or None if it is not one."""
    facts = media_facts(item, name)
    if facts is None:
        return None
    return media(facts["kind"], optional=empty or item.get("default") == "", **_options(facts))


def _options(facts: Mapping[str, Any]) -> dict[str, Any]:
    schemes = tuple(facts.get("schemes", ()))
    return {
        "media_types": tuple(facts.get("types", ())) or None,
        "max_bytes": facts.get("max_bytes"),
        "schemes": ("http", "https", *schemes) if schemes else None,
        **{name: facts[name] for name in BOUND_NAMES if name in facts},
    }


def media_facts(prop: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """What a URL property takes: ``{"kind", "types", "max_bytes", "schemes"}``, or None.

    An ``x-media`` keyword may also give the bounds of :class:`~kieframe.authoring.MediaBounds`
    (``min_width``, ``max_duration``, ...).

    Read from an ``x-media`` keyword when the schema has one (the catalogue's data file keeps them
    so), else from the property's name, pattern and description (``Accepted types: ...``,
    ``Max size: 10MB``). ``schemes`` are URL schemes accepted besides http(s).
    """
    declared = prop.get("x-media")
    if isinstance(declared, Mapping):
        return dict(declared)
    kind = media_kind(name, prop)
    if kind is None:
        return None
    text = str(prop.get("description") or "")
    schemes = list(_schemes(str(prop.get("pattern") or "")))
    if "asset://" in text:
        schemes.append("asset")
    facts: dict[str, Any] = {"kind": kind}
    types = [media for media in _documented_types(text) if media.startswith(f"{kind}/")]
    if types:
        facts["types"] = types
    size = _documented_size(text)
    if size:
        facts["max_bytes"] = size
    if schemes:
        facts["schemes"] = list(dict.fromkeys(schemes))
    return facts

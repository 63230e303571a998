"""What the commands print: JSON-ready dicts for ``--json``, rich tables and Markdown pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
from collections.abc import Mapping
from typing import Any

import msgspec.inspect as mi
from rich.table import Table

from .._fields import media_limits
from .._records import TaskRecord
from .._registry import ModelSource, PluginFailure, PluginInfo
from .._spec import ModelSpec
from .._validation_describe import describe_type
from .._validation_types import FieldInfo
from ._inputs import has_option, is_flag, option_name
from ._sample import sample_input

__all__ = [
    "category",
    "describe_json",
    "family",
    "fields_table",
    "matches",
    "model_markdown",
    "models_index_markdown",
    "models_nav",
    "models_table",
    "plugins_json",
    "plugins_tables",
    "record_json",
    "record_table",
    "source_line",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def record_json(record: TaskRecord) -> dict[str, Any]:
    """A task record as a JSON object (without the raw answer)."""
    return {
        item.name: _jsonable(getattr(record, item.name))
        for item in dataclasses.fields(record)
        if item.name != "raw"
    }


def record_table(record: TaskRecord) -> Table:
    """A task record as a two-column table of the fields that are set."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in record_json(record).items():
        if value in (None, [], {}):
            continue
        if key == "result_urls":
            value = "\n".join(value)
        elif isinstance(value, Mapping):
            value = json.dumps(value, ensure_ascii=False)
        table.add_row(key, str(value))
    return table


def field_description(field: FieldInfo) -> str:
    """The description a plugin gave a field in its ``msgspec.Meta``, or ``""``."""
    text = _own_description(field.type)
    return "" if text and text in describe_type(field.type) else text


def _own_description(node: mi.Type) -> str:
    while True:
        if isinstance(node, mi.Metadata):
            description = (node.extra_json_schema or {}).get("description")
            if description:
                return str(description)
            node = node.type
        elif isinstance(node, mi.UnionType):
            inner = [member for member in node.types if member != mi.NoneType()]
            if len(inner) != 1:
                return ""
            node = inner[0]
        else:
            return ""


def field_limit(field: FieldInfo) -> str:
    """The field's documented limit in words, with the media accepted from a local file."""
    text = describe_type(field.type)
    limits = media_limits(field.type)
    if limits is not None:
        text += f"; or a local file: {limits.describe()}"
    return text


def _default(field: FieldInfo) -> str:
    value = None if field.required else default_value(field)
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def default_value(field: FieldInfo) -> Any:
    """What an optional field amounts to when left out: its own default or kie.ai's documented one.

    A field compiled from kie.ai's schema is left out of the request unless given, and kie.ai
    applies the default its docs state (kept in the field's JSON Schema).
    """
    if field.default is not None:
        return field.default
    node: mi.Type = field.type
    while True:
        if isinstance(node, mi.Metadata):
            documented = (node.extra_json_schema or {}).get("default")
            if documented is not None:
                return documented
            node = node.type
        elif isinstance(node, mi.UnionType):
            inner = [member for member in node.types if member != mi.NoneType()]
            if len(inner) != 1:
                return None
            node = inner[0]
        else:
            return None


_CATEGORIES = ("video", "image", "audio")


def category(spec: ModelSpec[Any]) -> str:
    """What a model makes, for ``kieframe models --category``: video, image, audio (or text)."""
    for tag in spec.tags:
        if tag in _CATEGORIES:
            return tag
    return spec.output


def family(spec: ModelSpec[Any]) -> str:
    """A model's family: the catalogue's (its second tag), else the id's first part."""
    if len(spec.tags) >= 2 and spec.tags[0] in _CATEGORIES:
        return spec.tags[1]
    return spec.id.partition("/")[0].split("-")[0].capitalize()


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def matches(
    spec: ModelSpec[Any],
    *,
    category_is: str | None = None,
    family_is: str | None = None,
    search: str | None = None,
) -> bool:
    """Whether a model passes ``kieframe models`` filters (case and punctuation ignored)."""
    if category_is is not None and category(spec) != category_is.lower():
        return False
    if family_is is not None and _squash(family_is) not in (
        _squash(family(spec)),
        _squash(spec.id.partition("/")[0]),
    ):
        return False
    if search:
        haystack = " ".join((spec.id, spec.title, spec.summary, *spec.tags)).lower()
        return all(word in haystack for word in search.lower().split())
    return True


def describe_json(spec: ModelSpec[Any], source: ModelSource | None = None) -> dict[str, Any]:
    """Everything ``describe`` shows, as a JSON object (with the serving plugin, if known)."""
    fields = []
    for field in spec.fields:
        limits = media_limits(field.type)
        fields.append(
            {
                "name": field.name,
                "option": option_name(field),
                "required": field.required,
                "default": None if field.required else default_value(field),
                "limit": describe_type(field.type),
                "description": field_description(field),
                "media": None
                if limits is None
                else {
                    "kind": limits.kind,
                    "media_types": list(limits.media_types),
                    "max_bytes": limits.max_bytes,
                    **limits.bounds,
                },
            }
        )
    served = None if source is None else dataclasses.asdict(source)
    return {
        "id": spec.id,
        "title": spec.title,
        "summary": spec.summary,
        "docs_url": spec.docs_url,
        "category": category(spec),
        "family": family(spec),
        "plugin": served,
        "output": spec.output,
        "outputs": spec.outputs,
        "typical_seconds": spec.typical_seconds,
        "deadline": spec.deadline,
        "requires_callback": spec.requires_callback,
        "tags": list(spec.tags),
        "fields": fields,
        "rules": list(spec.rule_notes),
        "examples": [dict(example) for example in spec.examples],
    }


def fields_table(spec: ModelSpec[Any]) -> Table:
    """The input fields of a model: name, option, required, default, limit and description."""
    table = Table(title=f"{spec.id} input", title_justify="left")
    table.add_column("field", no_wrap=True, style="bold")
    table.add_column("required")
    table.add_column("default", overflow="fold")
    table.add_column("limit", overflow="fold")
    table.add_column("description", overflow="fold")
    for field in spec.fields:
        table.add_row(
            field.name,
            "yes" if field.required else "",
            _default(field),
            field_limit(field),
            field_description(field),
        )
    return table


def models_table(specs: tuple[ModelSpec[Any], ...], plugins: Mapping[str, str]) -> Table:
    """The installed models: id, title, category, family, output and the plugin serving each."""
    table = Table()
    table.add_column("model", no_wrap=True, style="bold")
    table.add_column("title")
    table.add_column("category")
    table.add_column("family")
    table.add_column("output")
    table.add_column("plugin")
    for spec in specs:
        output = spec.output if spec.outputs == "one" else f"{spec.output} (several)"
        table.add_row(
            spec.id, spec.title, category(spec), family(spec), output, plugins.get(spec.id, "")
        )
    return table


def source_line(
    spec: ModelSpec[Any], source: ModelSource, replaced: ModelSpec[Any] | None = None
) -> str:
    """Which plugin serves a model and what it replaces, in words.

    With the replaced catalogue entry, it also names the fields that one lists and this plugin
    does not (kie.ai may have added them since the plugin was written).
    """
    text = f"served by plugin {source.plugin!r}"
    if source.fallback:
        return text + " (a catalogue entry; an installed plugin for this id would replace it)"
    if source.replaces is None:
        return text
    text += f", which replaces the entry of plugin {source.replaces!r}"
    if replaced is not None:
        own = {field.name for field in spec.fields}
        missing = [field.name for field in replaced.fields if field.name not in own]
        if missing:
            text += "; that entry also lists: " + ", ".join(missing)
    return text


def plugins_json(
    infos: tuple[PluginInfo, ...], failures: tuple[PluginFailure, ...]
) -> dict[str, Any]:
    """The loaded plugins and the ones that failed, as a JSON object."""
    return {
        "plugins": [
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "models": list(info.models),
                "fallback": info.fallback,
                "overrides": list(info.overrides),
            }
            for info in infos
        ],
        "failed": [
            {"name": failure.name, "distribution": failure.distribution, "error": failure.error}
            for failure in failures
        ],
    }


def plugins_tables(
    infos: tuple[PluginInfo, ...], failures: tuple[PluginFailure, ...]
) -> list[Table]:
    """A table of the loaded plugins and, if any failed, one of the failures."""
    loaded = Table(title="plugins", title_justify="left")
    for name in ("plugin", "distribution", "version", "role", "models"):
        loaded.add_column(name, no_wrap=name == "plugin", overflow="fold")
    for info in infos:
        if info.fallback:
            role = "catalogue (fallback)"
        elif info.overrides:
            role = "replaces catalogue entries:\n" + "\n".join(info.overrides)
        else:
            role = ""
        served = (
            f"{len(info.models)} models (kieframe models)"
            if len(info.models) > _LISTED
            else "\n".join(info.models)
        )
        loaded.add_row(info.name, info.distribution or "-", info.version or "-", role, served)
    tables = [loaded]
    if failures:
        failed = Table(title="failed plugins", title_justify="left", style="red")
        for name in ("plugin", "distribution", "error"):
            failed.add_column(name, overflow="fold")
        for failure in failures:
            failed.add_row(failure.name, failure.distribution or "-", failure.error)
        tables.append(failed)
    return tables


_LISTED = 12  # a plugin serving more models shows their count, not each id


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _quick_start(spec: ModelSpec[Any]) -> str:
    """The command that runs the model's first example: whole (never cut), one option a line.

    A model without an example runs a small valid input instead (:func:`sample_input`).
    """
    data: Mapping[str, Any] = (
        spec.examples[0]["input"] if spec.examples else (sample_input(spec) or {})
    )
    lines = [shlex.join(["kieframe", "run", spec.id, "--emulator"])]
    for field in spec.fields:
        if field.name in data:
            lines += [shlex.join(args) for args in _option_args(field, data[field.name])]
    if spec.requires_callback:
        lines.append(shlex.join(["--callback-url", _CALLBACK_EXAMPLE]))
    return " \\\n    ".join(lines)


#: The callback URL the page of a model that requires one shows (the reader's own endpoint).
_CALLBACK_EXAMPLE = "http://127.0.0.1:8080/kie-callback"


def _option_args(field: FieldInfo, value: Any) -> list[list[str]]:
    """The options that set ``field`` to ``value`` on the command line, as `run` reads them."""
    name = option_name(field)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if not has_option(field) or value == []:  # an empty list of media: no option to repeat
        return [["--set", f"{field.name}={text}"]]
    if is_flag(field) and isinstance(value, bool):
        return [[name if value else f"--no-{name[2:]}"]]
    if isinstance(value, list) and media_limits(field.type) is not None:
        return [[name, item] for item in value]  # a list of media: the option once per item
    return [[name, text]]


def _run_call(spec: ModelSpec[Any]) -> list[str]:
    """The ``client.run(...)`` line of a page, wrapped as ruff formats it past 100 columns."""
    arguments = [json.dumps(spec.id), "{...}", 'download_to="kieframe-output"']
    if spec.requires_callback:
        arguments.append(f"callback_url={json.dumps(_CALLBACK_EXAMPLE)}")
    line = f"    result = client.run({', '.join(arguments)})"
    if len(line) <= 100:
        return [line]
    inner = f"        {', '.join(arguments)}"
    if len(inner) <= 100:
        return ["    result = client.run(", inner, "    )"]
    return ["    result = client.run(", *(f"        {item}," for item in arguments), "    )"]


def model_markdown(spec: ModelSpec[Any]) -> str:
    """The documentation page of a model, as ``kieframe describe MODEL --markdown`` prints it."""
    lines = [
        f"# {spec.title}",
        "",
        f"<!-- Generated by `kieframe describe {spec.id} --markdown`; do not edit by hand. -->",
        "",
        f"`{spec.id}` · output: {spec.output} · usually about {_minutes(spec.typical_seconds)}"
        f" · deadline {_minutes(spec.deadline)}",
        "",
    ]
    if spec.summary:
        lines += [spec.summary, ""]
    lines += [f"kie.ai's page for the model: <{spec.docs_url}>", ""]
    if spec.requires_callback:
        lines += [
            "kie.ai requires a callback URL for this model: pass `callback_url=...` "
            "(`--callback-url`); a submit without one is refused before anything is sent.",
            "",
        ]
    if spec.tags:
        lines += ["Tags: " + ", ".join(f"`{tag}`" for tag in spec.tags), ""]
    lines += [
        "## Input",
        "",
        "| field | option | required | default | limit | description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for field in spec.fields:
        default = _default(field)
        lines.append(
            f"| `{field.name}` | `{option_name(field)}` | {'yes' if field.required else 'no'} | "
            f"{_cell(f'`{default}`' if default else '')} | {_cell(field_limit(field))} | "
            f"{_cell(field_description(field))} |"
        )
    if spec.rule_notes:
        lines += ["", "Across fields:", "", *(f"- {note}" for note in spec.rule_notes)]
    lines += [
        "",
        "## Run it",
        "",
        "```console",
        f"$ {_quick_start(spec)}",
        "```",
        "",
        "Drop `--emulator` to run it on kie.ai with `KIE_API_KEY`; a local image path in a media "
        "field is uploaded first.",
        "",
        "```python",
        "import kieframe",
        "",
        "with kieframe.Client() as client:",
        *_run_call(spec),
        "```",
    ]
    for number, example in enumerate(spec.examples, start=1):
        heading = f"## Documented example {number}" if len(spec.examples) > 1 else "## Example"
        lines += [
            "",
            heading,
            "",
            "```json",
            json.dumps(example, indent=2, ensure_ascii=False),
            "```",
        ]
    lines += [
        "",
        "## JSON Schema",
        "",
        f"`kieframe describe {spec.id} --json-schema` prints it:",
        "",
        "```json",
        json.dumps(spec.json_schema(), indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


_CATEGORY_TITLES = {"video": "Video", "image": "Image", "audio": "Audio", "text": "Text"}


def _grouped(
    specs: tuple[ModelSpec[Any], ...],
) -> list[tuple[str, list[tuple[str, list[ModelSpec[Any]]]]]]:
    """Models by category (video, image, audio, text), then by family, each sorted."""
    groups: dict[str, dict[str, list[ModelSpec[Any]]]] = {}
    for spec in specs:
        groups.setdefault(category(spec), {}).setdefault(family(spec), []).append(spec)
    order = list(_CATEGORY_TITLES)
    return [
        (name, [(fam, sorted(members, key=lambda s: s.id)) for fam, members in sorted(by.items())])
        for name, by in sorted(groups.items(), key=lambda item: order.index(item[0]))
    ]


def models_index_markdown(specs: tuple[ModelSpec[Any], ...]) -> str:
    """The models index page of the docs: every model by category and family."""
    lines = [
        "# Models",
        "",
        "<!-- Generated from the installed plugins; do not edit by hand. -->",
        "",
        f"kieframe ships {len(specs)} models: every model of kie.ai's Jobs API, from the "
        "first-party catalogue plugin (built from kie.ai's published input schemas plus the "
        "limits its docs state only in prose), and hand-written plugins that replace a catalogue "
        "entry where a model needs code. Each page is generated with "
        "`kieframe describe MODEL --markdown`; `kieframe models` lists what is installed on your "
        "machine, with filters (`--category`, `--family`, `--search`).",
        "",
    ]
    for name, families in _grouped(specs):
        count = sum(len(members) for _, members in families)
        lines += [f"## {_CATEGORY_TITLES[name]} ({count})", ""]
        for fam, members in families:
            lines += [f"### {fam}", "", "| model | title | output |", "| --- | --- | --- |"]
            for spec in members:
                output = spec.output if spec.outputs == "one" else f"{spec.output} (several)"
                lines.append(f"| [`{spec.id}`]({spec.id}.md) | {_cell(spec.title)} | {output} |")
            lines.append("")
    lines += [
        "To add a model or replace a catalogue entry, [write a plugin](../plugins/writing.md) "
        "or [build one from a JSON Schema](../plugins/from-schema.md).",
        "",
    ]
    return "\n".join(lines)


def models_nav(specs: tuple[ModelSpec[Any], ...], *, indent: int = 6) -> list[str]:
    """The ``nav`` lines of mkdocs.yml for the model pages, by category and family."""
    pad = " " * indent
    lines = [f"{pad}- models/index.md", f"{pad}- The catalogue: models/catalogue.md"]
    for name, families in _grouped(specs):
        lines.append(f"{pad}- {_CATEGORY_TITLES[name]}:")
        for fam, members in families:
            lines.append(f"{pad}    - {json.dumps(fam)}:")
            for spec in members:
                lines.append(f"{pad}        - {json.dumps(spec.title)}: models/{spec.id}.md")
    return lines

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
from .._registry import PluginFailure, PluginInfo
from .._spec import ModelSpec
from .._validation import FieldInfo, describe_type
from ._inputs import option_name

__all__ = [
    "describe_json",
    "fields_table",
    "model_markdown",
    "models_table",
    "plugins_json",
    "plugins_tables",
    "record_json",
    "record_table",
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
    return "" if field.required else json.dumps(field.default, ensure_ascii=False)


def describe_json(spec: ModelSpec[Any]) -> dict[str, Any]:
    """Everything ``describe`` shows, as a JSON object."""
    fields = []
    for field in spec.fields:
        limits = media_limits(field.type)
        fields.append(
            {
                "name": field.name,
                "option": option_name(field),
                "required": field.required,
                "default": None if field.required else field.default,
                "limit": describe_type(field.type),
                "description": field_description(field),
                "media": None
                if limits is None
                else {"media_types": list(limits.media_types), "max_bytes": limits.max_bytes},
            }
        )
    return {
        "id": spec.id,
        "title": spec.title,
        "summary": spec.summary,
        "docs_url": spec.docs_url,
        "output": spec.output,
        "typical_seconds": spec.typical_seconds,
        "deadline": spec.deadline,
        "tags": list(spec.tags),
        "fields": fields,
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


def models_table(specs: tuple[ModelSpec[Any], ...]) -> Table:
    """The installed models: id, title, output kind and summary."""
    table = Table()
    table.add_column("model", no_wrap=True, style="bold")
    table.add_column("title")
    table.add_column("output")
    table.add_column("summary", overflow="fold")
    for spec in specs:
        table.add_row(spec.id, spec.title, spec.output, spec.summary)
    return table


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
    for name in ("plugin", "distribution", "version", "models"):
        loaded.add_column(name, no_wrap=name == "plugin", overflow="fold")
    for info in infos:
        loaded.add_row(
            info.name, info.distribution or "-", info.version or "-", "\n".join(info.models)
        )
    tables = [loaded]
    if failures:
        failed = Table(title="failed plugins", title_justify="left", style="red")
        for name in ("plugin", "distribution", "error"):
            failed.add_column(name, overflow="fold")
        for failure in failures:
            failed.add_row(failure.name, failure.distribution or "-", failure.error)
        tables.append(failed)
    return tables


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _quick_start(spec: ModelSpec[Any]) -> str:
    """The command that runs the model's first example: whole (never cut), one option a line."""
    example: Mapping[str, Any] = spec.examples[0]["input"] if spec.examples else {}
    lines = [shlex.join(["kieframe", "run", spec.id, "--emulator"])]
    for field in spec.fields:
        if field.required:
            value = example.get(field.name, "...")
            text = json.dumps(value) if not isinstance(value, str) else value
            lines.append(shlex.join([option_name(field), text]))
    return " \\\n    ".join(lines)


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
        f'    result = client.run({json.dumps(spec.id)}, {{...}}, download_to="kieframe-output")',
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

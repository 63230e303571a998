"""Regenerate the catalogue's data file from a kie.ai schema dump, and print what changed.

A maintainer's command::

    python -m kieframe_catalogue.update /path/to/kie-jobs-models.json

reads a dump of the same shape as the one the catalogue was built from (``{"models": [{"id",
"title", "family", "category", "docs_url", "input_schema", "request_required", "example"},
...]}``), writes ``models.json`` beside this module, and prints the models added and removed, the
fields added and removed and the limits changed, so that an update is reviewed like code.
``--check`` writes nothing and exits 1 if the data file would change.

What is kept: each model's facts, the top-level keys kie.ai requires in its create besides
``model`` and ``input`` (``request_required``: ``callBackUrl`` for some), its input schema
without kie's prose (descriptions and examples are dropped; what the prose says of media fields,
their kind, types and size, is kept as an ``x-media`` keyword), and its documented example input,
with mechanical slips undone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kieframe._schema import media_facts

__all__ = ["DATA_FILE", "Change", "build", "diff", "main"]

DATA_FILE = Path(__file__).with_name("models.json")

_DROPPED = frozenset({"description", "examples", "x--orders", "x--ignore-properties", "title"})
_ENTRY_KEYS = ("id", "title", "family", "category", "docs_url")
#: Top-level keys of every create body; ``request_required`` keeps the others kie.ai requires.
_ALWAYS_SENT = frozenset({"model", "input"})

#: A line of the printed diff: (kind of change, model id, detail).
Change = tuple[str, str, str]


def build(dump: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue's data (a JSON-ready dict) from a kie.ai schema dump."""
    models = []
    for model in sorted(dump["models"], key=lambda item: item["id"]):
        entry = {key: model[key] for key in _ENTRY_KEYS}
        entry["schema"] = _strip(model["input_schema"], name="")
        request = [key for key in model.get("request_required", ()) if key not in _ALWAYS_SENT]
        if request:
            entry["request_required"] = request
        example, slips = _example(model.get("example"))
        entry["example"] = example
        if slips:
            entry["slips"] = slips
        models.append(entry)
    source = {key: dump[key] for key in ("generated_at",) if key in dump}
    return {"source": source, "count": len(models), "models": models}


def _strip(schema: Any, *, name: str) -> Any:
    """The schema without prose, with media facts read from the prose first."""
    if isinstance(schema, list):
        return [_strip(item, name=name) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED and not isinstance(value, Mapping):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {prop: _strip(sub, name=prop) for prop, sub in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            item = {**value, "description": schema.get("description", "")}
            out[key] = _strip(item, name=name)
        else:
            out[key] = _strip(value, name=name)
    facts = media_facts(schema, name) if name else None
    if facts is not None:
        out["x-media"] = facts
    return out


def _example(raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The documented example input, and the mechanical slips undone to read it."""
    slips: list[str] = []
    if not raw:
        return None, slips
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = json.loads(re.sub(r",(\s*[}\]])", r"\1", raw))
            slips.append("not JSON: trailing commas removed")
    body = raw.get("input", {}) if isinstance(raw, Mapping) else {}
    fixed = {}
    for key, value in body.items():
        if key != key.strip():
            slips.append(f"field {key!r} named with surrounding spaces")
        fixed[key.strip()] = value
    return fixed, slips


# -- the diff ---------------------------------------------------------------------------------


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed between two data files: models, fields and limits."""
    before = {model["id"]: model for model in old.get("models", ())}
    after = {model["id"]: model for model in new.get("models", ())}
    changes: list[Change] = []
    for model_id in sorted(after.keys() - before.keys()):
        changes.append(("model added", model_id, after[model_id]["title"]))
    for model_id in sorted(before.keys() - after.keys()):
        changes.append(("model removed", model_id, before[model_id]["title"]))
    for model_id in sorted(before.keys() & after.keys()):
        changes.extend(_model_changes(model_id, before[model_id], after[model_id]))
    return changes


def _model_changes(model_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for key in _ENTRY_KEYS:
        if old[key] != new[key]:
            changes.append((f"{key} changed", model_id, f"{old[key]!r} -> {new[key]!r}"))
    fields_old = dict(_fields(old["schema"]))
    fields_new = dict(_fields(new["schema"]))
    for path in sorted(fields_new.keys() - fields_old.keys()):
        changes.append(("field added", model_id, f"{path}: {_limits(fields_new[path])}"))
    for path in sorted(fields_old.keys() - fields_new.keys()):
        changes.append(("field removed", model_id, path))
    for path in sorted(fields_old.keys() & fields_new.keys()):
        was, now = _limits(fields_old[path]), _limits(fields_new[path])
        if was != now:
            changes.append(("limits changed", model_id, f"{path}: {was} -> {now}"))
    if set(old["schema"].get("required", ())) != set(new["schema"].get("required", ())):
        changes.append(
            (
                "required changed",
                model_id,
                f"{sorted(old['schema'].get('required', ()))} -> "
                f"{sorted(new['schema'].get('required', ()))}",
            )
        )
    if old.get("request_required", []) != new.get("request_required", []):
        changes.append(
            (
                "request changed",
                model_id,
                f"required {old.get('request_required', [])} -> {new.get('request_required', [])}",
            )
        )
    if old.get("example") != new.get("example"):
        changes.append(("example changed", model_id, ""))
    return changes


def _fields(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    branches = [
        schema,
        *schema.get("oneOf", ()),
        *schema.get("anyOf", ()),
        *schema.get("allOf", ()),
    ]
    for branch in branches:
        for name, prop in (branch.get("properties") or {}).items():
            path = prefix + name.strip()
            yield path, prop
            if not isinstance(prop, Mapping):
                continue
            if prop.get("type") == "object":
                yield from _fields(prop, path + ".")
            items = prop.get("items")
            if isinstance(items, Mapping) and items.get("type") == "object":
                yield from _fields(items, path + "[].")


def _limits(prop: Any) -> str:
    """A property's own keywords (not its nested ones), as compact JSON for the diff."""
    if not isinstance(prop, Mapping):
        return json.dumps(prop)
    own = {k: v for k, v in prop.items() if k not in ("properties", "items")}
    items = prop.get("items")
    if isinstance(items, Mapping) and items.get("type") != "object":
        own["items"] = items
    return json.dumps(own, sort_keys=True, separators=(",", ":"))


# -- the command ------------------------------------------------------------------------------


def dumps(data: Mapping[str, Any]) -> str:
    """The data file's text: stable, one model per block, reviewable as a diff."""
    return json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the data file from a dump and print what changed; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m kieframe_catalogue.update", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("dump", type=Path, help="a kie.ai schema dump (kie-jobs-models.json)")
    parser.add_argument("--output", type=Path, default=DATA_FILE, help="the data file to write")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on changes")
    args = parser.parse_args(argv)
    new = build(json.loads(args.dump.read_text(encoding="utf-8")))
    old = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else {}
    changes = diff(old, new)
    for kind, model_id, detail in changes:
        print(f"{kind:<17} {model_id}  {detail}".rstrip())
    text = dumps(new)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    if args.check:
        return 1 if text != current else 0
    if text != current:
        args.output.write_text(text, encoding="utf-8")
    print(f"{new['count']} models; {len(changes)} changes; wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover - the command's entry
    raise SystemExit(main())

"""The catalogue's entries, read from its data file, and their model specs."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

from kieframe.authoring import (
    FileRule,
    LocalFiles,
    ModelSpec,
    OutputCount,
    OutputKind,
    Problem,
    Rule,
    spec_from_schema,
)

from ._overrides import EXAMPLES, MANY, OUTPUTS, RULE_NOTES, RULES, limits_for

__all__ = ["ENTRIES", "TIMING", "Entry", "entry", "specs"]

DATA_FILE = Path(__file__).with_name("models.json")

Category = Literal["video", "image", "audio"]

#: Typical run time and deadline (seconds) by what a model makes; kie.ai's pages give none. No
#: deadline passes kie.ai's polling guidance (give up and investigate after 10 to 15 minutes; kie.ai
#: itself fails a task with 408 after 10 minutes without a result).
TIMING: Mapping[str, tuple[float, float]] = {
    "video": (180.0, 900.0),
    "image": (45.0, 600.0),
    "audio": (45.0, 600.0),
    "text": (30.0, 600.0),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One catalogue model: kie.ai's facts about it and its input schema."""

    id: str
    title: str
    family: str
    category: Category
    docs_url: str
    schema: Mapping[str, Any]
    example: Mapping[str, Any] | None
    slips: tuple[str, ...]
    #: Top-level keys kie.ai requires in the create besides ``model`` and ``input``.
    request_required: tuple[str, ...] = ()

    @property
    def output(self) -> OutputKind:
        """What the model's results are: its category's kind, unless the table says otherwise."""
        return OUTPUTS.get(self.id, (self.category, ""))[0]

    @property
    def outputs(self) -> OutputCount:
        """Whether a task may give several result files."""
        return "many" if self.id in MANY else "one"

    def spec(self) -> ModelSpec[Any]:
        """The model's spec; its input Struct is compiled on first use."""
        typical, deadline = TIMING[self.output]
        example = _corrected(self.id, self.example)
        patches = limits_for(self.id)
        defaults = _defaults(self.schema, patches)
        return spec_from_schema(
            self.schema,
            id=self.id,
            title=self.title,
            docs_url=self.docs_url,
            patches=patches,
            rules=_with_defaults(RULES.get(self.id, ()), defaults),
            rule_notes=RULE_NOTES.get(self.id, ()),
            lazy=True,
            output=self.output,
            outputs=self.outputs,
            examples=() if example is None else ({"model": self.id, "input": example},),
            typical_seconds=typical,
            deadline=deadline,
            tags=(self.category, self.family),
            requires_callback="callBackUrl" in self.request_required,
        )


def _defaults(schema: Mapping[str, Any], patches: Mapping[str, Any]) -> dict[str, Any]:
    """kie's documented defaults of the top-level fields, as the table patches them."""
    found = {
        name: prop["default"]
        for name, prop in schema.get("properties", {}).items()
        if isinstance(prop, Mapping) and "default" in prop and name.isidentifier()
    }
    for name, patch in patches.items():
        if "default" in patch and name.isidentifier():
            found[name] = patch["default"]
    return {name: value for name, value in found.items() if value is not None}


def _with_defaults(rules: Sequence[Rule], defaults: Mapping[str, Any]) -> tuple[Rule, ...]:
    """``rules``, checked on the input with kie's documented defaults in place of unset fields.

    The defaults are filled in once per input, for all the rules together (a file rule runs
    later, when local files are staged, so the file rules share their own filling).
    """

    def filled(value: Any) -> Any:
        unset = {
            name: default
            for name, default in defaults.items()
            if getattr(value, name, default) is None
        }
        return msgspec.structs.replace(value, **unset) if unset else value

    plain = [rule for rule in rules if not isinstance(rule, FileRule)]
    on_files = [rule.check for rule in rules if isinstance(rule, FileRule)]
    together: list[Rule] = []
    if plain:

        def checked(value: Any) -> Iterable[Problem]:
            value = filled(value)
            return [problem for rule in plain for problem in rule(value)]

        together.append(checked)
    if on_files:

        def checked_files(value: Any, files: LocalFiles) -> Iterable[Problem]:
            value = filled(value)
            return [problem for check in on_files for problem in check(value, files)]

        together.append(FileRule(checked_files))
    return tuple(together)


def _corrected(model_id: str, example: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if example is None:
        return None
    fixed = dict(example)
    for decision in EXAMPLES:
        if decision.model == model_id:
            fixed.update(decision.corrected)
    return fixed


@functools.cache
def _load() -> dict[str, Entry]:
    data = msgspec.json.decode(DATA_FILE.read_bytes())
    return {
        raw["id"]: Entry(
            id=raw["id"],
            title=raw["title"],
            family=raw["family"],
            category=raw["category"],
            docs_url=raw["docs_url"],
            schema=raw["schema"],
            example=raw.get("example"),
            slips=tuple(raw.get("slips", ())),
            request_required=tuple(raw.get("request_required", ())),
        )
        for raw in data["models"]
    }


class _Entries(Mapping[str, Entry]):
    """Every catalogue entry by model id, read from the data file on first use."""

    def __getitem__(self, key: str) -> Entry:
        return _load()[key]

    def __iter__(self) -> Any:
        return iter(_load())

    def __len__(self) -> int:
        return len(_load())


ENTRIES: Mapping[str, Entry] = _Entries()


def entry(model_id: str) -> Entry:
    """The catalogue entry of ``model_id`` (a ``KeyError`` if the catalogue has none)."""
    return _load()[model_id]


@functools.cache
def specs() -> tuple[ModelSpec[Any], ...]:
    """Every catalogue model's spec, compiled lazily."""
    return tuple(item.spec() for item in _load().values())

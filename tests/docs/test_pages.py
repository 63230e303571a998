"""The docs cover what is installed: a page per model that matches its spec, and the exit codes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import kieframe
from kieframe._cli import ExitCode
from kieframe._cli._inputs import option_name
from kieframe._cli._render import field_limit, model_markdown
from kieframe.authoring import ModelSpec

DOCS = Path(__file__).parent.parent.parent / "docs"


def model_page(spec: ModelSpec[Any]) -> Path:
    """Where a model's page lives: ``docs/models/<vendor>/<model>.md``."""
    return DOCS / "models" / f"{spec.id}.md"


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_every_model_has_a_page_that_matches_its_spec(
    spec: ModelSpec[Any],
) -> None:
    page = model_page(spec)
    assert page.is_file(), f"no page for {spec.id}: kieframe describe {spec.id} --markdown > {page}"
    text = page.read_text(encoding="utf-8")
    for field in spec.fields:
        assert f"| `{field.name}` |" in text
        assert field_limit(field).replace("|", "\\|") in text
    assert text == model_markdown(spec), f"regenerate: kieframe describe {spec.id} --markdown"


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_every_model_page_is_in_the_nav_and_the_index(
    spec: ModelSpec[Any],
) -> None:
    nav = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"models/{spec.id}.md" in nav
    index = (DOCS / "models" / "index.md").read_text(encoding="utf-8")
    assert f"({spec.id}.md)" in index


def _exit_table(text: str) -> dict[int, tuple[str, str]]:
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", text, flags=re.MULTILINE)
    return {int(code): (name, meaning) for code, name, meaning in rows}


@pytest.mark.parametrize("page", ["cli.md", "errors.md"])
def test_the_exit_code_tables_match_the_command(page: str) -> None:
    table = _exit_table((DOCS / page).read_text(encoding="utf-8"))
    assert table == {int(code): (code.name, code.meaning) for code in ExitCode}


def test_the_changelog_page_includes_the_changelog() -> None:
    # pymdownx.snippets (check_paths: true) fails the strict build if the file is missing.
    assert (DOCS / "changelog.md").read_text(encoding="utf-8").strip() == '--8<-- "CHANGELOG.md"'


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_the_run_command_on_a_model_page_is_whole(spec: kieframe.ModelSpec[Any]) -> None:
    """The page's command runs the first example as it is: no value is cut short."""
    text = model_page(spec).read_text(encoding="utf-8")
    block = text.split("## Run it", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    words = shlex.split(block.removeprefix("$ ").replace("\\\n", " "))
    assert words[:4] == ["kieframe", "run", spec.id, "--emulator"]
    given = dict(zip(words[4::2], words[5::2], strict=True))
    example = spec.examples[0]["input"]
    for field in spec.fields:
        if field.required:
            value = example[field.name]
            assert given[option_name(field)] == (
                value if isinstance(value, str) else json.dumps(value)
            )

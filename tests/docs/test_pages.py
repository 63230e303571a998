"""The docs cover what is installed: a page per model that matches its spec, and the exit codes."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest

import kieframe
from kieframe._cli import ExitCode
from kieframe._cli._render import field_limit, model_markdown, models_index_markdown, models_nav
from kieframe.authoring import ModelSpec

DOCS = Path(__file__).parent.parent.parent / "docs"
MKDOCS = DOCS.parent / "mkdocs.yml"
#: ``KIEFRAME_REGENERATE_DOCS=1 pytest tests/docs`` rewrites the generated pages, index and nav.
REGENERATE = os.environ.get("KIEFRAME_REGENERATE_DOCS") == "1"
HINT = "regenerate: KIEFRAME_REGENERATE_DOCS=1 pytest tests/docs"


def _current(path: Path, text: str) -> str:
    """The file's text, rewritten first when regenerating."""
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def model_page(spec: ModelSpec[Any]) -> Path:
    """Where a model's page lives: ``docs/models/<vendor>/<model>.md``."""
    return DOCS / "models" / f"{spec.id}.md"


@pytest.mark.parametrize("spec", kieframe.models(), ids=lambda spec: spec.id)
def test_every_model_has_a_page_that_matches_its_spec(
    spec: ModelSpec[Any],
) -> None:
    page = model_page(spec)
    text = _current(page, model_markdown(spec))
    assert text, f"no page for {spec.id}: {HINT}"
    for field in spec.fields:
        assert f"| `{field.name}` |" in text
        assert field_limit(field).replace("|", "\\|") in text
    assert text == model_markdown(spec), HINT


def test_the_models_index_lists_every_model_by_category_and_family() -> None:
    specs = kieframe.models()
    index = _current(DOCS / "models" / "index.md", models_index_markdown(specs))
    assert index == models_index_markdown(specs), HINT
    for spec in specs:
        assert f"({spec.id}.md)" in index
    for heading in ("## Video", "## Image", "## Audio", "### Kling", "### Seedream"):
        assert heading in index


def test_every_model_page_is_in_the_nav_by_category_and_family() -> None:
    specs = kieframe.models()
    text = MKDOCS.read_text(encoding="utf-8")
    head, marker, rest = text.partition("  - Models:\n")
    body, plugins_marker, tail = rest.partition("  - Plugins:\n")
    assert marker, "mkdocs.yml has no Models section"
    assert plugins_marker, "mkdocs.yml has no Plugins section after Models"
    wanted = "\n".join(models_nav(specs)) + "\n"
    if REGENERATE and body != wanted:
        MKDOCS.write_text(head + marker + wanted + plugins_marker + tail, encoding="utf-8")
        body = wanted
    assert body == wanted, HINT
    for spec in specs:
        assert f"models/{spec.id}.md" in body


def test_no_stale_model_pages() -> None:
    pages = {
        path.relative_to(DOCS / "models").with_suffix("").as_posix()
        for path in (DOCS / "models").rglob("*.md")
    } - {"index", "catalogue"}
    stale = pages - {spec.id for spec in kieframe.models()}
    if REGENERATE:
        for name in stale:
            (DOCS / "models" / f"{name}.md").unlink()
        stale = set()
    assert not stale, f"pages for models no plugin provides: {sorted(stale)}"


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


def test_the_run_command_of_every_model_page_is_valid() -> None:
    """Each page's command, read as ``kieframe run`` reads it, gives an input its model accepts:
    the first example whole, or a small valid input for a model without one."""
    from kieframe._cli._commands import _model_input, run

    refused = {}
    for spec in kieframe.models():
        text = model_page(spec).read_text(encoding="utf-8")
        block = text.split("## Run it", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
        words = shlex.split(block.removeprefix("$ ").replace("\\\n", " "))
        assert words[:4] == ["kieframe", "run", spec.id, "--emulator"]
        try:
            assert "..." not in words
            with run.make_context("run", words[2:]) as ctx:
                data = _model_input(spec, dict(ctx.params))
            spec.validate(data)
            if spec.examples:
                assert data == spec.examples[0]["input"]
        except (click.ClickException, kieframe.KieError, AssertionError) as error:
            refused[spec.id] = str(error)
    assert refused == {}

"""docs/plugins/writing.md works when followed literally: its code is a plugin that keeps the
contract, and its pyproject.toml is complete."""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import kieframe

GUIDE = Path(__file__).parent.parent.parent / "docs" / "plugins" / "writing.md"


def _blocks(language: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[ModuleType]:
    """The guide's Python blocks, one after the other, as ``kieframe_acme/__init__.py``."""
    package = tmp_path / "kieframe_acme"
    package.mkdir()
    (package / "__init__.py").write_text("\n\n".join(_blocks("python")), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("kieframe_acme")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("kieframe_acme", None)


def test_the_guides_plugin_keeps_the_contract(plugin: ModuleType) -> None:
    plugin.test_contract()


def test_the_guides_plugin_registers_and_validates(plugin: ModuleType) -> None:
    registry = kieframe.Registry(entry_points=False, environ={})
    registry.register(plugin)
    spec = registry.get_model("acme/animate")
    with pytest.raises(kieframe.InputValidationError) as caught:
        spec.validate(
            {
                "image_url": "https://example.com/a.png",
                "prompt": "p",
                "shots": [{"prompt": "a", "duration": 10}, {"prompt": "b", "duration": 11}],
            }
        )
    assert caught.value.fields == ("shots[1].duration",)
    with pytest.raises(kieframe.InputValidationError) as caught:
        spec.validate(
            {
                "image_url": "https://example.com/a.png",
                "shots": [{"prompt": "a", "duration": 10}] * 3,
            }
        )
    assert caught.value.fields == ("shots",)  # the guide's hand-written rule
    assert "at most 20 seconds in all" in str(caught.value)


def test_the_guides_pyproject_is_complete() -> None:
    (toml,) = _blocks("toml")
    project = tomllib.loads(toml)
    assert project["project"]["name"] == "kieframe-acme"
    assert project["project"]["version"]
    assert project["project"]["entry-points"]["kieframe"] == {"acme": "kieframe_acme"}
    assert project["build-system"]["build-backend"]

"""docs/plugins/writing.md works when followed literally: its code is a plugin that keeps the
contract, and its pyproject.toml is complete."""

from __future__ import annotations

import importlib
import re
import subprocess
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


def _files() -> dict[str, str]:
    """The guide's Python blocks by the file they go in: a block opening with ``# PATH`` goes in
    PATH, every other one, one after the other, in ``kieframe_acme/__init__.py``."""
    files: dict[str, list[str]] = {}
    for block in _blocks("python"):
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and first.endswith(".py"):
            files.setdefault(first.removeprefix("# "), []).append(rest)
        else:
            files.setdefault("kieframe_acme/__init__.py", []).append(block)
    return {path: "\n\n".join(blocks) for path, blocks in files.items()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The guide's plugin project, its files written where the guide says."""
    for path, text in _files().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def plugin(project: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(project))
    try:
        yield importlib.import_module("kieframe_acme")
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("kieframe_acme", None)


def test_the_guides_plugin_keeps_the_contract(project: Path, plugin: ModuleType) -> None:
    [test_file] = (project / "tests").glob("test_*.py")
    namespace: dict[str, object] = {}
    exec(compile(test_file.read_text(encoding="utf-8"), str(test_file), "exec"), namespace)  # noqa: S102 - the guide's own test
    tests = [test for name, test in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        assert callable(test)
        test()


def test_the_guides_plugin_loads_without_the_test_tools(project: Path) -> None:
    """A user installs the plugin without its ``test`` extra: no hypothesis, no pytest."""
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = sys.modules['pytest'] = None\n"
        "import kieframe_acme\n"
        "print(len(kieframe_acme.kieframe_models()))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


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
    test_extra = " ".join(project["project"]["optional-dependencies"]["test"])
    for needed in ("kieframe[cli]", "hypothesis", "pytest"):
        assert needed in test_extra

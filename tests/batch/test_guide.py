"""The batch guide's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).parent.parent.parent / "docs" / "guide" / "batch.md"


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, str(GUIDE), "exec"), {})  # noqa: S102 - our own documentation
    assert sorted(p.name for p in (tmp_path / "videos").glob("*.mp4")) == [
        "cat-0-1.mp4",
        "cat-1-1.mp4",
        "cat-2-1.mp4",
    ]

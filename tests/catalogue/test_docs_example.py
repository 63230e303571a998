"""The worked example of docs/plugins/from-schema.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PAGE = Path(__file__).parent.parent.parent / "docs" / "plugins" / "from-schema.md"


def test_the_worked_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 3
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)  # noqa: S102 - our own docs
    spec = namespace["SPEC"]
    assert [s.id for s in namespace["kieframe_models"]()] == ["acme/animate"]
    assert spec.validate(spec.examples[0]["input"])

"""kieframe is not on PyPI yet: no install step in the docs asks the index for it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
PAGES = [
    ROOT / "README.md",
    *(ROOT / "docs").glob("*.md"),
    *(ROOT / "docs" / "guide").glob("*.md"),
    *(ROOT / "docs" / "plugins").glob("*.md"),
    *(ROOT / "contrib").glob("*/README.md"),
    ROOT / "contrib" / "template" / "template" / "README.md.jinja",
]
#: ``pip install kieframe``, ``pip install "kieframe[cli]"``: the index, not a clone.
FROM_THE_INDEX = re.compile(r"""pip install (-q )?["']?kieframe\b""")


def test_every_install_step_installs_kieframe_from_a_clone() -> None:
    found = {
        f"{page.relative_to(ROOT)}:{number}": line.strip()
        for page in PAGES
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        if FROM_THE_INDEX.search(line)
    }
    assert found == {}

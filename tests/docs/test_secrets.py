"""The docs never show a secret passed on the command line, where `ps` shows it to every user."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: A secret-taking option given a value in a command (``--hmac-key "$KEY"``, ``--hmac-key ...``).
SECRET_IN_ARGV = re.compile(r"kieframe\b[^`\n]*--hmac-key[ =](?!-)\S")


def test_no_page_puts_the_webhook_key_in_argv() -> None:
    found = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for page in PAGES
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        if SECRET_IN_ARGV.search(line)
    ]
    assert not found, "use KIE_WEBHOOK_HMAC_KEY instead:\n" + "\n".join(found)

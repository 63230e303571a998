"""Where the commands print: stdout and stderr, as plain text through rich."""

from __future__ import annotations

from rich.console import Console

__all__ = ["err", "out"]

# Plain text: task ids and messages may contain brackets, which rich would read as markup.
out = Console(markup=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)

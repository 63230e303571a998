"""The ``kieframe`` command line (needs the ``cli`` extra: click, rich and uvicorn)."""

from __future__ import annotations

from ._exit import ExitCode
from ._root import cli

__all__ = ["ExitCode", "cli", "main"]


def main() -> None:
    """Run the ``kieframe`` command."""
    cli(prog_name="kieframe")

"""The ``kieframe`` command line (needs the ``cli`` extra: click, rich and uvicorn).

A plain ``pip install kieframe`` installs the ``kieframe`` script too; without the extra it
says what to install rather than failing with a traceback. So this module imports click only
when the command runs (``cli`` is loaded on first access).
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from ._exit import ExitCode

if TYPE_CHECKING:
    from ._root import cli

__all__ = ["ExitCode", "cli", "main"]

#: What the ``cli`` extra installs, all of which some command needs.
_EXTRA = ("click", "rich", "uvicorn")


def __getattr__(name: str) -> Any:
    if name == "cli":
        from ._root import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the ``kieframe`` command."""
    missing = [name for name in _EXTRA if find_spec(name) is None]
    if missing:
        sys.stderr.write(
            f"kieframe: the command line needs kieframe's 'cli' extra ({', '.join(missing)} "
            "missing): pip install 'kieframe[cli]' (from a clone: pip install -e 'PATH[cli]')\n"
        )
        raise SystemExit(1)
    from ._root import cli

    cli(prog_name="kieframe")

"""Testing tools: a kie.ai emulator, hypothesis strategies and the model-plugin contract.

Everything here is imported on first use: the strategies and the contract need hypothesis
(``pip install "kieframe[test]"``), the emulator needs uvicorn (``kieframe[server]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._contract import check_invalid_input, check_model, check_valid_input
    from ._emulator import Emulator, Lifetimes, Timing
    from ._strategies import InvalidInput, invalid_inputs, valid_inputs, valid_value

__all__ = [
    "Emulator",
    "InvalidInput",
    "Lifetimes",
    "Timing",
    "check_invalid_input",
    "check_model",
    "check_valid_input",
    "invalid_inputs",
    "valid_inputs",
    "valid_value",
]

_LAZY = {
    "Emulator": "._emulator",
    "Lifetimes": "._emulator",
    "Timing": "._emulator",
    "InvalidInput": "._strategies",
    "invalid_inputs": "._strategies",
    "valid_inputs": "._strategies",
    "valid_value": "._strategies",
    "check_invalid_input": "._contract",
    "check_model": "._contract",
    "check_valid_input": "._contract",
}


#: The extra that installs what each module needs.
_EXTRAS = {"._emulator": "server", "._strategies": "test", "._contract": "test"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name], __name__)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if missing.partition(".")[0] == "kieframe":
                raise
            extra = _EXTRAS[_LAZY[name]]
            raise ModuleNotFoundError(
                f"kieframe.testing.{name} needs {missing}, which is not installed: "
                f"pip install 'kieframe[{extra}]' (from a clone: pip install -e '.[{extra}]')",
                name=missing,
            ) from error
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

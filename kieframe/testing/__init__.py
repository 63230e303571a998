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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

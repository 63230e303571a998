"""The reference renders docstring roles as links to where each object is documented."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("griffe", reason="the docs extra builds the reference")

EXTENSION = Path(__file__).parents[2] / "docs" / "_ext" / "crossrefs.py"
PUBLIC = ["kieframe", "kieframe.errors", "kieframe.lifecycle", "kieframe.callbacks"]
PUBLIC += ["kieframe.journal", "kieframe.files", "kieframe.registry", "kieframe.authoring"]


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crossrefs", EXTENSION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


crossrefs = _extension()


def rewrite(text: str) -> str:
    extension = crossrefs.CrossReferences()
    return str(crossrefs._ROLE.sub(extension._link, text))


@pytest.mark.parametrize(
    ("role", "link"),
    [
        (":class:`~kieframe.Client`", "[`Client`][kieframe.Client]"),
        (":meth:`Client.wait`", "[`Client.wait()`][kieframe.Client.wait]"),
        (":class:`~kieframe.NotFoundError`", "[`NotFoundError`][kieframe.errors.NotFoundError]"),
        (":class:`kieframe.CallbackHub`", "[`CallbackHub`][kieframe.callbacks.CallbackHub]"),
        (":class:`PollPlan`", "[`PollPlan`][kieframe.lifecycle.PollPlan]"),
        (":func:`stage_input`", "`stage_input()`"),  # private: plain code, no dead link
        (":attr:`ReceiverStats.errors`", "`ReceiverStats.errors`"),  # no anchor of its own
        (":mod:`kieframe.errors`", "[`kieframe.errors`][kieframe.errors]"),
    ],
)
def test_roles_become_links_to_the_public_home(role: str, link: str) -> None:
    assert rewrite(role) == link


def test_no_public_docstring_keeps_a_role() -> None:
    for name in PUBLIC:
        module = importlib.import_module(name)
        for public in module.__all__:
            doc = inspect.getdoc(getattr(module, public)) or ""
            assert not re.search(r":\w+:`", rewrite(doc)), f"{name}.{public}"

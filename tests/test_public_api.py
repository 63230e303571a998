"""The public surface: a small top level, public submodules, each ``__all__`` exact."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import pickle
import pkgutil
import types
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kieframe
import kieframe.batch
import kieframe.errors
from kieframe.errors import Problem

PUBLIC_MODULES = [
    "kieframe",
    "kieframe.authoring",
    "kieframe.batch",
    "kieframe.callbacks",
    "kieframe.errors",
    "kieframe.files",
    "kieframe.hookspecs",
    "kieframe.journal",
    "kieframe.lifecycle",
    "kieframe.postgres",
    "kieframe.registry",
    "kieframe.testing",
]
SUBMODULES = {name.rpartition(".")[2] for name in PUBLIC_MODULES if "." in name}
ERRORS = [
    obj
    for obj in vars(kieframe.errors).values()
    if isinstance(obj, type) and issubclass(obj, kieframe.KieError)
]


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations", "TYPE_CHECKING"}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_exact_importable_and_documented(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported))  # the order is ruff's (RUF022)
    assert not [n for n in exported if n.startswith("_") and n != "__version__"]
    for public in exported:
        obj = getattr(module, public)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name}.{public} has no docstring"
    if name not in ("kieframe", "kieframe.hookspecs", "kieframe.testing"):  # re-export modules:
        # nothing private or imported in passing leaks out
        assert _public_names(module) == set(exported) - {"__version__"}


def test_the_top_level_holds_the_everyday_names_only() -> None:
    assert 15 <= len(kieframe.__all__) <= 25
    assert {"Client", "AsyncClient", "Task", "TaskRecord", "get_model", "KieError"} <= set(
        kieframe.__all__
    )
    assert dir(kieframe) == sorted({*kieframe.__all__, *SUBMODULES})
    # Loaded eagerly: nothing beyond __all__ (the clients load on first use).
    assert _public_names(kieframe) <= set(kieframe.__all__) | set(kieframe._HOMES)


def test_names_outside_all_resolve_lazily_without_a_warning() -> None:
    for name, home in kieframe._HOMES.items():
        assert getattr(kieframe, name) is getattr(importlib.import_module(f"kieframe.{home}"), name)
    for name in SUBMODULES:
        assert getattr(kieframe, name) is importlib.import_module(f"kieframe.{name}")
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = kieframe.Nope  # type: ignore[attr-defined]


def test_every_exception_is_in_the_tree_and_reachable_as_kieframe_name() -> None:
    assert len(ERRORS) == len(kieframe.errors.__all__) - 2  # all but Problem and the warning
    assert kieframe.ConfigurationWarning is kieframe.errors.ConfigurationWarning
    assert repr(kieframe.ConfigurationWarning) == "<class 'kieframe.ConfigurationWarning'>"
    for cls in ERRORS:
        assert cls.__module__ == "kieframe"
        assert getattr(kieframe, cls.__name__) is cls
        assert repr(cls) == f"<class 'kieframe.{cls.__name__}'>"


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found))


def test_every_kieframe_error_anywhere_in_the_package_is_in_the_tree() -> None:
    """Walking every module: no KieError is defined outside kieframe.errors' tree."""
    importlib.import_module("kieframe._cli._commands")  # before _cli._batch, which it imports
    for module in pkgutil.walk_packages(kieframe.__path__, "kieframe."):
        if module.name.rpartition(".")[2] != "__main__":
            importlib.import_module(module.name)
    assert _subclasses(kieframe.KieError) == set(ERRORS) - {kieframe.KieError}


def test_no_retry_idiom_catches_an_uncertain_submission() -> None:
    uncertain = kieframe.SubmissionUncertain
    for retried in (kieframe.NoAnswerError, kieframe.APIError, OSError, TimeoutError):
        assert not issubclass(uncertain, retried), retried
    assert not uncertain.retryable
    assert kieframe.NoAnswerError.retryable


def _instance(cls: Any, text: str) -> kieframe.KieError:
    """One instance of ``cls``, with every attribute its constructor takes set."""
    record = kieframe.TaskRecord(task_id="t1", model="m", state=kieframe.TaskState.FAIL)
    special: dict[type[Any], Any] = {
        kieframe.InputValidationError: lambda: cls("m/x", [Problem("prompt", text, "1-9")]),
        kieframe.UnknownModelError: lambda: cls(text, suggestions=["a/b"]),
        kieframe.SubmissionUncertain: lambda: cls(text, model="m", input={"p": 1}, sent_at=1.0),
        kieframe.TaskFailed: lambda: cls(text, task_id="t1", fail_code="500", record=record),
        kieframe.WaitTimeout: lambda: cls(text, task_id="t1", last_state="generating"),
        kieframe.NoAnswerError: lambda: cls(text, task_id="t1", request_sent=False),
        kieframe.DatabaseUnavailable: lambda: cls(text, task_id="t1"),
        kieframe.errors.BatchInvalid: lambda: cls(
            [kieframe.batch.LineProblem(line=2, id=text, field="prompt", message=text)],
            unreadable=True,
        ),
        kieframe.errors.BatchConflict: lambda: cls([text, "b"]),
    }
    if cls in special:
        error: kieframe.KieError = special[cls]()
    elif issubclass(cls, kieframe.APIError):
        error = cls(text, code=418, task_id="t1", http_status=200, retry_after=1.5)
    else:
        error = cls(text, task_id="t1")
    return error


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
@given(text=st.text(max_size=40))
def test_every_exception_pickles_round_trip(cls: type[kieframe.KieError], text: str) -> None:
    error = _instance(cls, text)
    error.add_note("a note")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is cls
    assert (str(copy), repr(copy), copy.args) == (str(error), repr(error), error.args)
    assert vars(copy) == vars(error)


def test_version_is_the_installed_distribution_version() -> None:
    assert kieframe.__version__ == importlib.metadata.version("kieframe")


def test_a_database_outage_is_a_request_not_sent_never_an_uncertain_create() -> None:
    error = kieframe.DatabaseUnavailable("the database is down")
    assert isinstance(error, kieframe.NoAnswerError)  # reads retry it; a create may be resent
    assert not error.request_sent
    assert not issubclass(kieframe.DatabaseUnavailable, kieframe.SubmissionUncertain)
    assert kieframe.postgres.DatabaseUnavailable is kieframe.DatabaseUnavailable


def _type_checking_imports(module: types.ModuleType) -> dict[str, str]:
    """Each name ``module`` imports under ``if TYPE_CHECKING:``, and the module it comes from."""
    tree = ast.parse(inspect.getsource(module))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "typing.TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                assert statement.level == 1
                for alias in statement.names:
                    assert alias.asname == alias.name, "re-exported for type checkers: X as X"
                    names[alias.name] = statement.module or alias.name
    return names


def test_type_checkers_see_every_name_imported_on_first_use() -> None:
    # tests/typechecks/bare_import.py shows mypy typing these after a bare ``import kieframe``.
    seen = _type_checking_imports(kieframe)
    assert seen == {**kieframe._HOMES, **{name: name for name in SUBMODULES}}

"""The plugin registry: discovery through entry points, switches, failures and lookups."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

import kieframe
import kieframe.registry
from kieframe._core._submit import encode_body, prepare_submission
from kieframe.authoring import ModelSpec, hookimpl
from kieframe.errors import InputValidationError, PluginError, UnknownModelError
from kieframe.registry import Registry

BUILTIN = {"wan/2-5-image-to-video", "hailuo/02-image-to-video-pro"}


class _Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str


def _spec(model_id: str) -> ModelSpec[_Input]:
    return ModelSpec(id=model_id, input_type=_Input, title=model_id, docs_url="https://example.com")


class _Plugin:
    def __init__(self, *ids: str) -> None:
        self.ids = ids

    @hookimpl
    def kieframe_models(self) -> list[ModelSpec[Any]]:
        return [_spec(i) for i in self.ids]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a fake distribution with a ``kieframe`` entry point, found by real discovery."""

    def install(name: str, source: str) -> None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{name}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[kieframe]\n{name} = {name}\n")

    monkeypatch.syspath_prepend(str(tmp_path))
    return install


def test_first_party_models_are_found_through_entry_points(
    registry: Registry,
) -> None:
    assert {m.id for m in registry.models()} >= BUILTIN
    by_name = {p.name: p for p in registry.plugins()}
    assert by_name["wan"].models == ("wan/2-5-image-to-video",)
    assert by_name["hailuo"].models == ("hailuo/02-image-to-video-pro",)
    assert by_name["wan"].distribution == "kieframe"
    assert by_name["wan"].version == kieframe.__version__


def test_models_are_sorted(registry: Registry) -> None:
    ids = [m.id for m in registry.models()]
    assert ids == sorted(ids)


def test_loading_is_lazy(installed: Any) -> None:
    installed("kf_lazy", "raise RuntimeError('imported too early')\n")
    registry = Registry(environ={})  # constructing imports nothing
    assert "not loaded" in repr(registry)
    assert registry.failures[0].name == "kf_lazy"


def test_third_party_plugin_is_discovered_with_its_version(installed: Any) -> None:
    installed(
        "kf_acme",
        """
        import msgspec
        from kieframe.authoring import ModelSpec, hookimpl
        class In(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
            prompt: str
        @hookimpl
        def kieframe_models():
            return [ModelSpec(id="acme/x", input_type=In, title="X",
                                       docs_url="https://example.com")]
        """,
    )
    registry = Registry(environ={})
    assert registry.get_model("acme/x").title == "X"
    info = {p.name: p for p in registry.plugins()}["kf_acme"]
    assert (info.distribution, info.version, info.models) == ("kf_acme", "1.2.3", ("acme/x",))


def test_broken_plugin_is_reported_by_name_and_skipped(
    installed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    installed("kf_broken", "import no_such_module_anywhere\n")
    registry = Registry(environ={})
    with caplog.at_level(logging.WARNING, logger="kieframe.registry.plugins"):
        ids = {m.id for m in registry.models()}
    assert ids >= BUILTIN  # the others still load
    (failure,) = registry.failures
    assert failure.name == "kf_broken"
    assert "ModuleNotFoundError" in failure.error
    assert "kf_broken" in caplog.text


@pytest.mark.parametrize("lookup", ["get_model", "source"])
def test_an_unknown_model_names_the_plugins_that_failed_to_load(
    installed: Any, lookup: str
) -> None:
    installed("kf_gone", "raise RuntimeError('no acme today')\n")
    registry = Registry(environ={})
    with pytest.raises(kieframe.UnknownModelError) as caught:
        getattr(registry, lookup)("acme/animate")
    assert "'kf_gone'" in str(caught.value)
    assert "failed to load" in str(caught.value)
    assert "no acme today" in str(caught.value)
    assert caught.value.failed_plugins == (
        "'kf_gone', which failed to load: RuntimeError: no acme today",
    )


def test_strict_mode_raises_on_a_broken_plugin(installed: Any) -> None:
    installed("kf_broken", "import no_such_module_anywhere\n")
    registry = Registry(environ={"KIEFRAME_STRICT_PLUGINS": "1"})
    with pytest.raises(PluginError, match="kf_broken"):
        registry.models()


def test_misspelled_hook_is_caught(installed: Any) -> None:
    installed("kf_typo", "def kieframe_model():\n    return []\n")
    registry = Registry(environ={})
    (failure,) = registry.failures
    assert failure.name == "kf_typo"
    assert "kieframe_model" in failure.error


def test_misspelled_hook_on_direct_registration_raises() -> None:
    class Typo:
        def kieframe_modles(self) -> list[Any]:
            return []

    registry = Registry(entry_points=False)
    with pytest.raises(PluginError, match="kieframe_modles"):
        registry.register(Typo(), name="typo")
    assert registry.plugins() == ()


def test_hook_that_raises_is_reported_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Exploding:
        @hookimpl
        def kieframe_models(self) -> list[Any]:
            raise RuntimeError("boom")

    registry = Registry(entry_points=False)
    registry.register(Exploding(), name="exploding")
    registry.register(_Plugin("ok/model"), name="ok")
    with caplog.at_level(logging.WARNING, logger="kieframe.registry.plugins"):
        assert [m.id for m in registry.models()] == ["ok/model"]
    assert [f.name for f in registry.failures] == ["exploding"]
    assert "boom" in registry.failures[0].error


def test_hook_returning_something_else_is_reported() -> None:
    class Wrong:
        @hookimpl
        def kieframe_models(self) -> list[Any]:
            return [{"id": "not/a-spec"}]

    registry = Registry(entry_points=False)
    registry.register(Wrong(), name="wrong")
    assert registry.models() == ()
    assert "not a ModelSpec" in registry.failures[0].error


def test_duplicate_model_id_names_both_plugins() -> None:
    registry = Registry(entry_points=False)
    registry.register(_Plugin("same/id"), name="first")
    registry.register(_Plugin("same/id"), name="second")
    with pytest.raises(PluginError) as caught:
        registry.models()
    assert "'first'" in str(caught.value)
    assert "'second'" in str(caught.value)
    assert "same/id" in str(caught.value)


def test_unknown_model_suggests_close_matches(registry: Registry) -> None:
    with pytest.raises(kieframe.UnknownModelError) as caught:
        registry.get_model("wan/2-5-image-to-vide")
    assert caught.value.suggestions[0] == "wan/2-5-image-to-video"
    assert "did you mean 'wan/2-5-image-to-video'" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_bare_family_name_suggests_its_models(registry: Registry) -> None:
    with pytest.raises(kieframe.UnknownModelError) as caught:
        registry.get_model("hailuo")
    assert "hailuo/02-image-to-video-pro" in caught.value.suggestions
    assert all(name.startswith("hailuo/") for name in caught.value.suggestions)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"KIEFRAME_PLUGINS": "wan"}, {"wan/2-5-image-to-video"}),
        ({"KIEFRAME_PLUGINS": ""}, set()),
        ({"KIEFRAME_BLOCK_PLUGINS": "wan, catalogue"}, {"hailuo/02-image-to-video-pro"}),
        ({"KIEFRAME_BLOCK_PLUGINS": "wan, hailuo, catalogue"}, set()),
    ],
)
def test_environment_switches_choose_plugins(environ: dict[str, str], expected: set[str]) -> None:
    registry = Registry(environ=environ)
    assert {m.id for m in registry.models()} & BUILTIN == expected


def test_keyword_switches_override_the_environment() -> None:
    registry = Registry(only=["hailuo"], environ={"KIEFRAME_PLUGINS": "wan"})
    assert [m.id for m in registry.models()] == ["hailuo/02-image-to-video-pro"]


def test_registering_invalidates_the_model_list() -> None:
    registry = Registry(entry_points=False)
    assert registry.models() == ()
    registry.register(_Plugin("late/model"), name="late")
    assert [m.id for m in registry.models()] == ["late/model"]


class _Longer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: Annotated[str, msgspec.Meta(max_length=3)]


class _Fallback:
    @hookimpl
    def kieframe_fallback_models(self) -> list[ModelSpec[Any]]:
        spec = ModelSpec(
            id="late/model", input_type=_Longer, title="late", docs_url="https://example.com"
        )
        return [spec]


def test_a_submit_after_a_register_uses_the_model_that_replaced_the_one_submitted_before() -> None:
    registry = Registry(entry_points=False)
    registry.register(_Fallback(), name="catalogue")
    with pytest.raises(InputValidationError, match="is 5 characters long"):
        prepare_submission(registry, "late/model", {"prompt": "a fox"}, callback_url=None)
    assert "late/model" in registry._preparers  # kept for the next submit
    registry.register(_Plugin("late/model"), name="late")  # replaces the fallback's model
    assert not registry._preparers
    submission = prepare_submission(registry, "late/model", {"prompt": "a fox"}, callback_url=None)
    assert encode_body(submission) == b'{"model":"late/model","input":{"prompt":"a fox"}}'
    with pytest.raises(UnknownModelError, match=r"wrap the input in kieframe\.RawInput"):
        prepare_submission(registry, "late/other", {"prompt": "a fox"}, callback_url=None)


def test_module_level_functions_use_the_installed_plugins() -> None:
    assert {m.id for m in kieframe.models()} >= BUILTIN
    assert kieframe.get_model("wan/2-5-image-to-video").id == "wan/2-5-image-to-video"
    assert {p.name for p in kieframe.registry.plugins()} >= {"wan", "hailuo"}


def test_model_spec_refuses_a_struct_that_allows_unknown_fields() -> None:
    class Loose(msgspec.Struct, frozen=True):
        prompt: str

    with pytest.raises(TypeError, match="forbid_unknown_fields"):
        ModelSpec(id="x/y", input_type=Loose, title="", docs_url="")


def test_model_spec_refuses_a_non_struct_input() -> None:
    with pytest.raises(TypeError, match=r"msgspec\.Struct"):
        ModelSpec(id="x/y", input_type=dict, title="", docs_url="")  # type: ignore[type-var]


#: kie.ai's polling guidance: give up and investigate after 10 to 15 minutes (and kie.ai fails a
#: task with 408 when upstream gave no result for 10 minutes). A default wait longer than that
#: only keeps a caller waiting on a task kie.ai has given up on.
KIE_INVESTIGATE_AFTER = 15 * 60.0


def test_every_installed_model_gives_up_when_kie_ai_says_to_investigate() -> None:
    too_long = {
        spec.id: spec.deadline
        for spec in kieframe.models()
        if spec.deadline > KIE_INVESTIGATE_AFTER
    }
    assert not too_long, too_long


@pytest.mark.parametrize("returned", ["spec", None, 5])
def test_a_hook_returning_no_list_is_told_to_return_one(returned: str | int | None) -> None:
    class Alone:
        @hookimpl
        def kieframe_models(self) -> Any:
            return _spec("alone/model") if returned == "spec" else returned

    registry = Registry(entry_points=False)
    registry.register(Alone(), name="alone")
    assert registry.models() == ()
    [failure] = registry.failures
    assert failure.name == "alone"
    assert "returns a list of ModelSpec (return [spec] for one model)" in failure.error
    if returned == "spec":
        assert "returned the ModelSpec 'alone/model' alone" in failure.error
    assert "not iterable" not in failure.error

"""Hand-written plugins win over the catalogue, visibly; real clashes stay errors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kieframe.authoring import ModelSpec
from kieframe.errors import PluginError
from kieframe.hookspecs import hookimpl
from kieframe.registry import ModelSource, Registry


class _Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    prompt: str


def _spec(model_id: str) -> ModelSpec[_Input]:
    return ModelSpec(id=model_id, input_type=_Input, title=model_id, docs_url="https://example.com")


class _Ordinary:
    def __init__(self, *ids: str) -> None:
        self.ids = ids

    @hookimpl
    def kieframe_models(self) -> list[ModelSpec[Any]]:
        return [_spec(i) for i in self.ids]


class _Fallback:
    def __init__(self, *ids: str) -> None:
        self.ids = ids

    @hookimpl
    def kieframe_fallback_models(self) -> list[ModelSpec[Any]]:
        return [_spec(i) for i in self.ids]


def test_first_party_plugins_replace_the_catalogue_entries(registry: Registry) -> None:
    for model_id, plugin in (
        ("wan/2-5-image-to-video", "wan"),
        ("hailuo/02-image-to-video-pro", "hailuo"),
    ):
        source = registry.source(model_id)
        assert (source.plugin, source.fallback, source.replaces) == (plugin, False, "catalogue")
    by_name = {info.name: info for info in registry.plugins()}
    assert by_name["catalogue"].fallback
    assert by_name["wan"].overrides == ("wan/2-5-image-to-video",)
    assert "wan/2-5-image-to-video" not in by_name["catalogue"].models
    assert registry.source("seedream/4.5-edit").plugin == "catalogue"


def test_blocking_the_hand_written_plugin_lets_the_catalogue_serve_the_model() -> None:
    registry = Registry(environ={"KIEFRAME_BLOCK_PLUGINS": "wan"})
    assert registry.source("wan/2-5-image-to-video").plugin == "catalogue"
    assert registry.get_model("wan/2-5-image-to-video").title == "Wan 2.5 - Image to Video"


def test_a_third_party_plugin_wins_over_a_fallback_entry() -> None:
    registry = Registry(entry_points=False)
    registry.register(_Fallback("acme/a", "acme/b"), name="catalogue")
    registry.register(_Ordinary("acme/a"), name="acme")
    assert registry.source("acme/a") == ModelSource("acme", False, "catalogue")
    assert registry.source("acme/b") == ModelSource("catalogue", True, None)
    assert [spec.id for spec in registry.models()] == ["acme/a", "acme/b"]


def test_two_ordinary_plugins_claiming_one_id_is_still_an_error_naming_both() -> None:
    registry = Registry(entry_points=False)
    registry.register(_Fallback("acme/a"), name="catalogue")
    registry.register(_Ordinary("acme/a"), name="first")
    registry.register(_Ordinary("acme/a"), name="second")
    with pytest.raises(PluginError, match=r"'(first|second)' and '(first|second)'"):
        registry.models()


def test_two_fallback_plugins_claiming_one_id_is_an_error_too() -> None:
    registry = Registry(entry_points=False)
    registry.register(_Fallback("acme/a"), name="one")
    registry.register(_Fallback("acme/a"), name="two")
    with pytest.raises(PluginError, match="two plugins"):
        registry.models()


def test_listing_the_catalogue_compiles_no_input_until_a_model_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kieframe._schema as schema

    compiled: list[str] = []
    real = schema.struct_from_schema

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(kwargs["name"])
        return real(*args, **kwargs)

    monkeypatch.setattr(schema, "struct_from_schema", counting)
    from kieframe_catalogue import _catalogue

    specs = [entry.spec() for entry in _catalogue.ENTRIES.values()]
    assert len(specs) == 134
    assert [spec.id for spec in specs if spec.title]
    assert compiled == []
    assert specs[0].fields
    assert len(compiled) == 1

"""The catalogue plugin: every kie.ai Jobs model registered, with its limits, examples and facts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from kieframe_catalogue import ENTRIES, entry
from kieframe_catalogue._overrides import (
    EXAMPLES,
    LIMITS,
    MANY,
    MEDIA_LIMITS,
    OUTPUTS,
    RULE_NOTES,
    RULES,
    markdown,
)
from kieframe_catalogue.update import DATA_FILE, build

import kieframe
from kieframe.authoring import ModelSpec
from kieframe.registry import Registry

MODEL_IDS = sorted(ENTRIES)
DUMP = Path("/work/shared/catalogue/kie-jobs-models.json")


def _raw_example(model_id: str) -> dict[str, Any] | None:
    example = entry(model_id).example
    return None if example is None else dict(example)


def test_every_catalogue_model_is_registered(registry: Registry) -> None:
    assert len(MODEL_IDS) == 134
    served = {spec.id for spec in registry.models()}
    assert set(MODEL_IDS) <= served


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_every_model_compiles_and_carries_its_facts(model_id: str) -> None:
    spec = kieframe.get_model(model_id)
    facts = entry(model_id)
    # A model whose schema cannot be compiled fails here, by id, never silently.
    assert spec.fields or spec.input_type is not None
    assert spec.title
    assert spec.docs_url.startswith("https://docs.kie.ai/")
    if Registry(environ={}).source(model_id).fallback:
        assert spec.title == facts.title
        assert spec.tags == (facts.category, facts.family)
        assert spec.output == OUTPUTS.get(model_id, (facts.category, ""))[0]
        assert spec.outputs == ("many" if model_id in MANY else "one")
        assert 0 < spec.typical_seconds <= spec.deadline


@pytest.mark.parametrize("model_id", [m for m in MODEL_IDS if entry(m).example is not None])
def test_every_documented_example_validates_and_round_trips(model_id: str) -> None:
    spec = Registry(environ={"KIEFRAME_PLUGINS": "catalogue"}).get_model(model_id)
    (example,) = spec.examples
    value = spec.validate(example["input"])
    assert json.loads(msgspec.json.encode(spec.to_request(value))) == example


def test_every_override_names_a_real_model_and_says_where_it_comes_from() -> None:
    for limit in LIMITS:
        assert limit.model in ENTRIES, limit
        assert limit.source.strip(), limit
    for decision in EXAMPLES:
        assert decision.model in ENTRIES, decision
        assert len(decision.reason) > 20, decision
    assert set(RULES) <= set(ENTRIES)
    assert set(RULE_NOTES) == set(RULES)
    assert set(MANY) <= set(ENTRIES)
    assert set(OUTPUTS) <= set(ENTRIES)


def test_a_rule_note_is_shown_whole_even_with_a_semicolon_in_it() -> None:
    # Notes are declared with their rules, one note per thing checked: none is cut at a "; ".
    notes = _catalogue("kling-3.0/video").rule_notes
    assert any("(told by the URL's file suffix; URLs without one" in note for note in notes)
    assert all(note.count("(") == note.count(")") for note in notes)


def _catalogue(model_id: str) -> ModelSpec[Any]:
    return Registry(environ={"KIEFRAME_PLUGINS": "catalogue"}).get_model(model_id)


def _fields(model_id: str, data: dict[str, Any]) -> list[str]:
    try:
        _catalogue(model_id).validate(data)
    except kieframe.InputValidationError as error:
        return [problem.field for problem in error.problems]
    return []


# -- where kie's example and its schema disagree: pinned decisions -----------------------------


@pytest.mark.parametrize("decision", [d for d in EXAMPLES if d.follows == "schema"], ids=str)
def test_an_example_that_breaks_its_schema_is_corrected(decision: Any) -> None:
    documented = _raw_example(decision.model)
    assert documented is not None
    assert _fields(decision.model, documented) == list(decision.corrected)
    assert _fields(decision.model, {**documented, **decision.corrected}) == []


@pytest.mark.parametrize("decision", [d for d in EXAMPLES if d.follows == "example"], ids=str)
def test_an_example_the_project_follows_validates_as_documented(decision: Any) -> None:
    documented = _raw_example(decision.model)
    assert documented is not None
    assert _fields(decision.model, documented) == []


def test_mechanical_slips_are_recorded_and_undone() -> None:
    assert entry("bytedance/seedance-2-5").slips == ("not JSON: trailing commas removed",)
    assert entry("happyhorse/video-edit").slips == (
        "field 'reference_image ' named with surrounding spaces",
    )
    assert "reference_image" in (_raw_example("happyhorse/video-edit") or {})
    repaired = {d.model for d in EXAMPLES if d.follows == "repaired"}
    assert repaired == {m for m in MODEL_IDS if entry(m).slips}


def test_a_trailing_space_in_a_field_name_is_trimmed() -> None:
    spec = _catalogue("happyhorse/image-to-video")
    assert "image_urls" in {field.name for field in spec.fields}
    spec = _catalogue("bytedance/seedance-2-fast")
    assert "reference_video_urls" in {field.name for field in spec.fields}


# -- limits kie states only in prose ------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "good", "bad"),
    [
        ("bytedance/seedance-1.5-pro", {"duration": 12}, {"duration": 13}),
        ("bytedance/seedance-2", {"duration": 15}, {"duration": 3}),
        ("infinitalk/from-audio", {"seed": 10000}, {"seed": 9999}),
        ("grok-imagine/image-to-video", {"duration": "30"}, {"duration": "31"}),
        ("grok-imagine/text-to-video", {"duration": 6}, {"duration": 6.5}),
        ("flux-2/pro-text-to-image", {"prompt": "abc"}, {"prompt": "ab"}),
        ("kling-3.0/video", {"multi_shots": True}, {"multi_shots": True, "multi_prompt": [{}] * 6}),
        (
            "grok-imagine/image-to-image",
            {"image_urls": ["https://e.com/a.png"]},
            {"image_urls": ["https://e.com/a.png"] * 2},
        ),
    ],
)
def test_prose_limits_are_enforced(
    model_id: str, good: dict[str, Any], bad: dict[str, Any]
) -> None:
    base = _raw_example(model_id) or {}
    bad_field = next(iter(set(bad) - set(good)), next(iter(bad)))
    assert bad_field not in _fields(model_id, {**base, **good})
    assert bad_field in _fields(model_id, {**base, **bad})


def test_media_inputs_know_their_kind_types_and_size() -> None:
    media = {f.name: f for f in _catalogue("seedream/4.5-edit").media_fields}
    assert media["image_urls"].many
    assert media["image_urls"].limits.kind == "image"
    audio = {f.name: f for f in _catalogue("elevenlabs/audio-isolation").media_fields}
    assert audio["audio_url"].limits.kind == "audio"
    assert "audio/mpeg" in audio["audio_url"].limits.media_types
    assert audio["audio_url"].limits.max_bytes == 10 << 20
    video = {f.name: f for f in _catalogue("topaz/video-upscale").media_fields}
    assert video["video_url"].limits.kind == "video"
    assets = _catalogue("bytedance/seedance-2")
    base = _raw_example("bytedance/seedance-2") or {}
    assert _fields("bytedance/seedance-2", {**base, "first_frame_url": "asset://asset-1"}) == []
    assert assets.media_fields


def test_cross_field_rules_from_prose() -> None:
    assert _fields("minimax-h3/image-to-video", {"prompt": "a", "duration": 6}) == [
        "first_frame_url"
    ]
    both = {
        "prompt": "abc",
        "duration": 5,
        "quality": "720p",
        "taskId": "t",
        "video_url": "https://e.com/v.mp4",
    }
    assert "video_url" in _fields("pixverse-v6/extend", both)
    assert _fields("wan/2-7-image", {"prompt": "a", "n": 8}) == ["n"]
    assert _fields("wan/2-7-image", {"prompt": "a", "n": 8, "enable_sequential": True}) == []


def test_the_data_file_is_what_the_generator_makes_from_the_dump() -> None:
    if not DUMP.exists():
        pytest.skip("the kie.ai schema dump is not on this machine")
    made = build(json.loads(DUMP.read_text(encoding="utf-8")))
    assert made == json.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_the_data_file_keeps_no_prose() -> None:
    def prose(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["description"]] if isinstance(node.get("description"), str) else []
            return found + [text for value in node.values() for text in prose(value)]
        if isinstance(node, list):
            return [text for item in node for text in prose(item)]
        return []

    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert prose([model["schema"] for model in data["models"]]) == []


def test_the_catalogue_docs_page_is_the_reviewed_table() -> None:
    page = Path(__file__).parent.parent.parent / "docs" / "models" / "catalogue.md"
    if os.environ.get("KIEFRAME_REGENERATE_DOCS") == "1":
        page.write_text(markdown(), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert text == markdown(), "regenerate: KIEFRAME_REGENERATE_DOCS=1 pytest tests/catalogue"
    for limit in (*LIMITS, *MEDIA_LIMITS):
        assert f"| `{limit.model}` | `{limit.field}` |" in text

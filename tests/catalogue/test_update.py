"""``python -m kieframe_catalogue.update``: regenerate the data from a newer dump, show the diff."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from kieframe_catalogue.update import build, main


def _model(model_id: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "title": model_id.title(),
        "family": "Acme",
        "category": "video",
        "docs_url": f"https://docs.kie.ai/market/{model_id}",
        "docs_language": "en",
        "input_schema": {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "maxLength": 800, "description": "What to make."},
                **properties,
            },
            "required": ["prompt"],
        },
        "request_required": ["model", "input"],
        "other_request_fields": ["callBackUrl"],
        "example": {"model": model_id, "input": {"prompt": "a cat"}},
    }


DUMP: dict[str, Any] = {
    "about": "test dump",
    "generated_at": "2026-08-19T00:00:00Z",
    "count": 2,
    "models": [
        _model(
            "acme/one",
            image_url={
                "type": "string",
                "format": "uri",
                "description": "Accepted types: image/png; Max size: 5MB",
            },
        ),
        _model("acme/two", duration={"type": "integer", "minimum": 1, "maximum": 10}),
    ],
}


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_regenerating_prints_models_fields_and_limits_that_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "models.json"
    assert main([str(_write(tmp_path / "old.json", DUMP)), "--output", str(output)]) == 0
    capsys.readouterr()

    newer: dict[str, Any] = copy.deepcopy(DUMP)
    newer["models"] = [m for m in newer["models"] if m["id"] != "acme/one"]
    two = newer["models"][0]["input_schema"]["properties"]
    two["duration"]["maximum"] = 15
    two["nsfw_checker"] = {"type": "boolean"}
    del two["prompt"]["maxLength"]
    newer["models"][0]["request_required"] = ["model", "callBackUrl", "input"]
    newer["models"].append(_model("acme/three"))
    assert main([str(_write(tmp_path / "new.json", newer)), "--output", str(output)]) == 0
    printed = capsys.readouterr().out.splitlines()

    assert any(line.startswith("model added") and "acme/three" in line for line in printed)
    assert any(line.startswith("model removed") and "acme/one" in line for line in printed)
    assert any(line.startswith("field added") and "nsfw_checker" in line for line in printed)
    changed = [line for line in printed if line.startswith("limits changed")]
    assert any(
        "duration" in line and '"maximum":10' in line and '"maximum":15' in line for line in changed
    )
    assert any("prompt" in line for line in changed)
    assert any(
        line.startswith("request changed") and "acme/two" in line and "callBackUrl" in line
        for line in printed
    )
    written = json.loads(output.read_text())["models"]
    assert written[-1]["id"] == "acme/two"
    assert written[-1]["request_required"] == ["callBackUrl"]  # besides model and input
    assert "request_required" not in written[0]


def test_check_mode_writes_nothing_and_fails_on_a_change(tmp_path: Path) -> None:
    output = tmp_path / "models.json"
    dump = _write(tmp_path / "dump.json", DUMP)
    assert main([str(dump), "--output", str(output), "--check"]) == 1
    assert not output.exists()
    main([str(dump), "--output", str(output)])
    assert main([str(dump), "--output", str(output), "--check"]) == 0


def test_prose_is_dropped_and_media_facts_are_kept() -> None:
    data = build(DUMP)
    one = next(m for m in data["models"] if m["id"] == "acme/one")
    image = one["schema"]["properties"]["image_url"]
    assert "description" not in image
    assert image["x-media"] == {"kind": "image", "types": ["image/png"], "max_bytes": 5 << 20}


def test_examples_that_are_not_json_or_name_fields_with_spaces_are_repaired() -> None:
    dump: dict[str, Any] = copy.deepcopy(DUMP)
    dump["models"][0]["example"] = '{"model": "acme/one", "input": {"prompt": "a",},}'
    dump["models"][1]["example"] = {"model": "acme/two", "input": {"prompt ": "a"}}
    one, two = build(dump)["models"]
    assert one["example"] == {"prompt": "a"}
    assert one["slips"] == ["not JSON: trailing commas removed"]
    assert two["example"] == {"prompt": "a"}
    assert two["slips"] == ["field 'prompt ' named with surrounding spaces"]

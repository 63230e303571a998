"""``kieframe --help``, ``models``, ``describe`` and ``plugins`` show what is installed."""

from __future__ import annotations

import json
from pathlib import Path

import kieframe
import kieframe.registry
from kieframe._cli import ExitCode
from kieframe._cli._render import category
from kieframe._validation_describe import describe_type

from .conftest import Runner

WAN = "wan/2-5-image-to-video"


def test_help_names_every_command_and_exit_code(cli: Runner) -> None:
    done = cli("--help")
    assert done.code == 0
    for name in ("models", "describe", "plugins", "run", "submit", "status", "wait"):
        assert name in done.out
    for name in ("download", "credits", "emulator"):
        assert name in done.out
    for code in ExitCode:
        assert f"{int(code):>3}  {code.meaning}" in done.out


def test_models_lists_every_registered_model(cli: Runner) -> None:
    done = cli("models", "--json")
    assert done.code == 0, done.err
    listed = done.json()
    assert isinstance(listed, list)
    assert [entry["id"] for entry in listed] == [spec.id for spec in kieframe.models()]
    table = cli("models")
    for spec in kieframe.models():
        assert spec.id in table.out


def test_models_piped_at_80_columns_cuts_no_title_or_category(cli: Runner) -> None:
    done = cli("models", COLUMNS="80")  # stdout is a pipe: nothing reads it on a terminal
    assert done.code == 0, done.err
    rows = {line.split("│")[1].strip(): line for line in done.out.splitlines() if "│" in line}
    for spec in kieframe.models():
        cells = [cell.strip() for cell in rows[spec.id].split("│")]
        assert cells[2] == spec.title
        assert cells[3] == category(spec)
    assert "…" not in done.out


def test_describe_shows_every_field_with_its_limit_and_default(cli: Runner) -> None:
    spec = kieframe.get_model(WAN)
    done = cli("describe", WAN, "--json")
    assert done.code == 0, done.err
    described = done.json()
    assert isinstance(described, dict)
    assert described["id"] == WAN
    assert described["docs_url"] == spec.docs_url
    fields = {entry["name"]: entry for entry in described["fields"]}
    for field in spec.fields:
        assert fields[field.name]["limit"] == describe_type(field.type)
        assert fields[field.name]["required"] is field.required
        if not field.required and field.default is not None:
            assert fields[field.name]["default"] == field.default
    assert fields["image_url"]["media"]["max_bytes"] == spec.media_fields[0].limits.max_bytes
    table = cli("describe", WAN)
    for field in spec.fields:
        assert field.name in table.out


def test_describe_says_what_a_model_checks_across_fields(cli: Runner) -> None:
    model = "ideogram/character-edit"  # a mask the image's size, reference images 10 MB in all
    spec = kieframe.get_model(model)
    assert spec.rules
    assert spec.rule_notes
    described = cli("describe", model, "--json").json()
    assert isinstance(described, dict)
    assert described["rules"] == list(spec.rule_notes)
    assert any("mask" in note for note in described["rules"])
    text = cli("describe", model).out
    assert "across fields:" in text
    for note in spec.rule_notes:
        assert note.split()[0] in text
    assert cli("describe", WAN, "--json").json()["rules"] == []  # type: ignore[index]


def test_a_model_that_requires_a_callback_url_says_so_and_is_refused_without_one(
    cli: Runner,
) -> None:
    model = "kling-3.0/motion-control"  # kie.ai refuses its create without a callBackUrl
    described = cli("describe", model, "--json").json()
    assert isinstance(described, dict)
    assert described["requires_callback"] is True
    assert cli("describe", WAN, "--json").json()["requires_callback"] is False  # type: ignore[index]
    assert "--callback-url" in cli("describe", model).out
    given = cli.cwd / "input.json"
    given.write_text(json.dumps(kieframe.get_model(model).examples[0]["input"]))
    done = cli("submit", model, "--input", str(given), "--emulator")
    assert done.code == ExitCode.BAD_INPUT
    assert "callback_url" in done.err
    assert "requires a callback URL" in done.err


def test_every_catalogue_model_with_rules_says_what_they_check() -> None:
    for spec in kieframe.models():
        if spec.rules:
            assert spec.rule_notes, spec.id


def test_describe_prints_the_json_schema(cli: Runner) -> None:
    done = cli("describe", WAN, "--json-schema")
    assert done.code == 0, done.err
    assert done.json() == kieframe.get_model(WAN).json_schema()


def test_plugins_lists_name_distribution_version_and_models(cli: Runner) -> None:
    done = cli("plugins", "--json")
    assert done.code == 0, done.err
    listed = done.json()
    assert isinstance(listed, dict)
    expected = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "models": list(info.models),
            "fallback": info.fallback,
            "overrides": list(info.overrides),
        }
        for info in kieframe.registry.plugins()
    ]
    assert listed == {"plugins": expected, "failed": []}


def test_a_plugin_that_fails_to_load_is_listed_as_failed(cli: Runner, tmp_path: Path) -> None:
    # A real (if tiny) installed distribution whose entry point names a module that is missing.
    info = tmp_path / "site" / "kieframe_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kieframe-broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[kieframe]\nbroken = kieframe_broken_missing\n")
    done = cli("plugins", "--json", PYTHONPATH=str(tmp_path / "site"))
    assert done.code == 0, done.err
    listed = done.json()
    assert isinstance(listed, dict)
    assert [entry["name"] for entry in listed["plugins"]] == [
        i.name for i in kieframe.registry.plugins()
    ]
    [failed] = listed["failed"]
    assert failed["name"] == "broken"
    assert failed["distribution"] == "kieframe-broken"
    assert "kieframe_broken_missing" in failed["error"]
    table = cli("plugins", PYTHONPATH=str(tmp_path / "site"))
    assert "failed plugins" in table.out
    assert "kieframe-broken" in table.out


def test_an_unknown_model_is_a_usage_error_with_a_suggestion(cli: Runner) -> None:
    for args, hint in (
        (("describe", "wan"), "'wan/"),
        (("run", "wan/2-5-image-to-vide", "--emulator"), WAN),
    ):
        done = cli(*args)
        assert done.code == ExitCode.BAD_INPUT
        assert hint in done.err
        assert "Traceback" not in done.err


def test_models_filter_by_category_family_and_words(cli: Runner) -> None:
    done = cli("models", "--category", "image", "--search", "upscale", "--json")
    assert done.code == 0, done.err
    listed = done.json()
    assert isinstance(listed, list)
    ids = [entry["id"] for entry in listed]
    assert ids == ["recraft/crisp-upscale", "topaz/image-upscale"]
    assert {entry["category"] for entry in listed} == {"image"}
    kling = cli("models", "--family", "kling", "--json").json()
    assert isinstance(kling, list)
    assert len(kling) == 18
    assert all(entry["id"].startswith("kling") for entry in kling)
    audio = cli("models", "--category", "audio").out
    assert "elevenlabs/audio-isolation" in audio
    assert "seedream/4.5-edit" not in audio


def test_describe_says_which_plugin_serves_a_model_and_what_it_replaces(cli: Runner) -> None:
    done = cli("describe", WAN, "--json")
    described = done.json()
    assert isinstance(described, dict)
    assert described["plugin"] == {"plugin": "wan", "fallback": False, "replaces": "catalogue"}
    table = cli("describe", WAN)
    assert "served by plugin 'wan', which replaces the entry of plugin 'catalogue'" in table.out
    catalogue = cli("describe", "seedream/4.5-edit", "--json").json()
    assert isinstance(catalogue, dict)
    assert catalogue["plugin"] == {"plugin": "catalogue", "fallback": True, "replaces": None}
    fields = {entry["name"]: entry for entry in catalogue["fields"]}
    assert fields["image_urls"]["media"]["kind"] == "image"
    assert fields["aspect_ratio"]["default"] == "1:1"  # kie.ai's documented default
    text = cli("describe", "seedream/4.5-edit").out
    assert "documented example" in text
    assert "static.aiquickdraw.com" in text


def test_plugins_shows_the_catalogue_as_a_fallback_and_what_others_replace(cli: Runner) -> None:
    done = cli("plugins")
    assert done.code == 0, done.err
    assert "catalogue (fallback)" in done.out
    assert "replaces catalogue" in done.out


def test_a_plugin_that_failed_to_load_is_named_where_its_model_is_missing(
    cli: Runner, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    (site / "kf_acme_broken-1.0.dist-info").mkdir(parents=True)
    (site / "kf_acme_broken-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kf_acme_broken\nVersion: 1.0\n"
    )
    (site / "kf_acme_broken-1.0.dist-info" / "entry_points.txt").write_text(
        "[kieframe]\nacme = kf_acme_broken\n"
    )
    (site / "kf_acme_broken.py").write_text("import no_such_test_tool\n")
    env = {"PYTHONPATH": str(site)}
    for args in (["run", "acme/animate", "--emulator"], ["submit", "acme/animate", "--json"]):
        done = cli(*args, **env)
        assert done.code == ExitCode.BAD_INPUT, done.err
        assert "'acme', which failed to load" in done.err + done.out
        assert "no_such_test_tool" in done.err + done.out
    listed = cli("models", **env)
    assert listed.code == 0, listed.err
    assert "plugin 'acme' failed to load" in listed.err

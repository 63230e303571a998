"""Every boolean field is a ``--x/--no-x`` flag, ``bool | None`` ones too; the value spellings the
model pages showed before (``--x false``) still work."""

from __future__ import annotations

import json

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kieframe._cli import cli
from kieframe._cli._inputs import flag_words

HAILUO = "hailuo/02-text-to-video-pro"  # nsfw_checker: bool | None


def _sent(*options: str) -> object:
    done = CliRunner().invoke(
        cli, ["submit", HAILUO, "--emulator", "--json", "--prompt", "a cat", *options]
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)["input"].get("nsfw_checker", "unset")


def test_an_optional_boolean_field_is_a_flag_pair_as_other_booleans() -> None:
    done = CliRunner().invoke(cli, ["run", HAILUO, "--help"])
    assert done.exit_code == 0, done.output
    assert "--nsfw-checker / --no-nsfw-checker" in done.output
    assert "--nsfw-checker TEXT" not in done.output


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "unset"),
        (("--nsfw-checker",), True),
        (("--no-nsfw-checker",), False),
        (("--nsfw-checker", "false"), False),  # the spelling the model pages showed
        (("--nsfw-checker", "True"), True),
        (("--nsfw-checker=false",), False),
        (("--nsfw-checker", "null"), "unset"),  # as --set nsfw_checker=null: None is left out
    ],
)
def test_the_flags_and_the_old_value_spellings_send_the_same(
    options: tuple[str, ...], expected: object
) -> None:
    assert _sent(*options) == expected


def test_a_value_a_flag_does_not_take_is_refused() -> None:
    done = CliRunner().invoke(
        cli, ["submit", HAILUO, "--emulator", "--prompt", "a cat", "--nsfw-checker=maybe"]
    )
    assert done.exit_code == 2
    assert "does not take a value" in done.output


_FLAGS = {"--x": "x"}
_WORDS = st.sampled_from(["true", "false", "null", "--", "--y", "v", "--xy", "-x", "--no-x"])


@given(st.lists(_WORDS))
def test_arguments_without_a_boolean_flag_are_left_alone(args: list[str]) -> None:
    assert flag_words(args, _FLAGS) == args


@given(before=st.lists(_WORDS.filter(lambda w: w != "--")), after=st.lists(_WORDS | st.just("--x")))
def test_nothing_after_the_separator_is_rewritten(before: list[str], after: list[str]) -> None:
    args = [*before, "--", *after]
    assert flag_words(args, _FLAGS) == args


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--x", "false", "--y", "v"], ["--no-x", "--y", "v"]),
        (["--x", "TRUE"], ["--x"]),
        (["--x=null"], ["--set", "x=null"]),
        (["--x", "v"], ["--x", "v"]),  # not a word the option took: click reports the extra
        (["--x=v"], ["--x=v"]),  # click: does not take a value
        (["--x", "--", "false"], ["--x", "--", "false"]),
    ],
)
def test_a_flag_s_value_word_becomes_the_flag_form(args: list[str], expected: list[str]) -> None:
    assert flag_words(args, _FLAGS) == expected


class _Clashing(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    prompt: str
    download: bool = False  # --no-download is run's own option
    no_prompt_x: bool = False
    prompt_x: bool = False  # its --no-prompt-x: the field above took it first


def test_a_boolean_field_whose_no_flag_is_taken_is_set_with_set_instead() -> None:
    from kieframe._cli._inputs import FIELD_PREFIX, field_options
    from kieframe.authoring import ModelSpec

    spec = ModelSpec(id="acme/clash", title="t", docs_url="https://e.com", input_type=_Clashing)
    options = field_options(spec, taken={"--out", "--no-download"})
    names = [option.name for option in options]
    assert names == [FIELD_PREFIX + "prompt", FIELD_PREFIX + "no_prompt_x"]
    every = [opt for option in options for opt in (*option.opts, *option.secondary_opts)]
    assert len(every) == len(set(every))  # no option spelled twice

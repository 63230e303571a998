"""One configuration story: arguments, then the environment, then the config file, then defaults."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kieframe
from kieframe._config import (
    DEFAULT_BASE_URL,
    DEFAULT_UPLOAD_BASE_URL,
    config_path,
    resolve_database_url,
    resolve_settings,
    strict_config_keys,
)

SECRET = "sk-config-secret-0123456789"

#: For each source: whether it sets the key and the Jobs host.
_SOURCES = ("argument", "environment", "file")


def _write(path: Path, **values: str) -> Path:
    path.write_text("".join(f'{key} = "{value}"\n' for key, value in values.items()))
    return path


@given(given_by=st.sets(st.sampled_from(_SOURCES)))
@settings(deadline=None)  # writes a file per example: no timing on a busy machine
def test_the_first_source_that_gives_a_setting_wins(
    tmp_path_factory: pytest.TempPathFactory, given_by: set[str]
) -> None:
    folder = tmp_path_factory.mktemp("config")
    hosts = {source: f"http://{source}.example:1" for source in _SOURCES}
    file_values = {"base_url": hosts["file"], "api_key": "k-file"} if "file" in given_by else {}
    environ = {"KIEFRAME_CONFIG": str(_write(folder / "config.toml", **file_values))}
    if "environment" in given_by:
        environ |= {"KIE_BASE_URL": hosts["environment"], "KIE_API_KEY": "k-environment"}
    arguments = {}
    if "argument" in given_by:
        arguments = {"base_url": hosts["argument"], "api_key": "k-argument"}
    if not given_by:
        with pytest.raises(kieframe.AuthenticationError) as caught:
            resolve_settings(environ=environ)
        assert caught.value.code is None  # nothing was sent: no "code 401"
        assert "(code" not in str(caught.value)
        return
    settings = resolve_settings(environ=environ, **arguments)
    winner = next(source for source in _SOURCES if source in given_by)
    assert settings.base_url == hosts[winner]
    assert settings.api_key == f"k-{winner}"
    assert settings.upload_base_url == hosts[winner]  # a custom Jobs host serves uploads too
    assert "k-" not in repr(settings)


def test_defaults_are_kie_ais_hosts(tmp_path: Path) -> None:
    settings = resolve_settings(api_key="k", environ={"KIEFRAME_CONFIG": str(tmp_path / "none")})
    assert (settings.base_url, settings.upload_base_url) == (
        DEFAULT_BASE_URL,
        DEFAULT_UPLOAD_BASE_URL,
    )
    assert settings.key_source == "the argument"


def test_an_upload_host_is_taken_from_its_own_variable(tmp_path: Path) -> None:
    settings = resolve_settings(
        api_key="k",
        environ={
            "KIEFRAME_CONFIG": str(tmp_path / "none"),
            "KIE_BASE_URL": "http://127.0.0.1:9/",
            "KIE_UPLOAD_BASE_URL": "http://127.0.0.1:10",
        },
    )
    assert (settings.base_url, settings.upload_base_url) == (
        "http://127.0.0.1:9",
        "http://127.0.0.1:10",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("api_key = [", "cannot read the config file"),
        ("api_key = 3", "api_key must be a non-empty string"),
        (f'api_key = "{SECRET}"\nbase_url = "ftp://x"', r"not an http\(s\) URL"),
        (f'api_key = "{SECRET}"\nbase_url = "http://a b/\\u0000"', "is not a URL"),
    ],
)
def test_a_bad_setting_is_a_configuration_error_without_the_key(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(kieframe.ConfigurationError, match=message) as caught:
        kieframe.Client()  # KIEFRAME_CONFIG points there (below)
    assert SECRET not in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [  # an unknown key is named, with the key it resembles or the known ones
        (f'api_key = "{SECRET}"\nbase_ur = "http://x"', r"'base_ur' \(did you mean 'base_url'\?\)"),
        (
            f'api_key = "{SECRET}"\ntimeout = 3',
            r"'timeout' \(known keys: api_key, base_url, upload_base_url, database_url\)",
        ),
        (f'api_key = "{SECRET}"\n[kieframe]\napi_key = "x"', "unknown key 'kieframe'"),
    ],
)
def test_an_unknown_key_is_a_warning_in_a_program_and_the_client_works(
    tmp_path: Path, content: str, message: str
) -> None:
    """A config written for a newer kieframe must not break an older one's clients."""
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.warns(kieframe.errors.ConfigurationWarning, match=message) as caught:
        client = kieframe.Client(base_url="http://127.0.0.1:9", upload_base_url="http://[::1]:9")
    client.close()
    (warning,) = caught
    assert warning.filename == __file__  # the program's own line
    assert str(path) in str(warning.message)
    assert SECRET not in str(warning.message)


def test_a_misspelt_key_is_named_before_the_key_is_missed(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f'api-key = "{SECRET}"')
    with (
        pytest.warns(kieframe.errors.ConfigurationWarning, match="did you mean 'api_key'"),
        pytest.raises(kieframe.AuthenticationError, match="no API key"),
    ):
        kieframe.Client()


def test_an_unknown_key_is_a_warning_for_what_reads_only_the_database_url(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('database-url = "postgresql://db/kie"')
    with pytest.warns(kieframe.errors.ConfigurationWarning, match="did you mean 'database_url'"):
        assert resolve_database_url() is None


def test_on_the_command_line_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(f'api_key = "{SECRET}"\ntimeout = 3')
    restore = strict_config_keys()
    try:
        with pytest.raises(kieframe.ConfigurationError, match="unknown key 'timeout'") as caught:
            resolve_database_url()
    finally:
        restore()
    assert SECRET not in str(caught.value)
    with pytest.warns(kieframe.errors.ConfigurationWarning):  # put back as it was
        resolve_database_url()


@pytest.fixture(autouse=True)
def _config_here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KIEFRAME_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("KIE_API_KEY", raising=False)


def test_the_config_path_follows_xdg(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "kieframe" / "config.toml"
    assert config_path({"KIEFRAME_CONFIG": "~/k.toml"}) == Path("~/k.toml").expanduser()


@pytest.mark.parametrize("key", ["sk-é-0123", "sk-0123\nX-Injected: 1", "sk 0123", "sk-\x00"])
def test_a_key_no_header_can_carry_is_refused_before_anything_is_sent(
    key: str, tmp_path: Path
) -> None:
    environ = {"KIEFRAME_CONFIG": str(tmp_path / "none.toml")}
    with pytest.raises(kieframe.ConfigurationError, match="the argument") as caught:
        resolve_settings(api_key=key, environ=environ)
    assert key.strip() not in str(caught.value)


@given(given_by=st.sets(st.sampled_from(_SOURCES)))
@settings(deadline=None)  # writes a file per example: no timing on a busy machine
def test_the_database_url_comes_from_the_first_source_that_gives_it(
    tmp_path_factory: pytest.TempPathFactory, given_by: set[str]
) -> None:
    folder = tmp_path_factory.mktemp("config")
    urls = {source: f"postgresql://kie:pw-{source}@db.example/kf" for source in _SOURCES}
    file_values = {"database_url": urls["file"]} if "file" in given_by else {}
    environ = {"KIEFRAME_CONFIG": str(_write(folder / "config.toml", **file_values))}
    if "environment" in given_by:
        environ["KIEFRAME_DATABASE_URL"] = urls["environment"]
    argument = urls["argument"] if "argument" in given_by else None
    winner = next((urls[source] for source in _SOURCES if source in given_by), None)
    assert resolve_database_url(argument, environ=environ) == winner
    settings = resolve_settings(api_key="k", database_url=argument, environ=environ)
    assert settings.database_url == winner
    assert "pw-" not in repr(settings)  # a URL may carry a password


def test_a_database_url_that_is_not_text_is_a_configuration_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.toml", api_key="k")
    path.write_text(path.read_text() + "database_url = 5\n")
    with pytest.raises(kieframe.ConfigurationError, match="database_url must be a non-empty"):
        resolve_database_url(environ={"KIEFRAME_CONFIG": str(path)})
    with pytest.raises(kieframe.ConfigurationError, match=re.escape(str(path))):
        kieframe.Client()  # KIEFRAME_CONFIG points there (the fixture)


def test_every_visibility_grace_default_is_the_one_constant() -> None:
    from kieframe._cli._commands import wait as wait_command
    from kieframe._cli._connect import connect
    from kieframe._client import AsyncClient, Client
    from kieframe._config import DEFAULT_VISIBILITY_GRACE
    from kieframe._core._poll import Waiter
    from kieframe._core._wait import WaitOptions

    defaults = {
        inspect.signature(Client).parameters["visibility_grace"].default,
        inspect.signature(AsyncClient).parameters["visibility_grace"].default,
        inspect.signature(connect).parameters["visibility_grace"].default,
        WaitOptions(timeout=1).grace,
        Waiter("t", started=0, deadline=1).grace,
        *(p.default for p in wait_command.params if p.name == "visibility_grace"),
    }
    assert defaults == {DEFAULT_VISIBILITY_GRACE}

"""Where the clients and the command line find their settings: one story for both.

Each setting comes from the first of these that gives it:

1. an argument (``Client(api_key=..., base_url=...)``, ``--base-url`` on the command line);
2. the environment: ``KIE_API_KEY``, ``KIE_BASE_URL``, ``KIE_UPLOAD_BASE_URL``,
   ``KIEFRAME_DATABASE_URL``;
3. the config file: ``$KIEFRAME_CONFIG`` if set, else ``$XDG_CONFIG_HOME/kieframe/config.toml``
   (``~/.config/kieframe/config.toml``)::

       api_key = "..."
       base_url = "https://api.kie.ai"
       upload_base_url = "https://kieai.redpandaai.co"
       database_url = "postgresql://kie@db/kieframe"

4. the defaults: kie.ai's Jobs host, and its upload host, except that a custom Jobs host (an
   emulator, a proxy) serves uploads too unless an upload host is set; no database (each
   process keeps its own budgets, journal and callbacks).

So ``export KIE_BASE_URL=http://127.0.0.1:8787`` (what ``kieframe emulator`` prints) sends both
``kieframe`` commands and ``kieframe.Client()`` to the emulator. The API key is kept out of every
repr, message and output.
"""

from __future__ import annotations

import difflib
import os
import sys
import tomllib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import AuthenticationError, ConfigurationError, ConfigurationWarning

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_BASE_URL",
    "DEFAULT_UPLOAD_BASE_URL",
    "DEFAULT_VISIBILITY_GRACE",
    "ENV_BASE_URL",
    "ENV_CONFIG",
    "ENV_DATABASE_URL",
    "ENV_KEY",
    "ENV_UPLOAD_BASE_URL",
    "Settings",
    "config_path",
    "read_config",
    "resolve_database_url",
    "resolve_settings",
    "strict_config_keys",
]

DEFAULT_BASE_URL = "https://api.kie.ai"
DEFAULT_UPLOAD_BASE_URL = "https://kieai.redpandaai.co"
#: How long (seconds) after its submission kie.ai may not show a task yet ("recordInfo is null")
#: before a wait gives up on it: ``Client(visibility_grace=...)``, ``--visibility-grace``.
DEFAULT_VISIBILITY_GRACE = 60.0

ENV_KEY = "KIE_API_KEY"
ENV_BASE_URL = "KIE_BASE_URL"
ENV_UPLOAD_BASE_URL = "KIE_UPLOAD_BASE_URL"
ENV_CONFIG = "KIEFRAME_CONFIG"
#: The environment variable naming the PostgreSQL database shared by every process.
ENV_DATABASE_URL = "KIEFRAME_DATABASE_URL"
#: The keys the config file takes. Any other is named (a typo must not go unseen): an error on the
#: command line, a :class:`~kieframe.errors.ConfigurationWarning` in a program, so that a file
#: written for a newer kieframe does not break an older one's clients.
CONFIG_KEYS = ("api_key", "base_url", "upload_base_url", "database_url")


class _Keys:
    """Whether an unknown config key is an error (the command line's choice) or a warning."""

    strict = False


def strict_config_keys() -> Callable[[], None]:
    """Make an unknown config key a :class:`~kieframe.ConfigurationError` (the command line).

    Returns the function that puts the previous choice back (a command run in-process leaves the
    library as it found it).
    """
    before, _Keys.strict = _Keys.strict, True

    def restore() -> None:
        _Keys.strict = before

    return restore


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The settings a client runs with, and where its key came from (never the key itself).

    ``database_url`` (None: no shared database) may hold a password, so it is not in the repr.
    """

    api_key: str = field(repr=False)
    base_url: str
    upload_base_url: str
    key_source: str
    database_url: str | None = field(default=None, repr=False)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file to read (which need not exist)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "kieframe" / "config.toml"


def resolve_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    upload_base_url: str | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The settings from the arguments, then the environment, then the config file, then defaults.

    Raises :class:`~kieframe.AuthenticationError` (with no code: nothing was sent) when no source
    gives a key, and :class:`~kieframe.ConfigurationError` for an unreadable config file or a
    value that is not what it should be.
    """
    env = os.environ if environ is None else environ
    pick = _Sources(env, read_file=None in (api_key, base_url, upload_base_url, database_url))
    key, key_source = pick(api_key, ENV_KEY, "api_key")
    if key is None or not key.strip():
        raise _no_key(pick.path)
    if not _sendable(key.strip()):  # named by its source, never shown
        raise ConfigurationError(
            f"the API key from {key_source} has a character an HTTP header cannot carry "
            "(only printable ASCII, no spaces): check how it was copied"
        )
    jobs, uploads = _hosts(pick, base_url, upload_base_url)
    return Settings(
        api_key=key.strip(),
        base_url=jobs,
        upload_base_url=uploads,
        key_source=key_source,
        database_url=_database(pick(database_url, ENV_DATABASE_URL, "database_url")),
    )


def resolve_hosts(
    *,
    base_url: str | None = None,
    upload_base_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, str]:
    """The Jobs and upload hosts a client given these arguments uses, as :func:`resolve_settings`
    picks them (for what needs no API key: naming the setting a host came from)."""
    env = os.environ if environ is None else environ
    pick = _Sources(env, read_file=None in (base_url, upload_base_url))
    return _hosts(pick, base_url, upload_base_url)


def _hosts(pick: _Sources, base_url: str | None, upload_base_url: str | None) -> tuple[str, str]:
    jobs, jobs_source = pick(base_url, ENV_BASE_URL, "base_url")
    jobs = _url(jobs, jobs_source) if jobs is not None else DEFAULT_BASE_URL
    uploads, uploads_source = pick(upload_base_url, ENV_UPLOAD_BASE_URL, "upload_base_url")
    if uploads is not None:
        uploads = _url(uploads, uploads_source)
    elif _host(jobs) != _host(DEFAULT_BASE_URL):
        uploads = jobs  # a custom Jobs host: an emulator or a proxy serves uploads too
    else:
        uploads = DEFAULT_UPLOAD_BASE_URL
    return jobs, uploads


def resolve_database_url(
    database_url: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The shared database's URL: the argument, ``$KIEFRAME_DATABASE_URL``, the config file's.

    None when no source names one. For what needs no API key (the callback receiver,
    ``kieframe db``); a client reads it with the rest in :func:`resolve_settings`.
    """
    env = os.environ if environ is None else environ
    pick = _Sources(env, read_file=database_url is None)
    return _database(pick(database_url, ENV_DATABASE_URL, "database_url"))


class _Sources:
    """Picks a setting from the first source that gives it: argument, environment, config file."""

    __slots__ = ("env", "path", "table")

    def __init__(self, env: Mapping[str, str], *, read_file: bool) -> None:
        self.env = env
        self.path = config_path(env)
        self.table: Mapping[str, Any] = read_config(self.path) if read_file else {}

    def __call__(self, argument: str | None, variable: str, key: str) -> tuple[str | None, str]:
        """The value and where it came from (``None`` and the file when no source gives it)."""
        if argument is not None:
            return argument, "the argument"
        if self.env.get(variable, "").strip():
            return self.env[variable], variable
        return _text(self.table, key, self.path), str(self.path)


def _database(picked: tuple[str | None, str]) -> str | None:
    """A database URL (stripped), or None for none; an empty argument also means none."""
    value, _ = picked
    if value is None:
        return None
    return value.strip() or None


def _no_key(path: Path) -> AuthenticationError:
    error = AuthenticationError(
        f"no API key: set {ENV_KEY} or api_key in {path} (in Python, or pass api_key=...)"
    )
    error.code = None  # nothing was sent: kie.ai did not answer 401
    return error


def _sendable(key: str) -> bool:
    """Whether ``key`` fits in an ``Authorization`` header: printable ASCII, no whitespace."""
    return key.isascii() and key.isprintable() and not any(char.isspace() for char in key)


def _host(url: str) -> str:
    import httpx  # here, not at the top: the command line's start-up loads no HTTP stack

    return httpx.URL(url).host


def _url(value: str, source: str) -> str:
    """A base URL, checked: http(s), with a host; its trailing slash removed."""
    import httpx

    text = value.strip().rstrip("/")
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ConfigurationError(f"{source}: {value!r} is not a URL ({error})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"{source}: {value!r} is not an http(s) URL with a host")
    return text


def read_config(path: Path, *, check_keys: bool = True) -> Mapping[str, Any]:
    """The config file's table; empty when there is no such file.

    An unreadable file is a :class:`~kieframe.ConfigurationError`. With ``check_keys``, keys it
    does not take are named (never their values: one may be the key): an error on the command
    line (:func:`strict_config_keys`), else a :class:`~kieframe.errors.ConfigurationWarning`.
    """
    try:
        with path.open("rb") as file:
            table = tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"cannot read the config file {path}: {error}") from None
    unknown = [key for key in table if key not in CONFIG_KEYS]
    if unknown and check_keys:
        message = f"{path}: " + "; ".join(_unknown_key(key) for key in unknown)
        if _Keys.strict:
            raise ConfigurationError(message)
        warnings.warn(f"{message}; ignored", ConfigurationWarning, stacklevel=_outside_kieframe())
    return table


def _outside_kieframe() -> int:
    """The ``stacklevel`` of the caller's first frame outside kieframe: the program's call."""
    package = str(Path(__file__).parent) + os.sep  # not kieframe_plugins beside it
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(key.replace("-", "_").lower(), CONFIG_KEYS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(CONFIG_KEYS)
    return f"unknown key {key!r} ({hint})"


def _text(table: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{path}: {key} must be a non-empty string")
    return value.strip()

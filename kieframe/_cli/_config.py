"""Where the command line finds its settings: the environment, then a TOML config file.

The config file is ``$KIEFRAME_CONFIG`` if set, else ``$XDG_CONFIG_HOME/kieframe/config.toml``
(``~/.config/kieframe/config.toml``)::

    api_key = "..."            # used when KIE_API_KEY is not set
    base_url = "https://api.kie.ai"
    upload_base_url = "https://kieai.redpandaai.co"

The API key is kept out of every message, repr and output.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

__all__ = ["Settings", "config_path", "load_settings"]

ENV_KEY = "KIE_API_KEY"
ENV_CONFIG = "KIEFRAME_CONFIG"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The settings that come from outside the command line's options."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    upload_base_url: str | None = None
    source: str = "nothing"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file to read (which need not exist)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "kieframe" / "config.toml"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment and the config file; the environment's API key wins."""
    env = os.environ if environ is None else environ
    path = config_path(env)
    table = _read(path)
    key_from_env = env.get(ENV_KEY, "").strip()
    api_key = key_from_env or _text(table, "api_key", path)
    source = ENV_KEY if key_from_env else (str(path) if api_key else "nothing")
    return Settings(
        api_key=api_key,
        base_url=_text(table, "base_url", path),
        upload_base_url=_text(table, "upload_base_url", path),
        source=source,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise click.UsageError(f"cannot read the config file {path}: {error}") from None


def _text(table: Mapping[str, Any], key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise click.UsageError(f"{path}: {key} must be a non-empty string")
    return value.strip()

"""``kieframe db``: create and check the tables of the PostgreSQL backend."""

from __future__ import annotations

import json

import click

from .._postgres._backend import backend_from_url
from .._postgres._connect import ENV_DATABASE_URL, database_url, redact
from .._postgres._schema import SCHEMA_VERSION

__all__ = ["db"]

_URL_HELP = f"The PostgreSQL database (default ${ENV_DATABASE_URL})."


def _url(given: str | None) -> str:
    url = database_url(given)
    if url is None:
        raise click.UsageError(f"no database: pass --database-url or set {ENV_DATABASE_URL}")
    return url


@click.group()
def db() -> None:
    """The shared PostgreSQL backend: create its tables, show their version.

    Needs the postgres extra (pip install "kieframe[postgres]").
    """


@db.command()
@click.option("--database-url", metavar="URL", help=_URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def init(database_url: str | None, as_json: bool) -> None:
    """Create or upgrade kieframe's tables (safe to run again, from several places at once)."""
    url = _url(database_url)
    try:
        applied = backend_from_url(url).migrate()
    except ImportError as error:
        raise click.UsageError(f'{error}: pip install "kieframe[postgres]"') from None
    if as_json:
        click.echo(json.dumps({"applied": applied, "schema_version": SCHEMA_VERSION}))
    elif applied:
        click.echo(f"applied migrations {', '.join(map(str, applied))} to {redact(url)}")
    else:
        click.echo(f"{redact(url)} is up to date (schema version {SCHEMA_VERSION})")


@db.command()
@click.option("--database-url", metavar="URL", help=_URL_HELP)
def status(database_url: str | None) -> None:
    """Say whether the database's tables are those this kieframe needs (exit 1 if not)."""
    url = _url(database_url)
    backend = backend_from_url(url)
    try:
        backend.check_schema()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{redact(url)}: schema version {SCHEMA_VERSION}, up to date")

"""`askdesk db upgrade | current`: the conversations database's schema (app/migrations)."""

from __future__ import annotations

import typer

app = typer.Typer(help="The conversations database's schema (migrations).", no_args_is_help=True)


def _engine():
    from sqlalchemy import create_engine

    from app.settings import get_settings

    url = get_settings().db_url
    return url, create_engine(url)


@app.command("upgrade")
def upgrade() -> None:
    """Bring the database to this release's schema (back it up first: `askdesk backup`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app import migrations
    from app.errors import ConfigError

    url, engine = _engine()
    try:
        before = migrations.current(engine)
        migrations.upgrade(engine)
        after = migrations.current(engine)
    except SQLAlchemyError as e:
        reason = " ".join(str(getattr(e, "orig", None) or e).split())[:200]
        raise ConfigError(f"cannot upgrade the database at {url}: {reason}") from None
    finally:
        engine.dispose()
    typer.echo(f"schema at {after}" + (" (already current)" if before == after else f" (was {before or 'none'})"))


@app.command("current")
def show_current() -> None:
    """The database's schema revision and the one this release needs."""
    from app import migrations

    _, engine = _engine()
    try:
        typer.echo(f"database {migrations.current(engine) or 'none'}; this release needs {migrations.head()}")
    finally:
        engine.dispose()

"""`askdesk purge`: delete the conversation data older than the retention period, now (the service
also does it on a schedule: app/privacy/retention.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.errors import BadRequest, ConfigError

DAYS_HELP = "Delete what is older than this many days (default: ASKDESK_RETENTION_DAYS)."


def purge(
    days: Annotated[str | None, typer.Option(help=DAYS_HELP)] = None,
) -> None:
    """Delete exchanges (with their feedback), tickets and idle sessions older than the retention period."""
    import getpass

    from sqlalchemy.exc import SQLAlchemyError

    from app.conversations.store import ConversationStore
    from app.privacy import retention
    from app.settings import get_settings

    settings = get_settings()
    # parsed here, not by typer: a bad value is one error line (askdesk/cli.py), not a usage box
    if days is None:
        n = settings.retention_days
        if not n:
            raise BadRequest(
                "no retention configured (ASKDESK_RETENTION_DAYS=0 keeps everything): pass --days N"
            )
    else:
        try:
            n = int(days)
        except ValueError:
            raise BadRequest(f"--days must be a whole number of days, got {days!r}") from None
    if not 1 <= n <= retention.MAX_DAYS:
        raise BadRequest(f"--days must be between 1 and {retention.MAX_DAYS}, got {n}")
    try:
        store = ConversationStore(settings.db_url)
        try:
            counts = retention.purge(store, n, f"cli:{getpass.getuser()}")
        finally:
            store.dispose()
    except (SQLAlchemyError, OSError) as e:  # one line, not a traceback: where the database is, what failed
        reason = " ".join(str(e.orig if getattr(e, "orig", None) else e).split())[:200]
        raise ConfigError(f"cannot purge the database at {settings.db_url}: {reason}") from None
    typer.echo(f"purged data older than {n} days: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


def register(cli: typer.Typer) -> None:
    cli.command("purge")(purge)

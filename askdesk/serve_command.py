"""`askdesk serve`: run the API with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from app.api.deps import LOOPBACK
from app.errors import ConfigError


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Start the AskDesk API (chat, OpenAI-compatible, search, admin, widget)."""
    import uvicorn

    from app.settings import get_settings
    from askdesk.wiring import service

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if host not in LOOPBACK and not settings.api_keys:
        raise ConfigError("refusing to listen on a non-local address without API keys: set ASKDESK_API_KEYS")
    if host not in LOOPBACK and settings.admin_key is None:
        typer.echo("warning: ASKDESK_ADMIN_KEY is not set: the admin API is disabled", err=True)
    settings = settings.model_copy(update={"host": host, "port": port})
    # no `server: uvicorn` header: it tells a scanner what to try, and no client needs it
    if workers > 1:
        # the workers build their settings from the environment (askdesk/asgi.py): say where they listen
        os.environ["ASKDESK_HOST"], os.environ["ASKDESK_PORT"] = host, str(port)
        uvicorn.run("askdesk.asgi:app", host=host, port=port, workers=workers, log_level="info",
                    server_header=False)  # fmt: skip
        return
    app = service(settings)
    app.state.log_startup_error = False  # a refused startup is this command's error line, printed once
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    except SystemExit:  # uvicorn exits when the lifespan refuses to start
        if app.state.startup_error:
            raise ConfigError(app.state.startup_error) from None
        raise


def register(cli: typer.Typer) -> None:
    cli.command("serve")(serve)

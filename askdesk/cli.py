"""The one `askdesk` command. Each package contributes its subcommands; domain errors become a
one-line message and a non-zero exit here, in one place."""

from __future__ import annotations

import sys

import typer

from app.errors import AskDeskError

cli = typer.Typer(help="AskDesk: FAQ support bot.", no_args_is_help=True, add_completion=False)


def _register() -> None:
    # Imported here so `askdesk --help` stays fast and no module loads models at import time.
    from askdesk.serve_command import register as register_api
    from askdesk.demo import register as register_demo
    from app.search_command import register as register_search
    from evals.eval_command import app as eval_app
    from ingest.ingest_command import register as register_ingest
    from serving.llm_command import app as llm_app

    register_ingest(cli)
    register_search(cli)
    register_api(cli)
    register_demo(cli)
    cli.add_typer(llm_app, name="llm", help="Start and manage LLM engines.")
    cli.add_typer(eval_app, name="eval", help="Evaluate a running AskDesk.")


def main() -> None:
    _register()
    try:
        # standalone_mode=False returns a command's typer.Exit code instead of exiting: pass it on
        rc = cli(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except AskDeskError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise

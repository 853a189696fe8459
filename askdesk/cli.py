"""The one `askdesk` command. Each package contributes its subcommands; domain errors become a
one-line message and a non-zero exit here, in one place."""

from __future__ import annotations

import os
import sys

import typer

from app.errors import AskDeskError

cli = typer.Typer(help="AskDesk: FAQ support bot.", no_args_is_help=True, add_completion=False)


def _register() -> None:
    # Imported here so `askdesk --help` stays fast and no module loads models at import time.
    from app.search_command import register as register_search
    from askdesk.backup_command import register as register_backup
    from askdesk.bundle_command import register as register_bundle
    from askdesk.calibrate_command import calibrate_kb
    from askdesk.calibrate_command import register as register_calibrate
    from askdesk.db_command import app as db_app
    from askdesk.demo import register as register_demo
    from askdesk.doctor import register as register_doctor
    from askdesk.purge_command import register as register_purge
    from askdesk.reembed_command import register as register_reembed
    from askdesk.serve_command import register as register_api
    from evals.eval_command import app as eval_app
    from ingest.ingest_command import register as register_ingest
    from serving.llm_command import app as llm_app

    register_ingest(cli, calibrate=calibrate_kb)
    register_search(cli)
    register_calibrate(cli)
    register_api(cli)
    register_demo(cli)
    register_doctor(cli)
    register_purge(cli)
    register_backup(cli)
    register_reembed(cli)
    register_bundle(cli)
    cli.add_typer(llm_app, name="llm", help="Start and manage LLM engines.")
    cli.add_typer(eval_app, name="eval", help="Evaluate a running AskDesk.")
    cli.add_typer(db_app, name="db", help="The conversations database's schema (migrations).")


PIPED_WIDTH = 120  # columns of help and tables when stdout is not a terminal and COLUMNS is unset


def _wide_when_piped() -> None:
    """Help and tables at least PIPED_WIDTH columns wide when stdout is a pipe or a file: rich (typer's
    help, our tables) and click otherwise assume 80 and cut option help to "…". A terminal keeps its
    own width; COLUMNS or typer's TERMINAL_WIDTH, when set, win. Written to the environment because
    that is where rich and click read it."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS") or os.environ.get("TERMINAL_WIDTH"):
        return
    os.environ["COLUMNS"] = str(PIPED_WIDTH)


def main() -> None:
    _wide_when_piped()
    _register()
    try:
        # standalone_mode=False returns a command's typer.Exit code instead of exiting: pass it on;
        # prog_name: the usage line says `askdesk`, also when run as `python -c ...` or `-m`
        rc = cli(standalone_mode=False, prog_name="askdesk")
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
    except Exception as e:  # usage errors: a bad option or value is its message, not a traceback
        import click

        # typer (0.29 here) carries its own copy of click: its usage errors are TyperExceptions, not click's
        if isinstance(e, click.ClickException) or (
            isinstance(e, typer.TyperException) and hasattr(e, "show")
        ):
            e.show()
            sys.exit(e.exit_code)
        raise

"""`askdesk eval ...` (placeholder until the evals issue lands)."""

import typer

app = typer.Typer(no_args_is_help=True)

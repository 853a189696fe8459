"""`askdesk llm ...` (placeholder until the serving issue lands)."""

import typer

app = typer.Typer(no_args_is_help=True)

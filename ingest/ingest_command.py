"""`askdesk ingest PATH...`: the ingest run with progress bars and a one-line summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ingest.discover import Found
from ingest.pipeline import Progress as PipelineProgress
from ingest.pipeline import run_ingest

err = Console(stderr=True)


class _Rate(ProgressColumn):
    """Records embedded per second (rich's running estimate): what a support lead waits on."""

    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f} records/s" if task.speed else "", style="dim")


class RichProgress(PipelineProgress):
    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task = None

    def loading(self, found: Found, i: int, total: int) -> None:
        err.print(f"[dim]reading {i + 1}/{total} {found.source}[/dim]", highlight=False)

    def embedding(self, model: str, total: int) -> None:
        self._bar = Progress(
            TextColumn(f"embedding ({model})"), BarColumn(), MofNCompleteColumn(),
            _Rate(), TimeRemainingColumn(),
            console=err, transient=False,
        )  # fmt: skip
        self._bar.start()
        self._task = self._bar.add_task("embed", total=total)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Knowledge folders or files.")],
    prune: Annotated[bool, typer.Option(help="Delete records whose source file is gone from the folders given.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    reset: Annotated[bool, typer.Option(help="Drop the collections first (after an embedding-model change).")] = False,
    collection: Annotated[str | None, typer.Option(help="Collection name (default: settings).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary line.")] = False,
) -> None:
    """Ingest FAQ tables (csv/xlsx/json/jsonl) and documents (md/html/docx/pdf/txt) into Chroma."""
    from app.knowledge_store import open_store
    from app.settings import get_settings

    settings = get_settings()
    if collection:
        settings = settings.model_copy(update={"collection": collection})
    store = open_store(settings)
    if reset and not dry_run:
        store.reset()
    report = run_ingest(
        paths, store, settings, prune=prune, dry_run=dry_run, progress=None if quiet else RichProgress(),
        calibrate=_hooks.get("calibrate"),
    )  # fmt: skip
    if not quiet:
        for src, why in report.skipped:
            err.print(f"skipped {src}: {why}", highlight=False)
    for src, why in report.failed:
        err.print(f"[red]failed[/red] {src}: {why}", highlight=False)
    if dry_run:
        for kind, keys in report.changed_keys.items():
            for key in keys:
                typer.echo(f"would be {kind}: {key}")
    if report.calibration_line():
        typer.echo(report.calibration_line())
    typer.echo(report.summary())  # last: scripts read the counts from the last line
    if report.failed:
        raise typer.Exit(1)


# what the composition root plugs in at registration (askdesk/cli.py): the KB calibration step
_hooks: dict = {}


def register(cli: typer.Typer, *, calibrate=None) -> None:
    _hooks["calibrate"] = calibrate
    cli.command("ingest")(ingest)

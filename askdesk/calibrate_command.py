"""`askdesk calibrate`: see which calibration is in force, refit it on a customer's labelled
questions (`--questions FILE.jsonl`, the eval format: query, expected_faq_ids / expected_sources,
answerable), or go back to the per-KB self-calibration (`--reset`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.errors import BadRequest

MIN_QUESTIONS = 10  # fewer cannot be split into a fitted and a held-out half worth reading


def _rate(k: int, n: int) -> str:
    """k/n with its Wilson 95% interval (the eval reports' estimator)."""
    from evals.scoring import wilson

    if not n:
        return "n/a (no questions of this kind)"
    e = wilson([True] * k + [False] * (n - k))
    return f"{e.value:.3f} [{e.lo:.2f}, {e.hi:.2f}] ({k}/{n})"


def calibrate(
    questions: Annotated[Path | None, typer.Option("--questions", help="JSONL of labelled questions: {query, expected_faq_ids | expected_sources, answerable}.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Remove the labelled-question calibration: back to the per-KB self-calibration.")] = False,
) -> None:
    """Show the calibration in force, or refit it on your labelled questions and print the frontier."""
    from app.knowledge_store import open_store
    from app.retrieval import Retriever
    from app.retrieval.kb_calibration import (
        QUESTIONS_FILE,
        calibrate_on_questions,
        calibration_dir,
        describe,
        save,
    )
    from app.search_command import read_queries
    from app.settings import get_settings

    settings = get_settings()
    target = calibration_dir(settings) / QUESTIONS_FILE
    if questions is not None and reset:
        raise BadRequest("give --questions FILE.jsonl or --reset, not both")
    if reset:
        existed = target.exists()
        target.unlink(missing_ok=True)
        typer.echo(f"removed {target}" if existed else f"no labelled-question calibration at {target}")
    labelled: list[dict] = []
    if questions is not None:  # checked before any model loads: a bad file fails in a second
        rows = read_queries(questions)
        labelled = [r for r in rows if r.get("expected_faq_ids") or r.get("expected_sources") or r.get("answerable") is False]
        if len(labelled) < MIN_QUESTIONS:
            raise BadRequest(f"{questions}: {len(labelled)} labelled questions; at least {MIN_QUESTIONS} needed "
                             "(expected_faq_ids / expected_sources, or answerable: false)")  # fmt: skip
    retriever = Retriever(open_store(settings), settings)
    if questions is None:
        _show(describe(retriever.calibration()))
        return
    index = retriever.refresh(force=True)
    unknown = sorted({k for r in labelled for k in (r.get("expected_faq_ids") or []) + (r.get("expected_sources") or [])} - set(index.key_to_idx))
    if unknown:
        typer.echo(f"warning: {len(unknown)} expected ids are not in the knowledge base (first: {unknown[0]}); "
                   "their questions count as unanswerable", err=True)  # fmt: skip
    cal, report = calibrate_on_questions(index, labelled, retriever.embedders, retriever.roles, settings)
    if cal.source != "questions":  # kept, it would pin the global model in place of the KB's own fit
        raise BadRequest(f"{questions}: nothing written, {cal.reason}")
    held = report["held_out"]
    typer.echo(f"{len(labelled)} labelled questions, {report['runs']} runs (each answerable one also asked with its entry taken out)")
    typer.echo("held out (fitted on half the questions, scored on the other half, both ways):")
    typer.echo(f"  unanswerable flagged {_rate(*held['flagged'])}")
    typer.echo(f"  answerable kept      {_rate(*held['kept'])}")
    typer.echo(f"  dead ends            {_rate(*held['dead_ends'])}  (answerable, below the no-answer point)")
    chosen = cal.thresholds
    typer.echo("frontier (all questions, refitted): threshold  flagged  kept")
    for t, fl, kp in report["frontier"]:
        mark = "  <- chosen" if any(abs(t - chosen[k]) < 1e-9 for k in ("en", "multi") if k in chosen) else ""
        typer.echo(f"  {t:.3f}  {fl:.3f}  {kp:.3f}{mark}")
    save(cal, target, held_out=held, questions=str(questions))
    typer.echo(f"wrote {target}: thresholds en {chosen['en']} / zh {chosen['multi']} / no-answer "
               f"{chosen.get('no_answer', settings.no_answer_threshold)}; the service reads it at its next index refresh")  # fmt: skip


def calibrate_kb(store, settings) -> dict:
    """The ingest's calibration step: the KB's calibration fitted (or found) and described."""
    from app.retrieval import Retriever
    from app.retrieval.kb_calibration import describe

    return describe(Retriever(store, settings).calibration())


def _show(d: dict) -> None:
    typer.echo(json.dumps(d, ensure_ascii=False, indent=1))


def register(cli: typer.Typer) -> None:
    cli.command("calibrate")(calibrate)

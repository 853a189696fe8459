"""`askdesk search`: one question (human-readable hits) or a batch file (JSON lines + summary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.errors import BadRequest


def read_queries(path: Path) -> list[dict]:
    """`{query, ...}` JSON lines; a missing file or bad line is a one-line error."""
    if not path.is_file():
        raise BadRequest(f"query file not found: {path}")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadRequest(f"{path}:{n}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict) or not str(row.get("query") or "").strip():
            raise BadRequest(f"{path}:{n}: expected an object with a non-empty \"query\"")
        out.append(row)
    return out


def expected_keys(row: dict) -> set[str]:
    return set(row.get("expected_faq_ids") or []) | set(row.get("expected_sources") or [])


def summarise(ranks: list[int | None], answerable: list[tuple[bool, bool]]) -> dict:
    """hit@1/3/5 and MRR over labelled queries (rank None = not found); answerable accuracy over
    queries labelled with `answerable`."""
    n = len(ranks)
    s: dict = {"labelled": n}
    if n:
        s.update(
            {f"hit@{k}": round(sum(1 for r in ranks if r is not None and r < k) / n, 4) for k in (1, 3, 5)}
        )
        s["mrr"] = round(sum(0.0 if r is None else 1 / (r + 1) for r in ranks) / n, 4)
    if answerable:
        s["answerable_labelled"] = len(answerable)
        s["answerable_accuracy"] = round(sum(p == g for p, g in answerable) / len(answerable), 4)
    return s


def search(
    query: Annotated[str | None, typer.Argument(help="The question.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="How many entries.")] = 5,
    queries: Annotated[Path | None, typer.Option("--queries", help="JSONL file of {query, ...} lines.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per query, then a summary line.")] = False,
) -> None:
    """Print the top entries for a question (or a file of questions), with scores and confidence."""
    from app.knowledge_store import open_store
    from app.retrieval import Retriever
    from app.settings import get_settings

    if (query is None) == (queries is None):
        raise BadRequest("give a question, or --queries FILE.jsonl (not both)")
    rows = read_queries(queries) if queries else [{"query": query}]
    settings = get_settings()
    retriever = Retriever(open_store(settings), settings)
    ranks: list[int | None] = []
    answerable: list[tuple[bool, bool]] = []
    for i, row in enumerate(rows):
        res = retriever.search(str(row["query"]), k, audiences=None)  # an operator's CLI: every entry
        exp = expected_keys(row)
        if exp:
            ranks.append(next((j for j, h in enumerate(res.hits) if h.key in exp), None))
        if isinstance(row.get("answerable"), bool):
            answerable.append((res.predicted_answerable, row["answerable"]))
        if as_json:
            typer.echo(json.dumps({
                "id": row.get("id", i), "query": res.query, "lang": res.lang,
                "hits": [{"id": h.key, "score": round(h.score, 4), "confidence": round(h.confidence, 4),
                          "source": h.source} for h in res.hits],
                "predicted_answerable": res.predicted_answerable,
            }, ensure_ascii=False))  # fmt: skip
        else:
            verdict = "answerable" if res.predicted_answerable else "NOT in the knowledge base"
            typer.echo(f"[{res.lang}] {res.query}  ->  {verdict} (confidence {res.confidence:.2f})")
            for h in res.hits:
                label = h.question or f"{h.title} / {h.section}"
                typer.echo(f"  {h.score:6.3f}  {h.confidence:.2f}  {h.key}  {label[:70]!r}")
    if queries is not None:
        summary = summarise(ranks, answerable)
        if as_json:
            typer.echo(json.dumps({"summary": summary}))
        else:
            typer.echo(f"summary: {summary}")


def register(cli: typer.Typer) -> None:
    cli.command("search")(search)

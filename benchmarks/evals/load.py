"""Load test: concurrent streaming chats for a bounded time; errors, throughput, TTFT.

    python benchmarks/evals/load.py --url http://127.0.0.1:8000 --api-key EXEMPT_KEY \\
        [--levels 8:60,32:60] [--dataset evals/datasets/questions.jsonl] [--out reports/load]

Each level ``C:S`` runs C workers for S seconds; each worker sends streaming /api/chat requests
back to back, cycling through the dataset's questions. Use a key listed in
ASKDESK_RATE_LIMIT_EXEMPT_KEYS and long LLM timeouts on the service, or the limiter and timeouts
are what gets measured. A request counts as an error when it gets a 5xx, an `error` event, or a
stream that ends without `done` (dropped); 4xx are counted apart (e.g. 429 = the key is not exempt).
The first level is the acceptance run (0 errors expected); later ones are stress runs.
Writes <out>.md and <out>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from evals.cases import load_dataset
from evals.client import Client
from evals.metrics import summarize
from evals.render import Doc, Heading, Para, Table
from evals.report import write_report
from evals.resources import ResourceSampler


async def run_level(client: Client, questions: list[str], concurrency: int, seconds: float) -> dict:
    results: list[dict] = []
    counter = itertools.count()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            q = questions[next(counter) % len(questions)]
            r = await client.chat_stream(q)
            results.append(
                {
                    "ok": r.ok,
                    "kind": r.error_kind,
                    "error": r.error,
                    "status": r.status,
                    "ttft_ms": r.ttft_s * 1000 if r.ttft_s is not None else None,
                    "total_ms": r.total_s * 1000 if r.total_s is not None else None,
                    "mode": (r.done or {}).get("mode"),
                    "tokens": r.output_tokens,
                    "end": time.perf_counter(),
                }
            )

    t0 = time.perf_counter()
    with ResourceSampler() as sampler:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    ok = [r for r in results if r["ok"]]
    kinds = Counter(r["kind"] for r in results if not r["ok"])
    errors = sum(v for k, v in kinds.items() if k != "http_4xx")
    samples = Counter(r["error"] for r in results if not r["ok"])
    return {
        "concurrency": concurrency,
        "seconds": int(seconds),
        "wall_s": wall,
        "requests": len(results),
        "completed": len(ok),
        "errors": errors,
        "client_errors_4xx": kinds.get("http_4xx", 0),
        "error_kinds": dict(kinds),
        "error_samples": [f"{n}× {e}" for e, n in samples.most_common(5)],
        "throughput_rps": len(ok) / wall,
        "tokens_per_s": sum(r["tokens"] for r in ok if r["mode"] == "rag") / wall,
        "modes": dict(Counter(r["mode"] for r in ok)),
        "ttft_ms": summarize(r["ttft_ms"] for r in ok),
        "total_ms": summarize(r["total_ms"] for r in ok),
        "resources": sampler.summary(),
    }


async def main(a: argparse.Namespace) -> int:
    cases, _ = load_dataset(Path(a.dataset))
    questions = [c.query for c in cases if c.answerable is not False] or [c.query for c in cases]
    levels = [tuple(float(x) for x in lv.split(":")) for lv in a.levels.split(",")]
    out = []
    async with Client(a.url, a.api_key, timeout_s=a.timeout) as client:
        await client.health()
        for c, s in levels:
            print(f"level: {int(c)} concurrent for {s:.0f} s …", file=sys.stderr)
            res = await run_level(client, questions, int(c), s)
            out.append(res)
            print(
                f"  {res['completed']} done, {res['errors']} errors, {res['throughput_rps']:.2f} req/s, "
                f"TTFT p50 {res['ttft_ms']['p50']:.0f} ms p95 {res['ttft_ms']['p95']:.0f} ms",
                file=sys.stderr,
            )
    acceptance = out[0]
    passed = (
        acceptance["errors"] == 0 and acceptance["client_errors_4xx"] == 0 and acceptance["completed"] > 0
    )
    d = Doc("AskDesk load test")
    d.add(
        Para(
            f"{a.url} on {time.strftime('%Y-%m-%d %H:%M')}; questions from {a.dataset} (answerable ones, cycled). "
            f"Errors = 5xx, error events, dropped streams; 4xx counted apart. Acceptance (first level, "
            f"{int(acceptance['concurrency'])} concurrent): {'PASS' if passed else 'FAIL'}."
        ),
        Table(
            [
                "concurrency",
                "seconds",
                "requests",
                "completed",
                "errors",
                "4xx",
                "req/s",
                "gen tok/s",
                "TTFT p50 ms",
                "TTFT p95 ms",
                "total p50 ms",
                "total p95 ms",
                "CPU mean %",
                "modes",
            ],
            [
                [
                    r["concurrency"],
                    r["seconds"],
                    r["requests"],
                    r["completed"],
                    r["errors"],
                    r["client_errors_4xx"],
                    r["throughput_rps"],
                    r["tokens_per_s"],
                    r["ttft_ms"]["p50"],
                    r["ttft_ms"]["p95"],
                    r["total_ms"]["p50"],
                    r["total_ms"]["p95"],
                    r["resources"]["cpu_percent"]["mean"],
                    ", ".join(f"{k}: {v}" for k, v in sorted(r["modes"].items(), key=lambda kv: str(kv[0]))),
                ]
                for r in out
            ],
        ),
    )
    for r in out:
        if r["error_samples"]:
            d.add(
                Heading(f"What failed at {r['concurrency']} concurrent", 3),
                Table(["errors"], [[e] for e in r["error_samples"]]),
            )
    paths = write_report(
        Path(a.out),
        d,
        {
            "meta": {"url": a.url, "dataset": a.dataset, "levels": a.levels, "acceptance_passed": passed},
            "levels": out,
        },
    )
    print(f"acceptance {'PASS' if passed else 'FAIL'}; reports: {paths[0]}, {paths[2]}")
    return 0 if passed else 1


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--api-key", default=None, help="a rate-limit-exempt key")
    p.add_argument("--dataset", default=str(ROOT / "evals" / "datasets" / "questions.jsonl"))
    p.add_argument("--levels", default="8:60,32:60", help="CONCURRENCY:SECONDS,… (first = acceptance)")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--out", default="reports/load")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

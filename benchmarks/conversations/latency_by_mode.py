"""Latency per answer mode, old and new service alternated question by question in one run.

    python benchmarks/conversations/latency_by_mode.py --old http://127.0.0.1:8010 --new http://127.0.0.1:8011 \
        [--questions evals/datasets/questions.jsonl] [--rounds 3] [--api-key KEY]

Each question is asked of both services in turn (order swapped every round, each in a new session),
non-streaming; the time is the client's wall time for the whole answer. Questions are grouped by
the mode the NEW service answered with; only modes that need no LLM are compared by default
(faq, no_answer, chitchat, handoff): rag timing is the engine's. Prints p50/p95 per mode and side,
and per mode and question language (en / zh).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import httpx

from app.lang import detect_lang
from app.retrieval.fusion import lang_group

LLM_FREE = ("faq", "no_answer", "chitchat", "handoff")


def ask(client: httpx.Client, url: str, q: str, headers: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = client.post(f"{url}/api/chat", json={"message": q}, headers=headers, timeout=300)
    dt = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    return dt, r.json()["mode"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--questions", type=Path, default=Path("evals/datasets/questions.jsonl"))
    ap.add_argument("--extra", nargs="*", default=["hi", "谢谢！", "我想转人工", "thanks, bye"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--api-key")
    args = ap.parse_args()
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    qs = [json.loads(x)["query"] for x in args.questions.read_text("utf-8").splitlines() if x.strip()] + args.extra
    times: dict[tuple[str, str], list[float]] = {}
    with httpx.Client() as c:
        modes = {q: ask(c, args.new, q, headers)[1] for q in qs}  # learn the new modes (and warm up)
        picked = [q for q in qs if modes[q] in LLM_FREE]
        for q in picked:  # warm the old one on the same questions
            ask(c, args.old, q, headers)
        for rnd in range(args.rounds):
            for q in picked:
                sides = [("old", args.old), ("new", args.new)]
                for side, url in sides if rnd % 2 == 0 else sides[::-1]:
                    dt, _ = ask(c, url, q, headers)
                    times.setdefault((modes[q], side), []).append(dt)
                    times.setdefault((f"{modes[q]}/{lang_group(detect_lang(q))}", side), []).append(dt)
    print(f"{len(picked)} questions x {args.rounds} rounds, alternated; ms per answer (client wall time)")
    print(f"{'mode (new)':12s} {'n':>4s} {'old p50':>8s} {'new p50':>8s} {'old p95':>8s} {'new p95':>8s}")
    for mode in [m for base in LLM_FREE for m in (base, f"{base}/en", f"{base}/zh")]:
        o, n = times.get((mode, "old"), []), times.get((mode, "new"), [])
        if n:
            print(f"{mode:12s} {len(n):4d} {statistics.median(o):8.1f} {statistics.median(n):8.1f} "
                  f"{pct(o, 0.95):8.1f} {pct(n, 0.95):8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()

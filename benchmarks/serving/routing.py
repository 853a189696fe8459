"""Routing policy vs one backend on a mixed RAG-shaped workload, and a failover run.

    python -m benchmarks.serving.routing --requests 30

Engines: llama.cpp (SmolLM2 Q4_1, role cpu) and vLLM CPU (SmolLM2 bf16, role gpu — it stands in for
the production GPU engine). Each request carries a fixed ~250-token FAQ context, as every RAG prompt
does, plus a question from the three ARTICLE §3 classes mixed 50/30/20. Runs, sequentially:
llama.cpp alone, vLLM alone, both with the policy (ARTICLE §5.3: short -> cpu unless measured
slower, others -> gpu), then failover: both, and halfway the engine the next request would go to
is killed (SIGKILL). Reports p50/p95 TTFT overall and per class, which backend served what, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from app.errors import LLMUnavailable
from app.llm.router import LLMRouter
from app.settings import LLMBackend, Settings
from benchmarks.serving.common import pct, start_engine, write_report

CONTEXT = (
    "FAQ excerpts:\n"
    "[1] Resetting your password: open Settings > Security, choose 'Reset password', and follow the link we "
    "email you. The link is valid for 30 minutes. If you do not receive it, check your spam folder.\n"
    "[2] Opening hours: our support desk answers from 9:00 to 18:00 on weekdays. Urgent card issues "
    "(lost or stolen cards) are handled around the clock on the hotline printed on the back of the card.\n"
    "[3] Transfer limits: online transfers are limited to 50,000 per day and 200,000 per month. Limits can "
    "be raised temporarily at a branch with an ID document.\n"
    "[4] Fees: domestic transfers are free; international transfers cost 0.1% (minimum 5, maximum 50).\n"
    "[5] 光合作用：植物利用光能，把二氧化碳和水合成有机物，并释放氧气。\n"
)
SYSTEM = "You are AskDesk, a support assistant. Answer from the FAQ excerpts; say so if they do not cover it."
QUESTIONS = {
    "short": ["你好", "hello", "谢谢", "hi!", "早安"],
    "medium": [
        "请简述光合作用的过程",
        "How do I reset my password",
        "What are your opening hours",
        "What is the daily transfer limit",
    ],
    "complex": [
        "写一首五言绝句，主题为春雨",
        "Compare domestic and international transfer fees and explain why",
        "Write a short step by step guide to raising my transfer limit",
    ],
}


def workload(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    counts = {"short": round(n * 0.5), "medium": round(n * 0.3)}
    counts["complex"] = n - counts["short"] - counts["medium"]
    items = [(cls, rng.choice(QUESTIONS[cls])) for cls, k in counts.items() for _ in range(k)]
    rng.shuffle(items)
    return items


USE_CONTEXT = True


def messages(question: str) -> list:
    if not USE_CONTEXT:  # the article's setting: the bare question
        return [HumanMessage(question)]
    return [SystemMessage(SYSTEM + "\n\n" + CONTEXT), HumanMessage(question)]


async def run_config(
    name: str,
    backends: list[LLMBackend],
    items: list[tuple[str, str]],
    max_tokens: int,
    kill: tuple[int, dict] | None = None,
) -> dict:
    router = LLMRouter(backends, Settings(llm_backends=backends, llm_health_interval_s=1.0))
    await router.start()
    rows = []
    try:
        for i, (cls, q) in enumerate(items):
            if kill and i == kill[0]:
                victim_name = router.plan(q, "answer")[0]
                kill[1][victim_name].kill()
                print(f"  killed {victim_name} before request {i}", flush=True)
            t0 = time.perf_counter()
            try:
                r = await router.ainvoke(
                    messages(q), question=q, call_type="answer", max_tokens=max_tokens, temperature=0.3
                )
                rows.append(
                    dict(
                        i=i,
                        cls=cls,
                        backend=r.backend,
                        ttft_s=r.ttft_s,
                        total_s=r.total_s,
                        out=(r.usage or {}).get("completion_tokens", 0),
                        error=None,
                    )
                )
            except LLMUnavailable as e:
                rows.append(
                    dict(
                        i=i,
                        cls=cls,
                        backend=None,
                        ttft_s=None,
                        total_s=time.perf_counter() - t0,
                        out=0,
                        error=str(e),
                    )
                )
    finally:
        await router.stop()
    return {"name": name, "rows": rows, "status": router.status()}


def summarize(run: dict, after: int = 0) -> dict:
    rows = [r for r in run["rows"] if r["i"] >= after]
    ok = [r for r in rows if r["error"] is None]
    out = {
        "n": len(rows),
        "errors": len(rows) - len(ok),
        "p50_ttft_ms": pct([r["ttft_s"] * 1000 for r in ok], 0.5),
        "p95_ttft_ms": pct([r["ttft_s"] * 1000 for r in ok], 0.95),
        "served": {},
    }
    for r in ok:
        out["served"][r["backend"]] = out["served"].get(r["backend"], 0) + 1
    for cls in ("short", "medium", "complex"):
        t = [r["ttft_s"] * 1000 for r in ok if r["cls"] == cls]
        out[cls] = {"n": len(t), "p50_ttft_ms": pct(t, 0.5), "p95_ttft_ms": pct(t, 0.95)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--models-dir", type=Path, default=Path(tempfile.gettempdir()) / "askdesk-bench-models")
    ap.add_argument("--no-context", action="store_true", help="bare questions (ARTICLE §3), no RAG context")
    a = ap.parse_args()
    global USE_CONTEXT
    USE_CONTEXT = not a.no_context
    items = workload(a.requests)
    cpu_proc = start_engine("llamacpp", a.models_dir)
    gpu_proc = start_engine("vllm", a.models_dir)
    cpu = LLMBackend(name="llamacpp", base_url=cpu_proc.base_url, model="askdesk-llm", role="cpu")
    gpu = LLMBackend(name="vllm", base_url=gpu_proc.base_url, model="askdesk-llm", role="gpu")
    runs = []
    try:
        # warm both (first-request costs are not what we compare)
        asyncio.run(
            run_config(
                "warmup", [cpu, gpu], [("short", "hi"), ("medium", "How do I reset my password")] * 2, 8
            )
        )
        for name, bks in (("llamacpp alone", [cpu]), ("vllm alone", [gpu]), ("both, policy", [cpu, gpu])):
            print(f"{name} ...", flush=True)
            runs.append(asyncio.run(run_config(name, bks, items, a.max_tokens)))
        print("failover ...", flush=True)
        half = len(items) // 2
        runs.append(
            asyncio.run(
                run_config(
                    "both, policy, kill at half",
                    [cpu, gpu],
                    items,
                    a.max_tokens,
                    kill=(half, {"llamacpp": cpu_proc, "vllm": gpu_proc}),
                )
            )
        )
    finally:
        cpu_proc.stop()
        gpu_proc.stop(60)
    lines = [
        "| run | n | errors | p50 TTFT (ms) | p95 TTFT (ms) | short p50/p95 | medium p50/p95 "
        "| complex p50/p95 | served by |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    summaries = {}
    for r in runs:
        s = summarize(r)
        summaries[r["name"]] = s
        cells = " | ".join(
            f"{s[c]['p50_ttft_ms']:.0f}/{s[c]['p95_ttft_ms']:.0f}" for c in ("short", "medium", "complex")
        )
        lines.append(
            f"| {r['name']} | {s['n']} | {s['errors']} | {s['p50_ttft_ms']:.0f} | {s['p95_ttft_ms']:.0f} | "
            f"{cells} | {s['served']} |"
        )
    fo = runs[-1]
    after = summarize(fo, after=len(items) // 2)
    summaries["failover, after the kill"] = after
    lines.append(
        f"| failover: requests after the kill | {after['n']} | {after['errors']} | "
        f"{after['p50_ttft_ms']:.0f} | {after['p95_ttft_ms']:.0f} | "
        + " | ".join(
            f"{after[c]['p50_ttft_ms']:.0f}/{after[c]['p95_ttft_ms']:.0f}"
            for c in ("short", "medium", "complex")
        )
        + f" | {after['served']} |"
    )
    shape = "RAG-shaped requests (~250-token context each)" if USE_CONTEXT else "bare questions (no context)"
    md = (
        "# Routing benchmark\n\nMixed workload of "
        f"{len(items)} {shape}, 50/30/20 short/medium/complex, sequential, max_tokens "
        f"{a.max_tokens}. Both engines on the same "
        "2-core CPU (vLLM CPU stands in for the GPU backend). TTFT as seen by LLMRouter (client side).\n\n"
        + "\n".join(lines)
        + "\n\nBackend state at the end of the failover run: "
        + "; ".join(
            f"{s['name']} healthy={s['healthy']} circuit={s['circuit']} served={s['served']}"
            for s in fo["status"]
        )
        + "\n"
    )
    md_path, js_path = write_report(
        "serving-routing" + ("" if USE_CONTEXT else "-bare"), md, {"summaries": summaries, "runs": runs}
    )
    print(md)
    print(f"wrote {md_path} and {js_path}")


if __name__ == "__main__":
    main()

"""The article's latency table (ARTICLE §3) for the engines on this machine.

    python -m benchmarks.serving.latency_table --engines llamacpp,vllm --reps 10,6,4

For each engine (llama.cpp/xllamacpp with SmolLM2-135M Q4_1; vLLM CPU with SmolLM2 dequantized to
bf16), each query class is sent ``reps`` times, streaming, thinking off, one at a time: TTFT, total
time, output tokens, TPS = output tokens / total time, and the engine's CPU use (process tree CPU
time / wall time; 100 % = one core). No GPU here, so no GPU column. Writes reports/serving-latency-*.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import psutil
from openai import OpenAI

from benchmarks.serving.common import CLASSES, Sample, mean_sd, measure, start_engine, write_report

ARTICLE_ROWS = {  # T4 GPU, Qwen3-0.6B, vLLM (ARTICLE §3)
    "short": (89, 12, 0.31, 45, 145, 42),
    "medium": (94, 15, 1.07, 86, 80, 51),
    "complex": (98, 18, 2.34, 152, 65, 58),
}


def run(
    engines: list[str], reps: dict[str, int], max_tokens: int, temperature: float, models_dir: Path
) -> dict:
    results: dict[str, dict] = {}
    for engine in engines:
        proc = start_engine(engine, models_dir)
        try:
            client = OpenAI(base_url=proc.base_url, api_key="EMPTY", max_retries=0, timeout=300)
            pid = proc.proc.pid if proc.proc else None
            # one warm-up request (graph capture / cache), not counted
            measure(
                client,
                proc.served_name,
                [{"role": "user", "content": "hi"}],
                "warmup",
                pid,
                max_tokens=8,
                temperature=temperature,
            )
            samples: dict[str, list[Sample]] = {}
            for cls, prompt in CLASSES.items():
                msgs = [{"role": "user", "content": prompt}]
                samples[cls] = [
                    measure(
                        client,
                        proc.served_name,
                        msgs,
                        cls,
                        pid,
                        max_tokens=max_tokens,
                        temperature=temperature,
                    )
                    for _ in range(reps[cls])
                ]
                print(f"{engine} {cls}: {len(samples[cls])} done", flush=True)
            results[engine] = {"startup_s": proc.startup_s, "samples": samples}
        finally:
            proc.stop(60)
    return results


def table(results: dict) -> tuple[str, dict]:
    lines = [
        "| engine | class | n | mean TTFT (ms) | mean total (s) | output tokens | mean TPS | engine CPU % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary: dict = {}
    for engine, r in results.items():
        summary[engine] = {"startup_s": round(r["startup_s"], 2)}
        for cls, ss in r["samples"].items():
            ttft_m, ttft_sd = mean_sd([s.ttft_s * 1000 for s in ss])
            total_m, _ = mean_sd([s.total_s for s in ss])
            out_m, _ = mean_sd([s.output_tokens for s in ss])
            tps_m, _ = mean_sd([s.tps for s in ss])
            cpu_m, _ = mean_sd([s.cpu_pct for s in ss])
            summary[engine][cls] = dict(
                n=len(ss),
                ttft_ms=ttft_m,
                ttft_sd_ms=ttft_sd,
                total_s=total_m,
                output_tokens=out_m,
                tps=tps_m,
                cpu_pct=cpu_m,
            )
            lines.append(
                f"| {engine} | {cls} | {len(ss)} | {ttft_m:.0f} ± {ttft_sd:.0f} | {total_m:.2f} | "
                f"{out_m:.0f} | {tps_m:.0f} | {cpu_m:.0f} |"
            )
    for cls, (t, sd, tot, out, tps, cpu) in ARTICLE_ROWS.items():
        lines.append(
            f"| article (T4, Qwen3-0.6B) | {cls} | — | {t} ± {sd} | {tot} | {out} | {tps} | {cpu} (host) |"
        )
    return "\n".join(lines), summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="llamacpp,vllm")
    ap.add_argument("--reps", default="10,6,4", help="short,medium,complex (the article: 50,30,20)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--models-dir", type=Path, default=None, help="where the bf16 SmolLM2 is built/cached")
    a = ap.parse_args()
    reps = dict(zip(("short", "medium", "complex"), (int(x) for x in a.reps.split(",")), strict=True))
    models_dir = a.models_dir or Path(tempfile.gettempdir()) / "askdesk-bench-models"
    results = run(a.engines.split(","), reps, a.max_tokens, a.temperature, models_dir)
    md_table, summary = table(results)
    machine = (
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    md = (
        f"# Serving latency (ARTICLE §3 classes)\n\nMachine: {machine}; engines on CPU, "
        "SmolLM2-135M-Instruct "
        f"(llama.cpp: Q4_1 GGUF, 1 thread; vLLM CPU 0.32: bf16). Streaming, thinking off, sequential, "
        f"temperature {a.temperature}, max_tokens {a.max_tokens}. Reps {reps}.\n"
        f"Engine start (to `ready:`): "
        + ", ".join(f"{e} {s['startup_s']} s" for e, s in summary.items())
        + "\n\n"
        + md_table
        + "\n"
    )
    md_path, js_path = write_report(
        "serving-latency", md, {"summary": summary, "results": results, "reps": reps}
    )
    print(md)
    print(f"wrote {md_path} and {js_path}")


if __name__ == "__main__":
    main()

"""Shared pieces of the serving benchmarks: query classes, engines, one measured streaming request."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
from openai import OpenAI

from serving.launch import EngineProcess

# ARTICLE §3: the three input classes and the repetitions the article used
CLASSES = {
    "short": "你好",
    "medium": "请简述光合作用的过程",
    "complex": "写一首五言绝句，主题为春雨",
}
ARTICLE_REPS = {"short": 50, "medium": 30, "complex": 20}
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Sample:
    cls: str
    ttft_s: float
    total_s: float
    output_tokens: int
    tps: float
    cpu_pct: float  # engine process tree CPU over the request, 100 = one core


def engine_cpu_seconds(pid: int) -> float:
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for q in procs:
        try:
            t = q.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def measure(
    client: OpenAI,
    model: str,
    messages: list[dict],
    cls: str,
    pid: int | None,
    *,
    max_tokens: int,
    temperature: float,
) -> Sample:
    cpu0 = engine_cpu_seconds(pid) if pid else 0.0
    t0 = time.perf_counter()
    ttft = None
    usage = None
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=max_tokens,
        temperature=temperature,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    for chunk in stream:
        if chunk.choices and ttft is None:
            d = chunk.choices[0].delta
            if d.content or getattr(d, "reasoning_content", None) or getattr(d, "reasoning", None):
                ttft = time.perf_counter() - t0
        if chunk.usage:
            usage = chunk.usage
    total = time.perf_counter() - t0
    cpu = (engine_cpu_seconds(pid) - cpu0) if pid else 0.0
    out = usage.completion_tokens if usage else 0
    return Sample(
        cls,
        ttft if ttft is not None else total,
        total,
        out,
        out / total if total else 0.0,
        100.0 * cpu / total if total else 0.0,
    )


def start_engine(engine: str, models_dir: Path) -> EngineProcess:
    if engine == "llamacpp":
        from serving.models import smollm2_gguf

        return EngineProcess("llamacpp", model=str(smollm2_gguf()), timeout_s=60).start()
    from serving.models import smollm2_hf_dir

    return EngineProcess("vllm", model=str(smollm2_hf_dir(models_dir)), timeout_s=600).start()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def mean_sd(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def write_report(name: str, markdown: str, data: dict) -> tuple[Path, Path]:
    out = REPO / "reports"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    md, js = out / f"{name}-{stamp}.md", out / f"{name}-{stamp}.json"
    md.write_text(markdown, encoding="utf-8")
    js.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, default=lambda o: asdict(o)), encoding="utf-8"
    )
    return md, js

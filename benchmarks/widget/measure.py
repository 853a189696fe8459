"""Widget cost: widget.js size (raw and gzipped) and, in headless chromium, the time from clicking
Send to the first streamed token on screen (p50 per answer mode, faq and rag separately).

    python benchmarks/widget/measure.py                 # starts engine + service like the tests do
    python benchmarks/widget/measure.py --url http://127.0.0.1:8000   # an already running service

Writes reports/widget.md and reports/widget.json. Each question starts a fresh conversation, so
follow-up rewriting never runs; the mode bucket is the one the service reported in `done`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WIDGET = ROOT / "app" / "static" / "widget.js"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# questions phrased as in the FAQ (answered verbatim: faq mode) and questions only the documents
# answer (retrieval + LLM: rag mode)
FAQ_QUESTIONS = [
    "How do I connect to the VPN from home?", "VPN 连接后总是掉线怎么办？", "个人电脑可以连公司 VPN 吗？",
    "How do I reset my password?", "账号被锁定了怎么办？", "How do I set up multi-factor authentication?",
    "What is the maximum email attachment size?", "怎么在手机上收公司邮件？", "How do I print in the office?",
    "公司笔记本电脑丢了怎么办？",
]  # fmt: skip
RAG_QUESTIONS = [
    "What is the hotel limit per night in a tier 1 city?", "What are the per-diem rates for travel?",
    "Which class of travel can I book for a long flight?", "What does travel insurance cover in an emergency?",
    "新员工入职第一天要做什么？", "试用期多久？怎么转正？", "入职伙伴制度是什么？", "新员工有哪些必修培训课程？",
    "How is mileage reimbursed when I use my own car?", "How many days a week can I work remotely?",
]  # fmt: skip

# click Send, resolve when the answer is complete; `first` is when text first appeared in the bubble
MEASURE_JS = """async (q) => {
  const r = document.querySelector('[data-askdesk]').shadowRoot;
  const n = r.querySelectorAll('.msg.bot').length;
  r.querySelector('textarea').value = q;
  return await new Promise((resolve) => {
    let t0 = 0, first = null;
    const obs = new MutationObserver(() => {
      const m = r.querySelectorAll('.msg.bot')[n];
      if (!m) return;
      const text = m.querySelector('.text');
      if (first === null && text && text.textContent.length) first = performance.now() - t0;
      if (m.getAttribute('aria-busy') === 'false') {
        obs.disconnect();
        resolve({first, total: performance.now() - t0, error: m.classList.contains('error')});
      }
    });
    obs.observe(r, {subtree: true, childList: true, characterData: true, attributes: true});
    t0 = performance.now();
    r.querySelector('.send').click();
  });
}"""


def sizes() -> dict:
    raw = WIDGET.read_bytes()
    return {"raw_bytes": len(raw), "gzip_bytes": len(gzip.compress(raw, compresslevel=9, mtime=0))}


def start_stack():
    """Sample KB ingested into a temp dir, llama.cpp (SmolLM2) and `askdesk serve`, as the tests do."""
    from app.embeddings import make_embedder
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from app.settings import Settings, apply_process_env
    from ingest.pipeline import run_ingest
    from tests.conftest import free_port
    from tests.engine_fixtures import start_llamacpp_process
    from tests.service_fixtures import KNOWLEDGE, service_env, start_service

    s0 = Settings(_env_file=None)
    apply_process_env(s0)
    embedders = [make_embedder(n, offline=True) for n in s0.embedding_models]
    data = Path(tempfile.mkdtemp(prefix="askdesk-widget-bench-"))
    s = Settings(_env_file=None, data_dir=data)
    run_ingest([KNOWLEDGE], ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection), s)
    engine = start_llamacpp_process()
    port = free_port()
    env = service_env(data, port, engine.base_url, engine.served_name)
    proc = start_service(env, port, data / "serve.log")
    return f"http://127.0.0.1:{port}", proc, engine


def run(url: str, chromium: str, rounds: int) -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/")
        page.wait_for_function("window.AskDesk")
        page.evaluate("AskDesk.open()")
        questions = [("faq", q) for q in FAQ_QUESTIONS] + [("rag", q) for q in RAG_QUESTIONS]
        page.evaluate("q => AskDesk.ask(q)", "warm-up: how do I print in the office?")  # first-use costs out
        page.wait_for_function("document.querySelector('[data-askdesk]').shadowRoot.querySelector('.send:not([disabled])')",
                               timeout=300_000)  # fmt: skip
        for r in range(rounds):
            for intended, q in questions:
                page.locator("[data-askdesk] .icon").first.click()  # new conversation: no follow-up rewrite
                with page.expect_response(lambda x: x.url.endswith("/api/chat"), timeout=300_000) as info:
                    res = page.evaluate(MEASURE_JS, q)
                body = info.value.text()
                mode = "error"
                if "event: done\ndata: " in body:
                    mode = json.loads(body.split("event: done\ndata: ", 1)[1].split("\n", 1)[0])["mode"]
                row = {"round": r, "question": q, "intended": intended, "mode": mode, "status": info.value.status,
                       "first_token_ms": round(res["first"], 1) if res["first"] is not None else None,
                       "total_ms": round(res["total"], 1)}  # fmt: skip
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), flush=True)
        browser.close()
    return rows


def summarize(rows: list[dict]) -> dict:
    out = {}
    for mode in ("faq", "rag", "no_answer"):
        ttft = [r["first_token_ms"] for r in rows if r["mode"] == mode and r["first_token_ms"] is not None]
        total = [r["total_ms"] for r in rows if r["mode"] == mode]
        if ttft:
            out[mode] = {"n": len(ttft), "first_token_p50_ms": round(statistics.median(ttft), 1),
                         "first_token_min_ms": min(ttft), "first_token_max_ms": max(ttft),
                         "total_p50_ms": round(statistics.median(total), 1)}  # fmt: skip
    return out


def write(report: dict) -> None:
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "widget.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    s = report["size"]
    lines = [
        "# Widget: size and time to first token", "",
        f"Measured {report['at']} on {report['machine']}; chromium headless; service at {report['url']}",
        "(sample KB, llama.cpp SmolLM2-135M on CPU). Each question in a fresh conversation.", "",
        "| widget.js | bytes |", "|---|---|",
        f"| raw | {s['raw_bytes']} |", f"| gzip -9 | {s['gzip_bytes']} |", "",
        "Click Send → first answer text in the widget (MutationObserver in the page):", "",
        "| mode | n | first token p50 (ms) | min | max | complete answer p50 (ms) |", "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for mode, v in report["latency"].items():
        lines.append(f"| {mode} | {v['n']} | {v['first_token_p50_ms']} | {v['first_token_min_ms']} | "
                     f"{v['first_token_max_ms']} | {v['total_p50_ms']} |")  # fmt: skip
    off = [r for r in report["rows"] if r["mode"] != r["intended"]]
    if off:
        lines += ["", f"{len(off)} question(s) landed in another mode than intended (bucketed by the mode reported):"]
        lines += [f"- {r['question']} → {r['mode']}" for r in off]
    (out / "widget.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running AskDesk service (its widget origins must allow this URL)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--rounds", type=int, default=1, help="passes over the question lists")
    args = ap.parse_args()
    import os
    import platform

    proc = engine = None
    url = args.url
    if not url:
        url, proc, engine = start_stack()
    try:
        rows = run(url.rstrip("/"), args.chromium, args.rounds)
    finally:
        if proc:
            proc.terminate()
            proc.wait(15)
        if engine:
            engine.stop()
    report = {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "url": url,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
              "size": sizes(), "latency": summarize(rows), "rows": rows}  # fmt: skip
    write(report)
    print(json.dumps({"size": report["size"], "latency": report["latency"]}, indent=1))


if __name__ == "__main__":
    main()

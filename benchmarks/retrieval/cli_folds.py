"""The judge's path, end to end through the CLI: for each dev pack, `askdesk ingest PACK/knowledge.jsonl`
into an empty store and `askdesk search --queries PACK/queries.jsonl --json` (hit@k, MRR,
predicted_answerable), then the same for 5 seeded folds that each leave out 20% of the entries
with queries (the left-out entries' queries should come back unanswerable, the others answerable).
Default settings only; the folds are the ones benchmarks/retrieval/scoring.py uses.

    python benchmarks/retrieval/cli_folds.py [--packs esun_faq_zh_tw stackfaq_en] [--work /tmp/askdesk-cli]

Writes reports/retrieval-cli.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.retrieval.evalsets import PACKS_DIR, expected_keys, load_queries  # noqa: E402
from benchmarks.retrieval.scoring import FOLDS, fold_split  # noqa: E402

ASKDESK = [str(Path(sys.executable).with_name("askdesk"))]  # the console script of this venv


def run_cli(args: list[str], data_dir: Path) -> str:
    env = {**os.environ, "ASKDESK_DATA_DIR": str(data_dir)}
    out = subprocess.run([*ASKDESK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"askdesk {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return out.stdout


def ingest_and_search(knowledge: Path, queries: Path, data_dir: Path) -> tuple[list[dict], dict]:
    shutil.rmtree(data_dir, ignore_errors=True)
    run_cli(["ingest", str(knowledge), "--quiet"], data_dir)
    lines = [json.loads(x) for x in run_cli(["search", "--queries", str(queries), "--json"], data_dir).splitlines() if x.strip()]
    return [x for x in lines if "summary" not in x], next(x["summary"] for x in lines if "summary" in x)


def pack_run(name: str, work: Path) -> dict:
    pack = PACKS_DIR / name
    queries = load_queries(pack / "queries.jsonl")
    entries = [json.loads(x) for x in (pack / "knowledge.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    t0 = time.perf_counter()
    rows, summary = ingest_and_search(pack / "knowledge.jsonl", pack / "queries.jsonl", work / name / "full")
    summary["predicted_answerable"] = round(sum(r["predicted_answerable"] for r in rows) / len(rows), 4)
    out: dict = {"pack": name, "full": summary, "full_s": round(time.perf_counter() - t0, 1), "folds": []}
    print(f"[{name}] full KB: {summary}", flush=True)
    ids = {e["id"] for e in entries}
    folds = fold_split(sorted({k for q in queries for k in expected_keys(q)} & ids))
    for f in range(FOLDS):
        fdir = work / name / f"fold{f}"
        fdir.mkdir(parents=True, exist_ok=True)
        kn = fdir / "knowledge.jsonl"
        kn.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries if e["id"] not in folds[f]), encoding="utf-8")
        # unlabelled copy of the queries: the CLI's own summary would score hits against left-out ids
        qf = fdir / "queries.jsonl"
        qf.write_text("".join(json.dumps({"id": q["id"], "query": q["query"]}, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
        rows, _ = ingest_and_search(kn, qf, fdir / "data")
        pred = {r["id"]: r["predicted_answerable"] for r in rows}
        un = [q for q in queries if not (expected_keys(q) - folds[f])]
        an = [q for q in queries if expected_keys(q) - folds[f]]
        flagged = sum(not pred[q["id"]] for q in un) / len(un)
        kept = sum(pred[q["id"]] for q in an) / len(an)
        out["folds"].append({"fold": f, "unanswerable": len(un), "flagged": round(flagged, 4), "answerable": len(an), "kept": round(kept, 4)})
        print(f"[{name}] fold {f}: flagged {flagged:.3f} of {len(un)}, kept {kept:.3f} of {len(an)}", flush=True)
    fl = [x["flagged"] for x in out["folds"]]
    kp = [x["kept"] for x in out["folds"]]
    out.update(flagged_mean=round(sum(fl) / len(fl), 4), flagged_min=min(fl), kept_mean=round(sum(kp) / len(kp), 4), kept_min=min(kp))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", nargs="*", default=["esun_faq_zh_tw", "stackfaq_en"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/askdesk-cli"))
    ap.add_argument("--out", type=Path, default=ROOT / "reports")
    args = ap.parse_args()
    packs = [p for p in args.packs if (PACKS_DIR / p / "knowledge.jsonl").exists()]
    if not packs:
        raise SystemExit(f"no dev packs under {PACKS_DIR}")
    res = [pack_run(p, args.work) for p in packs]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval-cli.json").write_text(json.dumps(res, indent=1))
    md = ["# Retrieval through the CLI (`benchmarks/retrieval/cli_folds.py`)", "",
          "`askdesk ingest PACK/knowledge.jsonl` into an empty store, then `askdesk search --queries ... --json`, default settings.", "",
          "| pack | hit@1 | hit@5 | MRR | predicted answerable (full KB) | folds: unanswerable flagged (mean / min) | folds: answerable kept (mean / min) |",
          "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in res:
        s = r["full"]
        md.append(f"| {r['pack']} | {s.get('hit@1')} | {s.get('hit@5')} | {s.get('mrr')} | {s['predicted_answerable']} | "
                  f"{r['flagged_mean']:.3f} / {r['flagged_min']:.3f} | {r['kept_mean']:.3f} / {r['kept_min']:.3f} |")  # fmt: skip
    (args.out / "retrieval-cli.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

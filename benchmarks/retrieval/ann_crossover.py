"""Where Chroma's HNSW query would beat the in-memory product: per-query time of each, by size.

    python benchmarks/retrieval/ann_crossover.py [--records 10000 50000 100000 200000] [--queries 200] [--k 200]

For each size, N unit vectors of 384 dimensions (clustered like FAQ records: entries' records near
their entry's centre, entries around topic centres) go into a real Chroma collection on disk
(PersistentClient, cosine space, the default HNSW settings Chroma gives a collection) and into
the shipped product (app/retrieval/matvec.HalfMatrix, kernel measured at build). Then, alternated
query by query: the exact product over all N rows plus the top-k selection, against Chroma's
`query(n_results=k)`; and HNSW's recall of the exact top 10 within its k. Prints p50/p95 per side
and the ratio. Retrieval needs every record's score for its z-score fusion and crowd features
(app/retrieval/ranking.py), so an ANN path would still need the k candidates' exact scores plus
distribution statistics from a sample; this measures the part that would change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.retrieval.matvec import HalfMatrix  # noqa: E402

DIM = 384


def clustered(n: int, rng: np.random.Generator) -> np.ndarray:
    topics = rng.standard_normal((max(8, n // 2000), DIM)).astype(np.float32)
    entries = topics[rng.integers(0, len(topics), n // 5 + 1)] + 0.8 * rng.standard_normal((n // 5 + 1, DIM)).astype(np.float32)
    v = entries[np.arange(n) // 5] + 0.5 * rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def one_size(n: int, queries: int, k: int, rng: np.random.Generator) -> dict:
    import chromadb

    vecs = clustered(n, rng)
    with tempfile.TemporaryDirectory() as tmp:
        client = chromadb.PersistentClient(path=tmp)
        col = client.create_collection("ann", metadata={"hnsw:space": "cosine"}, embedding_function=None)
        t0 = time.perf_counter()
        for i in range(0, n, 5000):
            col.add(ids=[f"r{j}" for j in range(i, min(n, i + 5000))], embeddings=vecs[i : i + 5000])
        build_s = time.perf_counter() - t0
        mat = HalfMatrix(vecs)
        qs = vecs[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, DIM)).astype(np.float32)
        qs /= np.linalg.norm(qs, axis=1, keepdims=True)
        exact_ms, ann_ms, recall = [], [], []
        for qi, q in enumerate(qs):
            for side in ("exact", "ann") if qi % 2 == 0 else ("ann", "exact"):
                t = time.perf_counter()
                if side == "exact":
                    s = mat @ q
                    top = np.argpartition(-s, k)[:k]
                    exact_ms.append((time.perf_counter() - t) * 1000)
                    best10 = set(top[np.argsort(-s[top])][:10].tolist())
                else:
                    r = col.query(query_embeddings=[q], n_results=k, include=["distances"])
                    ann_ms.append((time.perf_counter() - t) * 1000)
                    got = {int(x[1:]) for x in r["ids"][0]}
            recall.append(len(best10 & got) / 10)
    row = {"records": n, "chroma_add_s": round(build_s, 1), "kernel": mat.kernel,
           "exact_p50_ms": statistics.median(exact_ms), "exact_p95_ms": pct(exact_ms, 0.95),
           "ann_p50_ms": statistics.median(ann_ms), "ann_p95_ms": pct(ann_ms, 0.95),
           "ann_recall_top10_in_k": float(np.mean(recall))}  # fmt: skip
    print(json.dumps({k2: round(v, 3) if isinstance(v, float) else v for k2, v in row.items()}), flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, nargs="*", default=[10_000, 50_000, 100_000, 200_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=200, help="candidates an ANN path would take per model")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/ann-crossover")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = [one_size(n, a.queries, a.k, rng) for n in a.records]
    lines = ["# Exact product vs Chroma HNSW query, per query (alternated; 384-d clustered vectors)", "",
             f"{a.queries} queries per size, top {a.k}; {time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| records | kernel | exact p50 / p95 ms | HNSW p50 / p95 ms | HNSW recall of exact top 10 | Chroma add s |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {r['records']} | {r['kernel']} | {r['exact_p50_ms']:.2f} / {r['exact_p95_ms']:.2f} | "
              f"{r['ann_p50_ms']:.2f} / {r['ann_p95_ms']:.2f} | {r['ann_recall_top10_in_k']:.3f} | {r['chroma_add_s']} |"
              for r in rows]  # fmt: skip
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    a.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

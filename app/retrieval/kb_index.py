"""An in-memory snapshot of the knowledge base for one collection version: entries, the dense
vectors of every collection as row-aligned matrices, and the BM25 index. Built from plain records
(pure apart from tokenisation), so evals can build one from precomputed records and drop entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.records import AUDIENCES, is_english_record, parse_audiences, visible_to
from app.retrieval.fusion import Grouping
from app.retrieval.lexical import BM25
from app.retrieval.matvec import HalfMatrix
from app.retrieval.text import overlap_units, tokenize

QUESTION_FIELDS = frozenset({"question", "related"})


@dataclass(frozen=True)
class EntryInfo:
    key: str
    kind: str
    source: str
    title: str
    section: str
    page: int
    category: str
    lang: str
    question: str
    answer: str
    related: tuple[str, ...]
    audiences: frozenset[str] = frozenset()  # who may read it; empty = everyone


@dataclass
class RecordSet:
    """One collection's records: ids, texts and metadata (as chroma returns them) and vectors."""

    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    embeddings: np.ndarray | None


def _entry_from_meta(m: dict) -> EntryInfo:
    rel = str(m.get("related_questions") or "")
    return EntryInfo(
        key=str(m.get("entry_key", "")),
        kind=str(m.get("kind", "faq")),
        source=str(m.get("source", "")),
        title=str(m.get("title", "")),
        section=str(m.get("section", "")),
        page=int(m.get("page", -1) if m.get("page") is not None else -1),
        category=str(m.get("category") or ""),
        lang=str(m.get("lang") or ""),
        question=str(m.get("question") or ""),
        answer=str(m.get("answer") or ""),
        related=tuple(q for q in rel.split("\n") if q.strip()),
        audiences=frozenset(parse_audiences(m.get(AUDIENCES))),
    )


class KBIndex:
    """Row-aligned arrays over the records of collection 0; entries are what results are about."""

    def __init__(self, sets: Sequence[RecordSet | None], version: tuple[int, int] = (0, 0)) -> None:
        base = sets[0]
        if base is None:
            raise ValueError("the primary collection's records are needed")
        self.version = version
        # the calibration in force for this snapshot (app/retrieval/kb_calibration.py), set by
        # the retriever after the build; None = the global default
        self.calibration = None
        self.calibration_stamp: float | None = None
        keep = [i for i, m in enumerate(base.metadatas) if m and m.get("entry_key")]
        self.record_ids = [base.ids[i] for i in keep]
        self.record_texts = [base.texts[i] or "" for i in keep]
        metas = [base.metadatas[i] for i in keep]
        key_to_idx: dict[str, int] = {}
        self.entries: list[EntryInfo] = []
        rec_entry = np.empty(len(keep), dtype=np.int64)
        for r, m in enumerate(metas):
            key = str(m["entry_key"])
            if key not in key_to_idx:
                key_to_idx[key] = len(self.entries)
                self.entries.append(_entry_from_meta(m))
            rec_entry[r] = key_to_idx[key]
        self.key_to_idx = key_to_idx
        self.rec_entry = rec_entry
        # entries some readers may not see: without any, every reader searches this very snapshot
        self.restricted = [e for e in self.entries if e.audiences]
        self.rec_is_question = np.array([m.get("field") in QUESTION_FIELDS for m in metas], dtype=bool)
        self.rec_field = [str(m.get("field", "")) for m in metas]
        # dense matrices, rows in record order; a collection missing some records (ingest in
        # progress) gets zero rows there, which score 0 and never win
        pos = {rid: r for r, rid in enumerate(self.record_ids)}
        self.dense: list[np.ndarray | None] = []
        for s in sets:
            if s is None or s.embeddings is None or len(s.ids) == 0:
                self.dense.append(None)
                continue
            mat = np.zeros((len(self.record_ids), s.embeddings.shape[1]), dtype=np.float32)
            for j, rid in enumerate(s.ids):
                r = pos.get(rid)
                if r is not None:
                    mat[r] = s.embeddings[j]
            norms = np.linalg.norm(mat, axis=1, keepdims=True)
            self.dense.append(mat / np.maximum(norms, 1e-12))
        # lexical units: a FAQ entry is one unit (question, related questions, answer); a document
        # section contributes one unit per chunk, prefixed with its title and section heading
        unit_tokens: list[list[str]] = []
        unit_entry: list[int] = []
        # per FAQ entry, for the frame-swap check (app/retrieval/frame.py): every token of the entry,
        # its main question's tokens in order, and in how many entries' questions each token occurs
        self.faq_terms: dict[int, frozenset[str]] = {}
        self.question_tokens: dict[int, list[str]] = {}
        self.question_terms: dict[int, frozenset[str]] = {}  # main and related questions' tokens
        self.question_df: dict[str, int] = {}
        for e_idx, e in enumerate(self.entries):
            if e.kind == "faq":
                unit_tokens.append(tokenize("\n".join([e.question, *e.related, e.answer])))
                unit_entry.append(e_idx)
                self.faq_terms[e_idx] = frozenset(unit_tokens[-1])
                self.question_tokens[e_idx] = tokenize(e.question)
                self.question_terms[e_idx] = frozenset(self.question_tokens[e_idx]).union(*(tokenize(r) for r in e.related))
                for t in self.question_terms[e_idx]:
                    self.question_df[t] = self.question_df.get(t, 0) + 1
        for r, fld in enumerate(self.rec_field):
            if fld == "chunk":
                e = self.entries[rec_entry[r]]
                unit_tokens.append(tokenize(f"{e.title}\n{e.section}\n{self.record_texts[r]}"))
                unit_entry.append(int(rec_entry[r]))
        self.unit_entry = np.asarray(unit_entry, dtype=np.int64)
        self.bm25 = BM25(unit_tokens)
        n = len(self.entries)
        self.by_question = Grouping(rec_entry, n, self.rec_is_question)
        self.by_content = Grouping(rec_entry, n, ~self.rec_is_question)
        self.by_unit = Grouping(self.unit_entry, n)
        self.by_entry = Grouping(rec_entry, n)
        # entry languages: the English-only model judges English entries only (ranking.rank)
        self.entry_is_en = np.array([_is_en(e) for e in self.entries], dtype=bool)
        self.entry_is_doc = np.array([e.kind != "faq" for e in self.entries], dtype=bool)
        self.en_share = float(self.entry_is_en.mean()) if self.entries else 0.0
        # filled lazily by searches (a dict write is atomic under the GIL)
        self._question_units: dict[int, list[set[str]]] = {}
        self._chunk_units: dict[int, set[str]] = {}
        self._english_rows: dict[int, tuple[np.ndarray | None, HalfMatrix]] = {}
        self._half: dict[int, HalfMatrix] = {}

    def question_units(self, entry: int) -> list[set[str]]:
        """Overlap units of a FAQ entry's question and related questions, computed on first use
        (OpenCC + bigrams per hit were a third of a search's scoring time)."""
        got = self._question_units.get(entry)
        if got is None:
            e = self.entries[entry]
            got = self._question_units[entry] = [overlap_units(t) for t in (e.question, *e.related)]
        return got

    def chunk_units(self, entry: int, record: int) -> set[str]:
        """Overlap units of a document section's heading plus its matching chunk."""
        if record < 0:  # no chunk: the heading alone (not cached: -1 is not one record)
            return overlap_units(self.entries[entry].section)
        got = self._chunk_units.get(record)  # a record belongs to one entry
        if got is None:
            got = self._chunk_units[record] = overlap_units(f"{self.entries[entry].section} {self.record_texts[record]}")
        return got

    def scorer(self, i: int) -> HalfMatrix:
        """Dense matrix i for the per-query product (float16, app/retrieval/matvec.py), built on
        first use."""
        got = self._half.get(i)
        if got is None:
            got = self._half[i] = HalfMatrix(self.dense[i])
        return got

    def english_rows(self, i: int) -> tuple[np.ndarray | None, HalfMatrix]:
        """(record rows of English entries, their rows of dense matrix i as a scorer), built on
        first use: the English-only model is judged on English entries only, so it need not score
        the others (None rows = every record is English, the full matrix)."""
        got = self._english_rows.get(i)
        if got is None:
            en = self.entry_is_en[self.rec_entry]
            got = (None, self.scorer(i)) if en.all() else (np.flatnonzero(en), HalfMatrix(self.dense[i][en]))
            self._english_rows[i] = got
        return got

    def records_of(self, entry: int) -> np.ndarray:
        """Record rows of one entry (ascending), a slice of the by-entry grouping (no scan of every
        record); empty for an unknown entry."""
        g = self.by_entry
        p = int(np.searchsorted(g.entries, entry))
        if p >= len(g.entries) or g.entries[p] != entry:
            return np.zeros(0, dtype=np.int64)
        end = g.starts[p + 1] if p + 1 < len(g.starts) else len(g.rows)
        return g.rows[g.starts[p] : end]

    def hidden_from(self, audiences: frozenset[str]) -> frozenset[str]:
        """Keys of the entries a reader with these audiences may not see (empty: sees them all)."""
        return frozenset(e.key for e in self.restricted if not visible_to(e.audiences, audiences))

    @property
    def n_entries(self) -> int:
        return len(self.entries)

    def without(self, keys: set[str]) -> KBIndex:
        """A copy without the given entries (evals: simulate knowledge the KB does not have)."""
        return self.variant(drop_entries=keys)

    def variant(
        self,
        *,
        drop_entries: set[str] = frozenset(),
        drop_records: set[int] = frozenset(),
        drop_related: Mapping[str, set[str]] | None = None,
    ) -> KBIndex:
        """A copy without some entries, some single records (by row) and some related questions
        (by entry key; their text leaves the entry's lexical unit and overlap units too): the
        self-calibration asks an entry's own paraphrase with that paraphrase taken out."""
        new = object.__new__(KBIndex)
        keep_rec = np.array(
            [self.entries[e].key not in drop_entries and r not in drop_records for r, e in enumerate(self.rec_entry)],
            dtype=bool,
        )
        idx = np.flatnonzero(keep_rec)
        drop_related = drop_related or {}
        metas = [self._meta(i, drop_related) for i in idx]
        recs = [
            RecordSet(
                [self.record_ids[i] for i in idx],
                [self.record_texts[i] for i in idx],
                metas,
                None if mat is None else mat[idx],
            )
            for mat in self.dense
        ]
        KBIndex.__init__(new, recs, self.version)
        return new

    def _meta(self, r: int, drop_related: Mapping[str, set[str]] | None = None) -> dict:
        e = self.entries[self.rec_entry[r]]
        gone = (drop_related or {}).get(e.key, ())
        related = [q for q in e.related if q not in gone]
        return {
            "entry_key": e.key, "kind": e.kind, "source": e.source, "title": e.title, "section": e.section,
            "page": e.page, "category": e.category, "lang": e.lang, "question": e.question,
            "answer": e.answer, "related_questions": "\n".join(related), "field": self.rec_field[r],
            AUDIENCES: ",".join(sorted(e.audiences)),
        }  # fmt: skip


def _is_en(e: EntryInfo) -> bool:
    return is_english_record({"lang": e.lang, "question": e.question, "title": e.title})

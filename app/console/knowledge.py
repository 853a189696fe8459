"""Curated FAQ entries: the database is their source of truth; every change is versioned and then
published as one managed Q&A file (CSV) ingested through the upload flow (app/ports.SourceUploads:
staged, content-hashed ids, so an unchanged entry is not re-embedded), and the retriever reloads.

Where edits live: an entry written in the console is a row of `console_entries`. An edit of an
entry that came from an ingested file (or a phrasing added to it) makes a console copy under the
same key that `overrides` the file's entry: on every publish the file's records for that key are
removed from the store, so the console's copy is the one that answers. Re-ingesting the original
file puts the file's records back next to the console's (ingest never touches the managed file's
records, so the editor's change is not overwritten); the next publish removes them again."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.console.models import CuratedEntry, EntryVersion, QueueDecision, now
from app.errors import BadRequest, NotFound
from app.ports import KnowledgeStore, SourceUploads

UPLOAD_PREFIX = "uploads/"  # where the upload flow keys a file (ingest/uploads.py)
FIELDS = ("key", "question", "related", "answer", "category", "lang", "overrides")


@dataclass(frozen=True)
class PublishReport:
    summary: str
    removed_file_records: int


def snapshot(e: CuratedEntry | None) -> dict | None:
    return None if e is None else {f: getattr(e, f) for f in FIELDS}


def to_csv(entries: list[dict]) -> str:
    """The curated entries as a Q&A table `askdesk ingest` reads (related questions as a JSON list)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "question", "answer", "related_questions", "category", "lang"])
    for e in sorted(entries, key=lambda e: e["key"]):
        w.writerow([e["key"], e["question"], e["answer"], json.dumps(e["related"], ensure_ascii=False),
                    e["category"], e["lang"]])  # fmt: skip
    return out.getvalue()


class CuratedKnowledge:
    def __init__(
        self, engine: Engine, store: KnowledgeStore, uploads: SourceUploads, refresh, file_name: str
    ) -> None:
        self.engine = engine
        self.store = store
        self.uploads = uploads
        self.refresh = refresh  # the retriever reloads now, not at its next periodic check
        self.file_name = file_name
        self.source = UPLOAD_PREFIX + file_name
        self._lock = threading.Lock()  # one publish at a time: each writes the whole file

    # --- reads ----------------------------------------------------------------------------------
    def entries(self) -> list[dict]:
        with Session(self.engine) as s:
            return [snapshot(e) | {"updated_by": e.updated_by, "updated_at": e.updated_at}
                    for e in s.scalars(select(CuratedEntry).order_by(CuratedEntry.updated_at.desc()))]  # fmt: skip

    def get(self, key: str) -> dict | None:
        with Session(self.engine) as s:
            return snapshot(s.get(CuratedEntry, key))

    def versions(self, key: str | None = None, limit: int = 100) -> list[EntryVersion]:
        with Session(self.engine) as s:
            q = select(EntryVersion).order_by(EntryVersion.id.desc()).limit(limit)
            if key:
                q = q.where(EntryVersion.key == key)
            return list(s.scalars(q))

    def export_csv(self) -> str:
        return to_csv(self.entries())

    # --- changes (each versioned, then published) -------------------------------------------------
    def save(self, data: dict, who: str, action: str | None = None, file_copy: dict | None = None) -> str:
        """Create (no key) or replace an entry; returns its key. `file_copy`: the ingested file's entry
        a new override replaces, recorded as the version's "before" (rolling back to it restores the
        file's text)."""
        question, answer = (data.get("question") or "").strip(), (data.get("answer") or "").strip()
        if not question or not answer:
            raise BadRequest("an entry needs a question and an answer")
        related = [q.strip() for q in data.get("related") or [] if q and q.strip() and q.strip() != question]
        key = (data.get("key") or "").strip() or "console-" + uuid.uuid4().hex[:10]
        with self._lock:
            with Session(self.engine) as s, s.begin():
                row = s.get(CuratedEntry, key)
                before = snapshot(row) or file_copy
                if row is None:
                    row = CuratedEntry(key=key)
                    s.add(row)
                row.question, row.answer, row.related = question, answer, list(dict.fromkeys(related))
                row.category = (data.get("category") or "").strip()
                row.lang = (data.get("lang") or "").strip()
                row.overrides = data.get("overrides") if before is None else before["overrides"]
                if row.overrides is None and data.get("overrides"):
                    row.overrides = data["overrides"]
                row.updated_by, row.updated_at = who, now()
                s.add(EntryVersion(key=key, action=action or ("update" if before else "create"), before=before,
                                   after=snapshot(row), who=who))  # fmt: skip
            self._publish()
        return key

    def delete(self, key: str, who: str) -> None:
        with self._lock:
            with Session(self.engine) as s, s.begin():
                row = s.get(CuratedEntry, key)
                if row is None:
                    raise NotFound(f"no curated entry {key!r}")
                if row.overrides:
                    # the file's own records for this id were removed when the copy was made: deleting
                    # the copy would leave the id unanswered until that file is ingested again
                    raise BadRequest(f"{key} overrides {row.overrides}'s entry: edit it, or roll it back to its "
                                     "first version to restore the file's text")  # fmt: skip
                s.add(EntryVersion(key=key, action="delete", before=snapshot(row), after=None, who=who))
                s.delete(row)
            self._publish()

    def rollback(self, version_id: int, who: str) -> str:
        """Put the entry back as it was before that change (a rollback is itself a new version)."""
        with self._lock:
            with Session(self.engine) as s, s.begin():
                v = s.get(EntryVersion, version_id)
                if v is None:
                    raise NotFound(f"no version {version_id}")
                row = s.get(CuratedEntry, v.key)
                current, target = snapshot(row), v.before
                if target is None and row is not None:
                    s.delete(row)
                elif target is not None:
                    if row is None:
                        row = CuratedEntry(key=v.key)
                        s.add(row)
                    for f in FIELDS:
                        setattr(row, f, target[f])
                    row.updated_by, row.updated_at = who, now()
                s.add(EntryVersion(key=v.key, action="rollback", before=current, after=target, who=who))
                key = v.key
            self._publish()
        return key

    def decide(self, norm_question: str, decision: str, who: str, entry_key: str | None = None) -> None:
        """Take a question off the curation queue (curated into an entry, or out of scope)."""
        with Session(self.engine) as s, s.begin():
            row = s.get(QueueDecision, norm_question) or QueueDecision(question=norm_question)
            row.decision, row.entry_key, row.who, row.at = decision, entry_key, who, now()
            s.add(row)

    def decided(self) -> set[str]:
        with Session(self.engine) as s:
            return set(s.scalars(select(QueueDecision.question)))

    # --- publishing -----------------------------------------------------------------------------
    def _publish(self) -> PublishReport:
        entries = self.entries()
        if entries:
            result = self.uploads.add(self.file_name, to_csv(entries).encode("utf-8"))
            summary = result.summary
        else:
            try:
                self.uploads.remove(self.source)
            except NotFound:
                pass
            summary = "no curated entries"
        removed = self._remove_overridden({e["key"] for e in entries if e["overrides"]})
        if removed:
            self.store.bump_version()
        self.refresh()
        return PublishReport(summary=summary, removed_file_records=removed)

    def _remove_overridden(self, keys: set[str]) -> int:
        """Delete the file records of entries the console overrides, so only the console's copy of
        such a key answers (its metadata: question, answer, related questions)."""
        if not keys:
            return 0
        removed = 0
        for i in range(len(self.store.embedders)):
            ids = [rid for rid, m in self.store.get_index(i).items()
                   if m.get("entry_key") in keys and m.get("source") != self.source]  # fmt: skip
            if ids:
                self.store.delete(i, ids)
                removed += len(ids) if i == 0 else 0
        return removed

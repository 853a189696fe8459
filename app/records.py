"""What the knowledge base stores: entries (a FAQ item or a document section) and the records
(vectors) they are stored as. Pure: no I/O, so ids and metadata are trivially testable."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

EntryKind = Literal["faq", "doc"]
# Fields a record can embed. FAQ entries: the question, each related question (with the main one),
# the answer, and question+answer together; document sections: each chunk.
RecordField = Literal["question", "related", "answer", "qa", "chunk"]


# --- audiences: who may read an entry (README "Privacy and identity"). Untagged = everyone.
AUDIENCES = "audiences"  # the record metadata field: the entry's tags, sorted, joined by ","
EVERYONE = "*"  # a tag that says "everyone" explicitly: it overrides a folder's or a file's default
_TAG_SEPARATORS = re.compile(r"[,|;\n]+")


def parse_audiences(value: object) -> tuple[str, ...]:
    """Audience tags as stored: a list, or text separated by `,` `|` `;` or newlines; trimmed,
    case-folded (the identity provider's group names and a spreadsheet's need not agree on case),
    sorted and unique. `*` among them means everyone and stands alone."""
    if value is None:
        return ()
    if isinstance(value, list | tuple | set | frozenset):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        if text.startswith("[") and text.endswith("]"):  # a JSON/YAML-style list in a table cell
            text = text[1:-1].replace('"', "").replace("'", "")
        items = _TAG_SEPARATORS.split(text)
    tags = {i.strip().casefold() for i in items if i and i.strip()}
    return (EVERYONE,) if EVERYONE in tags else tuple(sorted(tags))


def visible_to(entry_audiences: frozenset[str] | tuple[str, ...], reader: frozenset[str]) -> bool:
    """May a reader with these audiences see an entry with these tags? Untagged: everyone."""
    return not entry_audiences or bool(set(entry_audiences) & reader)


def content_hash(*parts: object) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One retrievable unit: results are de-duplicated to one per entry `key`.

    `key` is the FAQ id for FAQ entries and `<source>#<section>` for document sections.
    """

    key: str
    kind: EntryKind
    source: str  # path relative to the ingested root (or the file name for a single file)
    title: str = ""
    question: str = ""
    related_questions: tuple[str, ...] = ()
    answer: str = ""
    section: str = ""
    page: int = -1
    chunks: tuple[str, ...] = ()  # document sections only
    category: str = ""
    lang: str = ""
    audiences: tuple[str, ...] = ()  # who may read it (parse_audiences); () = everyone

    @property
    def restricted_to(self) -> tuple[str, ...]:
        """The tags that restrict it; () = everyone (untagged, or tagged `*`)."""
        return tuple(a for a in self.audiences if a != EVERYONE)

    @property
    def hash(self) -> str:
        # tags are part of the content: re-tagging an entry replaces its records (and so their
        # metadata); an untagged entry hashes as before tags existed, so no store is re-embedded
        tags = (self.restricted_to,) if self.restricted_to else ()
        return content_hash(
            self.key, self.kind, self.source, self.title, self.question, self.related_questions,
            self.answer, self.section, self.page, self.chunks, self.category, self.lang, *tags,
        )  # fmt: skip


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    metadata: dict[str, str | int] = field(hash=False)


QA_ANSWER_CHARS = 400  # enough of the answer to disambiguate, short enough for a 512-token encoder


def is_english_record(meta: Mapping[str, object]) -> bool:
    """Whether a record's entry is English (its `lang`, else its question's or title's script): the
    English-only embedder judges English entries only (app/retrieval/ranking.py masks it to them),
    so its collection holds their records alone and the index reads the others as absent."""
    lang = str(meta.get("lang") or "")
    if lang:
        return lang.lower().startswith("en")
    from app.lang import detect_lang

    return detect_lang(str(meta.get("question") or meta.get("title") or "")) == "en"


def entry_records(entry: Entry) -> list[Record]:
    """The vectors an entry is stored as; every id depends on the entry's full content hash, so any
    change to an entry replaces all of its records and an unchanged entry keeps all of them."""
    h = entry.hash
    base: dict[str, str | int] = {
        "entry_key": entry.key,
        "entry_hash": h,
        "kind": entry.kind,
        "source": entry.source,
        "title": entry.title,
        "section": entry.section,
        "page": entry.page,
        "category": entry.category,
        "lang": entry.lang,
    }
    if entry.restricted_to:
        base[AUDIENCES] = ",".join(entry.restricted_to)
    texts: list[tuple[RecordField, str]] = []
    if entry.kind == "faq":
        base["question"] = entry.question
        base["answer"] = entry.answer
        base["related_questions"] = "\n".join(entry.related_questions)
        texts.append(("question", entry.question))
        # a related question is often a follow-up that leans on the main one for its topic ("which
        # areas count as Taiwan?" under a travel-insurance entry): embedded with it, it says what it
        # is about and stops attracting queries on other topics (esun no-answer folds, half-split:
        # kept 0.893 -> 0.922 at the same flagged rate)
        texts.extend(("related", f"{q}\n{entry.question}") for q in entry.related_questions)
        if entry.answer:
            texts.append(("answer", entry.answer))
            texts.append(("qa", f"{entry.question}\n{entry.answer[:QA_ANSWER_CHARS]}"))
    else:
        texts.extend(("chunk", c) for c in entry.chunks)
    out: list[Record] = []
    seen: set[str] = set()
    for i, (fld, text) in enumerate(texts):
        text = text.strip()
        if not text:
            continue
        rid = content_hash(h, fld, i, text)[:32]
        if rid in seen:
            continue
        seen.add(rid)
        out.append(Record(id=rid, text=text, metadata={**base, "field": fld, "ordinal": i}))
    return out

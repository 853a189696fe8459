"""Read evaluation inputs: labelled questions, two-turn conversations, and raw user questions.

Formats (see evals/datasets/README.md): JSONL rows with ``query`` and optional ``id``,
``expected_faq_ids``, ``expected_sources``, ``expected_answer``, ``key_facts``, ``answerable``,
``category``, ``lang``; conversations are rows with ``turns: [{query, expected_…, answerable}, …]``.
The dev packs' ``queries.jsonl`` (``id, query, expected_faq_ids, lang, label_source``) is a subset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import BadRequest


@dataclass
class Case:
    """One question to ask, with its labels."""

    id: str
    query: str
    expected_faq_ids: list[str] = field(default_factory=list)
    expected_sources: list[str] = field(default_factory=list)
    expected_answer: str = ""
    key_facts: list[str] = field(default_factory=list)
    answerable: bool | None = None  # None: unknown (no labels)
    category: str = "-"
    lang: str = "-"
    conversation: str | None = None  # conversation id for turns
    turn: int = 0  # 0 = single question or first turn

    @property
    def gold(self) -> list[str]:
        return [*self.expected_faq_ids, *self.expected_sources]


@dataclass
class Conversation:
    id: str
    turns: list[Case]


def _case(row: dict, *, default_id: str, parent: dict | None = None, turn: int = 0) -> Case:
    parent = parent or {}
    q = row.get("query")
    if not isinstance(q, str) or not q.strip():
        raise BadRequest(f"{default_id}: every row needs a non-empty 'query'")
    faq = list(row.get("expected_faq_ids") or [])
    src = list(row.get("expected_sources") or [])
    ans = row.get("answerable")
    if ans is None:
        ans = True if (faq or src) else None
    return Case(
        id=str(row.get("id") or default_id),
        query=q.strip(),
        expected_faq_ids=[str(x) for x in faq],
        expected_sources=[str(x) for x in src],
        expected_answer=str(row.get("expected_answer") or ""),
        key_facts=[str(x) for x in row.get("key_facts") or []],
        answerable=bool(ans) if ans is not None else None,
        category=str(row.get("category") or parent.get("category") or "-"),
        lang=str(row.get("lang") or parent.get("lang") or "-"),
        conversation=parent.get("id"),
        turn=turn,
    )


def _rows(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise BadRequest(f"dataset not found: {path}")
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadRequest(f"{path}:{i}: not JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise BadRequest(f"{path}:{i}: each line must be a JSON object")
        out.append((i, row))
    return out


def load_dataset(path: Path) -> tuple[list[Case], list[Conversation]]:
    """Questions and conversations from one JSONL file (rows with ``turns`` are conversations)."""
    cases: list[Case] = []
    convs: list[Conversation] = []
    for i, row in _rows(path):
        rid = f"{path.stem}-{i}"
        if "turns" in row:
            turns = row["turns"]
            if not isinstance(turns, list) or not turns:
                raise BadRequest(f"{path}:{i}: 'turns' must be a non-empty list")
            conv = {**row, "id": str(row.get("id") or rid)}
            convs.append(
                Conversation(
                    conv["id"],
                    [
                        _case(t, default_id=f"{conv['id']}-t{j}", parent=conv, turn=j)
                        for j, t in enumerate(turns)
                    ],
                )
            )
        else:
            cases.append(_case(row, default_id=rid))
    return cases, convs


def load_questions(path: Path) -> list[str]:
    """Raw user questions: a text file (one per line), JSONL with ``query``, or the service's log
    export (JSONL; user messages under ``message``/``query``/``question``; other roles skipped)."""
    if not path.is_file():
        raise BadRequest(f"questions file not found: {path}")
    text = path.read_text(encoding="utf-8")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first.lstrip().startswith("{"):
        return [ln.strip() for ln in text.splitlines() if ln.strip()]
    return questions_from_jsonl(text, str(path))


def questions_from_jsonl(text: str, where: str = "input") -> list[str]:
    out: list[str] = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadRequest(f"{where}:{i}: not JSON ({e.msg})") from e
        if not isinstance(row, dict):
            continue
        role = row.get("role")
        if role is not None and role != "user":
            continue
        for key in ("query", "question", "message", "user_message", "content"):
            v = row.get(key)
            if isinstance(v, str) and v.strip():
                out.append(v.strip())
                break
    return out

"""Read evaluation inputs: labelled questions, two-turn conversations, and raw user questions.

Formats (see evals/datasets/README.md): JSONL rows with ``query`` and optional ``id``,
``expected_faq_ids``, ``expected_sources``, ``expected_answer``, ``key_facts``, ``answerable``,
``category``, ``lang``; conversations are rows with ``turns: [{query, kind, expected_…, answerable,
expected_mode}, …]``. The dev packs' ``queries.jsonl`` (``id, query, expected_faq_ids, lang,
label_source``) is a subset.

Turn kinds (``kind``): a single question is ``single``; a conversation turn is ``first`` (turn 0 when
absent), ``followup`` (later turns when absent), ``switch`` / ``clarify`` (a question that stands on
its own, so it must be answered as in a fresh session), or a social / handoff turn (``greeting``,
``thanks``, ``goodbye``, ``not_helpful``, ``handoff_request``) that carries the ``expected_mode`` it
must be answered in (``chitchat`` or ``handoff``; defaulted from the kind when absent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import BadRequest

# questions about the knowledge base; the rest are social or ask for a person
QUESTION_KINDS = ("single", "first", "followup", "switch", "clarify")
STANDALONE_KINDS = ("switch", "clarify")  # asked again in a fresh session: the answer must match
SOCIAL_KINDS = ("greeting", "thanks", "goodbye", "not_helpful")
HANDOFF_KINDS = ("handoff_request",)
TURN_KINDS = (*QUESTION_KINDS, *SOCIAL_KINDS, *HANDOFF_KINDS)
# the answer mode a social / handoff turn must get when the row does not say
EXPECTED_MODE = {**dict.fromkeys(SOCIAL_KINDS, "chitchat"), "handoff_request": "handoff"}
# the `intent` the service should read from such a turn (the done event's `intent`)
EXPECTED_INTENT = {
    "greeting": "greeting",
    "thanks": "thanks",
    "goodbye": "goodbye",
    "not_helpful": "not_helpful",
    "handoff_request": "human",
}


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
    kind: str = "single"  # see TURN_KINDS
    expected_mode: str | None = None  # social / handoff turns: the mode the answer must have

    @property
    def gold(self) -> list[str]:
        return [*self.expected_faq_ids, *self.expected_sources]


@dataclass
class Conversation:
    id: str
    turns: list[Case]


def _kind(row: dict, *, default_id: str, in_conversation: bool, turn: int) -> str:
    kind = row.get("kind")
    if kind is None:
        return ("first" if turn == 0 else "followup") if in_conversation else "single"
    if not isinstance(kind, str) or kind not in TURN_KINDS:
        raise BadRequest(f"{default_id}: unknown kind {kind!r} (known: {', '.join(TURN_KINDS)})")
    return kind


def _case(row: dict, *, default_id: str, parent: dict | None = None, turn: int = 0) -> Case:
    parent = parent or {}
    q = row.get("query")
    if not isinstance(q, str) or not q.strip():
        raise BadRequest(f"{default_id}: every row needs a non-empty 'query'")
    kind = _kind(row, default_id=default_id, in_conversation=bool(parent), turn=turn)
    expected_mode = row.get("expected_mode") or EXPECTED_MODE.get(kind)
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
        kind=kind,
        expected_mode=str(expected_mode) if expected_mode else None,
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

"""What an answer is, apart from any surface: the routes map it to HTTP (app/api/schemas.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Mode = Literal["faq", "rag", "no_answer"]
Lang = Literal["zh-Hans", "zh-Hant", "en"]


class Source(BaseModel):
    n: int  # the [n] the answer cites
    id: str  # FAQ id or "path#section"
    kind: Literal["faq", "doc"]
    title: str
    source: str  # file the entry came from
    section: str = ""
    page: int | None = None
    snippet: str
    score: float


class Handoff(BaseModel):
    reason: Literal["no_answer", "llm_unavailable", "user_request"]
    text: str
    contact: str
    ticket_url: str | None = None
    reference: str | None = None  # the ticket reference the user can quote


class Answer(BaseModel):
    session_id: str
    message_id: str
    answer: str
    mode: Mode
    confidence: float
    lang: Lang
    sources: list[Source]
    handoff: Handoff | None = None
    reasoning: str | None = None
    backend: str | None = None  # which LLM backend served it (None for faq / no_answer)
    rewritten_query: str | None = None  # the standalone question, for follow-ups
    latency_ms: dict[str, float] = Field(default_factory=dict)
    # the engine's token counts (prompt/completion/total) when an LLM wrote the answer
    usage: dict[str, int] | None = None

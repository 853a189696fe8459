"""What an answer is, apart from any surface: the routes map it to HTTP (app/api/schemas.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# faq: a curated answer verbatim; rag: written by the LLM from passages; no_answer: not in the
# knowledge base (handoff offered); chitchat: a greeting, thanks, goodbye or "that didn't help"
# (answered before retrieval); handoff: the user asked for a person and a ticket was opened;
# extract: the passages quoted verbatim with citations, where the LLM's text was not worth showing
Mode = Literal["faq", "rag", "no_answer", "chitchat", "handoff", "extract"]
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


class Suggestion(BaseModel):
    """A "did you mean" entry: asking `question` asks this entry."""

    id: str  # FAQ id or "path#section"
    kind: Literal["faq", "doc"]
    question: str  # the FAQ question, or "title · section" for a document section
    confidence: float


class Handoff(BaseModel):
    reason: Literal["no_answer", "llm_unavailable", "user_request", "not_helpful"]
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
    suggestions: list[Suggestion] = Field(default_factory=list)  # "did you mean": entries to ask next
    intent: str | None = None  # greeting / thanks / goodbye / human / not_helpful, when one was read

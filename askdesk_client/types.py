"""What the AskDesk REST API answers, as typed objects (the shapes of app/api/schemas.py, restated
here: the client talks HTTP and imports nothing of the service).

Every model keeps fields it does not know (`model_extra`), so a newer service does not break an older
client; `mode`, `lang` and `kind` are plain strings for the same reason (their values today are in
the comments).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Source(_Model):
    """A passage an answer cites as [n]."""

    n: int
    id: str  # FAQ id or "path#section"
    kind: str  # faq | doc
    title: str
    source: str  # the file the entry came from
    section: str = ""
    page: int | None = None
    snippet: str
    score: float


class Suggestion(_Model):
    """A "did you mean" entry: asking `question` asks this entry."""

    id: str
    kind: str
    question: str
    confidence: float


class Handoff(_Model):
    """A way to a person: the text to show, the contact, and the ticket when one was opened."""

    reason: str  # no_answer | llm_unavailable | user_request | not_helpful
    text: str
    contact: str
    ticket_url: str | None = None
    reference: str | None = None


class Answer(_Model):
    """One answer of /api/chat (and the `done` event of its stream)."""

    session_id: str  # pass it back as `session_id` to continue the conversation
    message_id: str  # for feedback and handoff
    answer: str
    mode: str  # faq | rag | no_answer | chitchat | handoff | extract
    confidence: float
    lang: str  # zh-Hans | zh-Hant | en
    sources: list[Source] = Field(default_factory=list)
    handoff: Handoff | None = None
    reasoning: str | None = None
    backend: str | None = None  # the LLM backend that wrote it (None: no LLM did)
    rewritten_query: str | None = None
    latency_ms: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, int] | None = None  # the engine's token counts, when an LLM wrote it
    suggestions: list[Suggestion] = Field(default_factory=list)
    intent: str | None = None


class Recorded(_Model):
    """What /api/feedback answers."""

    status: str = "recorded"


class SearchHit(_Model):
    id: str
    score: float
    confidence: float  # 0..1, calibrated: how likely this entry answers the query
    source: str
    kind: str  # faq | doc
    title: str
    section: str = ""
    snippet: str = ""  # the start of the entry's answer or passage
    text: str | None = None  # the whole answer or passage, where the service sends it

    @property
    def content(self) -> str:
        """The entry's text: the whole of it where the service sends it, else the snippet."""
        return self.text or self.snippet


class SearchResult(_Model):
    query: str
    lang: str
    hits: list[SearchHit]
    predicted_answerable: bool  # would /api/chat answer it from the knowledge base
    confidence: float  # of the top hit


# --- the events of a streamed answer (/api/chat with stream: true) ----------------------------------
class SourcesEvent(_Model):
    """First: how the question will be answered and the passages it may cite."""

    kind: Literal["sources"] = "sources"
    mode: str
    confidence: float
    sources: list[Source] = Field(default_factory=list)
    session_id: str | None = None
    message_id: str | None = None


class TokenEvent(_Model):
    """Answer text to append (a sentence or so at a time, as the answer guard releases it)."""

    kind: Literal["token"] = "token"
    text: str


class ReasoningEvent(_Model):
    """The model's reasoning text (only with `return_reasoning`)."""

    kind: Literal["reasoning"] = "reasoning"
    text: str


class DoneEvent(_Model):
    """Last on success: the whole answer, as `ask` returns it."""

    kind: Literal["done"] = "done"
    answer: Answer


class ErrorEvent(_Model):
    """Last on failure, after the stream began: `message` is for the user (with `handoff`, the way to
    a person); `code` says what failed (llm_unavailable, internal_error, ...)."""

    kind: Literal["error"] = "error"
    code: str
    message: str
    detail: str | None = None
    handoff: Handoff | None = None
    session_id: str | None = None
    message_id: str | None = None
    sources: list[Source] = Field(default_factory=list)


StreamEvent = SourcesEvent | TokenEvent | ReasoningEvent | DoneEvent | ErrorEvent


def to_event(kind: str, data: dict) -> StreamEvent | None:
    """The typed event for one SSE event; None for a kind this client does not know."""
    if kind == "sources":
        return SourcesEvent(**data)
    if kind == "token":
        return TokenEvent(**data)
    if kind == "reasoning":
        return ReasoningEvent(**data)
    if kind == "done":
        return DoneEvent(answer=Answer(**data))
    if kind == "error":
        return ErrorEvent(**data)
    return None

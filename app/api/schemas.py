"""Request and response models of every HTTP surface, in one place (vLLM's protocol.py habit)."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["faq", "rag", "no_answer"]
Lang = Literal["zh-Hans", "zh-Hant", "en"]

MAX_MESSAGE_CHARS = 4000


# --- native API ----------------------------------------------------------------------------------
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


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str | None = Field(default=None, max_length=128)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    stream: bool = False
    enable_thinking: bool = False
    return_reasoning: bool = False
    user_token: str | None = Field(default=None, max_length=2048)  # signed identity from the host site


class ChatResponse(BaseModel):
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


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=2000)


class HandoffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(min_length=1, max_length=128)
    message_id: str | None = None
    user_token: str | None = Field(default=None, max_length=2048)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    k: int = Field(default=5, ge=1, le=50)


class SearchHit(BaseModel):
    id: str
    score: float
    confidence: float
    source: str
    kind: str
    title: str
    section: str = ""
    snippet: str = ""


class SearchResponse(BaseModel):
    query: str
    lang: str
    hits: list[SearchHit]
    predicted_answerable: bool
    confidence: float


# --- OpenAI-compatible surface --------------------------------------------------------------------
class OAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class OAIChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown OpenAI fields are accepted and logged
    model: str
    messages: list[OAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=8192)
    enable_thinking: bool | None = None
    return_reasoning: bool | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    user: str | None = None
    n: int | None = Field(default=None, ge=1, le=1)


class OAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OAIError(BaseModel):
    error: OAIErrorBody


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "askdesk"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]

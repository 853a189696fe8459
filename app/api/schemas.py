"""Request and response models of every HTTP surface, in one place (vLLM's protocol.py habit)."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.answering.types import Answer, Handoff, Lang, Mode, Source  # noqa: F401 - the HTTP shapes too

MAX_MESSAGE_CHARS = 4000


# --- native API ----------------------------------------------------------------------------------
class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str | None = Field(default=None, max_length=128)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    stream: bool = False
    enable_thinking: bool = False
    return_reasoning: bool = False
    user_token: str | None = Field(default=None, max_length=2048)  # signed identity from the host site


class ChatResponse(Answer):
    """An answer as the native chat API returns it."""


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

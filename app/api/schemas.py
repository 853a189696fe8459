"""Request and response models of every HTTP surface, in one place (vLLM's protocol.py habit)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from app.answering.types import Answer, Handoff, Lang, Mode, Source  # noqa: F401 - the HTTP shapes too

MAX_MESSAGE_CHARS = 4000

# What reaches the models was parsed from JSON; a lone surrogate in any string of it is refused
# before that, where the body is read (app/api/edge.py RequestBodyGuard), for every route.


def _not_blank(v: str) -> str:
    if not v.strip():  # str.strip() knows Unicode whitespace: "\u3000", "\u00a0", ...
        raise PydanticCustomError("blank_string", "must not be empty or only whitespace")
    return v


# a question: something besides whitespace (a blank one has nothing to retrieve or answer)
Question = Annotated[str, AfterValidator(_not_blank)]


def _json_number(v: Any) -> Any:
    """JSON numbers only: lax parsing would read `true` as 1 and "3" as 3. Strict types would refuse
    44.0, which JSON Schema (and every JSON client) calls an integer, so this is the check instead."""
    if isinstance(v, bool) or isinstance(v, str):
        raise PydanticCustomError("number_type", "must be a JSON number")
    return v


def json_int(**bounds: int) -> Any:
    """An integer field that takes JSON numbers only (44.0 is 44; 44.5, true and "3" are refused).
    The bounds come before the validator so the schema keeps them as minimum/maximum."""
    return Annotated[int, Field(**bounds), BeforeValidator(_json_number)]


def json_float(**bounds: float) -> Any:
    return Annotated[float, Field(**bounds), BeforeValidator(_json_number)]


def _content(v: Any) -> Any:
    """A message's content: a string, or OpenAI content parts whose text parts carry a string
    `text` (other part types, such as image_url, are accepted and ignored)."""
    if v is None or isinstance(v, str):
        return v
    if not isinstance(v, list):
        raise PydanticCustomError("content_type", "must be a string or a list of content parts")
    for i, part in enumerate(v):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise PydanticCustomError("content_part", "part {index} needs a string 'type'", {"index": i})
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise PydanticCustomError("content_part", "part {index}: 'text' must be a string", {"index": i})
    return v


def _flags(*names: str):
    """An options object whose named flags, when present, are JSON booleans (not "yes", not 1)."""

    def check(v: dict[str, Any] | None) -> dict[str, Any] | None:
        for name in names:
            if v is not None and v.get(name) is not None and not isinstance(v[name], bool):
                raise PydanticCustomError("bool_type", "{name} must be a boolean", {"name": name})
        return v

    return check


# --- native API ----------------------------------------------------------------------------------
class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str | None = Field(default=None, max_length=128)
    message: Question = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    stream: StrictBool = False
    enable_thinking: StrictBool = False
    return_reasoning: StrictBool = False
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
    query: Question = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    k: json_int(ge=1, le=50) = 5


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
    content: Annotated[str | list[dict[str, Any]] | None, BeforeValidator(_content)] = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")
        return self.content or ""


class OAIChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown OpenAI fields are accepted and logged
    model: str
    messages: list[OAIMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: Annotated[dict[str, Any] | None, AfterValidator(_flags("include_usage"))] = None
    temperature: json_float(ge=0, le=2) | None = None
    max_tokens: json_int(ge=1, le=8192) | None = None
    max_completion_tokens: json_int(ge=1, le=8192) | None = None
    enable_thinking: StrictBool | None = None
    return_reasoning: StrictBool | None = None
    chat_template_kwargs: Annotated[dict[str, Any] | None, AfterValidator(_flags("enable_thinking"))] = None
    user: str | None = None
    n: json_int(ge=1, le=1) | None = None


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

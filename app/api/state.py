"""What the service serves: the objects the composition root (askdesk/wiring.py) builds once at
startup. Routes reach them through ``StateDep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from limits.strategies import MovingWindowRateLimiter

from app.answering.service import AnswerService
from app.api.metrics import Metrics
from app.conversations.store import ConversationStore
from app.llm.router import LLMRouter
from app.ports import KnowledgeStore, SourceUploads
from app.retrieval import Retriever
from app.settings import Settings


@dataclass
class AppState:
    settings: Settings
    store: KnowledgeStore
    retriever: Retriever
    router: LLMRouter
    conversations: ConversationStore
    answers: AnswerService
    uploads: SourceUploads
    metrics: Metrics
    limiter: MovingWindowRateLimiter


def get_state(request: Request) -> AppState:
    return request.app.state.askdesk


StateDep = Annotated[AppState, Depends(get_state)]

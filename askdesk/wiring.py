"""The one place the service is put together: each part built once from the ``Settings`` and
passed to the parts that use it."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel

from app.answering import intent_examples
from app.answering.chain import AnswerChain
from app.answering.service import AnswerService
from app.api.main import create_app
from app.api.metrics import Metrics
from app.api.state import AppState, make_limiter
from app.conversations.store import ConversationStore
from app.knowledge_store import open_store
from app.llm.router import LLMRouter
from app.ports import KnowledgeStore
from app.privacy.redact import redactor_for
from app.retrieval import Retriever
from app.settings import Settings
from ingest.uploads import Uploads


def build_state(
    settings: Settings,
    *,
    chat_models: Mapping[str, BaseChatModel] | None = None,
    store: KnowledgeStore | None = None,
) -> AppState:
    """Everything the service serves. ``chat_models`` replaces the named backends' OpenAI clients
    (the fast tests' scripted model, where the router would call an engine); ``store`` an already
    opened knowledge store (tests reuse their loaded embedders)."""
    limiter = make_limiter(settings)  # first: a bad rate-limit store fails before any model loads
    store = store if store is not None else open_store(settings)
    retriever = Retriever(store, settings)
    router = LLMRouter(settings.llm_backends, settings, chat_models)
    conversations = ConversationStore(settings.db_url, redact=redactor_for(settings))
    examples = intent_examples.build(settings, store.embedders)
    answers = AnswerService(AnswerChain(retriever, router, settings, examples), conversations, settings)
    return AppState(
        settings=settings, store=store, retriever=retriever, router=router, conversations=conversations,
        answers=answers, uploads=Uploads(store, settings, on_change=lambda: retriever.refresh(force=True)),
        metrics=Metrics(), limiter=limiter,
    )  # fmt: skip


def service(settings: Settings) -> FastAPI:
    """The AskDesk service as `askdesk serve` and `askdesk demo` run it."""
    return create_app(settings, build_state)

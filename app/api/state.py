"""What the service serves: the objects the composition root (askdesk/wiring.py) builds once at
startup. Routes reach them through ``StateDep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends, Request
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.answering.service import AnswerService
from app.api.errors import APIError
from app.api.metrics import Metrics
from app.conversations.store import ConversationStore
from app.errors import ConfigError
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


def _masked(uri: str) -> str:
    """The storage URI without its password (it is shown in startup errors and logs)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RateLimiter(MovingWindowRateLimiter):
    """The moving-window limiter; a shared storage that stops answering mid-run (redis down) makes
    the limited requests a 503 that says so, instead of an internal error each."""

    def _guarded(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - each storage driver raises its own connection errors
            raise APIError(503, f"the rate-limit storage is unavailable ({type(e).__name__}); try again shortly",
                           type="server_error", code="rate_limit_storage_unavailable",
                           headers={"Retry-After": "5"}) from e  # fmt: skip

    def hit(self, item, *identifiers, cost: int = 1) -> bool:
        return self._guarded(super().hit, item, *identifiers, cost=cost)

    def test(self, item, *identifiers, cost: int = 1) -> bool:
        return self._guarded(super().test, item, *identifiers, cost=cost)


def make_limiter(settings: Settings) -> MovingWindowRateLimiter:
    """The moving-window limiter over ASKDESK_RATE_LIMIT_STORAGE: memory:// (one process) or a
    shared store such as redis://host:6379/0, so every replica counts against the same limits.
    A URI `limits` cannot use, or a shared store that does not answer, stops the startup here
    rather than turning every request into a 500."""
    uri = settings.rate_limit_storage
    try:
        storage = storage_from_string(uri)
    except ConfigurationError as e:
        raise ConfigError(
            f"ASKDESK_RATE_LIMIT_STORAGE={_masked(uri)!r} cannot be used: {e} (a `limits` storage URI: "
            "memory://, redis://host:6379/0, memcached://host:11211)",
            param="rate_limit_storage",
        ) from None
    if not uri.startswith("memory://"):
        try:
            ok = storage.check()
        except Exception:  # noqa: BLE001 - each driver raises its own connection errors
            ok = False
        if not ok:
            raise ConfigError(
                f"ASKDESK_RATE_LIMIT_STORAGE: no rate-limit storage answers at {_masked(uri)}: start it, "
                "or unset ASKDESK_RATE_LIMIT_STORAGE to count in this process (memory://)",
                param="rate_limit_storage",
            )
    return RateLimiter(storage)


def get_state(request: Request) -> AppState:
    return request.app.state.askdesk


StateDep = Annotated[AppState, Depends(get_state)]

"""One question in, typed events out: session memory, the answer chain, handoff, and the exchange
log. Routes only translate these events to SSE / OpenAI chunks / JSON."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from app import errors
from app.answering.chain import AnswerChain, Event, Turn
from app.answering.types import Answer, Handoff, Source
from app.conversations.store import ConversationStore, new_id
from app.errors import AskDeskError, LLMUnavailable, NotFound
from app.lang import detect_lang
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Ask:
    message: str
    session_id: str | None = None
    user: str | None = None  # verified identity (signed token), never a plain client claim
    owner: str | None = None  # the caller (user, API key or widget visitor) the session belongs to
    history: list[tuple[str, str]] | None = None  # given by the caller (OpenAI surface): not from the DB
    enable_thinking: bool = False
    return_reasoning: bool = False
    surface: str = "chat"
    # what the caller may read (a verified user's or an API key's audiences; empty = anonymous)
    audiences: frozenset[str] = frozenset()


class AnswerService:
    def __init__(self, chain: AnswerChain, conversations: ConversationStore, settings: Settings) -> None:
        self.chain = chain
        self.conv = conversations
        self.s = settings
        self._http = httpx.AsyncClient(timeout=settings.handoff_webhook_timeout_s)
        # what users typed, per session (redacted text -> typed), kept only when tickets carry the
        # user's own words while the log is redacted (ASKDESK_REDACT_TICKET_TRANSCRIPTS=false): in
        # memory, bounded to the redact_ticket_memory most recent sessions, never written
        self._typed: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._keep_typed = settings.redact_pii and not settings.redact_ticket_transcripts

    def _remember_typed(self, session_id: str, message: str) -> None:
        if not self._keep_typed or self.s.redact_ticket_memory <= 0:
            return
        redacted = self.conv.redact(message)
        if redacted != message:
            self._typed.setdefault(session_id, {})[redacted] = message
            self._typed.move_to_end(session_id)
            while len(self._typed) > self.s.redact_ticket_memory:
                self._typed.popitem(last=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def stream(self, ask: Ask) -> AsyncIterator[Event]:
        """Events for one question; the last is `done` (a full Answer) or `error`.

        Exceptions never escape once the first event is out: they become an `error` event. The
        exchange is logged whatever happens (also when the client goes away mid-stream)."""
        # the message's encoders start now, while the session is read: most messages are searched as typed
        self.chain.retriever.prefetch(ask.message)
        sid = await asyncio.to_thread(self.conv.ensure_session, ask.session_id, ask.user, ask.owner)
        mid = new_id()
        self._remember_typed(sid, ask.message)
        lang = detect_lang(ask.message)
        history = ask.history
        if history is None:
            history = [(t.question, t.answer) for t in await asyncio.to_thread(self.conv.history, sid, self.s.history_turns)]
        turn = Turn(ask.message, lang, history[-self.s.history_turns :], ask.enable_thinking, ask.return_reasoning,
                    audiences=ask.audiences)  # fmt: skip
        record: dict = {"id": mid, "session_id": sid, "question": ask.message, "lang": lang,
                        "surface": ask.surface, "user": ask.user, "error": "client disconnected"}  # fmt: skip
        sources: list[Source] = []
        mode = "rag"
        logged = False
        try:
            async for ev in self.chain.astream(turn):
                if ev.kind == "sources":
                    mode = ev.data["mode"]
                    sources = [Source(**s) for s in ev.data["sources"]]
                    ev.data.update(session_id=sid, message_id=mid)
                    record.update(mode=mode, confidence=ev.data["confidence"])
                elif ev.kind == "done":
                    resp = await self._finish(ev.data, sid, mid, ask)
                    record.update(
                        answer=resp.answer, mode=resp.mode, sources=[s.model_dump() for s in resp.sources],
                        backend=resp.backend, rewritten=resp.rewritten_query, error=None,
                        ttft_ms=resp.latency_ms.get("ttft"), total_ms=resp.latency_ms.get("total", 0.0),
                    )  # fmt: skip
                    if resp.mode == "handoff":
                        # the user asked for a person: the ticket carries this message too, so it
                        # is logged first, then the ticket opened and its reference answered
                        await asyncio.to_thread(self.conv.log_exchange, **record)
                        logged = True
                        resp.handoff = await self.handoff(session_id=sid, user=ask.user, message_id=mid,
                                                          reason="user_request", owner=ask.owner)  # fmt: skip
                        resp.handoff.text = resp.answer
                    yield Event("done", resp.model_dump())
                    return
                yield ev
        except LLMUnavailable as e:
            text = self.chain.llm_down_text(lang)
            handoff = Handoff(reason="llm_unavailable", text=text, contact=self.chain.contact(lang))
            record.update(answer=text, error=f"llm_unavailable: {e}", mode=mode)
            yield Event("error", {"code": "llm_unavailable", "message": text, "detail": str(e),
                                  "handoff": handoff.model_dump(), "session_id": sid, "message_id": mid,
                                  "sources": [s.model_dump() for s in sources]})  # fmt: skip
        except AskDeskError as e:
            record.update(error=f"{type(e).__name__}: {e}")
            yield Event("error", {"code": type(e).__name__, "message": str(e), "session_id": sid, "message_id": mid})
        except Exception as e:  # a bug must still end the stream with an error event, and be logged
            log.exception("answering failed")
            record.update(error=f"internal: {type(e).__name__}: {e}")
            yield Event("error", {"code": "internal_error", "message": "internal error", "session_id": sid,
                                  "message_id": mid})  # fmt: skip
        finally:
            if not logged:
                record.setdefault("total_ms", round((time.perf_counter() - turn.started) * 1000, 1))
                await asyncio.shield(asyncio.to_thread(self.conv.log_exchange, **record))

    async def answer(self, ask: Ask) -> Answer:
        """Collected version of `stream` (non-streaming APIs). Raises on an error event.

        The stream is consumed to its end so the exchange is logged before the response leaves."""
        final: Event | None = None
        async for ev in self.stream(ask):
            if ev.kind in ("done", "error"):
                final = ev
        if final is None:
            raise AskDeskError("the answer stream ended without an answer")
        if final.kind == "error":
            if final.data["code"] == "llm_unavailable":
                raise LLMUnavailable(final.data["message"])
            # the stream names the domain error by its class: raise that one again, so the edge maps
            # it as it would have (an empty knowledge base is a 503, not a server error)
            cls = getattr(errors, final.data["code"], None)
            if isinstance(cls, type) and issubclass(cls, AskDeskError):
                raise cls(final.data["message"])
            raise AskDeskError(final.data["message"])
        return Answer(**final.data)

    async def _finish(self, data: dict, sid: str, mid: str, ask: Ask) -> Answer:
        handoff = None
        if data.get("handoff_reason"):
            handoff = Handoff(
                reason=data["handoff_reason"], text=data["answer"], contact=self.chain.contact(data["lang"]),
                ticket_url=None,
            )  # fmt: skip
        return Answer(
            session_id=sid, message_id=mid, answer=data["answer"], mode=data["mode"],
            confidence=data["confidence"], lang=data["lang"], sources=data["sources"], handoff=handoff,
            reasoning=data.get("reasoning"), backend=data.get("backend"),
            rewritten_query=data.get("rewritten_query"), latency_ms=data["latency_ms"], usage=data.get("usage"),
            suggestions=data.get("suggestions") or [], intent=data.get("intent"),
        )  # fmt: skip

    async def handoff(self, *, session_id: str, user: str | None, message_id: str | None, reason: str,
                      owner: str | None = None) -> Handoff:  # fmt: skip
        """Open a ticket carrying the transcript, the user and the sources; call the webhook if set.
        Only the session's owner may: another caller's session id is "not found", never a transcript."""
        if await asyncio.to_thread(self.conv.owns, session_id, owner, user) is False:
            raise NotFound(f"no session {session_id!r}")
        sources: list = []
        lang = "en"
        if message_id:
            ex = await asyncio.to_thread(self.conv.get_exchange, message_id)
            if ex is not None and ex.session_id == session_id:
                sources, lang = ex.sources, ex.lang or "en"
        ticket = await asyncio.to_thread(
            self.conv.create_ticket,
            session_id=session_id,
            reason=reason,
            user=user,
            sources=sources,
            owner=owner,
            unredacted=self._typed.get(session_id),
        )
        if self.s.handoff_webhook_url:
            payload = {"reference": ticket.reference, "session_id": session_id, "reason": reason, "user": user,
                       "transcript": ticket.transcript, "sources": sources}  # fmt: skip
            try:
                r = await self._http.post(self.s.handoff_webhook_url, json=payload)
                status = f"http {r.status_code}"
            except httpx.HTTPError as e:  # the user still gets a reference; the ticket is stored
                status = f"failed: {type(e).__name__}"
                log.warning("handoff webhook failed for %s: %s", ticket.reference, e)
            await asyncio.to_thread(self.conv.set_ticket_webhook_status, ticket.reference, status)
        url = self.s.ticket_url.format(reference=ticket.reference) if self.s.ticket_url else None
        return Handoff(reason=reason, text=self.chain.no_answer_text(lang), contact=self.chain.contact(lang),
                       ticket_url=url, reference=ticket.reference)  # fmt: skip

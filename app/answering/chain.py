"""The LCEL answer chain: (rewrite a follow-up) -> hybrid retrieval -> answer policy -> respond.

`build_answer_chain(...)` returns one Runnable whose `astream` yields typed events (sources, token,
reasoning, done). The LLM steps run through the router (OpenAI-compatible backends via
langchain-openai, with failover); faq and no_answer answers never touch the LLM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda, RunnablePassthrough

from app.answering import extract, prompts
from app.answering.citations import order_by_citation, to_sources
from app.answering.followup import history_need, keeps_the_message
from app.answering.guard import StreamGuard, rule_lines, vet
from app.answering.intents import IntentMatch, detect_intent
from app.answering.policy import Decision, Thresholds, decide, same_language
from app.errors import LLMUnavailable
from app.lang import to_script
from app.llm.think_split import split_think
from app.retrieval import Retriever, SearchResult
from app.retrieval.text import tokenize
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Event:
    kind: str  # sources | token | reasoning | done | error
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    """What the chain needs for one question."""

    message: str
    lang: str
    history: list[tuple[str, str]]
    enable_thinking: bool = False
    return_reasoning: bool = False
    started: float = field(default_factory=time.perf_counter)
    # what the asker may read (their token's or API key's audiences); retrieval never shows them an
    # entry tagged for others. Empty: anonymous, untagged entries only
    audiences: frozenset[str] = frozenset()


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def _latency(turn: Turn, retrieval_ms: float, ttft_ms: float | None = None) -> dict[str, float]:
    total = _ms(turn.started)
    return {"retrieval": retrieval_ms, "ttft": ttft_ms or total, "total": total}


class AnswerChain:
    """Holds the parts (built once at startup) and composes them with LCEL."""

    def __init__(self, retriever: Retriever, router, settings: Settings, intent_examples=None) -> None:
        self.retriever = retriever
        self.router = router
        self.s = settings
        self.intent_examples = intent_examples  # app/answering/intent_examples.IntentExamples, or None
        self.thresholds = Thresholds.from_settings(settings)
        self.runnable: Runnable = (
            RunnablePassthrough.assign(standalone=RunnableLambda(self._rewrite))
            | RunnablePassthrough.assign(retrieval=RunnableLambda(self._retrieve))
            | RunnablePassthrough.assign(decision=RunnableLambda(self._decide))
            | RunnableGenerator(self._respond)
        )

    # --- steps ------------------------------------------------------------------------------------
    async def _rewrite(self, x: dict) -> str:
        """The question to retrieve with: the message itself unless it continues the conversation
        (followup.history_need), then the model's standalone rewrite if it keeps what the message
        says, else the previous question + this one."""
        turn: Turn = x["turn"]
        if not turn.history or history_need(turn.message) != "strong":
            return turn.message  # read on its own, as the first message of a session would be
        msgs = prompts.rewrite_messages(turn.history, turn.message, turn.lang)
        try:
            res = await self.router.ainvoke(
                msgs, question=turn.message, call_type="rewrite", enable_thinking=False,
                temperature=0.0, max_tokens=self.s.rewrite_max_tokens,
            )  # fmt: skip
            text = split_think(res.content)[0].strip().strip('"“”')
        except LLMUnavailable:
            text = ""
        # a rewrite that is empty, rambles, drops the message's own words or repeats an earlier turn
        # is worse than the plain concatenation
        if (not text or len(text) > 4 * len(turn.message) + 200
                or not keeps_the_message(text, turn.message, turn.history)):  # fmt: skip
            text = f"{turn.history[-1][0]} {turn.message}"
        return text

    async def _retrieve(self, x: dict) -> SearchResult:
        k = max(self.s.top_k, self.s.rag_context_k)
        turn: Turn | None = x.get("turn")
        # no turn: the admin API's prompt preview (final_prompt), an operator's view of every entry
        audiences = turn.audiences if turn is not None else None
        result = await asyncio.to_thread(self.retriever.search, x["standalone"], k, audiences=audiences)
        if (turn is not None and turn.history and history_need(turn.message) == "weak"
                and decide(result, self.thresholds).mode == "no_answer"):  # fmt: skip
            # a short fragment ("Tokyo?") that finds nothing alone is read as part of the conversation
            joined = f"{turn.history[-1][0]} {turn.message}"
            alt = await asyncio.to_thread(self.retriever.search, joined, k, audiences=audiences)
            if decide(alt, self.thresholds).mode != "no_answer":
                result = alt
        if turn is not None and result.query != turn.message:
            self._check_followup_top(result, turn.message)
        return result

    def _check_followup_top(self, result: SearchResult, message: str) -> None:
        """A query built with the previous question finds the previous question's entry with high
        confidence. A curated entry that holds none of the new message's own words is not its
        answer ("what about for contractors?" after a notice-period answer): it is offered, not
        answered verbatim and not given to the LLM as the answer."""
        own = set(tokenize(message))
        if not result.hits or not own or result.hits[0].kind != "faq" or result.hits[0].mismatch is not None:
            return
        terms = self.retriever.entry_terms(result.hits[0].key)
        if terms is not None and not own & terms:
            result.hits[0].mismatch = ("followup", next(iter(sorted(own))))

    def _decide(self, x: dict) -> Decision:
        return decide(x["retrieval"], self.thresholds)

    async def _respond(self, inputs: AsyncIterator[dict]) -> AsyncIterator[Event]:
        # streamed `assign` steps deliver the dict in pieces (one key per chunk): gather them first
        x: dict = {}
        async for part in inputs:
            x.update(part)
        async for ev in self._respond_one(x):
            yield ev

    async def _respond_one(self, x: dict) -> AsyncIterator[Event]:
        turn: Turn = x["turn"]
        d: Decision = x["decision"]
        result: SearchResult = x["retrieval"]
        unsure = d.mode == "no_answer" or (d.mode == "rag" and not result.predicted_answerable)
        if unsure and self.intent_examples is not None and self.s.intents_enabled:
            # nothing the knowledge base is sure of: a social message or a request for a person the
            # rules did not read ("说了等于没说", "can someone from IT just call me") is read by
            # example (skipping follow-up fragments here was measured: it lost a right reading, kept
            # the three false ones). A rag answer below the answerable threshold counts too: a KB's
            # calibration may put its no-answer point lower than the global one
            intent = await asyncio.to_thread(self.intent_examples.read, turn.message)
            if intent is not None:
                for ev in self._intent_reply(turn, IntentMatch(intent, "")):
                    yield ev
                return
        t_retrieved = _ms(turn.started)
        sources = to_sources(d.hits)
        done = {
            "mode": d.mode, "confidence": round(d.confidence, 4), "lang": turn.lang,
            "rewritten_query": result.query if result.query != turn.message else None,
            "backend": None, "reasoning": None, "handoff_reason": None,
            "suggestions": [suggestion(h, turn.lang) for h in d.suggestions],
        }  # fmt: skip
        yield Event("sources", {"mode": d.mode, "confidence": done["confidence"],
                                "sources": [s.model_dump() for s in sources]})  # fmt: skip
        if d.mode == "faq":
            text, done["backend"] = await self._faq_answer(result.query, d.hits, turn)
            yield Event("token", {"text": text})
            yield Event("done", {**done, "answer": text, "sources": sources, "latency_ms": _latency(turn, t_retrieved)})
            return
        if d.mode == "no_answer":
            text = self.suggest_text(turn.lang) if d.suggestions else self.no_answer_text(turn.lang)
            yield Event("token", {"text": text})
            yield Event("done", {**done, "answer": text, "sources": sources, "handoff_reason": "no_answer",
                                 "latency_ms": _latency(turn, t_retrieved)})  # fmt: skip
            return
        # rag; closed with this stream, so a reader that stops early also ends the LLM request
        async with aclosing(self._respond_rag(turn, d, result, sources, done, t_retrieved)) as events:
            async for ev in events:
                yield ev

    async def _faq_answer(self, question: str, hits: list, turn: Turn) -> tuple[str, str | None]:
        """(the curated answer in the user's script, None), or (the LLM's rewording of it, its
        backend) when adapting is on and the LLM's text is usable."""
        text = to_script(hits[0].answer, turn.lang)
        if self.s.faq_adapt_with_llm:
            adapted = await self._adapt(question, hits, turn)
            if adapted is not None:
                return adapted
        return text, None

    async def _respond_rag(
        self, turn: Turn, d: Decision, result: SearchResult, sources: list, done: dict, t_retrieved: float
    ) -> AsyncIterator[Event]:
        """Stream the LLM's answer through the guard, then close it: the guard's verdict, the
        handoff text an unsure answer gets, and the done event."""
        if self._llm_unfit(result.query, turn.lang):
            # the configured engine cannot write this language (measured: the stand-in for Chinese):
            # quote the knowledge base instead of showing what it would write
            ex = self.quote(result.query, d.hits, turn.lang)
            if ex is not None:
                for ev in self._extract_events(ex, turn, sources, done, t_retrieved, reason="llm_unfit"):
                    yield ev
                return
        messages = self.rag_messages(result.query, d.hits, turn.lang)
        reasoning: list[str] = []
        ttft = None  # first answer text shown (what the user waits for), not the engine's first token
        backend = None
        usage = None
        guard = StreamGuard(len(sources), rule_lines(messages[0].content))
        stream = self.router.astream(
            messages, question=result.query, call_type="answer", enable_thinking=turn.enable_thinking,
            temperature=self.s.rag_temperature, max_tokens=self.s.rag_max_tokens,
        )  # fmt: skip
        try:
            async with aclosing(stream):
                async for chunk in stream:
                    backend = chunk.backend or backend
                    usage = chunk.usage or usage
                    if chunk.reasoning:
                        reasoning.append(chunk.reasoning)
                        if turn.return_reasoning:
                            yield Event("reasoning", {"text": chunk.reasoning})
                    if chunk.content:
                        shown = guard.feed(chunk.content)
                        if guard.problem:  # the answer will be replaced: stop the engine generating it
                            break
                        if shown:
                            ttft = ttft if ttft is not None else _ms(turn.started)
                            yield Event("token", {"text": shown})
                        if guard.stalled:  # looping: the rest of its token budget would be dropped too
                            log.info("stopped a looping answer after %d characters", len(guard.raw))
                            break
        except LLMUnavailable:
            # no engine answered and nothing was shown yet: a quote from the passages still answers
            ex = self.quote(result.query, d.hits, turn.lang) if not guard.shown else None
            if ex is None:
                raise
            for ev in self._extract_events(ex, turn, sources, done, t_retrieved, reason="llm_unavailable"):
                yield ev
            return
        rest = guard.finish()
        if rest:
            ttft = ttft if ttft is not None else _ms(turn.started)
            yield Event("token", {"text": rest})
        done["backend"] = backend
        done["usage"] = usage
        if turn.return_reasoning:
            done["reasoning"] = "".join(reasoning) or None
        answer = guard.shown
        ex = self.quote(result.query, d.hits, turn.lang) if guard.problem else None
        if ex is not None:
            # the engine's text was rejected: quote the passages after what was already shown (it
            # passed the checks and cannot be unsaid) instead of the no-answer reply
            log.info("generated answer replaced by a quote: %s", guard.problem)
            done["guard"] = guard.problem
            for ev in self._extract_events(ex, turn, sources, done, t_retrieved, reason="guard", ttft=ttft,
                                           shown=answer):  # fmt: skip
                yield ev
            return
        for tail in self._closing_tails(answer, guard.problem, turn.lang, done):
            answer += tail
            yield Event("token", {"text": tail})
        latency = _latency(turn, t_retrieved, ttft)
        if usage and usage.get("completion_tokens"):
            # the engine's count: token events are sentences (the guard), not tokens
            latency["output_tokens"] = float(usage["completion_tokens"])
        yield Event("done", {**done, "answer": answer, "sources": order_by_citation(sources, answer),
                             "latency_ms": latency})  # fmt: skip

    def _closing_tails(self, answer: str, problem: str | None, lang: str, done: dict) -> list[str]:
        """Texts streamed after the guarded answer, in order, with the done fields that say how it
        ended: a guard problem appends the no-answer reply; a replaced or unsure answer is a handoff,
        and an unsure one that lacks the contact gets the handoff text."""
        tails: list[str] = []
        if problem:
            log.info("generated answer replaced: %s", problem)
            # what was shown passed the checks and stays; the honest reply follows it
            tails.append(("\n\n" if answer else "") + self.no_answer_text(lang))
            answer += tails[-1]
            done["guard"] = problem
        if problem or prompts.says_idk(answer):
            done["mode"] = "no_answer"
            done["handoff_reason"] = "no_answer"
            if not problem and self.contact(lang) not in answer:
                # streamed as one more token, so stream readers see the same answer as `done`
                tails.append("\n\n" + self.idk_handoff_text(lang))
        return tails

    # --- extractive answers (app/answering/extract.py) ---------------------------------------------
    def _llm_unfit(self, question: str, lang: str) -> bool:
        """Would the first backend tried write in a language it is configured as unfit for?"""
        if not self.s.extractive_answers:
            return False
        family = "zh" if lang.startswith("zh") else "en"
        order = self.router.plan(question, "answer")
        return bool(order) and family in self.router.extract_languages(order[0])

    def quote(self, question: str, hits: list, lang: str) -> extract.Extract | None:
        """The passages' best sentences quoted with citations, or None (off, or nothing matches)."""
        if not self.s.extractive_answers or not hits:
            return None
        # numbered as the sources are ([n] cites hit n); only passages in the question's language
        # family: the match is lexical, and across languages it finds the wrong passage
        passages = [
            extract.Passage(n=i, title=h.title or h.question, section=h.section if h.kind == "doc" else "",
                            text=h.answer, kind=h.kind, confidence=h.confidence)
            for i, h in enumerate(hits, start=1) if same_language(h.lang or lang, lang)
        ]  # fmt: skip
        return extract.extract_answer(question, passages, lang) if passages else None

    def _extract_events(self, ex: extract.Extract, turn: Turn, sources: list, done: dict, t_retrieved: float,
                        *, reason: str, ttft: float | None = None, shown: str = "") -> list[Event]:  # fmt: skip
        done["mode"] = "extract"
        done["extract_reason"] = reason
        latency = _latency(turn, t_retrieved, ttft if ttft is not None else _ms(turn.started))
        tail = ("\n\n" if shown else "") + ex.text
        answer = shown + tail
        return [
            Event("token", {"text": tail}),
            Event("done", {**done, "answer": answer, "sources": order_by_citation(sources, answer),
                           "latency_ms": latency}),
        ]  # fmt: skip

    async def _adapt(self, question: str, hits: list, turn: Turn) -> tuple[str, str] | None:
        """The LLM's rewording of a curated answer for this question, or None when the LLM is down,
        unsure or unusable (the curated text is then the answer)."""
        messages = self.rag_messages(question, hits, turn.lang)
        try:
            res = await self.router.ainvoke(
                messages, question=question, call_type="answer",
                temperature=self.s.rag_temperature, max_tokens=self.s.rag_max_tokens,
            )  # fmt: skip
        except LLMUnavailable:
            return None
        text, problem = vet(res.content, len(hits), rule_lines(messages[0].content))
        return None if problem or prompts.says_idk(text) else (text, res.backend)

    def rag_messages(self, question: str, hits: list, lang: str) -> list:
        """The exact messages the LLM gets for a rag answer (also served to the overhead benchmark)."""
        passages = [
            prompts.Passage(
                n=i,
                title=f"{h.title} > {h.section}" if h.kind == "doc" and h.section != h.title else (h.title or h.question),
                text=f"{h.question}\n{h.answer}" if h.kind == "faq" else h.answer,
            )
            for i, h in enumerate(hits, start=1)
        ]
        inputs = prompts.rag_inputs(question=question, passages=passages, lang=lang, company=self.s.company_name)
        return prompts.rag_prompt(lang).format_messages(**inputs)

    async def final_prompt(self, message: str) -> tuple[list, Decision, str]:
        """Retrieval + policy for a first-turn question, and the rag messages it would send."""
        from app.lang import detect_lang

        lang = detect_lang(message)
        result = await self._retrieve({"standalone": message})
        d = decide(result, self.thresholds)
        hits = d.hits if d.mode == "rag" else result.hits[: self.thresholds.context_k]
        return self.rag_messages(message, hits, lang), d, lang

    # --- fixed texts in the user's script -------------------------------------------------------
    def contact(self, lang: str) -> str:
        return to_script(self.s.handoff_contact_zh, lang) if lang.startswith("zh") else self.s.handoff_contact

    def _with_contact(self, en: str, zh: str, lang: str) -> str:
        return (to_script(zh, lang) if lang.startswith("zh") else en).format(contact=self.contact(lang))

    def no_answer_text(self, lang: str) -> str:
        return self._with_contact(self.s.no_answer_text, self.s.no_answer_text_zh, lang)

    def suggest_text(self, lang: str) -> str:
        return self._with_contact(self.s.suggest_text, self.s.suggest_text_zh, lang)

    def idk_handoff_text(self, lang: str) -> str:
        return self._with_contact(self.s.idk_handoff_text, self.s.idk_handoff_text_zh, lang)

    def llm_down_text(self, lang: str) -> str:
        return self._with_contact(self.s.llm_down_text, self.s.llm_down_text_zh, lang)

    async def astream(self, turn: Turn) -> AsyncIterator[Event]:
        """Events for one turn: a social message or a request for a person is answered here, before
        retrieval; a greeting in front of a question ("hi, how do I ...") answers the question."""
        m = detect_intent(turn.message) if self.s.intents_enabled else None
        if m is not None and (m.intent in ("human", "not_helpful") or not m.rest.strip()):
            for ev in self._intent_reply(turn, m):
                yield ev
            return
        if m is not None:
            turn = replace(turn, message=m.rest.strip())
        async with aclosing(self.runnable.astream({"turn": turn})) as events:
            async for ev in events:
                yield ev

    def _intent_reply(self, turn: Turn, m: IntentMatch) -> list[Event]:
        """The reply to a social message (chitchat) or a request for a person (handoff: the service
        opens the ticket when it sees the done event)."""
        s = self.s
        texts = {
            "greeting": (s.greeting_text, s.greeting_text_zh), "thanks": (s.thanks_text, s.thanks_text_zh),
            "goodbye": (s.goodbye_text, s.goodbye_text_zh), "not_helpful": (s.not_helpful_text, s.not_helpful_text_zh),
            "human": (s.handoff_request_text, s.handoff_request_text_zh),
        }  # fmt: skip
        text = self._with_contact(*texts[m.intent], turn.lang)
        mode = "handoff" if m.intent == "human" else "chitchat"
        reason = {"human": "user_request", "not_helpful": "not_helpful"}.get(m.intent)
        return [
            Event("sources", {"mode": mode, "confidence": 0.0, "sources": []}),
            Event("token", {"text": text}),
            Event("done", {"mode": mode, "confidence": 0.0, "lang": turn.lang, "rewritten_query": None,
                           "backend": None, "reasoning": None, "handoff_reason": reason, "intent": m.intent,
                           "suggestions": [], "answer": text, "sources": [],
                           "latency_ms": _latency(turn, 0.0)}),
        ]  # fmt: skip


def suggestion(h, lang: str) -> dict:
    """A "did you mean" entry as the API shows it: the text that asks it, in the user's script
    where both are Chinese."""
    if h.kind == "faq":
        text = h.question
    else:
        text = h.title if not h.section or h.section == h.title else f"{h.title} · {h.section}"
    if lang.startswith("zh") and h.lang.startswith("zh"):
        text = to_script(text, lang)
    return {"id": h.key, "kind": h.kind, "question": text, "confidence": round(h.confidence, 4)}

"""Which answer mode a retrieval result earns (pure).

faq: the top hit is a curated FAQ entry in the question's language and retrieval is confident ->
     return it as is (no LLM). An entry in the other language goes to rag: the LLM answers from
     it in the user's language instead of showing them the curated text they did not ask in.
no_answer: retrieval predicts the knowledge base has no answer -> the handoff reply.
rag: everything in between -> a grounded LLM answer over the best passages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.retrieval import Hit, SearchResult

Mode = Literal["faq", "rag", "no_answer"]


@dataclass(frozen=True)
class Thresholds:
    faq_direct: float  # confidence at or above which a top FAQ hit is returned verbatim
    no_answer: float  # top confidence below which the knowledge base is taken to have no answer
    context_min: float  # hits below this confidence are not shown to the LLM
    context_k: int


@dataclass(frozen=True)
class Decision:
    mode: Mode
    hits: list[Hit]  # faq: [the entry]; rag: the context passages in order; no_answer: best guesses
    confidence: float


def same_language(a: str, b: str) -> bool:
    """Same language family: Chinese in either script counts as one (answers are converted)."""
    return a.startswith("zh") == b.startswith("zh")


def decide(result: SearchResult, t: Thresholds) -> Decision:
    hits = result.hits
    # below retrieval's own "answerable" threshold but above this lower one, the LLM still gets
    # the passages and is told to say it does not know: a second line of defence, fewer refusals
    if not hits or hits[0].confidence < t.no_answer:
        return Decision("no_answer", hits[:3], result.confidence if hits else 0.0)
    top = hits[0]
    if top.kind == "faq" and top.confidence >= t.faq_direct and same_language(top.lang, result.lang):
        return Decision("faq", [top], top.confidence)
    context = [top] + [h for h in hits[1:] if h.confidence >= t.context_min]
    return Decision("rag", context[: t.context_k], top.confidence)

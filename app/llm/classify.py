"""Classify a request by the user's question and the call type. Pure.

Every RAG prompt carries a few hundred tokens of retrieved context, so prompt length says little;
what predicts the work is the question itself (ARTICLE §3 classes: short greeting, medium Q&A,
complex instruction) and the call type (``rewrite`` is a short, bounded follow-up rewrite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.lang import HAN_OR_KANA
from app.llm.types import CallType

Complexity = Literal["short", "medium", "complex"]

# Instructions that ask for generation, comparison or multi-step reasoning.
_COMPLEX_MARKERS = (
    "写",
    "创作",
    "作一首",
    "一首",
    "诗",
    "绝句",
    "比较",
    "对比",
    "分析",
    "推理",
    "证明",
    "计算",
    "步骤",
    "详细",
    "为什么",
    "為什麼",
    "如何",
    "规划",
    "規劃",
    "翻译",
    "翻譯",
    "代码",
    "程式",
    "總結",
    "总结",
    "write",
    "compose",
    "compare",
    "analy",
    "explain why",
    "step by step",
    "steps",
    "prove",
    "calculate",
    "translate",
    "summari",
    "plan ",
    "code",
    "essay",
    "poem",
    "pros and cons",
)
_GREETINGS = (
    "你好",
    "您好",
    "嗨",
    "哈囉",
    "谢谢",
    "謝謝",
    "再见",
    "再見",
    "早安",
    "晚安",
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank you",
    "bye",
    "good morning",
    "good evening",
)
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class RequestClass:
    complexity: Complexity
    question_tokens: int  # estimate
    call_type: CallType


def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer: ~1 per CJK character, ~1.3 per Latin word."""
    cjk = len(HAN_OR_KANA.findall(text))  # kana count too: ~1 token each like Han
    words = len(_WORD.findall(text))
    return cjk + round(words * 1.3)


def classify(
    question: str,
    call_type: CallType,
    *,
    short_max_tokens: int = 10,
    complex_min_tokens: int = 40,
) -> RequestClass:
    q = question.strip()
    n = estimate_tokens(q)
    low = q.lower()
    if call_type == "rewrite":
        # A rewrite's output is one short question: always cheap, whatever the history holds.
        return RequestClass("short", n, call_type)
    if any(m in low for m in _COMPLEX_MARKERS) or n >= complex_min_tokens or _question_count(q) > 1:
        return RequestClass("complex", n, call_type)
    stripped = re.sub(r"[\s!！。.,，?？~～]+", "", low)
    if n < short_max_tokens and (
        not stripped or any(stripped.startswith(g.replace(" ", "")) for g in _GREETINGS)
    ):
        return RequestClass("short", n, call_type)
    if n < short_max_tokens // 2:
        return RequestClass("short", n, call_type)
    return RequestClass("medium", n, call_type)


def _question_count(q: str) -> int:
    return len([p for p in re.split(r"[?？]", q) if p.strip()]) if ("?" in q or "？" in q) else 1

"""Data passed between the router and its callers. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CallType = Literal["rewrite", "answer"]
Role = Literal["gpu", "cpu", "escalation"]


@dataclass
class LLMChunk:
    content: str = ""
    reasoning: str = ""
    backend: str = ""
    usage: dict | None = None  # only on the final chunk: prompt_tokens, completion_tokens, total_tokens


@dataclass
class LLMResult:
    content: str
    reasoning: str
    backend: str
    usage: dict | None
    ttft_s: float
    total_s: float

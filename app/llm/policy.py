"""Routing policy (ARTICLE §5.3): which backends to try, in order, for a request class. Pure.

- short (greetings, rewrites, tiny questions): the CPU engine first — no GPU queueing, and on a
  small model the CPU engine's time to first token is competitive — unless measured TTFT says the
  GPU is faster for short requests by a margin;
- medium: GPU first, CPU as failover;
- complex: an ``escalation`` backend (a larger model) first when one is configured, then GPU, then CPU.
Unhealthy backends and those whose circuit is open are left out; the rest keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.llm.classify import Complexity

_ROLE_ORDER: dict[Complexity, tuple[str, ...]] = {
    "short": ("cpu", "gpu", "escalation"),
    "medium": ("gpu", "cpu", "escalation"),
    "complex": ("escalation", "gpu", "cpu"),
}


@dataclass
class BackendView:
    """What the policy may know about a backend."""

    name: str
    role: str
    healthy: bool = True
    available: bool = True  # circuit breaker lets requests through
    ttft_ewma_s: dict[str, float] = field(default_factory=dict)  # per complexity, measured


def plan(backends: list[BackendView], complexity: Complexity, *, faster_margin: float = 0.8) -> list[str]:
    """Backend names to try in order. Empty if none is usable."""
    order = _ROLE_ORDER[complexity]
    ranked = sorted(
        (b for b in backends if b.healthy and b.available),
        key=lambda b: order.index(b.role) if b.role in order else len(order),
    )
    if complexity == "short":
        ranked = _prefer_measured_faster(ranked, "short", faster_margin)
    return [b.name for b in ranked]


def _prefer_measured_faster(ranked: list[BackendView], cls: str, margin: float) -> list[BackendView]:
    """CPU stays first for short requests unless a GPU backend's measured TTFT is below
    ``margin`` × the CPU's (then the GPU is simply faster, even for these)."""
    cpus = [b for b in ranked if b.role == "cpu" and cls in b.ttft_ewma_s]
    gpus = [b for b in ranked if b.role == "gpu" and cls in b.ttft_ewma_s]
    if not cpus or not gpus:
        return ranked
    best_cpu = min(b.ttft_ewma_s[cls] for b in cpus)
    faster = [g for g in gpus if g.ttft_ewma_s[cls] < margin * best_cpu]
    if not faster:
        return ranked
    return sorted(faster, key=lambda g: g.ttft_ewma_s[cls]) + [b for b in ranked if b not in faster]


def ewma(old: float | None, new: float, alpha: float = 0.3) -> float:
    return new if old is None else alpha * new + (1 - alpha) * old

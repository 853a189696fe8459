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
    """CPU stays first for short requests unless a GPU backend's TTFT is below ``margin`` × the
    CPU's (then the GPU is simply faster, even for these). A backend never tried on this class is
    judged by its TTFT on the others: with RAG context in every prompt, TTFT depends little on the
    question, and short requests that always go to the CPU would otherwise never measure the GPU."""
    est = {b.name: _estimate(b, cls) for b in ranked}
    cpus = [b for b in ranked if b.role == "cpu" and est[b.name] is not None]
    gpus = [b for b in ranked if b.role == "gpu" and est[b.name] is not None]
    if not cpus or not gpus:
        return ranked
    best_cpu = min(est[b.name] for b in cpus)
    faster = [g for g in gpus if est[g.name] < margin * best_cpu]
    if not faster:
        return ranked
    return sorted(faster, key=lambda g: est[g.name]) + [b for b in ranked if b not in faster]


def _estimate(b: BackendView, cls: str) -> float | None:
    if cls in b.ttft_ewma_s:
        return b.ttft_ewma_s[cls]
    if b.ttft_ewma_s:
        return sum(b.ttft_ewma_s.values()) / len(b.ttft_ewma_s)
    return None


def ewma(old: float | None, new: float, alpha: float = 0.3) -> float:
    return new if old is None else alpha * new + (1 - alpha) * old

"""Prometheus metrics, on a registry of the app's own (several apps in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("askdesk_requests", "Answered requests", ["surface", "mode", "backend"],
                                registry=self.registry)  # fmt: skip
        self.errors = Counter("askdesk_errors", "Failed requests", ["surface", "code"], registry=self.registry)
        self.ttft = Histogram("askdesk_ttft_seconds", "Time to first token", ["mode", "backend"],
                              buckets=BUCKETS, registry=self.registry)  # fmt: skip
        self.total = Histogram("askdesk_total_seconds", "Total answer time", ["mode", "backend"],
                               buckets=BUCKETS, registry=self.registry)  # fmt: skip

    def observe(self, surface: str, done: dict) -> None:
        mode, backend = done.get("mode", ""), done.get("backend") or "none"
        lat = done.get("latency_ms", {})
        self.requests.labels(surface, mode, backend).inc()
        if lat.get("ttft") is not None:
            self.ttft.labels(mode, backend).observe(lat["ttft"] / 1000)
        self.total.labels(mode, backend).observe(lat.get("total", 0) / 1000)

    def error(self, surface: str, code: str) -> None:
        self.errors.labels(surface, code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Circuit breaker state machine for one backend. Pure: the caller passes the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    """closed --N consecutive failures--> open --cooldown--> half_open --success--> closed
    half_open --failure--> open. In half_open one probe request at a time is let through."""

    failure_threshold: int = 3
    cooldown_s: float = 15.0
    state: State = "closed"
    failures: int = 0
    opened_at: float = 0.0
    _probe_in_flight: bool = field(default=False, repr=False)

    def current(self, now: float) -> State:
        if self.state == "open" and now - self.opened_at >= self.cooldown_s:
            self.state = "half_open"
            self._probe_in_flight = False
        return self.state

    def allow(self, now: float) -> bool:
        """May a request be sent now? In half_open this claims the single probe slot."""
        state = self.current(now)
        if state == "closed":
            return True
        if state == "half_open" and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def would_allow(self, now: float) -> bool:
        """Like :meth:`allow` without claiming the probe slot (for ranking candidates)."""
        state = self.current(now)
        return state == "closed" or (state == "half_open" and not self._probe_in_flight)

    def record_success(self) -> None:
        self.state = "closed"
        self.failures = 0
        self._probe_in_flight = False

    def release(self) -> None:
        """The request ended without a verdict (its caller stopped before the first token): free the
        probe slot for the next request; the state stays as it was."""
        self._probe_in_flight = False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        self._probe_in_flight = False
        if self.state == "half_open" or self.failures >= self.failure_threshold:
            self.state = "open"
            self.opened_at = now

    def end_cooldown(self) -> None:
        """An open circuit may probe now (a health check just found the backend up again): the
        next request is the half-open probe instead of waiting out the rest of the cooldown."""
        if self.state == "open":
            self.state = "half_open"
            self._probe_in_flight = False

    def trip(self, now: float) -> None:
        """Open at once (e.g. a health check found the backend down)."""
        self.state = "open"
        self.opened_at = now
        self._probe_in_flight = False

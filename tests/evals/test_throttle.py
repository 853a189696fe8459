"""HTTP 429 (the service's rate limit) in `askdesk eval`: the client waits out Retry-After (or backs
off), retries a bounded number of times, counts it, and a request still refused is an error of kind
"throttled", counted apart from the service's errors.

The edges of the retry policy (an HTTP-date Retry-After, no Retry-After at all, a server that never
lets up) are driven by a stand-in that says 429 on cue (tests/evals/standin.py behind a counter): the
real service cannot be made to send those on demand. The real rate limiter is exercised below by the
real app over the sample knowledge base (its limiter, its 429 body and Retry-After), and by a real
`askdesk serve` process in test_throttle_live.py."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from evals import report as R
from evals import scoring
from evals.cases import Case
from evals.client import THROTTLED, Attempts, Client, RetryPolicy, Throttled, retry_after_s
from evals.render import to_markdown
from evals.run import RunOptions, run_cases
from tests.evals.standin import handler as standin

FAST = RetryPolicy(max_retries=3, max_wait_s=0.05, backoff_s=0.01, jitter_s=0.01)


def _too_many(retry_after: str | None = "0") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"message": "rate limit exceeded (5/second); slow down", "type": "rate_limit_error",
                      "param": None, "code": "rate_limit_exceeded"}}  # fmt: skip
    return httpx.Response(429, headers=headers, json=body)


class Limited:
    """The stand-in behind a limiter: each request to ``paths`` (told apart by its body) is refused
    ``refuse`` times with a 429 before it is answered, whatever the timing of the others."""

    def __init__(
        self, refuse: int, retry_after: str | None = "0", paths=("/api/search", "/api/chat")
    ) -> None:
        self.refuse, self.retry_after, self.paths = refuse, retry_after, paths
        self.counts: dict[str, itertools.count] = {}
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.paths:
            self.times.append(time.monotonic())
            n = next(self.counts.setdefault(f"{path} {request.content!r}", itertools.count()))
            if n < self.refuse:
                return _too_many(self.retry_after)
        return standin(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


async def _with_client(limited: Limited, policy: RetryPolicy, fn, seen: list | None = None):
    hook = (lambda t: seen.append((t.throttled, t.retries, t.gave_up))) if seen is not None else None
    async with Client(
        "http://askdesk.test", transport=limited.transport(), retry=policy, on_throttle=hook
    ) as c:
        return await fn(c), c.throttle


def test_a_429_is_waited_out_and_retried_and_counted():
    seen: list = []
    limited = Limited(refuse=2)

    async def go(c: Client):
        att = Attempts()
        s = await c.search("vpn drops", attempts=att)
        chat = await c.chat_stream("my vpn keeps kicking me out")
        return s, att, chat

    (s, att, chat), stats = asyncio.run(_with_client(limited, FAST, go, seen))
    assert s["hits"][0]["id"] == "it-vpn-002" and att.retries == 2 and not att.gave_up
    assert chat.ok and chat.error is None and chat.throttle_retries == 2 and chat.done["mode"] == "faq"
    # the chat's latency is timed from the attempt that was answered, not from the first 429
    assert chat.total_s < 0.5
    assert (stats.throttled, stats.retries, stats.gave_up) == (2, 4, 0)
    assert seen[-1] == (2, 4, 0) and len(seen) == 4  # the progress line hears of every retry


def test_retries_are_bounded_then_the_request_is_throttled_not_an_error():
    limited = Limited(refuse=100)

    async def go(c: Client):
        chat = await c.chat_stream("my vpn keeps kicking me out")
        with pytest.raises(Throttled) as e:
            await c.search("vpn")
        return chat, e.value

    (chat, err), stats = asyncio.run(_with_client(limited, FAST, go))
    assert not chat.ok and chat.error_kind == THROTTLED and chat.throttle_retries == FAST.max_retries
    assert chat.status == 429 and "rate_limit_exceeded" in chat.error and "after 3 retries" in chat.error
    assert err.retries == FAST.max_retries and "HTTP 429 rate_limit_exceeded" in str(err)
    assert (stats.throttled, stats.retries, stats.gave_up) == (2, 6, 2)
    assert len(limited.times) == 2 * (FAST.max_retries + 1)


def test_no_retry_allowed_still_counts_the_request_as_throttled():
    limited = Limited(refuse=1)
    policy = RetryPolicy(max_retries=0)
    chat, stats = asyncio.run(_with_client(limited, policy, lambda c: c.chat_stream("vpn")))
    assert chat.error_kind == THROTTLED and chat.throttle_retries == 0
    assert (stats.throttled, stats.retries, stats.gave_up) == (1, 0, 1)


def test_retry_after_is_honoured_and_capped():
    # Retry-After: 1 -> about a second (plus jitter); a cap below it wins
    limited = Limited(refuse=1, retry_after="1", paths=("/api/search",))
    policy = RetryPolicy(max_retries=2, max_wait_s=5, jitter_s=0.05)
    asyncio.run(_with_client(limited, policy, lambda c: c.search("vpn")))
    gap = limited.times[1] - limited.times[0]
    assert 0.95 <= gap < 1.5, gap
    limited = Limited(refuse=1, retry_after="30", paths=("/api/search",))
    asyncio.run(_with_client(limited, RetryPolicy(max_wait_s=0.1, jitter_s=0), lambda c: c.search("vpn")))
    assert limited.times[1] - limited.times[0] < 1


def test_without_retry_after_the_backoff_grows_and_is_capped():
    limited = Limited(refuse=4, retry_after=None, paths=("/api/search",))
    policy = RetryPolicy(max_retries=4, max_wait_s=0.35, backoff_s=0.1, jitter_s=0)
    asyncio.run(_with_client(limited, policy, lambda c: c.search("vpn")))
    gaps = [b - a for a, b in itertools.pairwise(limited.times)]
    # 0.1, 0.2, then the cap 0.35 twice
    assert gaps[0] < gaps[1] < gaps[2] and gaps[2] == pytest.approx(gaps[3], abs=0.08), gaps
    assert gaps[0] >= 0.1 and all(g < 0.35 + 0.15 for g in gaps), gaps


def test_retry_after_forms():
    def r(v):
        return httpx.Response(429, headers={"Retry-After": v} if v is not None else {})

    assert retry_after_s(r("3")) == 3 and retry_after_s(r(" 0 ")) == 0 and retry_after_s(r("1.5")) == 1.5
    assert retry_after_s(r(None)) is None and retry_after_s(r("soon")) is None
    assert retry_after_s(r("-4")) == 0
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 < retry_after_s(r(when)) <= 20
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=20), usegmt=True)
    assert retry_after_s(r(past)) == 0


CASES = [
    Case("q1", "my vpn keeps kicking me out", ["it-vpn-002"], answerable=True, lang="en"),
    Case("q2", "vpn again", ["it-vpn-002"], answerable=True, lang="en"),
    Case("q3", "do we have a sabbatical program?", [], answerable=False, lang="en"),
]


def _run(limited: Limited, policy: RetryPolicy):
    opts = RunOptions(url="http://askdesk.test", concurrency=3, transport=limited.transport(), retry=policy)
    records, meta = asyncio.run(run_cases(CASES, [], opts))
    for rec in records:
        scoring.score_record(rec)
    return records, meta, scoring.aggregate(records)


def test_the_report_counts_throttled_apart_from_errors():
    records, meta, rep = _run(Limited(refuse=2), FAST)
    m = rep["metrics"]
    assert all(r["chat"]["ok"] for r in records) and m["answers.errors"] == 0
    assert m["answers.throttled"] == 3 and m["retrieval.throttled"] == 3
    assert m["answers.throttled_failed"] == 0 and m["retrieval.throttled_failed"] == 0
    assert meta["throttle"]["throttled"] == 6 and meta["throttle"]["retries"] == 12
    assert meta["throttle"]["policy"]["max_retries"] == 3
    assert all(r["chat"]["throttle_retries"] == 2 and r["search_throttle_retries"] == 2 for r in records)
    note = R.throttle_note(rep["throttle"], meta["throttle"])
    assert "6 requests (3 chat, 3 search) were answered HTTP 429" in note and "still refused" not in note

    records, meta, rep = _run(Limited(refuse=100), FAST)
    m = rep["metrics"]
    assert m["answers.errors"] == 0 and m["retrieval.errors"] == 0  # not the service's failures ...
    assert m["answers.throttled_failed"] == 3 and m["retrieval.throttled_failed"] == 3  # ... but counted
    assert {r["chat"]["error_kind"] for r in records} == {THROTTLED}
    assert {r["search_error_kind"] for r in records} == {THROTTLED}
    assert "exempt key" in R.throttle_note(rep["throttle"], meta["throttle"])
    md = to_markdown(R.eval_doc({"meta": meta, "report": rep, "records": records}, with_plots=False))
    assert "throttled, still refused after the retries" in md and "| throttled |" in md


def test_compare_treats_throttling_as_the_day_not_the_quality():
    rows = {
        r["metric"]: r["status"]
        for r in scoring.compare(
            {"answers.throttled": 0.0, "answers.throttled_failed": 0.0},
            {"answers.throttled": 9.0, "answers.throttled_failed": 2.0},
        )
    }
    assert rows == {"answers.throttled": "changed", "answers.throttled_failed": "regressed"}

"""The console's reads against a real SQLite log with known rows: per-day counts, nearest-rank
percentiles, feedback rates, top questions and gaps, the log's filters, the queue's candidates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.console.analytics import Analytics, LogFilter
from app.conversations.store import ConversationStore


@pytest.fixture
def conv(tmp_path):
    st = ConversationStore(f"sqlite:///{tmp_path / 'a.db'}")
    yield st
    st.dispose()


def day(n: int, hour: int = 12) -> datetime:
    today = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return today - timedelta(days=n)


def add(conv, q, mode, ms, when, conf=0.9, lang="en", error=None, rating=None, comment=None, rewritten=None):
    sid = conv.ensure_session(None)
    eid = conv.log_exchange(session_id=sid, question=q, answer="a " + q, mode=mode, lang=lang, confidence=conf,
                            total_ms=ms, created_at=when, error=error, rewritten=rewritten)  # fmt: skip
    if rating:
        conv.add_feedback(eid, rating, comment)
    return eid


def test_dashboard_counts_modes_rates_and_percentiles_per_day(conv):
    # yesterday: latencies 1..20 ms (faq), one error (not in the percentiles), two no_answer
    for i in range(1, 21):
        add(conv, "How many days of leave?", "faq", float(i), day(1))
    add(conv, "failing", "rag", 9999.0, day(1), error="internal: boom")
    add(conv, "Sabbatical?", "no_answer", 5.0, day(1), conf=0.1, rating="down")
    add(conv, "sabbatical? ", "no_answer", 7.0, day(1), conf=0.1)
    add(conv, "talk to a human", "handoff", 1.0, day(1), rating="up")
    # today: three answers of 100, 200, 300 ms
    for ms in (100.0, 200.0, 300.0):
        add(conv, "VPN?", "rag", ms, day(0, hour=0))
    # outside a 7-day window
    add(conv, "old", "faq", 1.0, day(40))
    d = Analytics(conv.engine).dashboard(7)
    # every day of the window is there, quiet ones as zeros
    assert [r["day"] for r in d.days] == [day(n).date().isoformat() for n in range(6, -1, -1)]
    assert all(r["total"] == 0 and r["p50"] is None for r in d.days[:5])
    y, t = d.days[-2:]
    assert (y["total"], y["faq"], y["no_answer"], y["handoff"], y["rag"], y["errors"]) == (24, 20, 2, 1, 1, 1)
    assert y["unanswered"] == 3  # no_answer + handoff
    # 23 answered (the error is not a latency): nearest rank ceil(0.5 * 23) = 12, ceil(0.95 * 23) = 22
    ranked = sorted([*range(1, 21), 5, 7, 1])
    assert y["p50"] == ranked[12 - 1] == 9 and y["p95"] == ranked[22 - 1] == 19
    assert (t["total"], t["p50"], t["p95"]) == (3, 200.0, 300.0)
    assert d.totals["questions"] == 27 and d.totals["unanswered_rate"] == pytest.approx(3 / 27)
    assert (d.totals["up"], d.totals["down"], d.totals["up_rate"]) == (1, 1, 0.5)
    assert d.top_questions[0] == {"question": "how many days of leave?", "count": 20}
    assert d.top_gaps == [{"question": "sabbatical?", "count": 2}]  # trimmed and lower-cased together


def test_the_dashboard_reads_off_indexes_not_the_rows(conv):
    if conv.engine.dialect.name != "sqlite":  # the PostgreSQL tier (tests/pg.py)
        pytest.skip("SQLite's expression indexes and EXPLAIN QUERY PLAN; PostgreSQL has none of these indexes")
    Analytics(conv.engine)
    with conv.engine.connect() as c:
        plan = c.execute(text("EXPLAIN QUERY PLAN SELECT date(created_at), mode, count(*) FROM exchanges "
                              "WHERE date(created_at) >= '2026-01-01' GROUP BY date(created_at), mode")).all()  # fmt: skip
    assert "COVERING INDEX ix_exchanges_console_mode" in str(plan)


def test_log_filters(conv):
    a = add(
        conv,
        "VPN drops",
        "rag",
        10.0,
        day(2),
        conf=0.6,
        rating="down",
        comment="wrong",
        rewritten="VPN drops often",
    )
    add(conv, "婚假有几天", "faq", 10.0, day(1), conf=0.95, lang="zh-Hans", rating="up")
    add(conv, "sabbatical", "no_answer", 10.0, day(0), conf=0.1)
    an = Analytics(conv.engine)

    def qs(**kw):
        return [r["question"] for r in an.log(LogFilter(**kw), 0, 50)[0]]

    assert qs() == ["sabbatical", "婚假有几天", "VPN drops"]  # newest first
    assert qs(mode="faq") == ["婚假有几天"] and qs(lang="zh") == ["婚假有几天"]
    assert qs(feedback="down") == ["VPN drops"] and qs(feedback="none") == ["sabbatical"]
    assert (
        qs(band="low") == ["sabbatical"]
        and qs(band="mid") == ["VPN drops"]
        and qs(band="high") == ["婚假有几天"]
    )
    assert (
        qs(text="often") == ["VPN drops"] and qs(text="100%") == []
    )  # the rewrite is searched; % is literal
    assert qs(start=day(1).date(), end=day(1).date()) == ["婚假有几天"]
    rows, more = an.log(LogFilter(), 0, 2)
    last, more_after = an.log(LogFilter(), 1, 2)
    assert len(rows) == 2 and more and [r["question"] for r in last] == ["VPN drops"] and not more_after
    row = an.exchange(a)
    assert row["rewritten"] == "VPN drops often" and row["feedback"] == [
        {"rating": "down", "comment": "wrong"}
    ]


def test_queue_candidates_are_unanswered_unsure_or_down_voted(conv):
    add(conv, "Sabbatical?", "no_answer", 1.0, day(0), conf=0.1)
    add(conv, "sabbatical?", "no_answer", 1.0, day(0), conf=0.2)
    add(conv, "unsure one", "rag", 1.0, day(0), conf=0.45)
    add(conv, "sure one", "rag", 1.0, day(0), conf=0.8)
    add(conv, "voted down", "faq", 1.0, day(0), conf=0.99, rating="down")
    add(conv, "chitchat hi", "chitchat", 1.0, day(0), conf=0.0)
    an = Analytics(conv.engine)
    got = {i["norm"]: (i["count"], i["reason"]) for i in an.queue_candidates(30, 0.5, 100, set())}
    assert got == {
        "sabbatical?": (2, "no_answer"),
        "unsure one": (1, "low_confidence"),
        "voted down": (1, "down"),
    }
    assert {i["norm"] for i in an.queue_candidates(30, 0.5, 100, {"sabbatical?"})} == {
        "unsure one",
        "voted down",
    }


def test_tickets_status_and_note(conv):
    sid = conv.ensure_session(None)
    conv.log_exchange(session_id=sid, question="help", answer="ticket", mode="handoff")
    t = conv.create_ticket(session_id=sid, reason="user_request", user=None, sources=[])
    an = Analytics(conv.engine)
    assert [x.reference for x in an.tickets("open")] == [t.reference] and an.tickets("resolved") == []
    assert an.update_ticket(t.reference, "resolved", "called back") and not an.update_ticket(
        "AD-NONE", "open", ""
    )
    got = an.ticket(t.reference)
    assert (got.status, got.note) == ("resolved", "called back") and an.ticket_counts() == {"resolved": 1}

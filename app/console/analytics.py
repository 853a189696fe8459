"""The dashboard's, the log's and the tickets' reads: aggregated in the database (GROUP BY, window
functions), never by loading the log into memory; every list is bounded (LIMIT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, Engine, and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.conversations.models import Exchange, Feedback, Ticket

MODES = ("faq", "rag", "extract", "no_answer", "handoff", "chitchat")


def norm_sql(col):
    """The grouping form of a question, computed by the database (SQLite's lower() folds ASCII only,
    which is what matters for the English duplicates; Chinese has no case)."""
    return func.lower(func.trim(col))


def since(days: int, today: date | None = None) -> datetime:
    today = today or datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)


@dataclass
class Dashboard:
    days: list[dict] = field(default_factory=list)  # day, total, per mode, unanswered, p50, p95
    totals: dict = field(default_factory=dict)
    top_questions: list[dict] = field(default_factory=list)
    top_gaps: list[dict] = field(default_factory=list)


class Analytics:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # its indexes come with the schema (app/migrations/versions/0003_console_indexes_audit_guard.py)

    def dashboard(self, days: int, limit: int = 10) -> Dashboard:
        start = since(days)
        first_day = start.date()
        day = func.date(Exchange.created_at, type_=Date)
        with Session(self.engine) as s:
            # (day, mode) counts: read off an index on (day, mode, error) without touching the rows
            per_mode = s.execute(
                select(day.label("day"), Exchange.mode, func.count().label("n"), func.count(Exchange.error).label("errors"))
                .where(day >= first_day).group_by(day, Exchange.mode)
            ).all()  # fmt: skip
            fb = dict(
                s.execute(
                    select(Feedback.rating, func.count())
                    .join(Exchange, Exchange.id == Feedback.exchange_id)
                    .where(Exchange.created_at >= start)
                    .group_by(Feedback.rating)
                ).all()
            )
            q = norm_sql(Exchange.question)
            top = s.execute(
                select(q.label("q"), func.count().label("n")).where(Exchange.created_at >= start)
                .group_by(q).order_by(func.count().desc()).limit(limit)
            ).all()  # fmt: skip
            gaps = s.execute(
                select(q.label("q"), func.count().label("n"))
                .where(Exchange.created_at >= start, Exchange.mode == "no_answer")
                .group_by(q).order_by(func.count().desc()).limit(limit)
            ).all()  # fmt: skip
            rows: dict[str, dict] = {}
            for r in per_mode:
                row = rows.setdefault(str(r.day), {"day": str(r.day), "total": 0, "unanswered": 0, "errors": 0,
                                                   **dict.fromkeys(MODES, 0)})  # fmt: skip
                row["total"] += r.n
                row["errors"] += r.errors
                if r.mode in MODES:
                    row[r.mode] += r.n
                if r.mode in ("no_answer", "handoff"):
                    row["unanswered"] += r.n
            for row in rows.values():
                row.update(self._percentiles(s, row["day"], row["total"] - row["errors"]))
        # every day of the window, quiet ones as zeros, so the charts' x axis is the window itself
        for i in range(days):
            k = (first_day + timedelta(days=i)).isoformat()
            rows.setdefault(k, {"day": k, "total": 0, "unanswered": 0, "errors": 0, "p50": None, "p95": None,
                                **dict.fromkeys(MODES, 0)})  # fmt: skip
        d = Dashboard(days=sorted(rows.values(), key=lambda r: r["day"]))
        total = sum(r["total"] for r in d.days)
        unanswered = sum(r["unanswered"] for r in d.days)
        up, down = fb.get("up", 0), fb.get("down", 0)
        d.totals = {
            "questions": total, "unanswered": unanswered, "unanswered_rate": unanswered / total if total else None,
            "modes": {m: sum(r[m] for r in d.days) for m in MODES},
            "up": up, "down": down, "up_rate": up / (up + down) if up + down else None,
            "feedback_rate": (up + down) / total if total else None,
        }  # fmt: skip
        d.top_questions = [{"question": r.q, "count": r.n} for r in top]
        d.top_gaps = [{"question": r.q, "count": r.n} for r in gaps]
        return d

    @staticmethod
    def _percentiles(s: Session, day: str, n: int) -> dict:
        """Nearest-rank p50/p95 of one day's answered exchanges: the ceil(p*n)-th latency, read by
        offset along an index on (day, latency), so only two values come back."""
        if n <= 0:
            return {"p50": None, "p95": None}
        d = date.fromisoformat(day)
        out = {}
        for name, rank in (("p50", (n + 1) // 2), ("p95", (n * 95 + 99) // 100)):
            ms = s.execute(
                select(Exchange.total_ms)
                .where(func.date(Exchange.created_at, type_=Date) == d, Exchange.error.is_(None))
                .order_by(Exchange.total_ms).offset(rank - 1).limit(1)
            ).scalar()  # fmt: skip
            out[name] = None if ms is None else round(float(ms), 1)
        return out

    # --- the conversations log ------------------------------------------------------------------
    def log(self, f: LogFilter, page: int, page_size: int) -> tuple[list[dict], bool]:
        """One page of the log, newest first, and whether there is a next page."""
        conds = f.conditions()
        with Session(self.engine) as s:
            rows = s.execute(
                select(Exchange).where(*conds).order_by(Exchange.created_at.desc())
                .offset(page * page_size).limit(page_size + 1)
            ).scalars().all()  # fmt: skip
            ids = [r.id for r in rows[:page_size]]
            fbs = (
                s.execute(select(Feedback).where(Feedback.exchange_id.in_(ids))).scalars().all()
                if ids
                else []
            )
        by_ex: dict[str, list] = {}
        for fb in fbs:
            by_ex.setdefault(fb.exchange_id, []).append({"rating": fb.rating, "comment": fb.comment})
        out = [_exchange(r, by_ex.get(r.id, [])) for r in rows[:page_size]]
        return out, len(rows) > page_size

    def exchange(self, exchange_id: str) -> dict | None:
        with Session(self.engine) as s:
            r = s.get(Exchange, exchange_id)
            if r is None:
                return None
            fbs = s.execute(select(Feedback).where(Feedback.exchange_id == exchange_id)).scalars().all()
            return _exchange(r, [{"rating": f.rating, "comment": f.comment} for f in fbs])

    # --- tickets --------------------------------------------------------------------------------
    def tickets(self, status: str | None, limit: int = 200) -> list[Ticket]:
        with Session(self.engine) as s:
            q = select(Ticket).order_by(Ticket.created_at.desc()).limit(limit)
            if status:
                q = q.where(Ticket.status == status)
            return list(s.execute(q).scalars())

    def ticket_counts(self) -> dict[str, int]:
        with Session(self.engine) as s:
            return dict(s.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())

    def ticket(self, reference: str) -> Ticket | None:
        with Session(self.engine) as s:
            return s.get(Ticket, reference)

    def update_ticket(self, reference: str, status: str, note: str) -> bool:
        with Session(self.engine) as s, s.begin():
            res = s.execute(
                update(Ticket).where(Ticket.reference == reference).values(status=status, note=note or None)
            )
            return res.rowcount > 0

    # --- the curation queue's candidates --------------------------------------------------------
    def queue_candidates(self, days: int, low_confidence: float, limit: int, decided: set[str]) -> list[dict]:
        """Distinct questions (grouped in SQL) that went unanswered, were answered unsurely or got a
        thumbs-down, most asked first."""
        start = since(days)
        q = norm_sql(Exchange.question)
        cols = (q.label("q"), func.count().label("n"), func.max(Exchange.created_at).label("last"),
                func.min(Exchange.question).label("text"), func.max(Exchange.lang).label("lang"),
                func.sum(case((Exchange.mode == "no_answer", 1), else_=0)).label("unanswered"),
                func.max(Exchange.confidence).label("conf"))  # fmt: skip
        unsure = or_(Exchange.mode == "no_answer",
                     and_(Exchange.mode.in_(("rag", "extract")), Exchange.confidence < low_confidence))  # fmt: skip
        with Session(self.engine) as s:
            # two reads instead of one with an EXISTS per row: the unsure ones along the question
            # index, the down-voted ones from the (much smaller) feedback table
            rows = s.execute(
                select(*cols).where(Exchange.created_at >= start, unsure)
                .group_by(q).order_by(func.count().desc()).limit(limit + len(decided))
            ).all()  # fmt: skip
            down = s.execute(
                select(*cols, func.count(Feedback.id).label("down"))
                .join(Feedback, Feedback.exchange_id == Exchange.id)
                .where(Exchange.created_at >= start, Feedback.rating == "down")
                .group_by(q).order_by(func.count().desc()).limit(limit + len(decided))
            ).all()  # fmt: skip
        out: dict[str, dict] = {}
        for r in [*rows, *down]:
            if r.q in decided or r.q in out:
                continue
            is_down = getattr(r, "down", 0)
            reason = "no_answer" if r.unanswered else ("down" if is_down else "low_confidence")
            out[r.q] = {"norm": r.q, "question": r.text.strip(), "count": r.n, "last": r.last, "lang": r.lang,
                        "reason": reason, "confidence": round(float(r.conf or 0), 3)}  # fmt: skip
        return sorted(out.values(), key=lambda i: -i["count"])[:limit]


@dataclass
class LogFilter:
    start: date | None = None
    end: date | None = None
    mode: str = ""
    lang: str = ""
    feedback: str = ""  # up | down | none | any
    band: str = ""  # low | mid | high
    text: str = ""
    low: float = 0.4  # the bands' edges: the no-answer and verbatim-FAQ thresholds
    high: float = 0.85

    def conditions(self) -> list:
        c: list = []
        if self.start:
            c.append(Exchange.created_at >= datetime.combine(self.start, datetime.min.time(), tzinfo=UTC))
        if self.end:
            c.append(
                Exchange.created_at
                < datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            )
        if self.mode:
            c.append(Exchange.mode == self.mode)
        if self.lang:
            c.append(Exchange.lang.like(self.lang + "%"))
        if self.band == "low":
            c.append(Exchange.confidence < self.low)
        elif self.band == "mid":
            c.append(and_(Exchange.confidence >= self.low, Exchange.confidence < self.high))
        elif self.band == "high":
            c.append(Exchange.confidence >= self.high)
        if self.feedback in ("up", "down"):
            c.append(exists().where(Feedback.exchange_id == Exchange.id, Feedback.rating == self.feedback))
        elif self.feedback == "any":
            c.append(exists().where(Feedback.exchange_id == Exchange.id))
        elif self.feedback == "none":
            c.append(~exists().where(Feedback.exchange_id == Exchange.id))
        if self.text:
            like = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            c.append(or_(Exchange.question.ilike(like, escape="\\"), Exchange.answer.ilike(like, escape="\\"),
                         Exchange.rewritten.ilike(like, escape="\\")))  # fmt: skip
        return c


def _exchange(r: Exchange, feedback: list[dict]) -> dict:
    return {
        "id": r.id, "session_id": r.session_id, "at": r.created_at, "question": r.question, "rewritten": r.rewritten,
        "answer": r.answer, "mode": r.mode, "lang": r.lang, "confidence": r.confidence, "sources": r.sources or [],
        "backend": r.backend, "surface": r.surface, "ttft_ms": r.ttft_ms, "total_ms": r.total_ms, "error": r.error,
        "user": r.user, "feedback": feedback,
    }  # fmt: skip

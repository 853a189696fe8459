"""Sessions, the exchange log, feedback and tickets, behind SQLAlchemy (sync engine: each call is
short; FastAPI runs sync work in its threadpool)."""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import create_engine, delete, func, or_, select
from sqlalchemy.orm import sessionmaker

from app import migrations
from app.conversations.models import ChatSession, Exchange, Feedback, Ticket
from app.privacy.audit import AuditLog


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


def new_id() -> str:
    return uuid.uuid4().hex


class ConversationStore:
    """``redact`` is applied to every text written (question, rewritten query, answer, error,
    feedback comment; ticket transcripts are built from those): the one place nothing personal gets
    past (app/privacy/redact.py, wired in askdesk/wiring.py). None stores text as given."""

    def __init__(self, url: str, redact: Callable[[str], str] | None = None) -> None:
        self.redact: Callable[[str], str] = redact or _as_given
        kwargs = {"connect_args": {"check_same_thread": False}} if url.startswith("sqlite") else {}
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # a server database's connections can die under the pool (a restart, a proxy's idle cut):
        # ping before use. A SQLite file cannot, and the ping is a query on every request's path
        self.engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), **kwargs)
        if url.startswith("sqlite"):
            from sqlalchemy import event

            @event.listens_for(self.engine, "connect")
            def _wal(conn, _):  # readers don't block the writer; safer under concurrent requests
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA busy_timeout=5000")
                # WAL's recommended durability: a commit no longer waits for an fsync (the session
                # row is written before a question is answered, on its critical path); the database
                # stays consistent after a crash of the process, and a power cut can lose only the
                # last commits, which for a conversation log is the right trade
                conn.execute("PRAGMA synchronous=NORMAL")

        # the schema by its migrations (app/migrations): an empty database is created, one from an
        # older release refused until `askdesk db upgrade` has run
        migrations.ensure_current(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # admin actions, append-only, in the same database (app/privacy/audit.py): other parts call
        # conversations.audit.record(actor, action, target, detail)
        self.audit = AuditLog(self.engine)

    def ping(self) -> None:
        with self._session() as s:
            s.execute(select(1))

    # --- sessions and memory --------------------------------------------------------------------
    def ensure_session(self, session_id: str | None, user: str | None = None, owner: str | None = None) -> str:
        """The id to answer under: the given session if ``owner`` created it (or it is new), else a
        fresh one, so a guessed or leaked id never reads or continues another caller's history."""
        sid = session_id or new_id()
        with self._session.begin() as s:
            row = s.get(ChatSession, sid)
            if row is not None and not _belongs(row, owner, user):
                sid, row = new_id(), None
            if row is None:
                s.add(ChatSession(id=sid, user=user, owner=owner))
            elif user and not row.user:
                row.user = user
        return sid

    def owns(self, session_id: str, owner: str | None, user: str | None = None) -> bool | None:
        """True/False whether the session is this caller's; None when there is no such session."""
        with self._session() as s:
            row = s.get(ChatSession, session_id)
        return None if row is None else _belongs(row, owner, user)

    def history(self, session_id: str, turns: int) -> list[Turn]:
        """The last `turns` answered exchanges of a session, oldest first (a bounded window)."""
        with self._session() as s:
            rows = s.scalars(
                select(Exchange)
                # social turns and handoffs are not what a follow-up refers to
                .where(Exchange.session_id == session_id, Exchange.error.is_(None),
                       Exchange.mode.not_in(("chitchat", "handoff")))
                .order_by(Exchange.created_at.desc())
                .limit(turns)
            ).all()
        return [Turn(r.question, r.answer) for r in reversed(rows)]

    def log_exchange(self, **fields) -> str:
        eid = fields.pop("id", None) or new_id()
        for name in ("question", "rewritten", "answer", "error"):
            if fields.get(name):
                fields[name] = self.redact(fields[name])
        with self._session.begin() as s:
            s.add(Exchange(id=eid, **fields))
        return eid

    def get_exchange(self, exchange_id: str) -> Exchange | None:
        with self._session() as s:
            return s.get(Exchange, exchange_id)

    # --- feedback and tickets -------------------------------------------------------------------
    def add_feedback(self, exchange_id: str, rating: str, comment: str | None) -> bool:
        with self._session.begin() as s:
            if s.get(Exchange, exchange_id) is None:
                return False
            comment = self.redact(comment) if comment else comment
            s.add(Feedback(exchange_id=exchange_id, rating=rating, comment=comment))
        return True

    def feedback_for(self, exchange_id: str) -> list[Feedback]:
        with self._session() as s:
            return list(s.scalars(select(Feedback).where(Feedback.exchange_id == exchange_id)))

    def transcript(self, session_id: str) -> list[dict]:
        with self._session() as s:
            rows = s.scalars(
                select(Exchange).where(Exchange.session_id == session_id).order_by(Exchange.created_at)
            ).all()
        out = []
        for r in rows:
            out.append({"role": "user", "content": r.question, "at": r.created_at.isoformat()})
            out.append({"role": "assistant", "content": r.answer, "mode": r.mode})
        return out

    def create_ticket(self, *, session_id: str, reason: str, user: str | None, sources: list,
                      owner: str | None = None, unredacted: Mapping[str, str] | None = None) -> Ticket:  # fmt: skip
        """``unredacted``: redacted message -> what the user typed, for a ticket configured to carry
        the user's own words (ASKDESK_REDACT_TICKET_TRANSCRIPTS=false)."""
        ref = "AD-" + secrets.token_hex(4).upper()
        transcript = self.transcript(session_id)
        for turn in transcript if unredacted else ():
            turn["content"] = unredacted.get(turn["content"], turn["content"])
        with self._session.begin() as s:
            if s.get(ChatSession, session_id) is None:
                s.add(ChatSession(id=session_id, user=user, owner=owner))
            t = Ticket(reference=ref, session_id=session_id, reason=reason, user=user,
                       transcript=transcript, sources=sources)  # fmt: skip
            s.add(t)
        return t

    def set_ticket_webhook_status(self, reference: str, status: str) -> None:
        with self._session.begin() as s:
            t = s.get(Ticket, reference)
            if t is not None:
                t.webhook_status = status

    def get_ticket(self, reference: str) -> Ticket | None:
        with self._session() as s:
            return s.get(Ticket, reference)

    # --- analytics ------------------------------------------------------------------------------
    def stats(self, limit: int = 20) -> dict:
        with self._session() as s:
            rows = s.execute(select(Exchange.question, Exchange.mode, Exchange.total_ms, Exchange.error)).all()
            fb = dict(s.execute(select(Feedback.rating, func.count()).group_by(Feedback.rating)).all())
            recent_down = s.execute(
                select(Exchange.question, Exchange.answer, Feedback.comment)
                .join(Feedback, Feedback.exchange_id == Exchange.id)
                .where(Feedback.rating == "down")
                .order_by(Feedback.created_at.desc())
                .limit(limit)
            ).all()
        norm = Counter(" ".join(r.question.lower().split()) for r in rows)
        unanswered = Counter(" ".join(r.question.lower().split()) for r in rows if r.mode == "no_answer")
        lat = sorted(r.total_ms for r in rows if r.error is None)
        modes = Counter(r.mode for r in rows)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else None

        return {
            "exchanges": len(rows),
            "errors": sum(1 for r in rows if r.error),
            "by_mode": dict(modes),
            "top_questions": [{"question": q, "count": c} for q, c in norm.most_common(limit)],
            "unanswered_questions": [{"question": q, "count": c} for q, c in unanswered.most_common(limit)],
            "feedback": {"up": fb.get("up", 0), "down": fb.get("down", 0),
                         "recent_down": [{"question": q, "answer": a, "comment": c} for q, a, c in recent_down]},
            "latency_ms": {"p50": pct(0.5), "p95": pct(0.95)},
        }  # fmt: skip

    def export_log(self, limit: int = 10000) -> list[dict]:
        with self._session() as s:
            rows = s.scalars(select(Exchange).order_by(Exchange.created_at.desc()).limit(limit)).all()
        return [
            {"id": r.id, "session_id": r.session_id, "at": r.created_at.isoformat(), "query": r.question,
             "answer": r.answer, "mode": r.mode, "lang": r.lang, "confidence": r.confidence,
             "backend": r.backend, "total_ms": r.total_ms, "error": r.error}
            for r in rows
        ]  # fmt: skip

    # --- retention and a user's data (app/privacy/retention.py decides when and records it) ---
    def purge_before(self, cutoff: datetime) -> dict[str, int]:
        """Delete exchanges (with their feedback) and tickets created before ``cutoff`` (UTC), and the
        sessions from before it that have nothing left. A session still in use keeps its row."""
        with self._session.begin() as s:
            old = select(Exchange.id).where(Exchange.created_at < cutoff)
            counts = {"feedback": s.execute(delete(Feedback).where(Feedback.exchange_id.in_(old))).rowcount,
                      "exchanges": s.execute(delete(Exchange).where(Exchange.created_at < cutoff)).rowcount,
                      "tickets": s.execute(delete(Ticket).where(Ticket.created_at < cutoff)).rowcount}  # fmt: skip
            idle = (select(ChatSession.id).where(ChatSession.created_at < cutoff)
                    .where(~ChatSession.id.in_(select(Exchange.session_id)))
                    .where(~ChatSession.id.in_(select(Ticket.session_id))))  # fmt: skip
            counts["sessions"] = s.execute(delete(ChatSession).where(ChatSession.id.in_(idle))).rowcount
        return counts

    def user_data(self, user_id: str) -> dict:
        """Everything stored about a verified user (the token's ``sub``): their sessions with every
        exchange in them, exchanges logged under them elsewhere, feedback on those, their tickets."""
        with self._session() as s:
            sids, eids = self._user_rows(s, user_id)
            sessions = s.scalars(select(ChatSession).where(ChatSession.id.in_(sids))).all()
            exchanges = s.scalars(
                select(Exchange).where(Exchange.id.in_(eids)).order_by(Exchange.created_at)
            ).all()
            feedback = s.scalars(select(Feedback).where(Feedback.exchange_id.in_(eids))).all()
            tickets = s.scalars(
                select(Ticket).where(or_(Ticket.session_id.in_(sids), _is_user(Ticket.user, user_id)))
            ).all()
        return {
            "user_id": user_id,
            "sessions": [{"id": r.id, "user": r.user, "created_at": _iso(r.created_at)} for r in sessions],
            "exchanges": [{"id": r.id, "session_id": r.session_id, "at": _iso(r.created_at), "question": r.question,
                           "rewritten": r.rewritten, "answer": r.answer, "mode": r.mode, "lang": r.lang,
                           "sources": r.sources, "surface": r.surface, "user": r.user} for r in exchanges],
            "feedback": [{"exchange_id": r.exchange_id, "rating": r.rating, "comment": r.comment,
                          "at": _iso(r.created_at)} for r in feedback],
            "tickets": [{"reference": r.reference, "session_id": r.session_id, "reason": r.reason, "user": r.user,
                         "transcript": r.transcript, "created_at": _iso(r.created_at)} for r in tickets],
        }  # fmt: skip

    def delete_user_data(self, user_id: str) -> dict[str, int]:
        """Delete what ``user_data`` returns; the counts of rows deleted."""
        with self._session.begin() as s:
            sids, eids = self._user_rows(s, user_id)
            return {
                "feedback": s.execute(delete(Feedback).where(Feedback.exchange_id.in_(eids))).rowcount,
                "tickets": s.execute(delete(Ticket).where(
                    or_(Ticket.session_id.in_(sids), _is_user(Ticket.user, user_id)))).rowcount,
                "exchanges": s.execute(delete(Exchange).where(Exchange.id.in_(eids))).rowcount,
                "sessions": s.execute(delete(ChatSession).where(ChatSession.id.in_(sids))).rowcount,
            }  # fmt: skip

    @staticmethod
    def _user_rows(s, user_id: str) -> tuple[list[str], list[str]]:
        sids = list(s.scalars(select(ChatSession.id).where(_is_user(ChatSession.user, user_id))))
        eids = list(s.scalars(select(Exchange.id).where(
            or_(Exchange.session_id.in_(sids), _is_user(Exchange.user, user_id)))))  # fmt: skip
        return sids, eids

    def dispose(self) -> None:
        self.engine.dispose()


def _as_given(text: str) -> str:
    return text


def _is_user(column, user_id: str):
    """The stored user is the token's subject, with the display name after it when the token had one
    ("e1024 (Li Wei)", app/api/deps.py verified_user)."""
    escaped = user_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == user_id, column.like(escaped + " (%", escape="\\"))


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()  # SQLite reads back naive UTC


def _belongs(row: ChatSession, owner: str | None, user: str | None) -> bool:
    """The caller that created the session (API key or widget visitor), or the verified user it was
    created for (the same person on another device, or signing in mid-conversation)."""
    # owner None is an in-process caller (evals, tests); every HTTP caller has one, so a session from
    # before owners (NULL) never opens to an HTTP caller
    return row.owner == owner or (user is not None and row.user == user)

"""The audit log of admin actions: who did what to what, when. Append-only: this module has no
update or delete path, and the database refuses both (triggers, app/migrations 0002 and 0003), so neither
a bug nor a purge rewrites history. Retention (retention.py) never touches it.

Any part of the service records through the one instance the conversation store holds:

    st.conversations.audit.record("admin-key@10.0.0.7", "source.upload", "faq.csv", {"entries": 12})
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Integer, String, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

FIELDS = ("id", "at", "actor", "action", "target", "detail")


class AuditBase(DeclarativeBase):
    pass


class AuditEvent(AuditBase):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(UTC), index=True
    )
    actor: Mapped[str] = mapped_column(
        String(256)
    )  # "admin-key@<address>", "console:<user>", "system:retention"
    action: Mapped[str] = mapped_column(String(64), index=True)  # "admin.request", "user.delete", ...
    target: Mapped[str | None] = mapped_column(String(512), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        # the table and the database's refusal of UPDATE / DELETE come with the schema (migrations
        # 0002 and 0003), which the conversation store has brought up to date before this runs
        self._session = sessionmaker(engine, expire_on_commit=False)

    def record(self, actor: str, action: str, target: str | None = None, detail: dict | None = None) -> None:
        """Append one event. ``detail`` is JSON: counts and names, never the data itself."""
        with self._session.begin() as s:
            s.add(AuditEvent(actor=actor[:256], action=action[:64], target=target[:512] if target else target,
                             detail=detail or {}))  # fmt: skip

    def export(self, limit: int = 10000, since: datetime | None = None) -> list[dict]:
        """The newest ``limit`` events (since ``since``), oldest first."""
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if since is not None:
            q = q.where(AuditEvent.at >= since)
        with self._session() as s:
            rows = s.scalars(q).all()
        return [{"id": r.id, "at": _iso(r.at), "actor": r.actor, "action": r.action, "target": r.target,
                 "detail": r.detail} for r in reversed(rows)]  # fmt: skip


def to_csv(events: list[dict]) -> str:
    import json

    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=FIELDS)
    w.writeheader()
    for e in events:
        w.writerow({**e, "detail": json.dumps(e["detail"], ensure_ascii=False, sort_keys=True)})
    return out.getvalue()


def _iso(at: datetime) -> str:
    # SQLite hands back naive datetimes; every time written here is UTC
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_):  # the ORM's own guard, before the database's
    raise PermissionError("audit_log is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_):
    raise PermissionError("audit_log is append-only")

"""The console's own tables: curated FAQ entries (their source of truth), every version of them,
and the curation queue's decisions. They share the conversations database (one engine)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def now() -> datetime:
    return datetime.now(UTC)


class ConsoleBase(DeclarativeBase):
    pass


class CuratedEntry(ConsoleBase):
    """A FAQ entry written in the console. `overrides` names the file an entry was copied from
    when an editor changed (or added a phrasing to) an entry of an ingested file: the console's
    copy answers for that key from then on."""

    __tablename__ = "console_entries"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    related: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(128), default="")
    lang: Mapped[str] = mapped_column(String(16), default="")
    overrides: Mapped[str | None] = mapped_column(String(512), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class EntryVersion(ConsoleBase):
    """One change to a curated entry: who, when, what it was before and after (None: absent)."""

    __tablename__ = "console_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32))  # create | update | delete | add_related | rollback
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    who: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class QueueDecision(ConsoleBase):
    """A question the queue no longer shows: curated (into an entry) or out of scope."""

    __tablename__ = "console_queue_decisions"
    question: Mapped[str] = mapped_column(String(512), primary_key=True)  # normalised (analytics.norm)
    decision: Mapped[str] = mapped_column(String(16))  # curated | out_of_scope
    entry_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    who: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

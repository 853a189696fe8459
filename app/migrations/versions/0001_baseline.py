"""Baseline: sessions, exchanges, feedback and tickets as the first releases created them.

Revision ID: 0001
Revises:
Create Date: 2026-12-05

Idempotent on purpose: a database made before migrations existed already has these tables (some
without the later `sessions.owner` column), and starts here like an empty one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    have = _tables()
    if "sessions" not in have:
        op.create_table(
            "sessions",
            sa.Column("id", sa.String(128), primary_key=True),
            sa.Column("user", sa.String(256), nullable=True),
            sa.Column("owner", sa.String(256), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
    elif "owner" not in _columns("sessions"):
        with op.batch_alter_table("sessions") as b:
            b.add_column(sa.Column("owner", sa.String(256), nullable=True))
    if "exchanges" not in have:
        op.create_table(
            "exchanges",
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("session_id", sa.String(128), sa.ForeignKey("sessions.id"), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("question", sa.Text(), nullable=False),
            sa.Column("rewritten", sa.Text(), nullable=True),
            sa.Column("answer", sa.Text(), nullable=False),
            sa.Column("mode", sa.String(16), nullable=False),
            sa.Column("lang", sa.String(8), nullable=False),
            sa.Column("confidence", sa.Float(), nullable=False),
            sa.Column("sources", sa.JSON(), nullable=False),
            sa.Column("backend", sa.String(64), nullable=True),
            sa.Column("surface", sa.String(16), nullable=False),
            sa.Column("ttft_ms", sa.Float(), nullable=True),
            sa.Column("total_ms", sa.Float(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("user", sa.String(256), nullable=True),
        )
        op.create_index("ix_exchanges_session_id", "exchanges", ["session_id"])
        op.create_index("ix_exchanges_created_at", "exchanges", ["created_at"])
    if "feedback" not in have:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("exchange_id", sa.String(64), sa.ForeignKey("exchanges.id"), nullable=False),
            sa.Column("rating", sa.String(8), nullable=False),
            sa.Column("comment", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_feedback_exchange_id", "feedback", ["exchange_id"])
    if "tickets" not in have:
        op.create_table(
            "tickets",
            sa.Column("reference", sa.String(32), primary_key=True),
            sa.Column("session_id", sa.String(128), sa.ForeignKey("sessions.id"), nullable=False),
            sa.Column("reason", sa.String(32), nullable=False),
            sa.Column("user", sa.String(256), nullable=True),
            sa.Column("transcript", sa.JSON(), nullable=False),
            sa.Column("sources", sa.JSON(), nullable=False),
            sa.Column("webhook_status", sa.String(64), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_tickets_session_id", "tickets", ["session_id"])


def downgrade() -> None:
    for t in ("tickets", "feedback", "exchanges", "sessions"):
        op.drop_table(t)

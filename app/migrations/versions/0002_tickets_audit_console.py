"""Ticket status and note (the console's ticket page), the append-only audit log, the console's
curated entries, their versions and the curation queue's decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the audit log refuses changes in the database itself, not only in code (app/privacy/audit.py)
GUARDS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING",
        "CREATE OR REPLACE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING",
    ],
}


def upgrade() -> None:
    bind = op.get_bind()
    insp = sa.inspect(bind)
    have = set(insp.get_table_names())
    cols = {c["name"] for c in insp.get_columns("tickets")}
    with op.batch_alter_table("tickets") as b:
        if "status" not in cols:
            b.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="open"))
        if "note" not in cols:
            b.add_column(sa.Column("note", sa.Text(), nullable=True))
    if "audit_log" not in have:
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(256), nullable=False),
            sa.Column("action", sa.String(64), nullable=False),
            sa.Column("target", sa.String(512), nullable=True),
            sa.Column("detail", sa.JSON(), nullable=False),
        )
        op.create_index("ix_audit_log_at", "audit_log", ["at"])
        op.create_index("ix_audit_log_action", "audit_log", ["action"])
    for stmt in GUARDS.get(bind.dialect.name, []):
        op.execute(stmt)
    if "console_entries" not in have:
        op.create_table(
            "console_entries",
            sa.Column("key", sa.String(128), primary_key=True),
            sa.Column("question", sa.Text(), nullable=False),
            sa.Column("related", sa.JSON(), nullable=False),
            sa.Column("answer", sa.Text(), nullable=False),
            sa.Column("category", sa.String(128), nullable=False),
            sa.Column("lang", sa.String(16), nullable=False),
            sa.Column("overrides", sa.String(512), nullable=True),
            sa.Column("updated_by", sa.String(128), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )
    if "console_versions" not in have:
        op.create_table(
            "console_versions",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("key", sa.String(128), nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("before", sa.JSON(), nullable=True),
            sa.Column("after", sa.JSON(), nullable=True),
            sa.Column("who", sa.String(128), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_console_versions_key", "console_versions", ["key"])
        op.create_index("ix_console_versions_at", "console_versions", ["at"])
    if "console_queue_decisions" not in have:
        op.create_table(
            "console_queue_decisions",
            sa.Column("question", sa.String(512), primary_key=True),
            sa.Column("decision", sa.String(16), nullable=False),
            sa.Column("entry_key", sa.String(128), nullable=True),
            sa.Column("who", sa.String(128), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        )


def downgrade() -> None:
    for t in ("console_queue_decisions", "console_versions", "console_entries", "audit_log"):
        op.drop_table(t)
    with op.batch_alter_table("tickets") as b:
        b.drop_column("note")
        b.drop_column("status")

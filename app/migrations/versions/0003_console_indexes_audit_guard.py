"""The console dashboard's indexes on SQLite (per-day expressions), created by the migrations
instead of by the console at startup (app/console/analytics.py used to run them, IF NOT EXISTS);
and on PostgreSQL the audit log refuses changes as SQLite's triggers do (0002's rules made an
UPDATE or DELETE on it succeed silently, doing nothing).

PostgreSQL gets none: it refuses date() of a timestamptz in an index (not immutable), and its
parallel scans read the dashboard fast enough. The models do not describe expression indexes
(SQLite's reflection skips them), so the migration test's drift check sees no difference.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# IF NOT EXISTS: a database the console already opened has them (made by the release before this one)
SQLITE_INDEXES = {
    "ix_exchanges_console_mode": "exchanges (date(created_at), mode, error, created_at)",
    "ix_exchanges_console_latency": "exchanges (date(created_at), error, total_ms, created_at)",
    "ix_exchanges_console_question": "exchanges (lower(trim(question)), created_at, mode, confidence)",
}


PG_AUDIT_GUARDS = [
    "DROP RULE IF EXISTS audit_log_no_update ON audit_log",
    "DROP RULE IF EXISTS audit_log_no_delete ON audit_log",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
PG_AUDIT_RULES = [  # 0002's, back on downgrade
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
    "CREATE OR REPLACE RULE audit_log_no_update AS ON UPDATE TO audit_log DO INSTEAD NOTHING",
    "CREATE OR REPLACE RULE audit_log_no_delete AS ON DELETE TO audit_log DO INSTEAD NOTHING",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, on in SQLITE_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
    elif dialect == "postgresql":
        for stmt in PG_AUDIT_GUARDS:
            op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    elif dialect == "postgresql":
        for stmt in PG_AUDIT_RULES:
            op.execute(stmt)

"""A database from before the console gets the tickets' status and note by its migration, old tickets open."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine

from app import migrations
from app.conversations.store import ConversationStore


def test_old_tickets_table_gets_status_and_note(tmp_path):
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE sessions (id VARCHAR(128) PRIMARY KEY, user VARCHAR(256), owner VARCHAR(256), created_at DATETIME);
        CREATE TABLE tickets (reference VARCHAR(32) PRIMARY KEY, session_id VARCHAR(128), reason VARCHAR(32),
            user VARCHAR(256), transcript JSON, sources JSON, webhook_status VARCHAR(64), created_at DATETIME);
        INSERT INTO sessions VALUES ('s1', NULL, NULL, '2026-01-01 00:00:00');
        INSERT INTO tickets VALUES ('AD-OLD', 's1', 'no_answer', NULL, '[]', '[]', NULL, '2026-01-01 00:00:00');
    """)
    con.commit()
    con.close()
    migrations.upgrade(create_engine(f"sqlite:///{db}"))  # `askdesk db upgrade` (the store refuses it before)
    st = ConversationStore(f"sqlite:///{db}")
    t = st.get_ticket("AD-OLD")
    assert (t.status, t.note) == ("open", None)
    st.dispose()
    ConversationStore(f"sqlite:///{db}").dispose()  # a second start finds the columns and adds nothing

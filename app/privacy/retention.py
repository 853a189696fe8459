"""Retention and a user's rights: what is deleted when, and the export and deletion of one user's
data, each recorded in the audit log. The service runs the purge on a schedule (app/api/main.py's
lifespan), `askdesk purge` on demand; the admin API exports and deletes."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from app.conversations.store import ConversationStore
from app.errors import BadRequest

log = logging.getLogger(__name__)
MAX_DAYS = 36500  # a century: anything longer is a typo (and past datetime's range soon after)


def cutoff(days: int, now: datetime | None = None) -> datetime:
    """The moment before which rows are deleted: ``days`` before ``now`` (UTC)."""
    if not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days must be between 1 and {MAX_DAYS}, got {days}", param="days")
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge(store: ConversationStore, days: int, actor: str, now: datetime | None = None) -> dict[str, int]:
    """Delete what is older than ``days`` days; the counts, also recorded in the audit log (always
    for a person's purge, only when something went for the scheduled one)."""
    before = cutoff(days, now)
    counts = store.purge_before(before)
    if any(counts.values()) or not actor.startswith("system:"):
        store.audit.record(actor, "retention.purge", f"older than {days} days",
                           {**counts, "before": before.isoformat()})  # fmt: skip
    return counts


async def run_schedule(store: ConversationStore, days: int, interval_s: float) -> None:
    """Purge now and every ``interval_s`` seconds until cancelled. A failed run is logged and the
    next one tries again: a database hiccup must not end retention for the process's life."""
    while True:
        try:
            counts = await asyncio.to_thread(purge, store, days, "system:retention")
            if any(counts.values()):
                log.info("retention: deleted %s (older than %d days)", counts, days)
        except Exception:
            log.exception("retention purge failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


def export_user(store: ConversationStore, user_id: str, actor: str) -> dict:
    data = store.user_data(_user_id(user_id))
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    store.audit.record(actor, "user.export", user_id, counts)
    return data


def delete_user(store: ConversationStore, user_id: str, actor: str) -> dict[str, int]:
    counts = store.delete_user_data(_user_id(user_id))
    store.audit.record(actor, "user.delete", user_id, counts)
    return counts


def _user_id(user_id: str) -> str:
    if not user_id.strip():
        raise BadRequest("user id is empty", param="user_id")
    return user_id

"""Stage 3: entries -> records in every collection, changing only what changed.

Write order makes a killed run safe: new records are upserted first, stale ones deleted last, so
an interrupted run never loses indexed knowledge, and a re-run finishes the job (an entry whose
records are only partly present counts as updated and is completed)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from app.ports import KnowledgeStore
from app.records import Entry, Record, entry_records

ProgressFn = Callable[[int], None]
# record metadata: the resolved folder the record's source key is relative to (ingest.discover.root_id).
# Source keys are relative ("faq.csv"), so without it `--prune` could not tell a file gone from the
# folders of this run from a file of another folder ingested by another run.
SOURCE_ROOT = "source_root"
RETAG_BATCH = 1000  # records per metadata-only upsert (no embedding involved)


def _tagged(rec: Record, root: str | None) -> Record:
    return rec if not root else Record(rec.id, rec.text, {**rec.metadata, SOURCE_ROOT: root})


@dataclass
class Plan:
    """What one collection needs, and the entry-level counts reported to the user."""

    to_add: list[Record] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)
    # stored records whose content is current but whose source_root is missing (written before
    # records carried it) or another folder's: their metadata is rewritten, their vectors kept
    to_retag: list[Record] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.to_add or self.to_delete or self.to_retag)


def plan(
    existing: dict[str, dict],
    entries: list[Entry],
    *,
    loaded_sources: set[str],
    keep_sources: set[str],
    prune: bool,
    source_roots: Mapping[str, str] | None = None,
    prune_roots: Collection[str] = (),
    wanted: Callable[[Mapping[str, object]], bool] | None = None,
    records: Mapping[int, list[Record]] | None = None,
) -> Plan:
    """Diff desired entries against the stored id -> metadata map (pure).

    `loaded_sources` were read successfully: their stored records not in `entries` go. `keep_sources`
    failed to load: their stored records stay untouched. Other stored sources go only with `prune`,
    and only those whose records' `source_root` is one of `prune_roots` (the folders given in this
    run): a source of another folder, or one stored without a root, is never pruned.
    `source_roots` (source -> root) tags the records written, and retags stored ones.
    `wanted(metadata)` picks the records this collection holds (app/embeddings.record_wanted); a
    stored record it no longer wants goes like a stale one. `records` (id(entry) -> entry_records),
    when given, saves hashing every entry again for each collection.
    """
    p = Plan()
    source_roots = source_roots or {}
    prune_roots = set(prune_roots)
    stored_keys: dict[str, set[str]] = {}
    for rid, meta in existing.items():
        stored_keys.setdefault(meta.get("entry_key", ""), set()).add(rid)
    desired_ids: set[str] = set()
    for entry in entries:
        root = source_roots.get(entry.source)
        mine = records[id(entry)] if records is not None else entry_records(entry)
        recs = [_tagged(r, root) for r in mine if wanted is None or wanted(r.metadata)]
        ids = {r.id for r in recs}
        desired_ids |= ids
        missing = [r for r in recs if r.id not in existing]
        if root:
            p.to_retag.extend(r for r in recs if r.id in existing and existing[r.id].get(SOURCE_ROOT) != root)
        if not missing and not (stored_keys.get(entry.key, set()) - ids):
            p.unchanged.append(entry.key)
            continue
        p.to_add.extend(missing)
        (p.updated if entry.key in stored_keys else p.added).append(entry.key)
    desired_keys = {e.key for e in entries}
    gone_keys: set[str] = set()
    for rid, meta in existing.items():
        if rid in desired_ids:
            continue
        src = meta.get("source", "")
        if src in keep_sources:
            continue
        if src in loaded_sources or (prune and meta.get(SOURCE_ROOT) in prune_roots):
            p.to_delete.append(rid)
            key = meta.get("entry_key", "")
            if key not in desired_keys:
                gone_keys.add(key)
    p.deleted = sorted(gone_keys)
    return p


def apply(
    store: KnowledgeStore,
    index: int,
    p: Plan,
    *,
    batch_size: int,
    progress: ProgressFn | None = None,
) -> None:
    emb = store.embedders[index]
    for start in range(0, len(p.to_add), batch_size):
        batch = p.to_add[start : start + batch_size]
        vectors = emb.embed_documents([r.text for r in batch])
        store.upsert(index, batch, vectors)
        if progress:
            progress(len(batch))
    if p.to_retag:  # same ids and vectors, new metadata
        stored = store.get_all(index, with_embeddings=True)
        row = {rid: n for n, rid in enumerate(stored.ids)}
        for start in range(0, len(p.to_retag), RETAG_BATCH):
            batch = [r for r in p.to_retag[start : start + RETAG_BATCH] if r.id in row]
            if batch and stored.embeddings is not None:
                store.upsert(index, batch, stored.embeddings[[row[r.id] for r in batch]])
    if p.to_delete:
        store.delete(index, p.to_delete)

"""The ingest run: discover -> load -> plan -> embed and write, with progress and a summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from app.embeddings import record_wanted
from app.errors import EmptyKnowledgeBase, IngestError
from app.ports import KnowledgeStore
from app.records import Entry, entry_records
from app.settings import Settings
from ingest import index
from ingest.audiences import apply_default, file_default
from ingest.discover import Found, discover, root_id
from ingest.load import NotKnowledge, check_size
from ingest.worker import FileParser

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    records_embedded: int = 0
    records_retagged: int = 0  # records given their folder (source_root) without re-embedding
    entries: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    changed_keys: dict[str, list[str]] = field(default_factory=dict)
    calibration: dict | None = None  # kb_calibration.describe() of the calibration now in force
    calibration_seconds: float = 0.0

    def summary(self) -> str:
        prefix = "dry run: would have " if self.dry_run else ""
        out = (
            f"{prefix}added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"deleted {self.deleted}, failed {len(self.failed)} in {self.seconds:.1f} s"
        )
        done = self.added + self.updated
        if done and self.seconds > 0 and not self.dry_run:
            out += f" ({done / self.seconds:,.1f} entries/s)"
        if self.records_embedded and not (self.added or self.updated):
            # entries are counted against the first collection: say why an "unchanged" run embedded
            # (a newly configured model's collection, or one an interrupted run left incomplete)
            out += f"; {self.records_embedded} records embedded into collections that lacked them"
        if self.records_retagged:
            out += f"; {self.records_retagged} stored records tagged with their folder (no re-embedding)"
        return out

    def calibration_line(self) -> str:
        """Which calibration judges "in the knowledge base" after this run ("" when none was fitted)."""
        c = self.calibration
        if not c:
            return ""
        out = (f"calibration: {c['name']} (answerable thresholds en {c['thresholds']['en']} / zh {c['thresholds']['zh']}; "
               f"{self.calibration_seconds:.1f} s)")  # fmt: skip
        return out + (f": {c['detail']}" if c["source"] == "global" and c["detail"] else "")


class Progress:
    """Callbacks the pipeline reports to; the CLI draws bars, tests and the API pass nothing."""

    def loading(self, found: Found, i: int, total: int) -> None: ...

    def embedding(self, model: str, total: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def done(self) -> None: ...


def load_all(
    found: list[Found], settings: Settings, progress: Progress, report: IngestReport
) -> tuple[list[Entry], set[str]]:
    """Each file checked for size, then parsed under the per-file time limit (ingest.worker); a
    file over either limit fails like an unreadable one (its stored records are kept)."""
    entries: list[Entry] = []
    loaded: set[str] = set()
    keys: dict[str, str] = {}
    with FileParser(settings) as parser:
        for i, f in enumerate(found):
            progress.loading(f, i, len(found))
            try:
                check_size(f.path, settings.ingest_max_file_mb)
                file_entries = parser.load(f.path, f.source)
                # entries without tags of their own get the file's sidecar or folder default
                file_entries = apply_default(file_entries, file_default(f.path, f.given or f.path.parent))
            except NotKnowledge as e:
                report.skipped.append((f.source, str(e)))
                continue
            except IngestError as e:
                msg = str(e)
                report.failed.append((f.source, msg.removeprefix(f"{f.source}: ")))
                continue
            clash = next((e.key for e in file_entries if e.key in keys), None)
            if clash:
                report.failed.append((f.source, f"FAQ id {clash!r} is already used by {keys[clash]}"))
                continue
            keys.update({e.key: f.source for e in file_entries})
            entries.extend(file_entries)
            loaded.add(f.source)
    return entries, loaded


def run_ingest(
    roots: list[Path],
    store: KnowledgeStore,
    settings: Settings,
    *,
    prune: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    source_prefix: str = "",
    calibrate: Callable[[KnowledgeStore, Settings], dict] | None = None,
) -> IngestReport:
    """`calibrate(store, settings)`, when given, fits (or finds) the KB's calibration after the
    write and returns what the summary says of it; the composition root passes it in (ingest does
    not import retrieval: askdesk/calibrate_command.calibrate_kb)."""
    t0 = time.perf_counter()
    progress = progress or Progress()
    report = IngestReport(dry_run=dry_run)
    found: list[Found] = []
    for root in roots:
        files, skipped = discover(root, source_prefix)
        found += files
        report.skipped += skipped
    entries, loaded = load_all(found, settings, progress, report)
    if not entries and not report.failed and not prune:
        raise IngestError(
            f"nothing to ingest in {', '.join(map(str, roots))}: no knowledge files "
            f"(skipped {len(report.skipped)}; supported: FAQ tables csv/xlsx/json/jsonl, documents md/html/docx/pdf/txt)"
        )
    failed_sources = {src for src, _ in report.failed}
    source_roots = {f.source: f.root for f in found}
    # --prune reaches only the folders given in this run (a single file prunes nothing)
    prune_roots = {root_id(r) for r in roots if r.is_dir()}
    report.entries = len(entries)
    changed = False
    primary: dict[str, dict] | None = None
    records = {id(e): entry_records(e) for e in entries}  # once, not once per collection
    for i, emb in enumerate(store.embedders):
        # the first collection's metadata is read in full; the others reuse it for the same ids
        existing = _existing_or_empty(store, i, primary) if dry_run else store.get_index(i, create=True, like=primary)
        primary = existing if i == 0 else primary
        p = index.plan(existing, entries, loaded_sources=loaded, keep_sources=failed_sources, prune=prune,
                       source_roots=source_roots, prune_roots=prune_roots,
                       wanted=partial(record_wanted, emb.name, i == 0), records=records)  # fmt: skip
        if i == 0:
            report.added, report.updated = len(p.added), len(p.updated)
            report.unchanged, report.deleted = len(p.unchanged), len(p.deleted)
            report.changed_keys = {"added": p.added, "updated": p.updated, "deleted": p.deleted}
        if dry_run or not p.changes:
            continue
        changed = True
        if p.to_add:
            progress.embedding(emb.name, len(p.to_add))
        index.apply(store, i, p, batch_size=settings.embedding_batch_size, progress=progress.advance)
        progress.done()
        report.records_embedded += len(p.to_add)
        report.records_retagged += len(p.to_retag) if i == 0 else 0
    if changed:
        store.bump_version()
    if calibrate is not None and not dry_run:
        _calibrate(store, settings, report, calibrate)
    report.seconds = time.perf_counter() - t0
    return report


def _calibrate(store: KnowledgeStore, settings: Settings, report: IngestReport, calibrate) -> None:
    """Fit (or find, when the KB is unchanged) the per-KB calibration now, so the summary says
    which is in force and the service's first search after the ingest does not pay for the fit."""
    t1 = time.perf_counter()
    try:
        report.calibration = calibrate(store, settings)
    except EmptyKnowledgeBase:
        return
    report.calibration_seconds = time.perf_counter() - t1


def _existing_or_empty(store: KnowledgeStore, i: int, like: dict[str, dict] | None) -> dict[str, dict]:
    try:
        return store.get_index(i, like=like)
    except EmptyKnowledgeBase:  # a dry run against an absent collection: everything is new
        return {}

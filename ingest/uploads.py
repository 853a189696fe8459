"""Knowledge files uploaded through the admin API: checked, staged, ingested, rolled back.

A file is written next to its final name first and moved into place in one rename; a previous
upload of the same name is kept aside until the new one has ingested, so a file that fails to parse
leaves both the folder and the knowledge base as they were (ingest keeps a failed source's records).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from app.errors import FileTooLarge, NotFound, UnreadableFile, UnsupportedFileType
from app.ports import KnowledgeStore, UploadResult
from app.settings import Settings
from ingest.load import SUPPORTED
from ingest.pipeline import run_ingest

PREFIX = "uploads/"  # uploaded sources are keyed uploads/<name>, apart from the knowledge folder's
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")  # keeps Chinese file names readable


def safe_name(filename: str) -> str:
    """The file's own name (no folders), with anything unsafe in a path replaced by ``_``."""
    return _UNSAFE.sub("_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")


class Uploads:
    def __init__(self, store: KnowledgeStore, settings: Settings, on_change: Callable[[], None]) -> None:
        self.store = store
        self.settings = settings
        self.on_change = on_change  # the retriever reloads its indexes
        self.folder = settings.data_dir / "uploads"
        self.max_bytes = settings.max_upload_mb * 1024 * 1024

    def add(self, filename: str, data: bytes) -> UploadResult:
        name = safe_name(filename)
        suffix = Path(name).suffix.lower()
        if not name or suffix not in SUPPORTED:
            raise UnsupportedFileType(
                f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}", param="file"
            )
        if len(data) > self.max_bytes:
            raise FileTooLarge(f"file is larger than {self.settings.max_upload_mb} MB", param="file")
        self.folder.mkdir(parents=True, exist_ok=True)
        target, staged, previous = self.folder / name, self.folder / f".{name}.part", self.folder / f".{name}.prev"
        staged.write_bytes(data)
        had_previous = target.exists()
        if had_previous:
            target.replace(previous)
        staged.replace(target)
        try:
            report = run_ingest([target], self.store, self.settings, source_prefix=PREFIX)
        except BaseException:
            self._roll_back(target, previous, had_previous)
            raise
        if report.failed:
            self._roll_back(target, previous, had_previous)
            raise UnreadableFile(f"{name}: {report.failed[0][1]}", param="file")
        previous.unlink(missing_ok=True)
        self.on_change()
        return UploadResult(source=PREFIX + name, summary=report.summary(), added=report.added,
                            updated=report.updated, unchanged=report.unchanged, entries=report.entries)  # fmt: skip

    def remove(self, source: str) -> int:
        removed = self.store.delete_source(source)
        if not removed:
            raise NotFound(f"no source {source!r} in the knowledge base")
        if source.startswith(PREFIX):
            (self.folder / safe_name(source.removeprefix(PREFIX))).unlink(missing_ok=True)
        self.on_change()
        return removed

    @staticmethod
    def _roll_back(target: Path, previous: Path, had_previous: bool) -> None:
        if had_previous:
            previous.replace(target)
        else:
            target.unlink(missing_ok=True)

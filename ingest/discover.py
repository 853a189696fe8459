"""Which files under a path are knowledge.

Rules (documented in the README):
- hidden files and folders (".name") are ignored, and so are `README.*` files (they describe a
  folder, they are not knowledge);
- supported extensions are loaded; anything else is listed as skipped;
- a Q&A table (csv/xlsx/json/jsonl) is knowledge only if it has a question and an answer column;
  a table with a `query` column and no answers (an eval question set like `queries.jsonl`) is
  skipped with that reason (decided by `load`, from the content, not the name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import IngestError
from ingest.load import SUPPORTED


@dataclass(frozen=True)
class Found:
    path: Path
    source: str  # relative to the root given; the file name when a single file is given


def discover(root: Path, prefix: str = "") -> tuple[list[Found], list[tuple[str, str]]]:
    """(files to load, [(path, reason)] skipped). `prefix` namespaces sources (admin uploads)."""
    if not root.exists():
        raise IngestError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() not in SUPPORTED:
            raise IngestError(
                f"{root}: unsupported file type {root.suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}"
            )
        return [Found(root, prefix + root.name)], []
    found: list[Found] = []
    skipped: list[tuple[str, str]] = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.stem.upper() == "README":
            skipped.append((rel.as_posix(), "README (describes the folder)"))
        elif p.suffix.lower() not in SUPPORTED:
            skipped.append((rel.as_posix(), f"unsupported type {p.suffix or '(none)'}"))
        else:
            found.append(Found(p, prefix + rel.as_posix()))
    return found, skipped

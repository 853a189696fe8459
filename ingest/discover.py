"""Which files under a path are knowledge.

Rules (documented in the README):
- hidden files and folders (".name") are ignored, and so are `README.*` files (they describe a
  folder, they are not knowledge), and so is a top-level `branding.env` (askdesk/branding.py);
- supported extensions are loaded; anything else is listed as skipped;
- a Q&A table (csv/xlsx/json/jsonl) is knowledge only if it has a question and an answer column;
  a table with a `query` column and no answers (an eval question set like `queries.jsonl`) is
  skipped with that reason (decided by `load`, from the content, not the name);
- symlinks are followed, except a link that loops back or points inside the root: those are
  listed as skipped, like broken links and anything that is not a regular file.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import IngestError
from ingest.audiences import SIDECAR_SUFFIX, is_sidecar
from ingest.load import SUPPORTED


@dataclass(frozen=True)
class Found:
    path: Path
    source: str  # relative to the root given; the file name when a single file is given
    # the folder sources are relative to (resolved): records carry it, and `--prune` only deletes
    # records of the folders given in the run
    root: str = ""
    # the file or folder given to the ingest, as given: folder audience defaults are looked up from
    # the file's folder up to it (ingest/audiences.py), never above
    given: Path | None = None


def root_id(root: Path) -> str:
    """What records store as their `source_root`: the resolved folder a source key is relative to
    (a single file's own folder, so that `kb/faq.csv` and `kb` give its records the same root)."""
    return str(root.resolve() if root.is_dir() else root.parent.resolve())


def discover(root: Path, prefix: str = "") -> tuple[list[Found], list[tuple[str, str]]]:
    """(files to load, [(path, reason)] skipped). `prefix` namespaces sources (admin uploads).

    Symlinks are followed, to files and to folders outside the root; a link back to a folder
    being walked (a loop), to a folder inside the root (read there already), a broken link and
    anything that is not a regular file are listed as skipped with the reason."""
    if not root.exists():
        raise IngestError(f"{root}: no such file or folder")
    if root.is_file():
        if root.suffix.lower() not in SUPPORTED:
            raise IngestError(
                f"{root}: unsupported file type {root.suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}"
            )
        return [Found(root, prefix + root.name, root_id(root), root)], []
    rid = root_id(root)
    real_root = Path(rid)
    found: list[Found] = []
    skipped: list[tuple[str, str]] = []
    seen_outside: dict[Path, str] = {}  # folders outside the root reached by links -> first link

    def walk(folder: Path, rel: Path, ancestors: dict[Path, str]) -> None:
        """`ancestors`: the real folders being walked (this one included) -> where they were met."""
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            skipped.append((rel.as_posix() or ".", f"cannot read the folder: {e.strerror or e}"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path, r = Path(entry.path), rel / entry.name
            key = r.as_posix()
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir()  # follows links
                is_file = entry.is_file()
                if is_link:
                    os.stat(path)  # broken or looping links raise here
            except OSError as e:
                if e.errno == errno.ELOOP:
                    skipped.append((key, "symlink loop (the link resolves back to itself)"))
                elif e.errno == errno.ENOENT:
                    skipped.append((key, f"broken symlink (its target {os.readlink(path)!r} does not exist)"))
                else:
                    skipped.append((key, f"cannot read: {e.strerror or e}"))
                continue
            if is_dir:
                real = path.resolve()
                if real in ancestors:
                    skipped.append((key, f"symlink loop (links back to {ancestors[real]}); not followed"))
                    continue
                if is_link and real.is_relative_to(real_root):
                    inside = real.relative_to(real_root)
                    hidden = any(part.startswith(".") for part in inside.parts)
                    there = "a hidden folder" if hidden else "which is read there"
                    skipped.append((key, f"symlink to {inside.as_posix()}, {there}; not followed"))
                    continue
                if is_link:
                    if real in seen_outside:
                        first = seen_outside[real]
                        skipped.append((key, f"symlink to the same folder as {first}; not followed"))
                        continue
                    seen_outside[real] = key
                walk(path, r, {**ancestors, real: key})
            elif not is_file:
                skipped.append((key, "not a regular file"))
            elif path.stem.upper() == "README":
                skipped.append((key, "README (describes the folder)"))
            elif key == "branding.env":  # the folder's branding, askdesk/branding.py
                skipped.append((key, "branding (`askdesk demo` applies it)"))
            elif is_sidecar(path):
                skipped.append((key, f"audience tags of {key.removesuffix(SIDECAR_SUFFIX)}"))
            elif path.suffix.lower() not in SUPPORTED:
                skipped.append((key, f"unsupported type {path.suffix or '(none)'}"))
            else:
                found.append(Found(path, prefix + key, rid, root))

    walk(root, Path(), {real_root: "the folder itself"})
    return found, skipped

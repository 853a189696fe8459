"""Audience tags a file's entries get when they carry none of their own.

Precedence (README "Privacy and identity"): an entry's own tags (a Q&A table's audience column,
a Markdown file's front matter) > the file's sidecar `<file>.audiences` > the nearest folder's
`.audiences`, from the file's folder up to the folder given to the ingest. A tag file holds one tag
per line (`#` starts a comment; `,` `|` `;` separate too); `*` (or an empty file) says "everyone" and
stops a folder's default above it. Untagged = everyone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.errors import IngestError
from app.records import EVERYONE, Entry, parse_audiences

SIDECAR_SUFFIX = ".audiences"  # `policy.md.audiences` tags `policy.md`
FOLDER_FILE = ".audiences"  # a hidden file: the walk skips it as knowledge


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(SIDECAR_SUFFIX) and path.name != FOLDER_FILE


def read_tags(path: Path) -> tuple[str, ...]:
    """The tags of a tag file; (`*`,) when it names none (an empty file means "everyone")."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise IngestError(f"{path.name}: cannot read the audience tags ({e})") from e
    lines = [ln.split("#", 1)[0] for ln in text.splitlines()]
    return parse_audiences("\n".join(lines)) or (EVERYONE,)


def file_default(path: Path, root: Path) -> tuple[str, ...]:
    """The tags a file's untagged entries get: its sidecar, else the nearest folder's `.audiences`
    between its folder and `root` (the folder given to the ingest; a single file: its own folder)."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        return read_tags(sidecar)
    stop = root if root.is_dir() else path.parent
    folder = path.parent
    while True:
        tags_file = folder / FOLDER_FILE
        if tags_file.is_file():
            return read_tags(tags_file)
        if folder == stop or folder == folder.parent:
            return ()
        folder = folder.parent


def apply_default(entries: list[Entry], default: tuple[str, ...]) -> list[Entry]:
    """Entries with their own tags keep them; the others get the default. `*` resolves to no tags."""
    out = []
    for e in entries:
        tags = e.audiences or default
        tags = () if EVERYONE in tags else tags
        out.append(e if tags == e.audiences else replace(e, audiences=tags))
    return out

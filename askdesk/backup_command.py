"""`askdesk backup OUT.tar.gz` and `askdesk restore IN.tar.gz`: one archive with what a deployment
cannot rebuild by itself.

What goes in: the knowledge base in force (every collection of the active set: ids, texts,
metadata and the vectors themselves, so a restore re-embeds nothing and searches exactly as
before), the re-embed pointer, the conversations database, `<data_dir>/calibration/`,
`<data_dir>/uploads/` (admin uploads and the console's curated Q&A file), and a manifest (versions,
collections, models, record and row counts, a SHA-256 per file).

Chroma is read through its client, not copied as files: the same code serves the embedded store
and a `chroma run` server (compose), a read is consistent per collection, and the archive does not
depend on Chroma's on-disk format. The collection versions are compared before and after the read;
an ingest that ran meanwhile makes the backup retry once, then fail. SQLite is copied with the
sqlite3 backup API (consistent while the service writes); PostgreSQL with `pg_dump`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from app.errors import OperationError
from app.knowledge_store import (
    GET_PAGE,
    ActiveSet,
    collection_name,
    kb_collections,
    make_chroma_client,
    pointer_name,
    read_active,
    write_active,
)
from app.settings import Settings, get_settings

FORMAT = 1
MANIFEST = "manifest.json"
FOLDERS = ("calibration", "uploads")  # under the data dir, copied file by file


# --- helpers ------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("askdesk", "chromadb", "sqlalchemy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _database(settings: Settings) -> tuple[str, object]:
    """("sqlite", file path) or ("postgresql", libpq URL) of the configured database."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        return "sqlite", Path(url.database or "")
    if url.get_backend_name() == "postgresql":
        # pg_dump speaks libpq URLs: no SQLAlchemy driver suffix (postgresql+psycopg://)
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    raise OperationError(
        f"cannot back up a {url.get_backend_name()} database: SQLite and PostgreSQL are supported"
    )


def _table_counts_sqlite(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in sorted(names)}


def _table_counts_url(db_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in sorted(names)}
    finally:
        engine.dispose()


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy while others write (the sqlite3 backup API, WAL included)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def _run(cmd: list[str], what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise OperationError(
            f"{cmd[0]} not found: install the PostgreSQL client programs (Debian: postgresql-client) "
            f"or set ASKDESK_PG_DUMP_COMMAND / ASKDESK_PG_RESTORE_COMMAND"
        )
    r = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no message"])[-1]
        raise OperationError(f"{what} failed ({cmd[0]} exit {r.returncode}): {last}")


# --- backup -------------------------------------------------------------------------------------
def _active_set(client, settings: Settings) -> ActiveSet:
    return read_active(client, settings.collection) or ActiveSet(
        settings.collection, list(settings.embedding_models), 0
    )


def _kb_version(client, names: list[str]) -> list[tuple[int, int]]:
    out = []
    for name in names:
        col = client.get_collection(name, embedding_function=None)
        out.append((int((col.metadata or {}).get("askdesk_version", 0)), col.count()))
    return out


def _dump_collection(client, name: str, folder: Path) -> dict:
    col = client.get_collection(name, embedding_function=None)
    total = col.count()
    vectors: list[np.ndarray] = []
    with (folder / f"{name}.records.jsonl").open("w", encoding="utf-8") as f:
        for offset in range(0, total, GET_PAGE):
            page = col.get(include=["documents", "metadatas", "embeddings"], limit=GET_PAGE, offset=offset)
            for rid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                f.write(json.dumps({"id": rid, "text": doc, "metadata": meta}, ensure_ascii=False) + "\n")
            vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
    dim = int((col.metadata or {}).get("dimension", 0))
    np.save(
        folder / f"{name}.embeddings.npy",
        np.concatenate(vectors) if vectors else np.zeros((0, dim), np.float32),
    )
    return {"name": name, "metadata": dict(col.metadata or {}), "records": total}


def write_backup(settings: Settings, out: Path) -> dict:
    """Write the archive to `out` (atomically: a temp file renamed); returns the manifest."""
    if not out.name.endswith((".tar.gz", ".tgz")):
        raise OperationError(f"the backup file must end in .tar.gz: {out}")
    if not out.parent.is_dir():
        raise OperationError(f"folder not found: {out.parent}")
    client = make_chroma_client(settings)
    active = _active_set(client, settings)
    names = [collection_name(active.base, i) for i in range(len(active.models))]
    present = set(kb_collections(client, settings.collection))
    names = [n for n in names if n in present]
    with tempfile.TemporaryDirectory(prefix="askdesk-backup-") as tmp:
        stage = Path(tmp)
        (stage / "chroma").mkdir()
        for attempt in (1, 2):
            before = _kb_version(client, names)
            collections = [_dump_collection(client, n, stage / "chroma") for n in names]
            if _kb_version(client, names) == before:
                break
            if attempt == 2:
                raise OperationError(
                    "the knowledge base changed during the backup twice (an ingest or upload is "
                    "running): run the backup again when it has finished"
                )
        database = _backup_database(settings, stage)
        for folder in FOLDERS:
            src = settings.data_dir / folder
            if src.is_dir():
                for f in sorted(src.rglob("*")):
                    # staged uploads (.name.part / .name.prev) are an upload in flight, not knowledge
                    if f.is_file() and not f.name.startswith("."):
                        dst = stage / folder / f.relative_to(src)
                        dst.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(f, dst)
        files = {str(p.relative_to(stage)): _sha256(p) for p in sorted(stage.rglob("*")) if p.is_file()}
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
            "collection": settings.collection,
            "active": {"base": active.base, "models": active.models, "generation": active.generation},
            "embedding_models": active.models,
            "collections": collections,
            "database": database,
            "files": files,
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        part = out.with_name(f".{out.name}.part")
        with tarfile.open(part, "w:gz") as tar:
            tar.add(stage / MANIFEST, arcname=MANIFEST)  # first: `tar tzf | head` shows what it is
            for rel in files:
                tar.add(stage / rel, arcname=rel)
        part.replace(out)
    return manifest


def _backup_database(settings: Settings, stage: Path) -> dict | None:
    kind, where = _database(settings)
    if kind == "sqlite":
        if not Path(where).is_file():
            return None  # the service never ran here: no conversations yet
        _sqlite_copy(Path(where), stage / "database.sqlite3")
        return {
            "kind": kind,
            "file": "database.sqlite3",
            "tables": _table_counts_sqlite(stage / "database.sqlite3"),
        }
    tables = _table_counts_url(settings.db_url)
    _run(
        [
            settings.pg_dump_command,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={stage / 'database.pgdump'}",
            str(where),
        ],
        "pg_dump",
    )
    return {"kind": kind, "file": "database.pgdump", "tables": tables}


# --- restore ------------------------------------------------------------------------------------
def read_archive(path: Path, into: Path) -> dict:
    """Unpack and check the archive: a manifest of a known format and every file's checksum."""
    if not path.is_file():
        raise OperationError(f"backup file not found: {path}")
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(into, filter="data")  # no absolute paths, links out or devices
    except (tarfile.TarError, OSError, EOFError) as e:
        raise OperationError(f"{path} is not a readable .tar.gz backup: {e}") from e
    try:
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise OperationError(f"{path} is not an AskDesk backup: no readable {MANIFEST}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise OperationError(
            f"{path}: unsupported backup format {manifest.get('format')!r} (this AskDesk reads {FORMAT})"
        )
    for rel, digest in manifest.get("files", {}).items():
        f = into / rel
        if not f.is_file():
            raise OperationError(f"{path}: {rel} is listed in the manifest but missing")
        if _sha256(f) != digest:
            raise OperationError(f"{path}: {rel} does not match its checksum (the archive is damaged)")
    return manifest


def _in_the_way(settings: Settings) -> list[str]:
    """What a restore would overwrite: anything in the data dir, or this KB's collections on a server."""
    found = []
    if settings.data_dir.is_dir() and any(settings.data_dir.iterdir()):
        found.append(f"data dir {settings.data_dir} is not empty")
    kind, where = _database(settings)
    if kind == "sqlite" and Path(where).is_file() and not Path(where).is_relative_to(settings.data_dir):
        found.append(f"database {where} exists")
    if kind == "postgresql":
        try:
            rows = sum(_table_counts_url(settings.db_url).values())
        except Exception as e:  # said in one line: the server is down, the URL is wrong
            raise OperationError(f"cannot read the database at ASKDESK_DATABASE_URL: {type(e).__name__}: {e}") from e
        if rows:
            found.append(f"the PostgreSQL database holds {rows} rows")
    if settings.chroma_host:
        client = make_chroma_client(settings)
        if kb_collections(client, settings.collection):
            found.append(f"Chroma at {settings.chroma_host} holds collections of {settings.collection!r}")
    return found


def _renamed(name: str, old_root: str, new_root: str) -> str:
    return new_root + name[len(old_root) :]


def restore_backup(settings: Settings, path: Path, *, force: bool) -> dict:
    """Restore the archive into the configured data dir, database and Chroma; returns the manifest."""
    with tempfile.TemporaryDirectory(prefix="askdesk-restore-") as tmp:
        stage = Path(tmp)
        manifest = read_archive(path, stage)
        in_the_way = _in_the_way(settings)
        if in_the_way and not force:
            raise OperationError(
                f"{in_the_way[0]}: restore into an empty one, or pass --force to replace what is there"
            )
        db = manifest.get("database")
        kind, where = _database(settings)
        if db and db["kind"] != kind:
            raise OperationError(
                f"the backup holds a {db['kind']} database but ASKDESK_DATABASE_URL is {kind}: "
                "restore into the same kind of database"
            )
        client = make_chroma_client(settings)
        old_root, root = manifest["collection"], settings.collection
        # replace, never merge: stale generations or a pointer left behind would outrank the restore
        for name in [*kb_collections(client, root), pointer_name(root)]:
            try:
                client.delete_collection(name)
            except Exception:  # absent: nothing to delete
                pass
        for c in manifest["collections"]:
            _load_collection(client, stage / "chroma", c, _renamed(c["name"], old_root, root))
        a = manifest["active"]
        # always written, also for generation 0: the restored KB is queried with the models it was
        # built with, whatever ASKDESK_EMBEDDING_MODELS says on this machine
        write_active(
            client,
            root,
            ActiveSet(_renamed(a["base"], old_root, root), list(a["models"]), int(a["generation"])),
        )
        if db:
            _restore_database(settings, stage / db["file"], kind, where)
        for folder in FOLDERS:
            dst = settings.data_dir / folder
            if (stage / folder).is_dir():
                if dst.exists():
                    shutil.rmtree(dst)
                shutil.copytree(stage / folder, dst)
    return manifest


def _load_collection(client, folder: Path, spec: dict, name: str) -> None:
    old = spec["name"]
    vectors = np.load(folder / f"{old}.embeddings.npy")
    rows = [
        json.loads(line)
        for line in (folder / f"{old}.records.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    if len(rows) != spec["records"] or len(vectors) != len(rows):
        raise OperationError(
            f"collection {old!r}: {len(rows)} records and {len(vectors)} vectors, the manifest says {spec['records']}"
        )
    col = client.create_collection(
        name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}, metadata=spec["metadata"]
    )
    for start in range(0, len(rows), GET_PAGE):
        page = rows[start : start + GET_PAGE]
        col.add(
            ids=[r["id"] for r in page],
            documents=[r["text"] for r in page],
            metadatas=[r["metadata"] for r in page],
            embeddings=vectors[start : start + GET_PAGE],
        )
    if col.count() != spec["records"]:
        raise OperationError(
            f"collection {name!r}: {col.count()} records after the restore, expected {spec['records']}"
        )


def _restore_database(settings: Settings, src: Path, kind: str, where) -> None:
    if kind == "sqlite":
        target = Path(where)
        for extra in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            extra.unlink(missing_ok=True)  # a stale WAL would be replayed over the restored file
        target.unlink(missing_ok=True)
        _sqlite_copy(src, target)
        return
    _run(
        [
            settings.pg_restore_command,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--dbname={where}",
            str(src),
        ],
        "pg_restore",
    )


# --- commands -----------------------------------------------------------------------------------
def _summary(manifest: dict) -> str:
    records = sum(c["records"] for c in manifest["collections"])
    db = manifest.get("database")
    rows = f"{db['tables'].get('exchanges', 0)} exchanges" if db else "no database"
    return (
        f"{len(manifest['collections'])} collections ({records} records, models {', '.join(manifest['embedding_models'])}), "
        f"{rows}, {len(manifest['files'])} files"
    )


def backup(
    out: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz).")],
) -> None:
    """Write the knowledge base, the conversations database, calibration and uploads to one archive."""
    manifest = write_backup(get_settings(), out)
    typer.echo(f"backup written to {out}: {_summary(manifest)}")


def restore(
    archive: Annotated[Path, typer.Argument(help="An archive written by `askdesk backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty data dir / existing collections.")
    ] = False,
) -> None:
    """Restore a backup into the configured data dir, database and Chroma (stop the service first)."""
    manifest = restore_backup(get_settings(), archive, force=force)
    typer.echo(f"restored {archive} (made {manifest['created_at']}): {_summary(manifest)}")


def register(cli: typer.Typer) -> None:
    cli.command("backup")(backup)
    cli.command("restore")(restore)

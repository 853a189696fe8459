"""`askdesk backup` / `restore` with the conversations database on a real PostgreSQL server (a
throw-away cluster started here with Debian's `postgresql` binaries; skipped where they are not
installed): `pg_dump` out, `pg_restore` in, the same log; a database with rows is not overwritten
without --force."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.conversations.store import ConversationStore
from app.errors import OperationError
from app.settings import Settings
from askdesk.backup_command import restore_backup, write_backup
from tests.conftest import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.slow


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root (the test sandbox's user)
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists() or not shutil.which("pg_dump"):
        pytest.skip("PostgreSQL server binaries not installed (Debian: postgresql)")
    # not under pytest's tmp dirs: their parents are private to this user, and the cluster's owner
    # (postgres) must reach it
    root = Path(tempfile.mkdtemp(prefix="askdesk-pg-"))
    os.chmod(root, 0o777)
    port = free_port()
    data = root / "data"
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "askdesk",
                                 "--no-sync"]), **run)  # fmt: skip
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]), **run)  # fmt: skip
    try:
        for db in ("src", "dst"):
            subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "askdesk", db], **run)
        yield f"postgresql+psycopg://askdesk@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_database_round_trip(tmp_path, pg_url):
    src = Settings(_env_file=None, data_dir=tmp_path / "a", collection="pg-kb", database_url=f"{pg_url}/src")
    conv = ConversationStore(src.db_url)
    sid = conv.ensure_session(None, owner="k")
    first = conv.log_exchange(session_id=sid, question="How do I reset my VPN password?", answer="Open the page.")
    conv.log_exchange(session_id=sid, question="and the wifi?", answer="Join NWH-Staff.")
    conv.add_feedback(first, "up", None)
    log = conv.export_log()
    conv.dispose()

    manifest = write_backup(src, tmp_path / "pg.tar.gz")
    assert manifest["database"]["kind"] == "postgresql" and manifest["database"]["file"] == "database.pgdump"
    assert manifest["database"]["tables"]["exchanges"] == 2 and manifest["database"]["tables"]["feedback"] == 1

    dst = Settings(_env_file=None, data_dir=tmp_path / "b", collection="pg-kb", database_url=f"{pg_url}/dst")
    restore_backup(dst, tmp_path / "pg.tar.gz", force=False)
    conv = ConversationStore(dst.db_url)
    assert conv.export_log() == log
    conv.dispose()
    empty_dir = Settings(_env_file=None, data_dir=tmp_path / "c", collection="pg-kb", database_url=f"{pg_url}/dst")
    with pytest.raises(OperationError, match="the PostgreSQL database holds .* rows: restore into an empty one"):
        restore_backup(empty_dir, tmp_path / "pg.tar.gz", force=False)
    restore_backup(empty_dir, tmp_path / "pg.tar.gz", force=True)  # pg_restore --clean over the rows
    conv = ConversationStore(dst.db_url)
    assert conv.export_log() == log
    conv.dispose()
    # a SQLite target cannot take a PostgreSQL backup
    lite = Settings(_env_file=None, data_dir=tmp_path / "d", collection="pg-kb")
    with pytest.raises(OperationError, match="holds a postgresql database but ASKDESK_DATABASE_URL is sqlite"):
        restore_backup(lite, tmp_path / "pg.tar.gz", force=False)

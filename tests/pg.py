"""Throw-away servers that tests start from the installed binaries: a PostgreSQL 15 cluster
(Debian's postgresql, `make install-postgres`) and a redis-server (`make install-redis`).

    with postgres_cluster() as pg:
        url = pg.create_database("t1")   # postgresql+psycopg://askdesk@127.0.0.1:PORT/t1
    with redis_server(tmp_path) as url:  # redis://127.0.0.1:PORT/0

Each listens on a free loopback port, keeps nothing (fsync off; redis without snapshots or AOF),
and is stopped and removed when the block ends. `pg_bin_dir()` / `shutil.which("redis-server")`
say whether a test can have one (skip otherwise).

The PostgreSQL tier (`make test-postgres`, or ASKDESK_TEST_DATABASE=postgres): this module is a
pytest plugin (tests/conftest.py) whose session fixture then starts one cluster and sends every
conversations database the tests open to it: each SQLite URL a store is opened on (a test's own
tmp file, the session app's file, `askdesk serve` children's <data_dir>/askdesk.db) becomes a
database of its own on the cluster (CREATE DATABASE, a few ms), the same one each time the same
URL is opened again. The tests themselves do not change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from serving.children import spawn, stop
from serving.net import free_port

TEST_DATABASE_ENV = "ASKDESK_TEST_DATABASE"  # "postgres": the tiers run on PostgreSQL (default sqlite)


PG_BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/local/bin"))


def pg_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are, or None when the server binaries are not installed."""
    return next((d for d in PG_BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


def as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root (the test sandbox's user)
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresCluster:
    port: int
    root: Path
    bin_dir: Path
    user: str = "askdesk"

    def url(self, database: str = "askdesk") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(sql)

    def create_database(self, name: str) -> str:
        """A new empty database (a few ms: copied from template1); its SQLAlchemy URL."""
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_cluster(bin_dir: Path | None = None) -> Iterator[PostgresCluster]:
    """A fresh cluster (trust auth, superuser "askdesk", database "askdesk"), stopped at the end."""
    bin_dir = bin_dir or pg_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries not installed (`make install-postgres`)")
    root = Path(tempfile.mkdtemp(prefix="askdesk-pg-"))
    os.chmod(root, 0o777)  # the cluster's owner (postgres) must reach it
    port, data = free_port(), root / "data"
    run = {"check": True, "capture_output": True, "timeout": 120}
    try:
        subprocess.run(as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "askdesk",
                                    "--no-sync"]), **run)  # fmt: skip
        # max_connections: every replica and test store keeps a pool (SQLAlchemy's default 5 + 10)
        subprocess.run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                                    "start"]), **run)  # fmt: skip
        cluster = PostgresCluster(port=port, root=root, bin_dir=bin_dir)
        cluster.create_database("askdesk")
        yield cluster
    finally:
        subprocess.run(as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis_server(workdir: Path, start_timeout_s: float = 20) -> Iterator[str]:
    """A redis-server on a free loopback port that persists nothing; yields its redis:// URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed (`make install-redis`)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (workdir / f"redis-{port}.log").open("w")
    # its own process group, and it dies with this process even when a crash skips the `finally`
    proc = spawn([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(workdir)], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {(workdir / f'redis-{port}.log').read_text()[-1000:]}")
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc, timeout_s=10)
        log.close()


# --- the PostgreSQL tier ----------------------------------------------------------------------------
def postgres_tier_requested() -> bool:
    return os.environ.get(TEST_DATABASE_ENV, "sqlite").strip().lower() in ("postgres", "postgresql", "pg")


def _made_by_hand(url: str) -> bool:
    """A SQLite file that exists before any store opened it: on this tier no store writes SQLite,
    so a test made it itself, to test SQLite (e.g. a database from an older release)."""
    path = url.removeprefix("sqlite:///")
    return url.startswith("sqlite:///") and Path(path).is_file() and Path(path).stat().st_size > 0


class SqliteToPostgres:
    """Each SQLite URL -> a database of its own on `cluster` (created on first sight)."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.urls: dict[str, str] = {}
        self.kept_sqlite: set[str] = set()

    def __call__(self, url: str) -> str:
        if not url.startswith("sqlite"):
            return url
        got = self.urls.get(url)
        if got is None and _made_by_hand(url):
            self.kept_sqlite.add(url)  # a test built this SQLite file on purpose (an old schema): keep it
            return url
        if got is None:
            import hashlib

            got = self.urls[url] = self.cluster.create_database("t_" + hashlib.sha1(url.encode()).hexdigest()[:20])
        return got

    def for_data_dir(self, data_dir: str) -> str:
        return self(f"sqlite:///{Path(data_dir) / 'askdesk.db'}")


class _ServeOnPostgres:
    """askdesk.process's `subprocess`, except that a child started without ASKDESK_DATABASE_URL gets
    the database that stands for its <data_dir>/askdesk.db."""

    def __init__(self, mapping: SqliteToPostgres) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    def Popen(self, args, *a, env=None, **kw):  # noqa: N802 - subprocess's name
        if env is not None and not env.get("ASKDESK_DATABASE_URL"):
            data_dir = env.get("ASKDESK_DATA_DIR", str(Path(kw.get("cwd") or ".") / ".data"))
            env = {**env, "ASKDESK_DATABASE_URL": self._mapping.for_data_dir(data_dir)}
        return subprocess.Popen(args, *a, env=env, **kw)


_ACTIVE: list[SqliteToPostgres] = []  # the running tier's mapping (one per session)


def postgres_dump(sqlite_url: str) -> bytes | None:
    """On the PostgreSQL tier, everything stored in the database that stands for this SQLite URL
    (pg_dump, data and schema, as text): what a test reading the SQLite file's bytes reads instead.
    None off the tier, or when no store opened that URL."""
    if not _ACTIVE or sqlite_url not in _ACTIVE[0].urls:
        return None
    cluster = _ACTIVE[0].cluster
    dbname = _ACTIVE[0].urls[sqlite_url].rsplit("/", 1)[1]
    pg_dump = cluster.bin_dir / "pg_dump"
    return subprocess.run([str(pg_dump), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", cluster.user, dbname],
                          check=True, capture_output=True, timeout=60).stdout  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def postgres_tier() -> Iterator[PostgresCluster | None]:
    """With ASKDESK_TEST_DATABASE=postgres: one cluster for the session, every store on it."""
    if not postgres_tier_requested():
        yield None
        return
    if pg_bin_dir() is None:
        pytest.exit(f"{TEST_DATABASE_ENV}=postgres needs the PostgreSQL server binaries (`make install-postgres`)", 2)
    from app.conversations.store import ConversationStore
    from askdesk import process

    with postgres_cluster() as cluster:
        mapping = SqliteToPostgres(cluster)
        original = ConversationStore.__init__

        def on_postgres(self, url: str, *args, **kwargs) -> None:
            original(self, mapping(url), *args, **kwargs)

        mp = pytest.MonkeyPatch()
        _ACTIVE.append(mapping)
        mp.setattr(ConversationStore, "__init__", on_postgres)
        mp.setattr(process, "subprocess", _ServeOnPostgres(mapping))
        try:
            yield cluster
        finally:
            mp.undo()
            _ACTIVE.clear()
            print(f"\n[postgres tier] {len(mapping.urls)} databases on the cluster; "
                  f"{len(mapping.kept_sqlite)} SQLite files made by tests kept on SQLite")

"""Replicas: two real `askdesk serve` processes sharing one PostgreSQL database (a throw-away
cluster), one `chroma run` server and one redis-server rate-limit store, answering through a real
llama.cpp engine (packaged SmolLM2). The stack and the load run are benchmarks/serving/replicas_run.py,
driven here with small numbers; the tests run in file order (the last one kills replica 0)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from app.api.state import make_limiter
from app.errors import ConfigError
from app.settings import Settings
from benchmarks.serving import replicas_run
from tests.pg import pg_bin_dir, postgres_cluster, redis_server

pytest_plugins = ["tests.service_fixtures"]  # ingested_sample_kb

LIMITED_KEY = "sk-test-key"  # not exempt: ASKDESK_RATE_LIMIT applies
LIMIT = "5/minute"


def test_a_rate_limit_storage_that_cannot_be_used_stops_the_startup(tmp_path):
    assert make_limiter(Settings(_env_file=None)) is not None  # memory:// by default
    with pytest.raises(ConfigError, match=r"ASKDESK_RATE_LIMIT_STORAGE='foo://x' cannot be used: unknown storage"):
        make_limiter(Settings(_env_file=None, rate_limit_storage="foo://x"))
    # a shared store nobody answers at: refused at startup, the password not repeated
    with pytest.raises(ConfigError, match=r"no rate-limit storage answers at redis://u:\*\*\*@127\.0\.0\.1:9/0"):
        make_limiter(Settings(_env_file=None, rate_limit_storage="redis://u:secret@127.0.0.1:9/0"))


def test_a_shared_storage_that_goes_away_makes_limited_requests_a_503_not_a_500(tmp_path):
    from limits import parse

    from app.api.errors import APIError

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (`make install-redis`)")
    with redis_server(tmp_path) as url:
        limiter = make_limiter(Settings(_env_file=None, rate_limit_storage=url))
        assert limiter.hit(parse("2/minute"), "k") and limiter.hit(parse("2/minute"), "k")
        assert not limiter.hit(parse("2/minute"), "k")
    with pytest.raises(APIError) as e:
        limiter.hit(parse("2/minute"), "k")
    assert e.value.status == 503 and e.value.code == "rate_limit_storage_unavailable"


@pytest.fixture(scope="module")
def pg():
    if pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries not installed (`make install-postgres`)")
    with postgres_cluster() as cluster:
        yield cluster


def test_replicas_starting_together_on_an_empty_database_all_start(pg):
    """Each process's store migrates an empty database on its first start: on a shared database one
    of them does it and the others wait for it (before, all but one crashed on duplicate tables)."""
    import subprocess
    import sys

    from app import migrations

    code = "import sys; from app.conversations.store import ConversationStore; ConversationStore(sys.argv[1]).dispose()"
    for trial in range(2):
        url = pg.create_database(f"together{trial}")
        procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]  # fmt: skip
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], errors
        from sqlalchemy import create_engine

        engine = create_engine(url)
        assert migrations.current(engine) == migrations.head()
        engine.dispose()


@pytest.fixture(scope="module")
def stack(pg, ingested_sample_kb, llamacpp_engine, tmp_path_factory) -> Iterator[replicas_run.Stack]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (`make install-redis`)")
    work = tmp_path_factory.mktemp("replicas")
    with redis_server(work / "redis") as redis_url:
        with replicas_run.replica_stack(ingested_sample_kb, work / "stack", engine_url=llamacpp_engine.base_url,
                                        engine_model=llamacpp_engine.model, database_url=pg.url(),
                                        redis_url=redis_url, ASKDESK_RATE_LIMIT=LIMIT) as st:  # fmt: skip
            yield st


@pytest.mark.slow
@pytest.mark.llamacpp
def test_a_key_s_rate_limit_is_shared_by_both_replicas(stack):
    headers = {"Authorization": f"Bearer {LIMITED_KEY}"}
    body = {"query": "how many days of annual leave do I get", "k": 1}
    codes = []
    for i in range(6):  # 3 to each replica, alternating: the limit counts them together
        r = httpx.post(f"{stack.urls[i % 2]}/api/search", headers=headers, json=body, timeout=60)
        codes.append(r.status_code)
    assert codes == [200] * 5 + [429], codes
    assert 1 <= int(r.headers["retry-after"]) <= 60
    err = r.json()["error"]
    assert err["type"] == "rate_limit_error" and err["code"] == "rate_limit_exceeded"
    assert LIMIT in err["message"]
    # the other replica refuses the key as well: one window for both
    again = httpx.post(f"{stack.urls[0]}/api/search", headers=headers, json=body, timeout=60)
    assert again.status_code == 429 and "retry-after" in again.headers


@pytest.mark.slow
@pytest.mark.llamacpp
def test_a_knowledge_change_through_one_replica_is_answered_by_the_other(stack):
    got = replicas_run.propagation(stack, timeout_s=30)
    print(f"propagation: {got}")
    # the replicas check the collection version every ASKDESK_RETRIEVAL_REFRESH_S (2 s here)
    assert got["seen_after_upload_s"] <= 2.0 + 3.0, got
    assert got["other_replica_mode"] == "faq" and got["other_replica_answer_is_new"], got


@pytest.mark.slow
@pytest.mark.llamacpp
def test_a_replica_killed_mid_run_loses_no_answer_and_logs_none_twice(stack):
    res = replicas_run.load_run(stack, clients=4, requests=4, kill_after=3)
    s = res["summary"]
    print(replicas_run.table(s))
    assert s["requests_sent"] == 16
    assert s["timeouts"] == 0, res["outcomes"]  # a cut stream ends for its reader; nothing hangs
    assert s["killed_mid_stream"] >= 1, res["outcomes"]  # the kill waits for a stream mid-answer
    assert s["completed_after_kill"] >= 1 and s["completed_by_replica"]["1"] >= 1  # the other answers on
    # every request either completed, was cut mid-stream on the killed replica, or failed with
    # nothing answered (a retry that also failed): no other kind of failure
    assert s["completed"] + s["killed_mid_stream"] + s["error_events"] + s["failed"] == s["requests_sent"]
    assert s["failed"] == 0, res["outcomes"]  # retried on the other replica
    assert s["error_events"] == 0, res["outcomes"]
    # the exchange log: one row per complete answer, none lost, none twice
    assert s["lost"] == 0 and s["duplicates"] == 0, s
    assert s["log_rows_for_completed"] == s["completed"]
    assert s["answered_rows_no_client_saw"] == 0, s

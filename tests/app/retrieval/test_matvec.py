"""The float16 scorer against numpy's float32 product (real torch kernel, no fakes)."""

import numpy as np

from app.retrieval.matvec import HalfMatrix


def test_half_products_stay_within_float16_rounding_of_float32():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((5000, 384)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    v = m[17] + 0.05 * rng.standard_normal(384).astype(np.float32)
    v /= np.linalg.norm(v)
    got, ref = HalfMatrix(m) @ v, m @ v
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.abs(got - ref).max() < 2e-3  # unit vectors: float16 keeps ~3 decimal digits
    assert int(np.argmax(got)) == int(np.argmax(ref)) == 17
    # the ranking of the clearly separated top is the same
    assert np.argsort(-got)[:1].tolist() == np.argsort(-ref)[:1].tolist()


def test_empty_matrix():
    assert (HalfMatrix(np.zeros((0, 8), dtype=np.float32)) @ np.ones(8, dtype=np.float32)).shape == (0,)

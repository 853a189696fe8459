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


def test_both_kernels_agree_and_a_large_matrix_measures_and_keeps_one_copy():
    rng = np.random.default_rng(1)
    m = rng.standard_normal((20_000, 64)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    v = m[123]
    f32, f16 = HalfMatrix(m, kernel="numpy-f32") @ v, HalfMatrix(m, kernel="torch-f16") @ v
    assert np.abs(f32 - f16).max() < 2e-3 and int(np.argmax(f32)) == int(np.argmax(f16)) == 123
    measured = HalfMatrix(m)  # >= MEASURE_FROM rows: both kernels timed, the faster kept
    assert set(measured.timings) == {"numpy-f32", "torch-f16"} and all(t > 0 for t in measured.timings.values())
    assert measured.kernel == min(measured.timings, key=measured.timings.get)
    assert (measured._f32 is None) != (measured._f16 is None)  # only the chosen copy stays
    assert int(np.argmax(measured @ v)) == 123
    small = HalfMatrix(m[:100])
    assert small.kernel == "numpy-f32" and not small.timings

import numpy as np

from ganforge.metrics.cache import cache_key, cached_arrays


def test_computed_once_per_key_and_reloaded(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(3.0)}

    first = cached_arrays("feat", {"n": 3}, compute, tmp_path)
    second = cached_arrays("feat", {"n": 3}, compute, tmp_path)
    cached_arrays("feat", {"n": 4}, compute, tmp_path)
    assert len(calls) == 2 and np.array_equal(first["x"], second["x"])
    assert len(list(tmp_path.glob("feat-*.npz"))) == 2 and not list(tmp_path.glob("*.tmp*"))


def test_corrupt_cache_is_recomputed(tmp_path):
    cached_arrays("feat", {"a": 1}, lambda: {"x": np.ones(2)}, tmp_path)
    (path,) = tmp_path.glob("feat-*.npz")
    path.write_bytes(b"garbage")
    assert np.array_equal(cached_arrays("feat", {"a": 1}, lambda: {"x": np.zeros(2)}, tmp_path)["x"], np.zeros(2))


def test_key_is_order_independent_and_no_cache_dir_writes_nothing(tmp_path):
    assert cache_key({"a": 1, "b": 2}) == cache_key({"b": 2, "a": 1}) != cache_key({"a": 1, "b": 3})
    assert cached_arrays("feat", {}, lambda: {"x": np.ones(1)}, None)["x"][0] == 1
    assert not list(tmp_path.iterdir())

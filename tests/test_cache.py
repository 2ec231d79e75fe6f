"""The keyed cache: a changed parameter misses, an unchanged one hits; writes are atomic."""
import pandas as pd
import pytest

from pdlib import PdlibError, cache


def test_hit_and_miss(fresh_data):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"qid": ["q1"], "docno": ["d1"], "score": [1.0]})

    k1 = cache.key("pointwise", "tiny/cross-encoder", "synthetic/smoke/train", {"k": 100})
    cache.cached_frame(k1, "scores.parquet", compute)
    cache.cached_frame(cache.key("pointwise", "tiny/cross-encoder", "synthetic/smoke/train", {"k": 100}),
                       "scores.parquet", compute)
    assert len(calls) == 1  # unchanged parameters: hit
    k2 = cache.key("pointwise", "tiny/cross-encoder", "synthetic/smoke/train", {"k": 50})
    assert k2 != k1 and cache.path(k2) != cache.path(k1)
    cache.cached_frame(k2, "scores.parquet", compute)
    assert len(calls) == 2  # changed parameter: miss
    for other in (cache.key("x", "tiny/cross-encoder", "synthetic/smoke/train", {"k": 100}),
                  cache.key("pointwise", "tiny/t5", "synthetic/smoke/train", {"k": 100}),
                  cache.key("pointwise", "tiny/cross-encoder", "beir/scifact/train", {"k": 100})):
        assert cache.path(other) != cache.path(k1)
    assert (cache.path(k1) / "scores.meta.json").exists()


def test_failed_write_leaves_nothing(fresh_data):
    target = fresh_data / "run" / "x.parquet"
    with pytest.raises(ZeroDivisionError):
        with cache.atomic_path(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temp left behind either


def test_failed_compute_leaves_no_artifact(fresh_data):
    k = cache.key("run", "m", "d", {})

    def boom():
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        cache.cached_frame(k, "run.parquet", boom)
    assert not cache.path(k, "run.parquet").exists()


def test_atomic_replace_of_a_folder(fresh_data):
    target = fresh_data / "ckpt"
    for text in ("one", "two"):
        with cache.atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "w.txt").write_text(text)
    assert (target / "w.txt").read_text() == "two"


def test_lookup_names_the_notebook_to_run(fresh_data):
    with pytest.raises(PdlibError, match="run 01_retrieve first"):
        cache.lookup("smoke", "run_train", "01_retrieve")
    k = cache.key("run", "m", "d", {"k": 1})
    target = cache.write_json(cache.path(k, "a.json"), {"x": 1})
    cache.publish("smoke", "run_train", target, k)
    assert cache.lookup("smoke", "run_train", "01_retrieve") == (target, k)

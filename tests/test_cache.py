"""Stage keys are derived: the same work has one key whatever the call site; writes are atomic."""
import shutil

import pandas as pd
import pytest

from pdlib import PdlibError, cache

CALLS = []


@cache.stage("demo", "scores.parquet", model="teacher", dataset="dataset", ignore=("batch_size",))
def demo(teacher: str, dataset: str, k: int, batch_size: int = 8) -> pd.DataFrame:
    CALLS.append((teacher, dataset, k, batch_size))
    return pd.DataFrame({"qid": ["q1"], "docno": ["d1"], "score": [float(k)]})


@cache.stage("demo-next", "next.parquet", dataset="upstream.params.dataset")
def downstream(upstream: cache.Artifact, factor: int) -> pd.DataFrame:
    CALLS.append(("next", factor))
    return upstream.frame().assign(score=lambda f: f.score * factor)


@cache.stage("demo-folder", "model", model="cfg.init")
def folder_stage(cfg, workdir):
    (workdir / "model").mkdir(parents=True)
    (workdir / "model" / "done").write_text(cfg.init)


def test_hit_miss_and_what_keys_a_stage(fresh_data):
    CALLS.clear()
    a = demo("tiny/cross-encoder", "synthetic/tiny/train", 100)
    assert demo("tiny/cross-encoder", "synthetic/tiny/train", 100, batch_size=64) == a  # batch size: no new key
    assert len(CALLS) == 1 and a.frame().score.tolist() == [100.0]
    assert (a.key.folder / "scores.parquet.meta.json").exists()
    others = [demo("tiny/cross-encoder", "synthetic/tiny/train", 50), demo("tiny/t5", "synthetic/tiny/train", 100),
              demo("tiny/cross-encoder", "synthetic/tiny/dev", 100)]
    assert len(CALLS) == 4 and len({o.path for o in others} | {a.path}) == 4
    # the canonical dataset id and the name it stands for are one key (the duplicate training run of issue 11)
    from pdlib import data

    assert demo("tiny/cross-encoder", data.canonical_id("synthetic/tiny/train"), 100) == a and len(CALLS) == 4
    # the tiny stand-ins' version is part of the key and of the folder name
    from pdlib.smoke.specs import TINY_VERSION

    v = f"v{TINY_VERSION}"
    assert a.key.model == f"tiny/cross-encoder@{v}" and f"tiny-cross-encoder-{v}__pdlib-synthetic-tiny" in str(a.path)


def test_upstream_keys_flow_into_downstream_keys(fresh_data):
    CALLS.clear()
    up1, up2 = demo("m", "synthetic/tiny/train", 1), demo("m", "synthetic/tiny/train", 2)
    n1, n2 = downstream(up1, 3), downstream(up2, 3)
    assert n1.path != n2.path and n2.frame().score.tolist() == [6.0]
    assert downstream(up1, 3) == n1 and CALLS.count(("next", 3)) == 2
    assert n1.params["upstream"]["k"] == 1 and n1.key.dataset.startswith("pdlib-synthetic/tiny")


def test_a_moved_cache_keeps_its_keys(fresh_data, tmp_path, monkeypatch):
    """A checkpoint inside the cache is keyed by its place relative to the cache root."""
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        init: str

    CALLS.clear()
    first = demo("m", "synthetic/tiny/train", 7)
    trained = folder_stage(Cfg(init=str(first.key.folder)))
    moved = tmp_path / "moved"
    shutil.copytree(fresh_data, moved)
    monkeypatch.setenv("PDLIB_DATA", str(moved))
    again = demo("m", "synthetic/tiny/train", 7)
    assert again == first and len(CALLS) == 1 and again.path.is_relative_to(moved)
    assert folder_stage(Cfg(init=str(again.key.folder))) == trained  # same key through the moved folder


def test_failed_compute_leaves_no_artifact(fresh_data):
    @cache.stage("boom", "run.parquet")
    def boom(x: int):
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        boom(1)
    assert not list(fresh_data.glob("boom/*/run.parquet"))

    @cache.stage("nothing", "model")
    def writes_nothing(x: int):
        return None

    with pytest.raises(RuntimeError, match="wrote no model"):
        writes_nothing(1)
    with pytest.raises(TypeError, match="DataFrame"):
        demo(pd.DataFrame(), "synthetic/tiny/train", 1)


def test_failed_write_leaves_nothing(fresh_data):
    target = fresh_data / "run" / "x.parquet"
    with pytest.raises(ZeroDivisionError):
        with cache.atomic_path(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temp left behind either


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
    art = demo("m", "synthetic/tiny/train", 3)
    cache.publish("smoke", "run_train", art)
    assert cache.lookup("smoke", "run_train", "01_retrieve") == art
    cache.publish("smoke", "several", [art, demo("m", "synthetic/tiny/train", 4)])
    assert [a.frame().score[0] for a in cache.lookup("smoke", "several", "x")] == [3.0, 4.0]
    art.path.unlink()
    with pytest.raises(PdlibError, match="gone from the cache"):
        cache.lookup("smoke", "run_train", "01_retrieve")

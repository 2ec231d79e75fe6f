"""A catalogue of bad inputs (issue 16): each gives one clear error that says what to do, and leaves no partial
artifact. Cases tested elsewhere: nonsense parameters and a YAML error (test_config.py), a notebook failure in the
terminal (test_config.py), unknown models and datasets (test_models.py, test_data.py), a conflicting training job
(test_train.py)."""
from __future__ import annotations

import json
import shutil

import pytest

from pdlib import PdlibError, models


def test_a_checkpoint_that_names_its_own_code_is_refused(session_data, tmp_path):
    """colbert-ai opens configs with trust_remote_code=True; a folder whose config has an auto_map would run its
    own Python. pdlib refuses it before any loader sees it."""
    from pdlib.smoke import tiny

    for name in ("colbert", "bi-encoder"):
        folder = tmp_path / name
        shutil.copytree(tiny.build_tiny(name), folder)
        cfg = json.loads((folder / "config.json").read_text())
        cfg["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
        (folder / "config.json").write_text(json.dumps(cfg))
        (folder / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
        with pytest.raises(PdlibError, match="names custom code .*never runs"):
            models.local_path(str(folder))
    with pytest.raises(PdlibError, match="names custom code"):
        models.colbert_checkpoint(str(tmp_path / "colbert"))
    with pytest.raises(PdlibError, match="names custom code"):
        models.load_bi_encoder(str(tmp_path / "bi-encoder"))


def _beir(folder, docs=None, queries=None, qrels=None, corpus_text=None):
    """A small BEIR folder; each argument replaces one file's lines."""
    folder.mkdir(parents=True)
    docs = docs if docs is not None else [{"_id": f"d{i}", "title": "", "text": f"passage {i}"} for i in range(5)]
    queries = queries if queries is not None else [{"_id": f"q{i}", "text": f"question {i}"} for i in range(3)]
    (folder / "corpus.jsonl").write_text(corpus_text if corpus_text is not None
                                         else "".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels").mkdir()
    lines = qrels if qrels is not None else ["query-id\tcorpus-id\tscore", "q0\td0\t1", "q1\td1\t1", "q2\td2\t1"]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize("change, message", [
    (dict(queries=[{"_id": "q0", "text": "question"}, {"_id": "q1", "text": " "}, {"_id": "q2", "text": "x"}]),
     r"queries.jsonl line 2: query 'q1' has no text \(1 such line: an empty query retrieves nothing\)"),
    (dict(qrels=["q0\td0\t1", "q1\td9\t1", "q2\td2\t1"]),
     r"test.tsv line 2: document 'd9' is not in corpus.jsonl \(1 such line"),
    (dict(qrels=["q0\td0\t1", "q7\td1\t1", "q2\td2\t1"]), r"test.tsv line 2: query 'q7' is not in queries.jsonl"),
    (dict(docs=[{"_id": "d0", "text": "a"}, {"_id": "d1", "text": "b"}, {"_id": "d0", "text": "c"},
                {"_id": "d2", "text": "e"}]), r"corpus.jsonl line 3: id 'd0' again \(first on line 1\)"),
    (dict(corpus_text='{"_id": "d0", "text": "a"}\nnot json\n{"_id": "d1", "text": "b"}\n{"_id": "d2"\n'),
     r"corpus.jsonl line 2: not a JSON object with an _id \(2 such lines"),
    (dict(qrels=["q0 d0 1", "q1\td1\t1"]), r"test.tsv line 1: 1 tab-separated columns, not query-id, corpus-id, score"),
])
def test_bad_local_data_is_one_error_naming_file_and_line(session_data, tmp_path, monkeypatch, change, message):
    """Issue 16 (item 3): bad placed data never turns into numbers silently; nothing is converted or placed."""
    from pdlib import data

    monkeypatch.setenv("PDLIB_PLACED", str(tmp_path / "placed"))
    folder = _beir(tmp_path / "placed" / "beir" / "made-up" / "test", **change)
    with pytest.raises(PdlibError, match=message):
        data.load("beir/made-up/test")
    assert not list(session_data.glob("placed-irds/beir/made-up/**/docs.tsv"))
    with pytest.raises(PdlibError, match=message):
        data.use_local_beir("made-up-too", folder)
    assert not (data.setup_ir_datasets() / "beir" / "made-up-too" / "source.zip").exists()


def test_a_corrected_placed_folder_replaces_the_old_one(session_data, tmp_path, monkeypatch):
    from pdlib import data

    monkeypatch.setenv("PDLIB_PLACED", str(tmp_path / "placed"))
    folder = _beir(tmp_path / "placed" / "beir" / "fixed" / "test")
    first = data.canonical_id("beir/fixed/test")
    assert len(data.load("beir/fixed/test").qrels) == 3
    (folder / "qrels" / "test.tsv").write_text("q0\td0\t1\nq1\td1\t1\n")
    assert data.canonical_id("beir/fixed/test") != first and len(data.load("beir/fixed/test").qrels) == 2
    # through use_local_beir too (ir_datasets' own id): the new files replace the old, and every cache key of
    # the set changes with them; the same files from another folder change nothing
    from pdlib import cache

    def key():
        return cache.derive("run", "f", None, "beir/quora/test", {}).digest

    data.use_local_beir("quora", folder)
    assert len(data.load("beir/quora/test").qrels) == 2
    before = key()
    other = _beir(tmp_path / "other")  # three qrels lines
    data.use_local_beir("quora", other)
    assert len(data.load("beir/quora/test").qrels) == 3 and key() != before
    moved = tmp_path / "moved"
    shutil.copytree(other, moved)
    after = key()
    data.use_local_beir("quora", moved)
    assert key() == after and len(data.load("beir/quora/test").qrels) == 3
    assert data.content_tag("beir/never-placed/test") == ""  # sets not placed this way: keys as before


@pytest.mark.slow
@pytest.mark.parametrize("trial", [0, 1])
def test_two_runs_on_one_empty_cache_both_succeed_alike(tmp_path, trial):
    """Issue 16 (item 4): two `run_all.sh --only 01` started together on an empty cache and an empty models/
    (3 of 17 such pairs crashed before the locks). Each cache entry, the synthetic set and the stand-ins are
    built under a lock: both runs succeed, and their artifacts are the same files."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PDLIB_DATA": str(tmp_path / "data"), "PDLIB_FIGURES": str(tmp_path / "figures"),
           "PDLIB_MODELS": str(tmp_path / "models"), "IR_DATASETS_HOME": str(tmp_path / "data" / "ir_datasets"),
           "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "pdlib.runner", "--only", "01"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [r.communicate(timeout=600) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], [o[1][-2000:] for o in outs]
    trec = sorted((tmp_path / "data").glob("run/**/*.trec"))
    assert trec and len({p.read_bytes() for p in trec}) == len({p.parent for p in trec})
    stage = json.loads((tmp_path / "data" / "stages" / "smoke" / "run_train.json").read_text())
    assert stage["key"]["stage"] == "run"

"""Data access through ir_datasets: SciFact offline from ../shared/data, the synthetic set, clear errors."""
from collections import Counter

import numpy as np
import pytest

from pdlib import PdlibError, data, evaluate
from pdlib.smoke import synthetic


def test_scifact_train_and_test_load_through_ir_datasets(scifact):
    test = data.load("beir/scifact/test")
    train = data.load("beir/scifact/train", docs=False)
    assert len(test.docs) == 5183                      # BEIR SciFact corpus
    assert len(test.queries) == 300 and len(train.queries) == 809  # ir_datasets keeps each split's queries
    assert test.qrels.qid.nunique() == 300 and len(test.qrels) == 339
    assert train.qrels.qid.nunique() == 809
    doc = test.docs.set_index("docno").text["4983"]
    assert doc.startswith("Microstructural development of human newborn cerebral white matter")  # title + text


def test_unknown_dataset_id_is_one_clear_error(session_data):
    with pytest.raises(PdlibError, match="unknown dataset id 'beir/nosuch'"):
        data.load("beir/nosuch")
    with pytest.raises(PdlibError, match="unknown synthetic dataset"):
        data.load("synthetic/nosuch/train")


def test_missing_offline_data_says_what_to_do(session_data):
    with pytest.raises(PdlibError, match=r"Run once with network.*use_local_beir\('nfcorpus'"):
        data.load("beir/nfcorpus/test")


def test_use_local_beir_rejects_a_folder_that_is_not_beir(tmp_path, session_data):
    with pytest.raises(PdlibError, match="not a BEIR folder"):
        data.use_local_beir("mine", tmp_path)
    assert not (data.setup_ir_datasets() / "beir" / "mine").exists()


def test_every_paper_dataset_has_an_ir_datasets_id():
    import ir_datasets

    ids = list(data.MSMARCO.values()) + list(data.LOTTE.values()) + [data.ODQA["nq"], data.ODQA["trivia-qa"]]
    for name, ds in data.BEIR.items():
        ids += ds if isinstance(ds, list) else ([ds] if ds else [])
        assert ds or name in data.LICENSED
    assert len(data.BEIR) == 18 and len(data.BEIR["cqadupstack"]) == 12
    for dataset_id in ids:
        assert dataset_id in ir_datasets.registry, dataset_id


# --- synthetic ---------------------------------------------------------------------------------------------
def test_synthetic_is_deterministic_per_seed():
    a = synthetic.generate(synthetic.SyntheticSpec(seed=3, n_train=30, n_dev=5, n_test=5))
    b = synthetic.generate(synthetic.SyntheticSpec(seed=3, n_train=30, n_dev=5, n_test=5))
    c = synthetic.generate(synthetic.SyntheticSpec(seed=4, n_train=30, n_dev=5, n_test=5))
    assert a[0].equals(b[0]) and a[1]["train"].equals(b[1]["train"]) and a[2]["test"].equals(b[2]["test"])
    assert not a[0].equals(c[0])


def test_grade_by_hand():
    words = "kelu vaso firo rimo tapa".split()
    assert synthetic.grade((1, "kelu", "vaso"), 1, words) == 2       # bound: "kelu vaso"
    assert synthetic.grade((1, "kelu", "tapa"), 1, words) == 1       # both present, not adjacent
    assert synthetic.grade((1, "vaso", "kelu"), 1, words) == 1       # wrong order is not bound
    assert synthetic.grade((2, "kelu", "vaso"), 1, words) == 0       # other topic
    assert synthetic.grade((1, "kelu", "nope"), 1, words) == 0


def test_synthetic_loads_through_ir_datasets(session_data):
    train = data.load("synthetic/tiny/train")
    test = data.load("synthetic/tiny/test")
    assert data.canonical_id("synthetic/tiny/train").startswith("pdlib-synthetic/tiny-")
    assert len(train.queries) == 20 and len(test.queries) == 8
    assert set(train.qrels.relevance) == {1, 2}
    assert train.qrels.groupby("qid").relevance.max().eq(2).all()  # every query has its planted answer


def _frame(rows):
    import pandas as pd
    return pd.DataFrame(rows, columns=["qid", "docno", "score"])


def test_binding_separates_a_cross_encoder_from_a_bag_of_words_encoder():
    """What makes the set a fair test bed. Even knowing which passages hold a query topic word, a score built from bags of
    words (all that one pooled vector per text can hold) cannot tell the planted grade-2 passage from its
    grade-1 look-alikes, which carry the same query words; a score that sees query and passage together
    (is "a o" bound?) can."""
    docs, queries, qrels = synthetic.generate(synthetic.SyntheticSpec(n_train=10, n_dev=5, n_test=60))
    q, rel = queries["test"], qrels["test"]
    words = [t.split() for t in docs.text]
    bow, joint = [], []
    rng = np.random.default_rng(0)
    for qid, text, topic in zip(q.qid, q.text, q.topic):
        t1, t2, a, o = text.split()
        for docno, dw, dtopic in zip(docs.docno, words, docs.topic):
            counts = Counter(dw)
            named = counts[t1] + counts[t2] > 0  # a query topic word (generator v3: needed for relevance)
            s = 4 * named + (counts[a] > 0) + (counts[o] > 0) + 1e-3 * rng.random()  # ties broken at random
            bound = any(x == a and y == o for x, y in zip(dw, dw[1:]))
            bow.append((qid, docno, s))
            joint.append((qid, docno, s + 2 * bound))
    ndcg_bow = evaluate.evaluate(_frame(bow), rel, ["nDCG@10"])["nDCG@10"]
    ndcg_joint = evaluate.evaluate(_frame(joint), rel, ["nDCG@10"])["nDCG@10"]
    assert ndcg_joint == pytest.approx(1.0)
    assert ndcg_bow < ndcg_joint - 0.04
    # where is the one grade-2 passage? bag of words: a coin toss among look-alikes; joint: always first
    best = rel[rel.relevance == 2]
    assert evaluate.evaluate(_frame(joint), best, ["RR@10"])["RR@10"] == pytest.approx(1.0)
    assert evaluate.evaluate(_frame(bow), best, ["RR@10"])["RR@10"] < 0.75


def test_squad_questions_come_from_dprs_file(session_data):
    col = data.load(data.SQUAD_ID, docs=False)
    assert len(col.queries) == 10570  # SQuAD v1.1 dev, as DPR distributes it
    first = col.queries.iloc[0]
    assert first.text == "Which NFL team represented the AFC at Super Bowl 50?" and "Denver Broncos" in first.answers
    assert data.ODQA["squad"] == data.SQUAD_ID


def test_squad_without_the_file_says_where_to_put_it(tmp_path, monkeypatch):
    from pdlib import paths

    monkeypatch.setattr(paths, "shared_data_dir", lambda: tmp_path)
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path)
    with pytest.raises(PdlibError, match="place DPR's squad1-dev qas file"):
        data.squad_questions()

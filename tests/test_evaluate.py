"""Evaluation on ir-measures, checked against hand-worked values and the paper's own averages."""
import math

import pandas as pd
import pytest

from pdlib import PdlibError, evaluate

QRELS = pd.DataFrame([("q1", "d1", 1), ("q1", "d3", 2), ("q2", "d9", 1)], columns=["qid", "docno", "relevance"])
RUN = pd.DataFrame([("q1", "d2", 3.0), ("q1", "d1", 2.0), ("q1", "d3", 1.0), ("q2", "d4", 2.0), ("q2", "d5", 1.0)],
                   columns=["qid", "docno", "score"])


def test_measures_by_hand():
    m = evaluate.evaluate(RUN, QRELS, ["RR@10", "nDCG@10", "R@2", "Success@2"])
    assert m["RR@10"] == pytest.approx((1 / 2 + 0) / 2)               # q1: first relevant at rank 2; q2: none
    dcg = 1 / math.log2(3) + 2 / math.log2(4)                          # q1: d1 (gain 1) at 2, d3 (gain 2) at 3
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert m["nDCG@10"] == pytest.approx((dcg / idcg + 0) / 2)
    assert m["R@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert m["Success@2"] == pytest.approx(0.5)


def test_rr_is_cut_at_10():
    run = pd.DataFrame({"qid": "q", "docno": [f"x{i}" for i in range(11)] + ["rel"],
                        "score": list(range(100, 89, -1)) + [1.0]})
    qrels = pd.DataFrame([("q", "rel", 1)], columns=["qid", "docno", "relevance"])
    assert evaluate.evaluate(run, qrels, ["RR@10"])["RR@10"] == 0.0


def test_per_query_and_column_errors():
    pq = evaluate.per_query(RUN, QRELS, ["RR@10"]).set_index("qid").value
    assert pq["q1"] == pytest.approx(0.5)
    with pytest.raises(PdlibError, match="missing"):
        evaluate.evaluate(RUN.drop(columns="score"), QRELS)


def test_has_answer_like_dpr():
    assert evaluate.has_answer("Super Bowl 50 was won by the Denver Broncos.", ["denver broncos"])
    assert evaluate.has_answer("Born in Zürich, 1879.", ["Zu\u0308rich"])  # unicode normalised
    assert not evaluate.has_answer("The Broncos of Denver won.", ["Denver Broncos"])  # token sequence
    assert not evaluate.has_answer("Bronco", ["Broncos"])


def test_answer_recall_at_k():
    docs = {"p1": "paris is the capital", "p2": "berlin is big", "p3": "rome"}
    run = pd.DataFrame([("a", "p2", 2.0, 1), ("a", "p1", 1.0, 2), ("b", "p2", 1.0, 1), ("b", "p3", 0.5, 2)],
                       columns=["qid", "docno", "score", "rank"])
    answers = {"a": ["Paris"], "b": ["Madrid"]}
    assert evaluate.answer_recall(run, docs, answers, k=2) == pytest.approx(0.5)  # a hits at 2, b never
    assert evaluate.answer_recall(run, docs, answers, k=1) == pytest.approx(0.0)


def test_group_averages_reproduce_table_1():
    """The paper's own per-dataset numbers (Table 1) give its printed BEIR averages."""
    names = ["trec-covid", "nfcorpus", "fiqa", "arguana", "webis-touche2020", "quora", "scidocs", "scifact", "nq",
             "hotpotqa", "dbpedia-entity", "fever", "climate-fever", "cqadupstack", "robust04", "signal1m",
             "trec-news", "bioasq"]
    pairdistill = [74.2, 34.5, 37.1, 46.8, 26.4, 85.3, 16.2, 71.5, 58.3, 69.3, 46.0, 80.4, 19.4, 38.0, 48.7, 31.2,
                   41.9, 54.8]
    colbertv2 = [73.2, 33.9, 35.6, 45.8, 26.5, 85.1, 15.5, 69.1, 56.3, 67.4, 44.6, 79.0, 18.2, 36.7, 46.8, 30.7,
                 42.0, 52.2]
    for values, printed in ((pairdistill, (47.4, 51.2, 48.9)), (colbertv2, (46.3, 50.0, 47.7))):
        avg = evaluate.group_averages(dict(zip(names, values)))
        assert [round(avg[g], 1) for g in ("PTR-11", "BEIR-13", "All-18")] == list(printed)
    partial = evaluate.group_averages(dict(zip(names[:13], pairdistill[:13])))
    assert partial["All-18"] is None and partial["BEIR-13"] == pytest.approx(51.18, abs=0.01)

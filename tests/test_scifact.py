"""A real measurement: all-MiniLM-L6-v2 on the SciFact test queries through pdlib.

Reference: benchmarks/scifact_minilm.py measured nDCG@10 = 0.6451, RR@10 = 0.6047, R@100 = 0.9250 with the
direct sentence-transformers + faiss pipeline (and the same with pdlib); 64.51 is also the SciFact
nDCG@10 published for this model on the MTEB leaderboard.
"""
import pytest

from pdlib import data, evaluate, models, retrieve

DIRECT = {"nDCG@10": 0.6451, "RR@10": 0.6047, "R@100": 0.9250}


@pytest.mark.slow
def test_minilm_on_scifact_matches_the_direct_pipeline(scifact):
    col = data.load("beir/scifact/test")
    judged = col.queries[col.queries.qid.isin(set(col.qrels.qid))]
    model = models.load_bi_encoder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    run = retrieve.dense_retrieve(model, col.docs, judged, k=100, batch_size=64, progress=False)
    got = evaluate.evaluate(run, col.qrels, tuple(DIRECT))
    for name, value in DIRECT.items():
        assert got[name] == pytest.approx(value, abs=6e-4), name

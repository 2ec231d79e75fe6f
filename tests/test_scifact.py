"""A real measurement through notebook 05: all-MiniLM-L6-v2 on the SciFact test queries (offline data).

Reference: benchmarks/scifact_minilm.py measured nDCG@10 = 0.6451, RR@10 = 0.6047, R@100 = 0.9250 with the
direct sentence-transformers + faiss + ir-measures pipeline (and the same through pdlib); 64.51 is also the
SciFact nDCG@10 published for this model on the MTEB leaderboard.
"""
import pandas as pd
import pytest

from pdlib import paths, runner

DIRECT_NDCG10 = 64.51  # %


@pytest.mark.slow
def test_05_on_scifact_reproduces_the_direct_measurement(scifact):
    # the small profile's 05 (real MiniLM bi-encoder), restricted to SciFact and the initial retriever
    assert runner.main(["--profile", "small", "--only", "05", "-p", "eval_datasets=[scifact]",
                        "-p", "in_domain=scifact", "-p", "eval_student=false"]) == 0
    table1 = pd.read_csv(paths.figures_dir() / "small" / "table1_retrieval.csv").set_index("row")
    assert table1.loc["SciFact", "initial retriever (ours)"] == pytest.approx(DIRECT_NDCG10, abs=0.06)
    assert table1.loc["SciFact", "PairDistill (paper)"] == 71.5 and table1.loc["SciFact", "ColBERTv2 (paper)"] == 69.1
    # averages need every member: not computed from one set
    assert pd.isna(table1.loc["Avg. BEIR-13", "initial retriever (ours)"])
    assert "licensed" not in str(table1.loc["SciFact", "note"])

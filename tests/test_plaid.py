"""ColBERT + PLAID through colbert-ai on CPU, against exhaustive MaxSim with the same checkpoint."""
import numpy as np
import pytest
import torch

from pdlib import PdlibError, data, models, plaid, retrieve


@pytest.fixture(scope="module")
def tiny(session_data):
    return data.load("synthetic/tiny/train"), models.colbert_checkpoint("tiny/colbert")


def _maxsim(ckpt_path, queries, docs):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    ckpt = Checkpoint(ckpt_path, colbert_config=ColBERTConfig(checkpoint=ckpt_path, doc_maxlen=64), verbose=0)
    Q = ckpt.queryFromText(queries, bsize=64).float()
    D, lens = ckpt.docFromText(docs, bsize=64, keep_dims="flatten")
    per_doc = torch.split(D.float(), lens.tolist() if hasattr(lens, "tolist") else list(lens))
    return np.array([[(q @ d.T).max(dim=1).values.sum().item() for d in per_doc] for q in Q])


@pytest.mark.slow
def test_plaid_search_agrees_with_exhaustive_maxsim(tiny, tmp_path):
    col, ckpt = tiny
    folder = plaid.index(ckpt, col.docs, tmp_path / "plaid", nbits=2, doc_maxlen=64)
    assert plaid.index(ckpt, col.docs, folder) == folder  # built once
    run = plaid.search(ckpt, folder, col.queries, k=10)
    assert list(run.columns) == ["qid", "docno", "score", "rank"]
    assert run.groupby("qid").size().eq(10).all()
    exact = _maxsim(ckpt, col.queries.text.tolist(), col.docs.text.tolist())
    docnos = col.docs.docno.to_numpy()
    overlap, rel_err, top1 = [], [], []
    for i, qid in enumerate(col.queries.qid):
        mine = run[run.qid == qid]
        order = np.argsort(-exact[i])
        overlap.append(len(set(docnos[order[:10]]) & set(mine.docno)) / 10)
        col_idx = [int(np.flatnonzero(docnos == d)[0]) for d in mine.docno]
        rel_err.append(np.abs(mine.score.to_numpy() - exact[i, col_idx]) / np.abs(exact[i, col_idx]))
        top1.append(mine.docno.iloc[0] in set(docnos[order[:5]]))
    print(f"overlap@10 {np.mean(overlap):.2f}, relative score error {np.mean(rel_err):.4f}, top-1 in exact top-5 "
          f"{np.mean(top1):.2f}")
    # 2-bit residual compression approximates MaxSim: the same neighbourhood and scores within a few percent
    assert np.mean(overlap) >= 0.6
    assert np.mean(rel_err) < 0.05
    assert np.mean(top1) >= 0.8


@pytest.mark.slow
def test_first_stage_colbert_caches_its_run(tiny):
    col, _ = tiny
    sets = {"train": ("synthetic/tiny/train", col.queries)}
    first = retrieve.first_stage("colbert", "tiny/colbert", col.docs, "synthetic/tiny/train", sets, k=5,
                                 doc_maxlen=64)["train"]
    mtime = first.path.stat().st_mtime_ns
    again = retrieve.first_stage("colbert", "tiny/colbert", col.docs, "synthetic/tiny/train", sets, k=5,
                                 doc_maxlen=64)["train"]
    run = first.frame()
    assert again == first and again.path.stat().st_mtime_ns == mtime and run.groupby("qid").size().eq(5).all()


def test_search_needs_a_finished_index(tmp_path):
    with pytest.raises(PdlibError, match="not a finished PLAID index"):
        plaid.search("x", tmp_path, None)
    with pytest.raises(PdlibError, match="unknown retriever"):
        retrieve.first_stage("bm25", "m", None, "c", {}, k=1)

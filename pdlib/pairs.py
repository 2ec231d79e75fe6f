"""Pair sampling for pairwise relevance distillation (Used in 03_pairwise, 04_distill; §4.2).

D_pair = {(d_i, d_j) | d_i, d_j in ret_k(q), i != j, |i - j| < delta} over the pointwise-reranked top-k,
then n_pairs sampled per query with a seed. The paper: k=100, delta=10, 50 pairs; the authors' code uses a
window of 5 and 100 pairs (no seed) — both reachable through the parameters. A query with fewer candidate
pairs than n_pairs keeps all it has (the authors' code crashes there).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def candidate_pairs(k: int, delta: int) -> np.ndarray:
    """All ordered (i, j) rank positions with i != j and |i - j| < delta among the top k, shape (m, 2)."""
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    mask = (i != j) & (np.abs(i - j) < delta)
    return np.stack([i[mask], j[mask]], axis=1)


def sample_pairs(ranked: pd.DataFrame, k: int = 100, delta: int = 10, n_pairs: int = 50,
                 seed: int = 0) -> pd.DataFrame:
    """Sample pairs per query from a ranked table (`qid, docno, score, rank`) -> `qid, docno_a, docno_b,
    rank_a, rank_b`. Deterministic for a seed; each query draws from its own seeded stream."""
    rows = []
    for n_q, (qid, group) in enumerate(ranked.sort_values(["qid", "rank"]).groupby("qid", sort=True)):
        docnos = group.docno.to_numpy()[:k]
        cand = candidate_pairs(len(docnos), delta)
        rng = np.random.default_rng([seed, n_q])
        take = cand if len(cand) <= n_pairs else cand[np.sort(rng.choice(len(cand), n_pairs, replace=False))]
        for i, j in take:
            rows.append((qid, docnos[i], docnos[j], int(i) + 1, int(j) + 1))
    return pd.DataFrame(rows, columns=["qid", "docno_a", "docno_b", "rank_a", "rank_b"])


def training_examples(pointwise: pd.DataFrame, pairs: pd.DataFrame, n_passages: int = 64) -> pd.DataFrame:
    """One row per query for distillation (Used in 04_distill): `qid, docnos` (pointwise-sorted top
    n_passages), `teacher_scores`, and `pair_i, pair_j` (positions into docnos of the sampled pairs; pairs
    with a passage outside the top n_passages are dropped). `pair_probs` joins in 03's teacher later."""
    rows = []
    pairs_by_q = dict(tuple(pairs.groupby("qid")))
    for qid, group in pointwise.sort_values(["qid", "score"], ascending=[True, False]).groupby("qid", sort=True):
        top = group.head(n_passages)
        pos = {d: i for i, d in enumerate(top.docno)}
        qp = pairs_by_q.get(qid, pairs.iloc[:0])
        keep = qp.docno_a.isin(pos) & qp.docno_b.isin(pos)
        rows.append((qid, top.docno.tolist(), top.score.astype(float).tolist(),
                     [pos[d] for d in qp.docno_a[keep]], [pos[d] for d in qp.docno_b[keep]]))
    return pd.DataFrame(rows, columns=["qid", "docnos", "teacher_scores", "pair_i", "pair_j"])

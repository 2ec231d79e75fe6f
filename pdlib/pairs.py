"""Pair sampling for pairwise relevance distillation (Used in 03_pairwise, 04_distill; §4.2).

D_pair = {(d_i, d_j) | d_i, d_j in ret_k(q), i != j, |i - j| < delta} over the pointwise-reranked top-k,
then n_pairs sampled per query with a seed. The paper: k=100, delta=10, 50 pairs; the authors' code uses a
window of 5 (j in i+1..i+5, i.e. delta=6) and 100 pairs (no seed) — both reachable through the parameters. A
query with fewer candidate pairs than n_pairs keeps all it has (the authors' code crashes there).

Orientation (`orders`): "one" (default, the paper and the authors) takes each unordered pair once, the
passage the pointwise teacher ranks higher first, and the pairwise teacher scores it in that order;
"both" (our option) samples ordered pairs in either direction and scores each in both orders, averaging
away the teacher's position bias (combine_orders).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


ORDERS = ("one", "both")
SELECT = ("window", "uncertain")           # which pairs of the window (07_beyond: the pair budget)
KD_SAMPLING = ("top", "stratified", "random")  # which passages fill a query's list (07_beyond)


def candidate_pairs(k: int, delta: int, orders: str = "one") -> np.ndarray:
    """Rank positions (i, j) among the top k with 0 < |i - j| < delta, shape (m, 2): i < j only (orders="one",
    the higher-ranked passage first) or every ordered pair (orders="both")."""
    if orders not in ORDERS:
        raise ValueError(f"orders must be one of {ORDERS}, got {orders!r}")
    i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    mask = (i != j) & (np.abs(i - j) < delta) & ((i < j) if orders == "one" else True)
    return np.stack([i[mask], j[mask]], axis=1)


def sample_pairs(ranked: pd.DataFrame, k: int = 100, delta: int = 10, n_pairs: int = 50,
                 seed: int = 0, orders: str = "one", select: str = "window") -> pd.DataFrame:
    """Sample pairs per query from a ranked table (`qid, docno, score, rank`) -> `qid, docno_a, docno_b,
    rank_a, rank_b`. Deterministic for a seed; each query draws from its own seeded stream.

    select: "window" (the paper) draws n_pairs at random from the δ-window; "uncertain" (ours, 07_beyond) takes
    the n_pairs of the window whose pointwise scores are closest, the pairs the pointwise teacher is least
    sure of (ties: higher-ranked first; no randomness)."""
    if select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}, got {select!r}")
    rows = []
    for n_q, (qid, group) in enumerate(ranked.sort_values(["qid", "rank"]).groupby("qid", sort=True)):
        docnos = group.docno.to_numpy()[:k]
        cand = candidate_pairs(len(docnos), delta, orders)
        if len(cand) <= n_pairs:
            take = cand
        elif select == "uncertain":
            score = group.score.to_numpy(dtype=np.float64)[:k]
            gap = np.abs(score[cand[:, 0]] - score[cand[:, 1]])
            take = cand[np.sort(np.lexsort((cand[:, 1], cand[:, 0], gap))[:n_pairs])]
        else:
            rng = np.random.default_rng([seed, n_q])
            take = cand[np.sort(rng.choice(len(cand), n_pairs, replace=False))]
        for i, j in take:
            rows.append((qid, docnos[i], docnos[j], int(i) + 1, int(j) + 1))
    return pd.DataFrame(rows, columns=["qid", "docno_a", "docno_b", "rank_a", "rank_b"])


def kd_fill(candidates: list, m: int, how: str = "top", rng: np.random.Generator | None = None) -> list:
    """m of `candidates` (a query's passages outside its pairs, best pointwise score first) to fill its list:
    "top" the m best (the paper, the authors' convert script); "random" m uniformly; "stratified" (after
    "Beyond Hard Negatives", 2026: keep the teacher's score distribution) cuts the candidates, in score order,
    into m strata of (nearly) equal size and draws one passage from each. The result keeps score order.

    Worked example: 10 candidates, m = 2, stratified: strata 0-4 and 5-9, one passage from each."""
    if how not in KD_SAMPLING:
        raise ValueError(f"kd_sampling must be one of {KD_SAMPLING}, got {how!r}")
    if m <= 0:
        return []
    if how == "top" or m >= len(candidates):
        return list(candidates[:m])
    rng = rng if rng is not None else np.random.default_rng(0)
    if how == "random":
        idx = np.sort(rng.choice(len(candidates), m, replace=False))
    else:
        idx = [int(rng.choice(stratum)) for stratum in np.array_split(np.arange(len(candidates)), m)]
    return [candidates[i] for i in idx]


def training_examples(pointwise: pd.DataFrame, pairs: pd.DataFrame, n_passages: int = 64, kd_sampling: str = "top",
                      seed: int = 0) -> pd.DataFrame:
    """One row per query for distillation (Used in 04_distill): `qid, docnos`, `teacher_scores`, and
    `pair_i, pair_j` (positions into docnos of the sampled pairs), `pair_probs` (03's P_pair(d_i ≻ d_j | q)).

    A query's list is built as the authors' convert script builds it: the passages of its sampled pairs
    first, then filled from the pointwise ranking, the whole sorted by pointwise score. It holds every pair
    passage — no sampled pair is dropped — and at least n_passages passages (more when the pairs touch more).
    kd_sampling: how the fill is chosen among the query's other scored passages (`kd_fill`; "top", the paper's,
    by default), seeded per query with `seed`."""
    rows = []
    pairs_by_q = dict(tuple(pairs.groupby("qid")))
    ordered = pointwise.sort_values(["qid", "score"], ascending=[True, False]).groupby("qid", sort=True)
    for n_q, (qid, group) in enumerate(ordered):
        qp = pairs_by_q.get(qid, pairs.iloc[:0])
        in_pairs = set(qp.docno_a) | set(qp.docno_b)
        missing = in_pairs - set(group.docno)
        if missing:
            raise ValueError(f"query {qid}: {len(missing)} pair passages have no pointwise score "
                             f"(e.g. {sorted(missing)[0]}): pairs and scores must come from one ranking")
        fill = kd_fill([d for d in group.docno if d not in in_pairs], n_passages - len(in_pairs), kd_sampling,
                       np.random.default_rng([seed, n_q]))
        chosen = group[group.docno.isin(in_pairs | set(fill))]  # still in pointwise order
        pos = {d: i for i, d in enumerate(chosen.docno)}
        probs = qp.prob.astype(float).tolist() if "prob" in qp else [float("nan")] * len(qp)
        rows.append((qid, chosen.docno.tolist(), chosen.score.astype(float).tolist(),
                     [pos[d] for d in qp.docno_a], [pos[d] for d in qp.docno_b], probs))
    return pd.DataFrame(rows, columns=["qid", "docnos", "teacher_scores", "pair_i", "pair_j", "pair_probs"])


# --- pairwise teacher outputs (03_pairwise) ------------------------------------------------------------
def both_orders(sampled: pd.DataFrame) -> pd.DataFrame:
    """Each sampled pair in both orders, for scoring: `pair, order, qid, docno_a, docno_b` (order 1 = swapped)."""
    fwd = sampled[["qid", "docno_a", "docno_b"]].assign(pair=np.arange(len(sampled)), order=0)
    rev = fwd.rename(columns={"docno_a": "docno_b", "docno_b": "docno_a"}).assign(order=1)
    return pd.concat([fwd, rev], ignore_index=True)[["pair", "order", "qid", "docno_a", "docno_b"]]


def combine_orders(sampled: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Remove position bias: prob = (P(a ≻ b | a first) + 1 − P(b ≻ a | b first)) / 2  (our addition; the
    paper scores one order). Returns the pair table `qid, docno_a, docno_b, prob, prob_forward, prob_reverse`."""
    fwd = scored[scored.order == 0].set_index("pair").score
    rev = scored[scored.order == 1].set_index("pair").score
    idx = np.arange(len(sampled))
    out = sampled[["qid", "docno_a", "docno_b"]].reset_index(drop=True).copy()
    out["prob_forward"] = fwd.reindex(idx).to_numpy(dtype=np.float64)
    out["prob_reverse"] = rev.reindex(idx).to_numpy(dtype=np.float64)
    out["prob"] = (out.prob_forward + 1.0 - out.prob_reverse) / 2.0
    return out


def one_order(sampled: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Pairs scored once, in the sampled order (the paper): the pair table with prob = prob_forward."""
    out = sampled[["qid", "docno_a", "docno_b"]].reset_index(drop=True).copy()
    out["prob_forward"] = scored.score.to_numpy(dtype=np.float64)
    out["prob_reverse"] = np.nan
    out["prob"] = out.prob_forward
    return out


def order_effect(pair_table: pd.DataFrame) -> dict[str, float]:
    """What scoring both orders changes (a pair table scored in both orders, e.g. 03's dev pairs): the
    position bias, and the share of pairs whose decision (p > ½) differs between the first order alone and
    the average of both."""
    both = pair_table.dropna(subset=["prob_reverse"])
    flips = (both.prob_forward > 0.5) != (both.prob > 0.5)
    return {"position bias": position_bias(both), "decisions changed by averaging": float(flips.mean())}


def first_order_only(pair_table: pd.DataFrame, ranked: pd.DataFrame) -> pd.DataFrame:
    """From a table scored in both orders: each pair once, the passage `ranked` puts higher first, with the
    probability of that order alone (prob = prob_forward) — what one-order scoring would have seen."""
    rank = ranked.set_index(["qid", "docno"])["rank"]
    ra = rank.reindex(pd.MultiIndex.from_arrays([pair_table.qid, pair_table.docno_a])).to_numpy()
    rb = rank.reindex(pd.MultiIndex.from_arrays([pair_table.qid, pair_table.docno_b])).to_numpy()
    return pair_table[ra < rb].assign(prob=lambda f: f.prob_forward).reset_index(drop=True)


def position_bias(pair_table: pd.DataFrame) -> float:
    """Mean of P(a≻b | a first) + P(b≻a | b first) − 1: 0 for an order-consistent teacher, > 0 when it
    favours the first passage."""
    return float((pair_table.prob_forward + pair_table.prob_reverse - 1.0).mean())


def passages_of(pair_table: pd.DataFrame) -> pd.DataFrame:
    """The distinct (qid, docno) of a pair table's passages, e.g. to score them with a student (04)."""
    return pd.concat([pair_table[["qid", "docno_a"]].rename(columns={"docno_a": "docno"}),
                      pair_table[["qid", "docno_b"]].rename(columns={"docno_b": "docno"})]).drop_duplicates()


def sym_sum(pair_table: pd.DataFrame, ranked: pd.DataFrame) -> pd.DataFrame:
    """Aggregate pairwise probabilities into a ranking (duoT5's sym-sum): a passage scores the sum of
    P(it ≻ other) over its pairs; passages in pairs go first by that score, the rest keep `ranked`'s order."""
    agg = pd.concat([
        pair_table[["qid", "docno_a", "prob"]].rename(columns={"docno_a": "docno", "prob": "s"}),
        pair_table[["qid", "docno_b", "prob"]].rename(columns={"docno_b": "docno"}).assign(s=lambda f: 1 - f.prob),
    ])[["qid", "docno", "s"]].groupby(["qid", "docno"], as_index=False).s.sum()
    out = ranked[["qid", "docno", "rank"]].merge(agg, on=["qid", "docno"], how="left")
    out["in_pairs"] = out.s.notna()
    out = out.sort_values(["qid", "in_pairs", "s", "rank"], ascending=[True, False, False, True], kind="stable")
    out["rank"] = out.groupby("qid").cumcount() + 1
    out["score"] = -out["rank"].astype(float)
    return out[["qid", "docno", "score", "rank"]].reset_index(drop=True)


def disagreement(pair_table: pd.DataFrame, pointwise: pd.DataFrame) -> float:
    """Appendix A.2: share of pairs where the pointwise teacher orders (a, b) unlike the pairwise teacher
    (s_point(a) > s_point(b) versus P(a ≻ b) > 0.5)."""
    s = pointwise.set_index(["qid", "docno"]).score
    sa = s.reindex(list(zip(pair_table.qid, pair_table.docno_a))).to_numpy()
    sb = s.reindex(list(zip(pair_table.qid, pair_table.docno_b))).to_numpy()
    return float(np.mean((sa > sb) != (pair_table.prob.to_numpy() > 0.5)))


def agreement(pair_table: pd.DataFrame, scores: pd.DataFrame) -> float:
    """Fraction of the teacher's decided pairs (p ≠ ½) that a scorer orders the same way: sign(s_a − s_b) =
    sign(p − ½). pair_table: qid, docno_a, docno_b, prob; scores: qid, docno, score (e.g. a student's).
    Used in 04_distill for held-out agreement with the pairwise teacher (before vs after distillation)."""
    s = scores.set_index(["qid", "docno"]).score
    t = pair_table[pair_table.prob != 0.5]
    a = s.reindex(pd.MultiIndex.from_arrays([t.qid, t.docno_a])).to_numpy()
    b = s.reindex(pd.MultiIndex.from_arrays([t.qid, t.docno_b])).to_numpy()
    if len(t) == 0 or np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("agreement: every pair needs a score for both passages (and the teacher must decide some pair)")
    return float(np.mean((a > b) == (t.prob.to_numpy() > 0.5)))

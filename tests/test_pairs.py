"""Pair sampling (δ, n, seed, short lists) and the pairwise table operations."""
import numpy as np
import pandas as pd
import pytest

from pdlib import pairs


def _ranked(n_queries=3, k=100):
    return pd.DataFrame([(f"q{q}", f"q{q}d{r}", -r, r + 1) for q in range(n_queries) for r in range(k)],
                        columns=["qid", "docno", "score", "rank"])


def test_candidate_pairs_by_hand():
    # the paper's orientation: each pair once, the higher-ranked passage (smaller rank position) first
    assert {tuple(p) for p in pairs.candidate_pairs(4, 2)} == {(0, 1), (1, 2), (2, 3)}
    got = {tuple(p) for p in pairs.candidate_pairs(4, 2, orders="both")}
    assert got == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    assert len(pairs.candidate_pairs(100, 10)) == sum(100 - g for g in range(1, 10))  # 855
    assert len(pairs.candidate_pairs(100, 10, orders="both")) == 1710
    # the authors' window: j in i+1..i+5 is delta = 6
    assert {tuple(p) for p in pairs.candidate_pairs(8, 6) if p[0] == 0} == {(0, j) for j in range(1, 6)}
    with pytest.raises(ValueError, match="orders"):
        pairs.candidate_pairs(4, 2, orders="reversed")


def test_sampling_respects_delta_n_and_seed():
    ranked = _ranked()
    a = pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=0)
    assert a.groupby("qid").size().eq(50).all()
    assert ((a.rank_b - a.rank_a).between(1, 9)).all()  # higher-ranked first, gap below delta
    assert not a.duplicated(["qid", "docno_a", "docno_b"]).any()
    assert a.equals(pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=0))
    assert not a.equals(pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=1))
    code = pairs.sample_pairs(ranked, k=100, delta=6, n_pairs=100, seed=0)  # the authors' code variant
    assert code.groupby("qid").size().eq(100).all() and ((code.rank_b - code.rank_a).between(1, 5)).all()
    top = pairs.sample_pairs(ranked, k=20, delta=10, n_pairs=50, seed=0)
    assert (top[["rank_a", "rank_b"]] <= 20).all().all()


def test_short_lists_keep_all_their_pairs():
    ranked = _ranked(n_queries=2, k=3)
    got = pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=0)
    assert got.groupby("qid").size().eq(3).all()  # 3 passages: 3 pairs, fewer than 50
    both = pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=0, orders="both")
    assert both.groupby("qid").size().eq(6).all()


def test_both_orders_and_debiasing_by_hand():
    sampled = pd.DataFrame({"qid": ["q", "q"], "docno_a": ["a", "b"], "docno_b": ["b", "c"]})
    items = pairs.both_orders(sampled)
    assert items[["docno_a", "docno_b"]].values.tolist() == [["a", "b"], ["b", "c"], ["b", "a"], ["c", "b"]]
    # a teacher that prefers whatever comes first: P = 0.9 forward, P(b > a | b first) = 0.7
    scored = items.assign(score=[0.9, 0.6, 0.7, 0.5])
    table = pairs.combine_orders(sampled, scored)
    assert table.prob.tolist() == pytest.approx([(0.9 + 0.3) / 2, (0.6 + 0.5) / 2])
    assert pairs.position_bias(table) == pytest.approx(((0.9 + 0.7 - 1) + (0.6 + 0.5 - 1)) / 2)


def test_sym_sum_and_disagreement_by_hand():
    ranked = pd.DataFrame({"qid": "q", "docno": ["a", "b", "c", "d"], "score": [4, 3, 2, 1], "rank": [1, 2, 3, 4]})
    table = pd.DataFrame({"qid": "q", "docno_a": ["a", "a", "b"], "docno_b": ["b", "c", "c"],
                          "prob": [0.2, 0.4, 0.9]})
    # sums: a = 0.2 + 0.4 = 0.6; b = 0.8 + 0.9 = 1.7; c = 0.6 + 0.1 = 0.7; d not compared, stays last
    assert pairs.sym_sum(table, ranked).docno.tolist() == ["b", "c", "a", "d"]
    pointwise = ranked[["qid", "docno", "score"]]
    # pointwise says a > b, a > c, b > c; pairwise says b > a, c > a, b > c -> 2 of 3 disagree
    assert pairs.disagreement(table, pointwise) == pytest.approx(2 / 3)


def test_training_examples_keep_every_pair_and_fill_from_the_ranking():
    """Hand-worked: pointwise order b (3), c (2), d (1.5), a (1), e (0). Pairs (b, c) and (a, b) touch a, b, c;
    n_passages = 2 is not enough for them, so the list holds all three (sorted by pointwise score) and no pair is
    dropped; n_passages = 4 fills one more from the ranking (d), never e."""
    point = pd.DataFrame({"qid": "q", "docno": ["a", "b", "c", "d", "e"], "score": [1.0, 3.0, 2.0, 1.5, 0.0]})
    sampled = pd.DataFrame({"qid": "q", "docno_a": ["b", "a"], "docno_b": ["c", "b"]})
    ex = pairs.training_examples(point, sampled, n_passages=2).iloc[0]
    assert ex.docnos == ["b", "c", "a"] and ex.teacher_scores == [3.0, 2.0, 1.0]
    assert list(ex.pair_i) == [0, 2] and list(ex.pair_j) == [1, 0]
    ex4 = pairs.training_examples(point, sampled, n_passages=4).iloc[0]
    assert ex4.docnos == ["b", "c", "d", "a"] and list(ex4.pair_i) == [0, 3] and list(ex4.pair_j) == [1, 0]
    with pytest.raises(ValueError, match="no pointwise score"):
        pairs.training_examples(point[point.docno != "a"], sampled, n_passages=2)


def test_training_examples_carry_pair_probabilities():
    point = pd.DataFrame({"qid": "q", "docno": ["a", "b", "c"], "score": [1.0, 3.0, 2.0]})
    table = pd.DataFrame({"qid": "q", "docno_a": ["b", "c"], "docno_b": ["c", "a"], "prob": [0.9, 0.4]})
    ex = pairs.training_examples(point, table, n_passages=3).iloc[0]
    assert list(ex.pair_i) == [0, 1] and list(ex.pair_j) == [1, 2] and list(ex.pair_probs) == [0.9, 0.4]


def test_kd_fill_top_random_and_stratified_by_hand():
    """07_beyond's kd_sampling: 10 candidates in score order, fill 2. top: the 2 best; stratified: one from
    ranks 0-4 and one from 5-9 (the teacher's score distribution kept); random: any 2; all in score order."""
    cands = [f"d{r}" for r in range(10)]
    assert pairs.kd_fill(cands, 2, "top") == ["d0", "d1"]
    assert pairs.kd_fill(cands, 0, "stratified") == [] and pairs.kd_fill(cands[:3], 5, "random") == cands[:3]
    draws = [pairs.kd_fill(cands, 2, "stratified", np.random.default_rng(s)) for s in range(40)]
    assert all(int(a[1:]) < 5 <= int(b[1:]) for a, b in draws)
    assert len({tuple(d) for d in draws}) > 5  # it draws, not always the same two
    assert pairs.kd_fill(cands, 2, "stratified", np.random.default_rng(3)) == draws[3]  # seeded
    rand = [pairs.kd_fill(cands, 2, "random", np.random.default_rng(s)) for s in range(40)]
    assert any(int(a[1:]) >= 5 for a, _ in rand) and all(int(a[1:]) < int(b[1:]) for a, b in rand)
    strata = [pairs.kd_fill(cands, 3, "stratified", np.random.default_rng(s)) for s in range(20)]
    assert all(int(a[1:]) <= 3 < int(b[1:]) <= 6 < int(c[1:]) for a, b, c in strata)  # strata 0-3, 4-6, 7-9
    with pytest.raises(ValueError, match="kd_sampling"):
        pairs.kd_fill(cands, 2, "hardest")


def test_training_examples_fill_with_the_kd_sampling():
    """With kd_sampling the pair passages stay and the fill comes from the whole scored list."""
    point = _ranked(1, 40).drop(columns="rank")
    sampled = pairs.sample_pairs(_ranked(1, 40), k=4, delta=2, n_pairs=3)  # pairs among the top 4
    table = sampled.assign(prob=0.7)
    top = pairs.training_examples(point, table, 8).docnos[0]
    assert top == [f"q0d{r}" for r in range(8)]
    strat = pairs.training_examples(point, table, 8, "stratified", seed=1).docnos[0]
    assert strat[:4] == [f"q0d{r}" for r in range(4)] and len(strat) == 8
    rest = [int(d.split("d")[1]) for d in strat[4:]]  # one from each quarter of ranks 4-39
    assert [r // 9 for r in (x - 4 for x in rest)] == [0, 1, 2, 3]
    assert strat == pairs.training_examples(point, table, 8, "stratified", seed=1).docnos[0]


def test_uncertain_selection_takes_the_closest_pointwise_scores():
    """select="uncertain": of the window's pairs, the n whose pointwise scores are closest (hand-made scores)."""
    ranked = pd.DataFrame({"qid": "q", "docno": ["a", "b", "c", "d", "e"], "score": [9.0, 8.9, 5.0, 4.0, 3.95],
                           "rank": [1, 2, 3, 4, 5]})
    got = pairs.sample_pairs(ranked, k=5, delta=3, n_pairs=2, select="uncertain")
    assert list(zip(got.docno_a, got.docno_b)) == [("a", "b"), ("d", "e")]  # gaps 0.1 and 0.05
    got3 = pairs.sample_pairs(ranked, k=5, delta=3, n_pairs=3, select="uncertain")
    # within the window the gaps are a-b .1, a-c 4, b-c 3.9, b-d 4.9, c-d 1.0, c-e 1.05, d-e .05
    assert list(zip(got3.docno_a, got3.docno_b)) == [("a", "b"), ("c", "d"), ("d", "e")]
    with pytest.raises(ValueError, match="select"):
        pairs.sample_pairs(ranked, select="hardest")

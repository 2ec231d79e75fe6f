"""One distillation round end to end, for iterative training (Used in 04_distill, 06_domain_adapt; §4.3).

A round: retrieve the training queries' top-k with the current student (re-indexing the corpus), rerank them
with the pointwise teacher, sample pairs from that ranking, score the pairs in both orders with the pairwise
teacher, build the examples and fine-tune the student from where it is. Teacher scores already computed in
an earlier round — the same (query, passage) or (query, pair) — are reused, not recomputed.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from . import cache, pairs, rerank, retrieve, scoring, train


@dataclass
class Teachers:
    pointwise: str
    pairwise: str
    k: int = 100                # top-k retrieved and reranked (§5.2)
    delta: int = 10             # pair window (§4.2)
    n_pairs: int = 50           # pairs per query (§5.2)
    batch_size: int = 64
    max_length_point: int = 256
    max_length_pair: int = 512
    known_point: pd.DataFrame | None = field(default=None, repr=False)   # qid, docno, score
    known_pair: pd.DataFrame | None = field(default=None, repr=False)    # qid, docno_a, docno_b, score


def _reuse(known: pd.DataFrame | None, items: pd.DataFrame, cols: list[str]):
    if known is None or known.empty:
        return items.iloc[:0].assign(score=[]), items
    merged = items.merge(known[cols + ["score"]].drop_duplicates(cols), on=cols, how="left")
    return merged[merged.score.notna()], merged[merged.score.isna()][items.columns]


def score_with_reuse(teachers: Teachers, key: cache.Key, items: pd.DataFrame, queries, docs, pairwise: bool):
    """Teacher scores of `items`, computing only rows not in the teachers' `known_*` frames (then adding them)."""
    cols = ["qid", "docno_a", "docno_b"] if pairwise else ["qid", "docno"]
    attr = "known_pair" if pairwise else "known_point"
    have, todo = _reuse(getattr(teachers, attr), items, cols)
    if len(todo):
        job_items = todo if pairwise else todo.rename(columns={"docno": "docno_a"})
        # which rows are new depends on what earlier rounds scored: the job folder is named by its rows
        new = scoring.score(cache.path(key, f"job-{scoring.rows_hash(job_items)}"), teachers.pairwise if pairwise else teachers.pointwise,
                            job_items.reset_index(drop=True), queries, docs, pairwise=pairwise,
                            batch_size=teachers.batch_size,
                            max_length=teachers.max_length_pair if pairwise else teachers.max_length_point)
        new = new if pairwise else new.rename(columns={"docno_a": "docno"})
        new = new[cols + ["score"]]
    else:
        new = items.iloc[:0].assign(score=[])[cols + ["score"]]
    known = getattr(teachers, attr)
    setattr(teachers, attr, pd.concat([known, new], ignore_index=True) if known is not None else new)
    return pd.concat([have[cols + ["score"]], new], ignore_index=True), len(todo)


def round_examples(student: str, retriever: str, dataset: str, coll, teachers: Teachers, seed: int,
                   n_passages: int, round_no: int, progress: bool = True) -> tuple[Path, cache.Key, dict]:
    """Retrieve with `student`, score with both teachers (reusing earlier scores), sample pairs and write
    the training examples. Returns (examples path, key, counts of newly scored items)."""
    runs = retrieve.first_stage(retriever, str(student), coll.docs, dataset, {"train": (dataset, coll.queries)},
                                k=teachers.k, progress=progress)
    run, run_key = runs["train"]
    base = {"run": [run_key.model, run_key.params], "teachers": [teachers.pointwise, teachers.pairwise], "round": round_no}
    point_key = cache.key("pointwise", teachers.pointwise, dataset, {**base, "k": teachers.k})
    point, new_point = score_with_reuse(teachers, point_key, run[["qid", "docno"]], coll.queries, coll.docs, False)
    path, ex_key, new_pair = pair_examples(point, teachers, dataset, coll, seed, n_passages, base)
    return path, ex_key, {"pointwise scored": new_point, "pair prompts scored": new_pair}


def pair_examples(point: pd.DataFrame, teachers: Teachers, dataset: str, coll, seed: int, n_passages: int,
                  base: dict, delta: int | None = None) -> tuple[Path, cache.Key, int]:
    """From pointwise teacher scores: sample pairs from the pointwise ranking (window `delta`, default the
    teachers'; delta = k samples from all pairs, the Table 3 ablation), score them in both orders with the
    pairwise teacher (reusing known scores) and write the training examples. Returns (path, key, new prompts)."""
    delta = teachers.delta if delta is None else delta
    sampled = pairs.sample_pairs(rerank.to_run(point), k=teachers.k, delta=delta, n_pairs=teachers.n_pairs, seed=seed)
    pair_key = cache.key("pairs", teachers.pairwise, dataset, {**base, "delta": delta, "n": teachers.n_pairs, "seed": seed})
    both = pairs.both_orders(sampled)
    scored, new_pair = score_with_reuse(teachers, pair_key, both[["qid", "docno_a", "docno_b"]], coll.queries,
                                        coll.docs, True)
    scored = both.merge(scored.drop_duplicates(["qid", "docno_a", "docno_b"]), on=["qid", "docno_a", "docno_b"])
    table = pairs.combine_orders(sampled, scored)
    ex_key = cache.key("examples", "round", dataset, {**base, "pairs": pair_key.params, "n_passages": n_passages})
    path = cache.write_frame(cache.path(ex_key, "examples.parquet"), pairs.training_examples(point, table, n_passages))
    return path, ex_key, new_pair


def iterate(cfg: train.TrainConfig, first_examples: Path, first_key: cache.Key, dataset: str, coll,
            teachers: Teachers, retriever: str, iterations: int, progress: bool = True) -> list[dict]:
    """§4.3: train round 1 on the given examples, then (iterations − 1) times re-retrieve with the new
    student, re-score and fine-tune it again. Returns one dict per round: model folder, examples, new scores."""
    out, init, examples, key, counts = [], cfg.init, first_examples, first_key, {}
    for r in range(1, iterations + 1):
        if r > 1:
            examples, key, counts = round_examples(init, retriever, dataset, coll, teachers, cfg.seed, cfg.n_passages,
                                                   r, progress)
        rcfg = replace(cfg, init=str(init))
        job = cache.path(cache.key("train", cfg.student, dataset, {"examples": key.params, "config": vars(rcfg)}))
        model = train.train(job, rcfg, examples, dataset, progress=progress)
        out.append({"iteration": r, "model": str(model), "job": str(job), "examples": str(examples), **counts})
        init = model
    return out


def known_pairs(pair_table: pd.DataFrame) -> pd.DataFrame:
    """03_pairwise's pair table (both orders' probabilities) as ordered prompts with scores, for reuse."""
    fwd = pair_table[["qid", "docno_a", "docno_b", "prob_forward"]].rename(columns={"prob_forward": "score"})
    rev = pair_table[["qid", "docno_b", "docno_a", "prob_reverse"]].rename(
        columns={"docno_b": "docno_a", "docno_a": "docno_b", "prob_reverse": "score"})
    return pd.concat([fwd, rev], ignore_index=True)

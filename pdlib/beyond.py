"""Beyond the paper: three options of the one training loop, compared on the dev set (Used in 07_beyond).

1. **Which passages the student distils from** (`kd_sampling`): the pointwise teacher's top of the list (the
   paper), a stratified sample of its score distribution ("Beyond Hard Negatives: The Importance of Score
   Distribution in Knowledge Distillation for Dense Retrieval", 2026), or a uniform sample
   (pdlib.pairs.kd_fill). A list keeps every passage of its sampled pairs (L_pair needs them); the sampling
   chooses the rest, so lists must be longer than the pairs' passages for it to matter (`n_passages`).
2. **MD2PR** (pdlib.md2pr): word-level distillation from the cross-encoder's attention and dynamic
   false-negative filtering, beside PairDistill, all with L_CL over the query's own list (the filter acts there).
3. **The pair budget**: pairs per query (the paper: 50 from the δ-window) against quality, and a selection of
   ours, `uncertain` (the window's pairs whose pointwise scores are closest). The pairwise teacher's cost is
   the number of pair prompts it scores (one forward pass each; cost share = prompts / the paper's 50 a query).

Every row is a cached training run (pdlib.train.train_student), so rows shared with 04 (PairDistill with 50
window pairs and the top fill) are not trained twice, and the seeds study (benchmarks/seeds.py) reruns this
over seeds.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from . import cache, data, distill, tables, train


def kd_sampling_rows(base: train.TrainConfig, point: cache.Artifact, probs: cache.Artifact, dataset: str,
                     samplings: list[str], n_passages: int, seed: int, dev: tables.StudentEval) -> pd.DataFrame:
    """One PairDistill student per kd_sampling, lists of n_passages (the same pairs): dev RR@10 / nDCG@10."""
    rows = []
    for how in samplings:
        examples = distill.training_examples(point, probs, n_passages, how, None if how == "top" else seed)
        model = train.train_student(replace(base, n_passages=n_passages), examples, dataset)
        lists = examples.frame().docnos.map(len)
        rows.append({"kd_sampling": how, "passages per query": round(float(lists.mean()), 1),
                     **dev.evaluate(model.path, base.student)})
    return pd.DataFrame(rows)


def md2pr_configs(base: train.TrainConfig, word_teacher: str, lambda_word: float, fn_margin: float,
                  ablations: bool = True) -> list[tuple[str, train.TrainConfig]]:
    """MD2PR's rows: (row, config), all with L_CL over the query's own list (in_batch=False). ablations adds
    each of MD2PR's two additions alone."""
    own = replace(base, in_batch=False)
    word = dict(lambda_word=lambda_word, word_teacher=word_teacher)
    rows = [("PairDistill (own-list L_CL)", own),
            ("PairDistill + word level + filter", replace(own, **word, fn_margin=fn_margin)),
            ("MD2PR: L_CL + sentence + word + filter (no L_pair)", replace(own, **word, fn_margin=fn_margin,
                                                                          lambda_pair=0.0))]
    if ablations:
        rows[1:1] = [("PairDistill + word level", replace(own, **word)),
                     ("PairDistill + false-negative filter", replace(own, fn_margin=fn_margin))]
    return rows


def md2pr_rows(base: train.TrainConfig, examples: cache.Artifact, dataset: str, word_teacher: str,
               lambda_word: float, fn_margin: float, dev: tables.StudentEval, ablations: bool = True) -> pd.DataFrame:
    rows = []
    for row, cfg in md2pr_configs(base, word_teacher, lambda_word, fn_margin, ablations):
        model = train.train_student(cfg, examples, dataset)
        rows.append({"row": row, **dev.evaluate(model.path, cfg.student)})
    return pd.DataFrame(rows)


def budget_rows(base: train.TrainConfig, point: cache.Artifact, teachers: distill.Teachers, coll: data.Collection,
                dataset: str, budgets: list[int], selections: list[str], seed: int, dev: tables.StudentEval,
                progress: bool = True) -> pd.DataFrame:
    """One PairDistill student per (selection, pairs per query): the pairs sampled from the pointwise top-k
    (the teachers' window δ), scored by the pairwise teacher (scores already in its store are reused), the
    examples built as 04 builds them. Cost: pair prompts scored, and their share of the paper's budget."""
    k = teachers.k_pairs or teachers.k
    rows = []
    for select in selections:
        for n in budgets:
            sampled = distill.sampled_pairs(point, k, teachers.delta, int(n), seed, teachers.orders, select)
            probs = distill.pair_probs(teachers.pairwise, sampled, teachers.max_length_pair, coll.queries,
                                       coll.docs, teachers.batch_size, progress)
            examples = distill.training_examples(point, probs, base.n_passages)
            model = train.train_student(base, examples, dataset)
            frame = sampled.frame()  # cost: its share of the paper's n_pairs a query (the same in either orders)
            rows.append({"selection": select, "pairs per query": int(n),
                         "pair prompts": len(frame) * (2 if teachers.orders == "both" else 1),
                         "cost (% of 50 window pairs)": tables.pct(len(frame) / (frame.qid.nunique() *
                                                                                teachers.n_pairs)),
                         **dev.evaluate(model.path, base.student)})
    return pd.DataFrame(rows)

"""The PairDistill pipeline as cached stages, and its iterations (Used in 02-04, 06; §3.3, §4.2, §4.3).

    run (01) ─► pointwise_scores (02) ─► sampled_pairs ─► pair_probs (03) ─► training_examples ─► train (04)

Every stage's key derives from its inputs' keys (pdlib.cache), so the notebooks, the iterations and the
ablations share work instead of keying it twice. Teacher scores go through the per-teacher score store of
pdlib.jobs: a (query, passage) or (query, pair) scored once — in 02/03, in an earlier round, for another
ablation — is never scored again.

A round of iterative training (§4.3): retrieve the training queries' top-k with the current student, rerank
them with the pointwise teacher, sample pairs from that ranking, score them with the pairwise teacher, build
the examples and fine-tune the student from where it is.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from . import cache, data, jobs, pairs, retrieve, teachers, train

_TEXTS = ("queries", "docs", "batch_size", "progress")  # determined by the dataset id, or speed only


@cache.stage("pointwise", "pointwise.parquet", model="teacher", dataset="dataset", ignore=_TEXTS)
def pointwise_scores(teacher: str, dataset: str, run: cache.Artifact, k: int, max_length: int,
                     queries: pd.DataFrame, docs: pd.DataFrame, batch_size: int = 64,
                     progress: bool = True) -> pd.DataFrame:
    """s_point(q, d) of the top-k of every query of `run` (§3.2): `qid, docno, score`. Used in 02 and rounds."""
    items = run.frame().query("rank <= @k")[["qid", "docno"]].rename(columns={"docno": "docno_a"})
    scored = jobs.score(teacher, dataset, items, queries, docs, pairwise=False, batch_size=batch_size,
                        max_length=max_length, progress=progress)
    return scored.rename(columns={"docno_a": "docno"})[["qid", "docno", "score"]]


@cache.stage("pairs-sampled", "sampled.parquet", dataset="pointwise.params.dataset", added={"select": "window"})
def sampled_pairs(pointwise: cache.Artifact, k: int, delta: int, n_pairs: int, seed: int,
                  orders: str = "one", select: str = "window") -> pd.DataFrame:
    """D_pair of §4.2 sampled from the pointwise ranking: `qid, docno_a, docno_b, rank_a, rank_b` (03).
    orders: "one" (the paper: higher-ranked passage first, scored once) or "both" (ours, see pdlib.pairs).
    select: "window" (the paper) or "uncertain" (ours, 07_beyond; pdlib.pairs.sample_pairs)."""
    return pairs.sample_pairs(teachers.to_run(pointwise.frame()), k=k, delta=delta, n_pairs=n_pairs, seed=seed,
                              orders=orders, select=select)


@cache.stage("pairs", "pair_probs.parquet", model="teacher", dataset="sampled.params.pointwise.dataset",
             ignore=_TEXTS)
def pair_probs(teacher: str, sampled: cache.Artifact, max_length: int, queries: pd.DataFrame, docs: pd.DataFrame,
               batch_size: int = 64, progress: bool = True) -> pd.DataFrame:
    """P_pair(d_a ≻ d_b | q) of every sampled pair (Eq. 1): scored once in the sampled order, or in both
    orders and averaged when the pairs were sampled with orders="both" (03)."""
    frame = sampled.frame()
    both = sampled.params.get("orders", "one") == "both"
    items = pairs.both_orders(frame) if both else frame[["qid", "docno_a", "docno_b"]]
    scored = jobs.score(teacher, sampled.params["pointwise"]["dataset"], items, queries, docs, pairwise=True,
                        batch_size=batch_size, max_length=max_length, progress=progress)
    return pairs.combine_orders(frame, scored) if both else pairs.one_order(frame, scored)


@cache.stage("examples", "examples.parquet", dataset="pointwise.params.dataset",
             added={"kd_sampling": "top", "seed": None})
def training_examples(pointwise: cache.Artifact, probs: cache.Artifact, n_passages: int, kd_sampling: str = "top",
                      seed: int | None = None) -> pd.DataFrame:
    """One row per query for distillation (pdlib.pairs.training_examples). Used in 04, 06 and 07 (kd_sampling:
    "top", the paper's, or "stratified" / "random", seeded with `seed`)."""
    if kd_sampling != "top" and seed is None:
        raise ValueError(f"kd_sampling={kd_sampling!r} draws passages: give it a seed")
    return pairs.training_examples(pointwise.frame(), probs.frame(), n_passages, kd_sampling, seed or 0)


@dataclass
class Teachers:
    """The teachers of a round and how they are asked (§5.2: k = 100, δ = 10, 50 pairs)."""
    pointwise: str
    pairwise: str
    k: int = 100                # top-k retrieved and reranked (§5.2: 100)
    k_pairs: int | None = None  # pairs come from the pointwise top-k_pairs (None: k)
    delta: int = 10
    n_pairs: int = 50
    orders: str = "one"         # pairs scored once, higher-ranked first (paper) | "both" orders averaged (ours)
    batch_size: int = 64
    max_length_point: int = 256
    max_length_pair: int = 512

    @classmethod
    def of(cls, probs: cache.Artifact, batch_size: int = 64) -> "Teachers":
        """The teachers and settings that made a pair_probs artifact (03's), for later rounds (04)."""
        sampled = probs.params["sampled"]
        point = sampled["pointwise"]
        return cls(point["teacher"], probs.params["teacher"], point["k"], sampled["k"], sampled["delta"],
                   sampled["n_pairs"], sampled.get("orders", "one"), batch_size, point["max_length"],
                   probs.params["max_length"])


def examples_from(point: cache.Artifact, teachers: Teachers, coll: data.Collection, seed: int, n_passages: int,
                  delta: int | str | None = None, progress: bool = True) -> dict[str, cache.Artifact]:
    """Pairs sampled from a pointwise ranking, scored by the pairwise teacher, and the examples they make:
    {'pointwise', 'sampled', 'pairs', 'examples'}. delta="all" samples from every pair of the top-k, no window
    (the "− pair sampling heuristic" ablation of Table 3); None: the teachers' window."""
    k = teachers.k_pairs or teachers.k
    delta = k if delta == "all" else teachers.delta if delta is None else delta
    sampled = sampled_pairs(point, k, delta, teachers.n_pairs, seed, teachers.orders)
    probs = pair_probs(teachers.pairwise, sampled, teachers.max_length_pair, coll.queries, coll.docs,
                       teachers.batch_size, progress)
    return {"pointwise": point, "sampled": sampled, "pairs": probs,
            "examples": training_examples(point, probs, n_passages)}


def round_examples(model: str, retriever: str, dataset: str, coll: data.Collection, teachers: Teachers, seed: int,
                   n_passages: int, progress: bool = True) -> dict[str, cache.Artifact]:
    """Retrieve the queries of `dataset` with `model`, score with both teachers, sample pairs and build the
    examples: {'run', 'pointwise', 'sampled', 'pairs', 'examples'}. Used in 04 (rounds 2+) and 06."""
    run = retrieve.first_stage(retriever, str(model), coll.docs, dataset, {"train": (dataset, coll.queries)},
                               k=teachers.k, progress=progress)["train"]
    point = pointwise_scores(teachers.pointwise, dataset, run, teachers.k, teachers.max_length_point, coll.queries,
                             coll.docs, teachers.batch_size, progress)
    return {"run": run, **examples_from(point, teachers, coll, seed, n_passages, progress=progress)}


def ablations(base: train.TrainConfig, bert_init: str, dpr_init: str, all_rows: bool = True) -> list[tuple]:
    """Table 3's training runs as (group, row, paper row, config, pair sampling heuristic on?), in the paper's
    order, plus two rows of ours that say where the gain comes from: "L_CL only" (the labels alone, no
    teacher; the paper's DPR row is that for DPR) and "L_ZS, no labels" (the teachers alone, §4.2's zero-shot
    loss on the same queries). all_rows=False keeps PairDistill alone. Rows whose configurations coincide
    (e.g. the initialisation row of the student's own checkpoint) share one training run through the cache."""
    rows = [("Distillation Loss", "PairDistill", "PairDistill", base, True)]
    if all_rows:
        dpr = replace(base, student="dpr", init=dpr_init)
        rows += [("Distillation Loss", "- L_pair", "- L_pair", replace(base, lambda_pair=0.0), True),
                 ("Distillation Loss", "- L_KD", "- L_KD", replace(base, lambda_kd=0.0), True),
                 ("Distillation Loss (ours)", "L_CL only", None, replace(base, lambda_kd=0.0, lambda_pair=0.0), True),
                 ("Distillation Loss (ours)", "L_ZS, no labels", None, replace(base, use_cl=False), True),
                 ("Distillation Loss", "- pair sampling heuristic", "- pair sampling heuristic", base, False),
                 ("Initialization", base.init, "ColBERTv2", base, True),
                 ("Initialization", bert_init, "bert-base-uncased", replace(base, init=bert_init), True),
                 ("Different Architecture", "DPR", "DPR", replace(dpr, lambda_kd=0.0, lambda_pair=0.0), True),
                 ("Different Architecture", "+ L_KD", "+ L_KD", replace(dpr, lambda_pair=0.0), True),
                 ("Different Architecture", "+ L_KD + L_pair", "+ L_KD + L_pair", dpr, True)]
    return rows


def _new_rows(frame: pd.DataFrame, cols: list[str], seen: set) -> int:
    rows = set(frame[cols].itertuples(index=False, name=None))
    new = len(rows - seen)
    seen |= rows
    return new


def iterate(cfg: train.TrainConfig, first: dict[str, cache.Artifact], dataset: str, coll: data.Collection,
            teachers: Teachers, iterations: int, progress: bool = True) -> list[dict]:
    """§4.3: train round 1 on `first` (its 'pointwise', 'sampled' and 'examples' artifacts), then
    (iterations − 1) times re-retrieve with the new student, re-score and fine-tune it again. Round 1 is the
    same stage (same key) as any other run of `cfg` on those examples. Returns one dict per round: the trained
    student (Artifact), its examples, and how many (query, passage) inputs and ordered pair prompts the
    teachers met for the first time in that round."""
    retriever = retrieve.retriever_of(cfg.student)
    seen_point: set = set()
    seen_pair: set = set()
    out, init, arts = [], cfg.init, first
    for r in range(1, iterations + 1):
        if r > 1:
            arts = round_examples(init, retriever, dataset, coll, teachers, cfg.seed, cfg.n_passages, progress)
        sampled = arts["sampled"].frame()
        prompts = pairs.both_orders(sampled) if teachers.orders == "both" else sampled
        counts = {"new pointwise scores": _new_rows(arts["pointwise"].frame(), ["qid", "docno"], seen_point),
                  "new pair prompts": _new_rows(prompts, ["qid", "docno_a", "docno_b"], seen_pair)}
        model = train.train_student(replace(cfg, init=str(init)), arts["examples"], dataset, progress=progress)
        out.append({"iteration": r, "model": model, "examples": arts["examples"], **counts})
        init = model.path
    return out

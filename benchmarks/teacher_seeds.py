"""Teacher seeds study (issue 13): the smoke teachers built from several seeds, judged as Table 5 and A.2 judge.

The smoke profile's teachers are built once, from seed 0 (pdlib.smoke.tiny). This study builds the two trained
stand-ins (the cross-encoder; the multi-task T5 that plays monoT5, duoT5 and flan-t5) from each seed given and
measures, for each build, what notebooks 02 and 03 measure with the smoke parameters (params/smoke.yaml):

* Table 5 on the dev queries: the cross-encoder, monoT5 and flan-t5 reranking the initial retriever's top-100,
  duoT5's sym-sum over the cross-encoder's top-10 (both orders of every pair), RR@10 and nDCG@10 %, and
  P(rel=2)@1 (see MEASURES);
* A.2: the share of 03's sampled pairs (from the cross-encoder's top-20 of the training queries' top-100,
  δ = 10, 50 pairs, one order) on which duoT5 disagrees with the cross-encoder.

Then mean ± std over the seeds and the claims as paired differences (same seed), judged as benchmarks/seeds.py
judges them (`tables.paired_difference`: holds, reversed or within the spread). A.2 is also split by the
pairs' labels (a judged passage's grade; an unjudged one's query words held, the recipe's credit): the share of
label ties (no label orders them) and the disagreement on the tied and on the other pairs.
Needs 01_retrieve's smoke runs in the cache (`./run_all.sh --only 01`). About 9 minutes a seed on 2 cores.

`--set NAME=VALUE` changes a constant of the recipe (`pdlib.smoke.teacher_training`: UNJUDGED_CREDIT,
T5_PAIR_DRAWS, T5_LEXICAL_STEPS, LEXICAL_STEPS, TEACHER_QUERIES) for this study's builds; every seed, seed 0
too, is then built under --out, never into models/.

    .venv/bin/python benchmarks/teacher_seeds.py                   # seeds 0 1 2
    .venv/bin/python benchmarks/teacher_seeds.py --seeds 0 1 2 3 --out /tmp/teacher-seeds
    .venv/bin/python benchmarks/teacher_seeds.py --set UNJUDGED_CREDIT=0.1 --set T5_LEXICAL_STEPS=1000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pdlib import PdlibError, cache, data, pairs, paths, tables, teachers

ROOT = Path(__file__).resolve().parents[1]
# Table 5's measures, and the share of dev queries whose first passage binds the query's attribute to its object
# (grade 2): whether a teacher learnt the binding, which the grade-1 look-alikes lack (chance among the relevant
# passages: about 40 %)
MEASURES = ("RR@10", "nDCG@10", "P(rel=2)@1")
CLAIMS = [("duoT5 sym-sum beats the cross-encoder", "duoT5 sym-sum", "cross-encoder"),
          ("the cross-encoder beats the initial retriever", "cross-encoder", "initial retriever"),
          ("duoT5 sym-sum beats the initial retriever", "duoT5 sym-sum", "initial retriever")]


def judge(seed: int, folder: Path, p: dict, progress: bool, own: bool = True) -> dict:
    """Build both trained stand-ins from `seed` under `folder` (seed 0: the smoke profile's, shipped with pdlib
    and copied under models/, unless `own` is False); Table 5's rows and A.2 for them."""
    from transformers import (BertForSequenceClassification, BertTokenizerFast, T5ForConditionalGeneration,
                              T5TokenizerFast)

    from pdlib.smoke import tiny

    t0 = time.time()
    where = {}
    for name in ("cross-encoder", "t5-teacher"):
        if seed == 0 and own:  # the smoke profile's own build (built here if it is not yet)
            where[name] = tiny.build_tiny(name)
        else:
            where[name] = folder / name
            if not (where[name] / "config.json").exists():
                tiny._build(name, where[name], seed=seed)
    built = time.time() - t0
    ce_tok = BertTokenizerFast.from_pretrained(where["cross-encoder"])
    ce = BertForSequenceClassification.from_pretrained(where["cross-encoder"]).eval()
    t5_tok = T5TokenizerFast.from_pretrained(where["t5-teacher"])
    t5 = T5ForConditionalGeneration.from_pretrained(where["t5-teacher"]).eval()

    train, dev = data.load(p["train_dataset"]), data.load(p["dev_dataset"], docs=False)
    text = dict(zip(train.docs.docno, train.docs.text))
    runs = {split: cache.lookup("smoke", f"run_{split}", "01_retrieve") for split in ("dev", "train")}
    if any(r is None for r in runs.values()):
        raise PdlibError("no smoke runs of 01_retrieve in the cache: run `./run_all.sh --only 01` first")

    def rerank(run, queries, k):
        top = run.frame().query("rank <= @k")[["qid", "docno"]].copy()
        qt = dict(zip(queries.qid, queries.text))
        top["score"] = teachers.cross_encoder_scores(ce_tok, ce, [qt[q] for q in top.qid],
                                                     [text[d] for d in top.docno], 64, p["max_length"], progress)
        return top

    def t5_score(kind, queries, frame):
        qt = dict(zip(queries.qid, queries.text))
        if "docno_a" in frame:
            prompts = [teachers.prompt(kind, qt[q], text[a], text[b])
                       for q, a, b in zip(frame.qid, frame.docno_a, frame.docno_b)]
        else:
            prompts = [teachers.prompt(kind, qt[q], text[d]) for q, d in zip(frame.qid, frame.docno)]
        return teachers.t5_scores(t5_tok, t5, kind, prompts, 64, 512, progress=progress)

    row = {"seed": seed, "build_s": round(built)}
    rows = {"initial retriever": tables.metric_row(runs["dev"].frame(), dev.qrels, MEASURES)}
    ce_dev = rerank(runs["dev"], dev.queries, p["k_rerank"])
    ranked = teachers.to_run(ce_dev)
    rows["cross-encoder"] = tables.metric_row(ranked, dev.qrels, MEASURES)
    for kind, label in (("mono-t5", "monoT5"), ("llm-point", "flan-t5")):
        frame = ce_dev[["qid", "docno"]].copy()
        frame["score"] = t5_score(kind, dev.queries, frame)
        rows[label] = tables.metric_row(teachers.to_run(frame), dev.qrels, MEASURES)
    m = p["table5_m"]
    both = pairs.sample_pairs(ranked, m, m, m * m, p["seed"], "both")  # every ordered pair of the top-m
    both = both.assign(prob=t5_score("duo-t5", dev.queries, both))
    rows["duoT5 sym-sum"] = tables.metric_row(pairs.sym_sum(both, ranked), dev.qrels, MEASURES)
    ce_train = rerank(runs["train"], train.queries, p["k_rerank"])  # 02's training scores
    sampled = pairs.sample_pairs(teachers.to_run(ce_train), p["k_pairs"], p["delta"], p["n_pairs"], p["seed"],
                                 p["pair_orders"])
    sampled = sampled.assign(prob=t5_score("duo-t5", train.queries, sampled))
    for name, metrics in rows.items():
        for metric, value in metrics.items():
            row[f"{name} {metric}"] = value
    row["A.2 disagreement %"] = round(100 * pairs.disagreement(sampled, ce_train), 1)
    row.update(_a2_by_label(sampled, ce_train, train))
    row["total_s"] = round(time.time() - t0)
    return row


def _a2_by_label(sampled: pd.DataFrame, pointwise: pd.DataFrame, train) -> dict:
    """A.2 split by the pairs' labels: judged passages by grade, above every unjudged one; unjudged ones by the
    number of the query's words they hold (what the recipe's credit grades them by)."""
    grade = {(q, d): g for q, d, g in train.qrels[["qid", "docno", "relevance"]].itertuples(index=False)}
    words = dict(zip(train.queries.qid, (t.split() for t in train.queries.text)))
    held = dict(zip(train.docs.docno, (set(t.split()) for t in train.docs.text)))

    def label(q: str, d: str) -> float:
        return 10 + grade[(q, d)] if (q, d) in grade else sum(w in held[d] for w in words[q])

    tie = np.array([label(q, a) == label(q, b) for q, a, b in zip(sampled.qid, sampled.docno_a, sampled.docno_b)])

    def share(mask) -> float:
        return round(100 * pairs.disagreement(sampled[mask], pointwise), 1) if mask.any() else float("nan")

    return {"A.2 tied pairs %": round(100 * tie.mean(), 1), "A.2 disagreement on tied %": share(tie),
            "A.2 disagreement on untied %": share(~tie)}


def claims(frame: pd.DataFrame, metric: str) -> list[str]:
    if len(frame) < 2:
        return [f"claims ({metric}): a spread needs at least 2 seeds"]
    out = []
    for text, better, worse in CLAIMS:  # the verdict of benchmarks/seeds.py's claims
        c = tables.paired_difference(list(frame[f"{better} {metric}"] - frame[f"{worse} {metric}"]))
        out.append(f"{text} ({metric}): {c['difference (points) mean ± std']} over {len(frame)} seeds "
                   f"(each: {c['by seed']}): {c['verdict']}")
    a2 = frame["A.2 disagreement %"]
    out.append(f"A.2 below chance (50 %): {a2.mean():.1f} ± {a2.std():.1f} % "
               f"({'holds' if (a2 < 50).all() else 'does NOT hold'} for every seed)")
    return out


def _recipe(settings: list[str]) -> dict:
    """Apply --set NAME=VALUE to pdlib.smoke.teacher_training's constants; returns them (empty: the recipe)."""
    from pdlib.smoke import teacher_training

    known = ("UNJUDGED_CREDIT", "T5_PAIR_DRAWS", "T5_LEXICAL_STEPS", "LEXICAL_STEPS", "TEACHER_QUERIES")
    out = {}
    for item in settings:
        name, _, value = item.partition("=")
        if name not in known or not value:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE with NAME one of {', '.join(known)}")
        kind = type(getattr(teacher_training, name))
        try:
            setattr(teacher_training, name, kind(value))
        except ValueError:
            raise SystemExit(f"--set {item!r}: {name} takes a number ({kind.__name__})") from None
        out[name] = getattr(teacher_training, name)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, help="where the teachers and results go (default: a temporary folder)")
    ap.add_argument("--progress", action="store_true", help="progress bars of the builds and scoring")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="change a constant of pdlib.smoke.teacher_training for these builds (all under --out)")
    args = ap.parse_args()
    recipe = _recipe(args.set)
    smoke = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    p = {**smoke["common"], **smoke["02_pointwise"], **smoke["03_pairwise"]}
    out = args.out or Path(tempfile.mkdtemp(prefix="teacher-seeds-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"teacher seeds {args.seeds}; cache {paths.data_dir()}; teachers under {out}", flush=True)
    rows = []
    for seed in args.seeds:
        rows.append({**judge(seed, out / f"seed{seed}", p, args.progress, own=not recipe), **recipe})
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(out / f"teacher_seeds-{'-'.join(map(str, args.seeds))}.csv", index=False)
    summary = frame.drop(columns=["seed"]).agg(["mean", "std"]).T.round(1)
    print("\nmean ± std over seeds", args.seeds)
    print(summary.to_string())
    for line in claims(frame, "RR@10") + claims(frame, "nDCG@10")[:len(CLAIMS)]:
        print(line)
    print(f"results: {out}")


if __name__ == "__main__":
    main()

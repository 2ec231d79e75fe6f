"""How good is Table 4's teacher on the target domain? (issue 13: why "L_KD only" can fall below the baseline)

06_domain_adapt distils the instruction-LLM teacher into the initial retriever on each target's training queries,
without their labels (L_ZS). L_KD only can help only where the teacher's pointwise ranking of those queries' top-k
is better than the retriever's own; L_pair only where its pairwise judgements are. This script takes 06's own
cached artifacts (the same `distill.round_examples` call, so nothing is scored again after 06 ran) and measures,
with the target's labels that 06 does not use:

* RR@10 / nDCG@10 (%) of the initial retriever's top-k and of the teacher's pointwise reranking of it;
* on 06's sampled pairs whose passages have different grades (unjudged = 0): the share each teacher orders
  right (pointwise: the higher score first; pairwise: P(a > b) > 0.5, as A.2 reads it).

    .venv/bin/python benchmarks/target_teacher.py                     # smoke (after ./run_all.sh --only 06)
    .venv/bin/python benchmarks/target_teacher.py --profile small
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import yaml

from pdlib import data, distill, pairs, tables, teachers

ROOT = Path(__file__).resolve().parents[1]


def right_share(frame, point, qrels) -> dict[str, float]:
    """On the pairs of different grade: % ordered right by the pointwise scores and by the pairwise P(a > b)."""
    grade = {(q, d): g for q, d, g in qrels[["qid", "docno", "relevance"]].itertuples(index=False)}
    ga = np.array([grade.get(k, 0) for k in zip(frame.qid, frame.docno_a)])
    gb = np.array([grade.get(k, 0) for k in zip(frame.qid, frame.docno_b)])
    differ = ga != gb
    if not differ.any():
        return {"pairs of different grade": 0, "pointwise right %": float("nan"), "pairwise right %": float("nan")}
    truth = frame[differ].assign(prob=(ga > gb)[differ].astype(float))  # the labels as a decided pair table
    return {"pairs of different grade": int(differ.sum()),
            "pointwise right %": round(100 * pairs.agreement(truth, point), 1),
            "pairwise right %": round(100 * float(np.mean((frame.prob[differ] > 0.5) == (truth.prob > 0.5))), 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="smoke")
    args = ap.parse_args()
    params = yaml.safe_load((ROOT / "params" / f"{args.profile}.yaml").read_text())
    p = {**params.get("common", {}), **params["06_domain_adapt"]}
    judges = distill.Teachers(p["llm_teacher"], p["llm_teacher"], k=p["k_train"], delta=p.get("delta", 10),
                                n_pairs=p["n_pairs"], batch_size=p.get("batch_size", 64),
                                max_length_point=p["max_length_point"], max_length_pair=p["max_length_pair"])
    for name, train_ds, _ in p["targets"]:
        coll = data.load(train_ds)
        if coll.qrels is None or not len(coll.qrels):
            print(f"{name}: {train_ds} has no labels to judge the teacher with")
            continue
        arts = distill.round_examples(p["retriever_model"], p["retriever"], train_ds, coll, judges,
                                      p.get("seed", 0), p["n_passages"])
        run, point = arts["run"].frame(), arts["pointwise"].frame()
        top = run[run["rank"] <= p["k_train"]]
        print(f"{name} ({len(coll.queries):,} training queries, top-{p['k_train']}, teacher {p['llm_teacher']}):")
        print(f"  initial retriever          {tables.metric_row(top, coll.qrels)}")
        print(f"  teacher's pointwise rerank {tables.metric_row(teachers.to_run(point), coll.qrels)}")
        print(f"  06's sampled pairs         {right_share(arts['pairs'].frame(), point, coll.qrels)}")


if __name__ == "__main__":
    main()

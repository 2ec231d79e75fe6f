"""Seeds study: the distillation experiments over several seeds, Tables 3, 4 and 6 and 07's comparisons as
mean ± std (issues 13 and 18).

Notebooks 03 (pair sampling), 04 (Tables 3 and 6), 06 (Table 4) and 07 (beyond the paper: kd sampling, MD2PR,
the pair budget) run once per seed through papermill, each
seed's tables under <out>/seed<s>/; the teachers, the first-stage runs and the teacher scores are shared
(they do not depend on the seed), so the spread is that of pair sampling and student training. Then every
"ours" column is summarised as mean ± std over the seeds, and the paper's claims are checked as paired
differences (same seed): a claim holds beyond the spread when every seed agrees in sign and the mean
difference exceeds its standard deviation.

    .venv/bin/python benchmarks/seeds.py                      # smoke, seeds 0 1 2 (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/seeds.py --seeds 0 1 2 3 4 --profile smoke
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

from pdlib import PdlibError, cache, paths, runner, tables

CLAIMS = [  # (table, description, better row, worse row, column)
    ("table3", "PairDistill beats the L_CL-only student", "PairDistill", "L_CL only", "ours (nDCG@10, %)"),
    ("table3", "removing L_pair costs", "PairDistill", "- L_pair", "ours (nDCG@10, %)"),
    ("table3", "removing L_KD costs", "PairDistill", "- L_KD", "ours (nDCG@10, %)"),
    ("table3", "the teachers alone (L_ZS) improve on the initial student", "L_ZS, no labels",
     "initial student", "ours (nDCG@10, %)"),
    ("table4", "L_pair beats L_KD only (Table 4)", "L_pair", "L_KD only", None),
    ("table4", "L_KD only beats the initial retriever (Table 4)", "L_KD only", "initial retriever", None),
    # 07_beyond (issue 18): {column: value} picks a row
    ("beyond_kd", "stratified kd sampling beats top", {"kd_sampling": "stratified"}, {"kd_sampling": "top"}, "nDCG@10"),
    ("beyond_kd", "random kd sampling beats top", {"kd_sampling": "random"}, {"kd_sampling": "top"}, "nDCG@10"),
    ("beyond_md2pr", "MD2PR's word level helps PairDistill", "PairDistill + word level", "PairDistill (own-list",
     "nDCG@10"),
    ("beyond_md2pr", "MD2PR's false-negative filter helps PairDistill", "PairDistill + false-negative filter",
     "PairDistill (own-list", "nDCG@10"),
    ("beyond_md2pr", "both of MD2PR's additions help PairDistill", "PairDistill + word level + filter",
     "PairDistill (own-list", "nDCG@10"),
    ("beyond_md2pr", "MD2PR (no L_pair) beats PairDistill", "MD2PR", "PairDistill (own-list", "nDCG@10"),
    ("beyond_budget", "10 uncertain pairs (20% of the cost) vs 50 window pairs (within the spread: as good)",
     {"selection": "uncertain", "pairs per query": 10}, {"selection": "window", "pairs per query": 50}, "nDCG@10"),
    ("beyond_budget", "10 window pairs (20% of the cost) vs 50 window pairs (within the spread: as good)",
     {"selection": "window", "pairs per query": 10}, {"selection": "window", "pairs per query": 50}, "nDCG@10"),
    ("beyond_budget", "uncertain beats window at 10 pairs", {"selection": "uncertain", "pairs per query": 10},
     {"selection": "window", "pairs per query": 10}, "nDCG@10"),
]
TABLES = {"table3": "table3_ablations", "table4": "table4_domain_adapt", "table6": "table6_lambda_pair",
          "beyond_kd": "beyond_kd_sampling", "beyond_md2pr": "beyond_md2pr", "beyond_budget": "beyond_pair_budget"}


def _row(frame: pd.DataFrame, label: str | dict) -> pd.Series:
    """The row whose label starts with `label` (column row or model), or whose columns hold the dict's values."""
    if isinstance(label, dict):
        hit = frame[(frame[list(label)] == pd.Series(label)).all(axis=1)]
    else:
        col = "row" if "row" in frame else "model"
        hit = frame[frame[col].astype(str).str.startswith(label)]
    if hit.empty:
        raise KeyError(f"no row {label!r} in {frame.iloc[:, :2].values.tolist()}")
    return hit.iloc[0]


def run_seeds(seeds: list[int], profile: str, out: Path) -> dict[int, Path]:
    for needed, made_by in (("run_train", "01_retrieve"), ("pointwise_train", "02_pointwise")):
        try:
            cache.lookup(profile, needed, made_by)
        except PdlibError:
            runner.execute(made_by, profile)
    folders = {}
    for seed in seeds:
        folders[seed] = out / f"seed{seed}"
        os.environ["PDLIB_FIGURES"] = str(folders[seed])
        for notebook in ("03_pairwise", "04_distill", "06_domain_adapt", "07_beyond"):
            t0 = time.perf_counter()
            runner.execute(notebook, profile, {"seed": seed}, output_dir=folders[seed] / "executed")
            print(f"[seeds] seed {seed}: {notebook} in {time.perf_counter() - t0:.0f}s", flush=True)
    return folders


def summarise(folders: dict[int, Path], profile: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    read = {key: {s: pd.read_csv(f / profile / f"{name}.csv") for s, f in folders.items()}
            for key, name in TABLES.items()}
    measures = ["RR@10", "nDCG@10"]
    summaries = {
        "table3": tables.over_seeds(read["table3"], ["group", "row"], ["ours (RR@10, %)", "ours (nDCG@10, %)"]),
        "table4": tables.over_seeds(read["table4"], ["model"], [c for c in next(iter(read["table4"].values())).columns
                                                                 if c.endswith(": ours")]),
        "table6": tables.over_seeds(read["table6"], ["lambda_pair"], ["ours (RR@10, %)", "ours (nDCG@10, %)"]),
        "beyond_kd": tables.over_seeds(read["beyond_kd"], ["kd_sampling"], measures),
        "beyond_md2pr": tables.over_seeds(read["beyond_md2pr"], ["row"], measures),
        "beyond_budget": tables.over_seeds(read["beyond_budget"], ["selection", "pairs per query",
                                                                   "cost (% of 50 window pairs)"], measures),
    }
    rows = []
    for table, claim, better, worse, column in CLAIMS:
        diffs = []
        for frame in read[table].values():
            col = column or next(c for c in frame.columns if c.endswith(": ours"))
            try:
                diffs.append(float(_row(frame, better)[col]) - float(_row(frame, worse)[col]))
            except KeyError:  # a profile whose 07 leaves that row out
                break
        if len(diffs) == len(read[table]):
            rows.append({"claim": claim, **tables.paired_difference(diffs)})
    return summaries, pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--profile", default="smoke")
    ap.add_argument("--out", type=Path, default=None, help="default: figures/<profile>-seeds")
    args = ap.parse_args(argv)
    if len(args.seeds) < 2:
        ap.error("a spread needs at least two seeds")
    out = args.out or paths.figures_dir() / f"{args.profile}-seeds"
    t0 = time.perf_counter()
    folders = run_seeds(args.seeds, args.profile, out)
    summaries, claims = summarise(folders, args.profile)
    for name, frame in {**summaries, "claims": claims}.items():
        frame.to_csv(out / f"{name}.csv", index=False)
        (out / f"{name}.md").write_text(f"{name}, seeds {args.seeds}, profile {args.profile}\n\n"
                                        + frame.to_markdown(index=False) + "\n")
        print(f"\n## {name} (seeds {args.seeds})\n{frame.to_markdown(index=False)}")
    print(f"\n[seeds] {len(args.seeds)} seeds in {time.perf_counter() - t0:.0f}s; tables in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

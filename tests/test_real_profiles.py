"""The `small` profile's real code paths end to end, offline (issue 14): every notebook under papermill with the
real model classes, configurations and tokenizers (shape stand-ins: random weights placed in PDLIB_MODELS, and the
real all-MiniLM-L6-v2) on real SciFact from ../shared/data, with small overrides. The numbers are meaningless, and
the tables say so; what is asserted is that every table is produced with the right rows.

The run happens in a subprocess with its own data/, figures/, models/ and ir_datasets home, so that its SciFact
(a subset of the real corpus: every judged passage and 300 others) does not meet the session's full one.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pdlib import paths

SHARED = paths.shared_data_dir()

SMALL_IDS = ["cross-encoder/ms-marco-MiniLM-L-6-v2", "castorini/monot5-base-msmarco", "castorini/duot5-base-msmarco",
             "google/flan-t5-base"]
OVERRIDES = {
    "train_dataset": "pdlib-split/0/0.04/train/beir/scifact/train",   # ~32 queries
    "dev_dataset": "pdlib-split/0/0.04/train/beir/scifact/test",      # ~12 queries
    "test_dataset": "pdlib-split/0/0.04/train/beir/scifact/test",
    "k_train": 6, "k_rerank": 6, "k_pairs": 6, "n_pairs": 2, "table5_m": 3, "max_length": 96,
    "doc_maxlen": 48, "steps": 2, "train_batch_size": 2, "n_passages": 4, "checkpoint_every": 1, "warmup": 0,
    "k_eval": 20, "max_length_point": 96, "max_length_pair": 128, "n_passages_kd": 5, "budgets": [1],
    "kd_samplings": ["stratified"], "selections": ["uncertain"],  # 07: one run of each method
    "targets": [["scifact", "pdlib-split/0/0.04/train/beir/scifact/train", "pdlib-split/0/0.04/train/beir/scifact/test"]],
}


def _scifact_subset(target: Path, others: int = 300) -> Path:
    """Real SciFact in BEIR layout, its corpus cut to every judged passage and `others` more (seeded)."""
    src = SHARED / "scifact"
    judged = set()
    (target / "qrels").mkdir(parents=True)
    for split in ("train", "test"):
        lines = (src / "qrels" / f"{split}.tsv").read_text().splitlines()
        judged |= {ln.split("\t")[1] for ln in lines[1:]}
        (target / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    with gzip.open(src / "corpus.jsonl.gz", "rt") as f:
        docs = [json.loads(ln) for ln in f]
    rest = [d for d in docs if d["_id"] not in judged]
    keep = {d["_id"] for d in random.Random(0).sample(rest, others)} | judged
    with open(target / "corpus.jsonl", "w") as f:
        f.writelines(json.dumps(d) + "\n" for d in docs if d["_id"] in keep)
    (target / "queries.jsonl").write_text((src / "queries.jsonl").read_text())
    return target


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    if not (SHARED / "scifact" / "corpus.jsonl.gz").exists():
        pytest.skip("../shared/data/scifact is not beside the repository")
    from pdlib.smoke import shapes

    root = tmp_path_factory.mktemp("small-profile")
    env = {**os.environ, "PDLIB_DATA": str(root / "data"), "PDLIB_FIGURES": str(root / "figures"),
           "PDLIB_MODELS": str(root / "models"), "IR_DATASETS_HOME": str(root / "data" / "ir_datasets"),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    shapes.build_all(SMALL_IDS, root / "models")
    subset = _scifact_subset(root / "scifact")
    place = subprocess.run([sys.executable, "-c", f"from pdlib import data; data.use_local_beir('scifact', {str(subset)!r})"],
                           env=env, capture_output=True, text=True)
    assert place.returncode == 0, place.stderr
    args = [sys.executable, "-m", "pdlib.runner", "--profile", "small"]
    for key, value in OVERRIDES.items():
        args += ["-p", f"{key}={json.dumps(value)}"]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


@pytest.mark.slow
def test_small_profile_runs_every_notebook_on_real_scifact(small_run):
    out = small_run / "figures" / "small"
    read = lambda name: pd.read_csv(out / f"{name}.csv")  # noqa: E731
    for name in ("table1_retrieval", "table2_odqa", "table3_ablations", "table4_domain_adapt", "table5_reranking",
                 "table6_lambda_pair", "table7_hyperparameters", "appendix_a2_disagreement", "distill_effect",
                 "retrieval_initial_dev", "beyond_kd_sampling", "beyond_md2pr", "beyond_pair_budget"):
        assert (out / f"{name}.md").exists(), name
    assert read("beyond_md2pr").row.tolist()[-1].startswith("MD2PR")  # the word level ran on the real tokenizers
    assert read("beyond_pair_budget").selection.tolist() == ["uncertain"]
    assert read("beyond_kd_sampling").kd_sampling.tolist() == ["stratified"]
    table5 = read("table5_reranking")
    assert list(table5.kind) == ["retriever", "cross-encoder", "mono-t5", "duo-t5"]
    table3 = read("table3_ablations")
    assert table3.row.tolist() == ["initial student sentence-transformers/all-MiniLM-L6-v2", "PairDistill", "Iteration 1"]
    assert read("table6_lambda_pair").lambda_pair.tolist() == [3.0]
    table1 = read("table1_retrieval").set_index("row")
    assert table1.loc["SciFact", ["initial retriever (ours)", "PairDistill (ours)"]].between(0, 100).all()
    table4 = read("table4_domain_adapt")
    assert table4.model.tolist()[2:] == ["L_KD only", "L_pair"]
    # random weights: every table and its index entry say the numbers mean nothing
    for name in ("table3_ablations", "table5_reranking", "table4_domain_adapt"):
        assert "shape stand-in" in (out / f"{name}.md").read_text(), name

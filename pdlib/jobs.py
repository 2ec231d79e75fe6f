"""Teacher scoring at scale: sharded, resumable jobs and one score store per teacher (Used in 02-04, 06).

`score(teacher, dataset, items, ...)` is what the stages call. Every (query, passage) or (query, pair) a
teacher has scored for a dataset is kept in that teacher's *score store* (one per teacher × dataset × input
length, as pyterrier-caching keeps one cache per scorer × corpus): only rows the store lacks are scored, so
the rounds of iterative training, Table 5's dev scores and the ablations never score anything twice.

The rows to score form a *job*, a folder: `job.json` (teacher id, kind, batch size, max length), `items.parquet` (one row per
input: `qid, docno_a[, docno_b]`), `queries.parquet`, `docs.parquet` (only the texts the items use).
Worker `shard` of `n_shards` scores the rows `shard, shard + n_shards, ...` that no finished chunk holds yet;
every finished chunk is written atomically as its own file, so a killed run resumes where it stopped with no
lost or duplicated rows, also under another shard count (a 4-GPU job resumed on 2 GPUs). `merge` checks that
every row was scored exactly once.

Many workers (one per GPU):

    for i in 0 1 2 3; do CUDA_VISIBLE_DEVICES=$i python -m pdlib.jobs JOB --shard $i --n-shards 4 & done; wait
    torchrun --nproc_per_node 4 -m pdlib.jobs JOB      # same, shard/n_shards from RANK/WORLD_SIZE
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import Interrupted, PdlibError, cache, config, teachers


PAIR_KINDS = ("duo-t5", "llm-pair")


def teacher_kind(model_id: str, pairwise: bool) -> str:
    """The scoring kind of a teacher id: cross-encoder | mono-t5 | llm-point | duo-t5 | llm-pair."""
    from . import models

    kind = models.spec(model_id).kind
    table = {("cross-encoder", False): "cross-encoder", ("mono-t5", False): "mono-t5",
             ("instruct-t5", False): "llm-point", ("duo-t5", True): "duo-t5", ("instruct-t5", True): "llm-pair"}
    if (kind, pairwise) not in table:
        raise PdlibError(f"{model_id} ({kind}) cannot be a {'pairwise' if pairwise else 'pointwise'} teacher")
    return table[(kind, pairwise)]


def _store(teacher: str, dataset: str, kind: str, max_length: int) -> Path:
    return cache.derive("scores", "jobs.score", teacher, dataset, {"kind": kind, "max_length": max_length}).folder


def _known(store: Path, cols: list[str]) -> pd.DataFrame | None:
    """Every score the store holds (`cols` + score), or None for an empty store."""
    known = [cache.read_frame(f) for f in sorted(store.glob("job-*/scored.parquet"))]
    return pd.concat(known, ignore_index=True)[cols + ["score"]].drop_duplicates(cols) if known else None


def _scored(items: pd.DataFrame, have: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    """`items` with the scores of `have` (NaN where none)."""
    return items.assign(score=np.nan) if have is None else items.merge(have, on=cols, how="left")


def _pending(teacher: str, dataset: str, items: pd.DataFrame, queries: pd.DataFrame, docs: pd.DataFrame,
             pairwise: bool, batch_size: int, max_length: int) -> tuple[Path | None, pd.DataFrame | None, list[str]]:
    """(job of the rows the store lacks or None, what the store holds, the columns a score belongs to)."""
    kind = teacher_kind(teacher, pairwise)
    cols = ["qid", "docno_a", "docno_b"] if pairwise else ["qid", "docno_a"]
    store = _store(teacher, dataset, kind, max_length)
    have = _known(store, cols)
    merged = _scored(items, have, cols)
    todo = merged[merged.score.isna()][cols].reset_index(drop=True)
    if not len(todo):
        return None, have, cols
    return make_job(store / f"job-{rows_hash(todo)}", teacher, kind, todo, queries, docs, batch_size,
                    max_length), have, cols


def pending(teacher: str, dataset: str, items: pd.DataFrame, queries: pd.DataFrame, docs: pd.DataFrame,
            pairwise: bool, batch_size: int = 32, max_length: int = 512) -> Path | None:
    """The job (folder) of the rows of `items` the teacher's store lacks, made if needed; None if none.
    For many GPUs: make it here, run `python -m pdlib.jobs <folder> --shard i --n-shards N` per GPU, then
    `score(...)` merges."""
    return _pending(teacher, dataset, items, queries, docs, pairwise, batch_size, max_length)[0]


def score(teacher: str, dataset: str, items: pd.DataFrame, queries: pd.DataFrame, docs: pd.DataFrame,
          pairwise: bool, batch_size: int = 32, max_length: int = 512, chunk_size: int = 512,
          progress: bool = True) -> pd.DataFrame:
    """`items` (qid, docno_a[, docno_b], any other columns) with the teacher's `score`, scoring only the rows
    its store lacks: they become one job, named by its rows, scored in this process (shard 0 of 1) unless
    workers with another shard count have started it, and merged into the store. The store is read once."""
    folder, have, cols = _pending(teacher, dataset, items, queries, docs, pairwise, batch_size, max_length)
    if folder is not None:
        layouts = {f.name.split("-")[1] for f in (folder / "chunks").glob("*.parquet")}
        if not layouts - {"of001"}:  # workers with another shard count ran: they may still be running
            run_shard(folder, 0, 1, chunk_size, progress)
        new = merge(folder)
        cache.write_frame(folder / "scored.parquet", new)
        have = pd.concat([have, new[cols + ["score"]]], ignore_index=True).drop_duplicates(cols)
    return _scored(items, have, cols)


def rows_hash(items: pd.DataFrame) -> str:
    """A content hash of a table's rows (what a scoring job is made of)."""
    return str(int(pd.util.hash_pandas_object(items.reset_index(drop=True)).sum()) % (1 << 62))


def make_job(folder: Path, teacher: str, kind: str, items: pd.DataFrame, queries: pd.DataFrame,
             docs: pd.DataFrame, batch_size: int = 32, max_length: int = 512) -> Path:
    """Write a scoring job (idempotent: an existing job with the same definition is kept, with its chunks)."""
    folder = Path(folder)
    items_hash = rows_hash(items)
    spec = {"teacher": teacher, "kind": kind, "batch_size": batch_size, "max_length": max_length,
            "n_items": len(items), "columns": list(items.columns), "items_hash": items_hash}
    same = ("teacher", "kind", "n_items", "columns", "items_hash")
    if (folder / "job.json").exists():
        old = cache.read_json(folder / "job.json")
        if {k: old.get(k) for k in same} != {k: spec[k] for k in same}:
            raise PdlibError(f"{folder} holds a different scoring job; delete it or choose another folder")
        return folder
    used = set(items.docno_a) | (set(items.docno_b) if "docno_b" in items else set())
    folder.mkdir(parents=True, exist_ok=True)
    cache.write_frame(folder / "items.parquet", items.reset_index(drop=True))
    cache.write_frame(folder / "queries.parquet", queries[queries.qid.isin(set(items.qid))][["qid", "text"]])
    cache.write_frame(folder / "docs.parquet", docs[docs.docno.isin(used)][["docno", "text"]])
    cache.write_json(folder / "job.json", spec)  # last: a job without job.json is not a job
    return folder


def _chunk_file(folder: Path, shard: int, n_shards: int, first_row: int) -> Path:
    """A finished chunk: the layout that scored it (shard of n_shards) and its first row, which no other chunk
    holds (a worker only takes rows no chunk holds yet)."""
    return folder / "chunks" / f"shard{shard:03d}-of{n_shards:03d}-row{first_row:09d}.parquet"


def _scored_rows(folder: Path) -> np.ndarray:
    files = sorted((folder / "chunks").glob("*.parquet")) if (folder / "chunks").exists() else []
    return np.concatenate([cache.read_frame(f).row.to_numpy() for f in files]) if files else np.array([], int)


def run_shard(folder: Path, shard: int = 0, n_shards: int = 1, chunk_size: int = 512, progress: bool = True,
              score_fn=None) -> int:
    """Score this worker's rows of a job; returns how many rows it scored now (0 when already complete).

    A worker takes the rows `shard, shard + n_shards, ...` that no finished chunk holds, so a job started with
    one shard count continues with another (4 GPUs, then 2) without scoring a row twice; workers of one layout
    run side by side. score_fn(prompts) -> scores replaces the teacher (tests); by default the job's teacher is
    loaded only when there is something to score.
    """
    folder = Path(folder)
    if not (folder / "job.json").exists():
        raise PdlibError(f"{folder} is not a scoring job (no job.json): create it with pdlib.jobs.make_job")
    if not 0 <= shard < n_shards:
        raise PdlibError(f"shard must be in 0..{n_shards - 1}, got {shard}")
    job = cache.read_json(folder / "job.json")
    # a worker killed mid-write leaves its temporary file; only this shard's worker writes these names
    for stale in (folder / "chunks").glob(f".shard{shard:03d}-of{n_shards:03d}-*.tmp"):
        if stale.is_dir():  # cache.atomic_path writes into a temporary folder
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    items = cache.read_frame(folder / "items.parquet")
    mine = np.arange(shard, len(items), n_shards)
    rows = np.setdiff1d(mine, _scored_rows(folder))
    if not len(rows):
        return 0
    chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
    q_text = dict(cache.read_frame(folder / "queries.parquet").itertuples(index=False))
    d_text = dict(cache.read_frame(folder / "docs.parquet").itertuples(index=False))
    kind = job["kind"]
    pair = kind in PAIR_KINDS
    done_rows = len(mine) - len(rows)
    if score_fn is None:  # before the bar: loading may build a model, with a bar of its own (one bar at a time)
        score_fn = _teacher_fn(job, len(rows))
    bar = tqdm(total=len(mine), initial=done_rows, desc=f"{kind} shard {shard}/{n_shards}",
               unit="pair" if pair else "doc", disable=not progress)
    scored = 0
    try:
        for chunk in chunks:
            part = items.iloc[chunk]
            if kind == "cross-encoder":
                inputs = [(q_text[q], d_text[d]) for q, d in zip(part.qid, part.docno_a)]
            else:
                inputs = [teachers.prompt(kind, q_text[q], d_text[a], d_text[b] if pair else None)
                          for q, a, b in zip(part.qid, part.docno_a, part.docno_b if pair else part.docno_a)]
            scores = np.asarray(score_fn(inputs), dtype=np.float32)
            cache.write_frame(_chunk_file(folder, shard, n_shards, int(chunk[0])),
                              pd.DataFrame({"row": chunk, "score": scores}))
            scored += len(part)
            bar.update(len(part))
    except KeyboardInterrupt:
        raise Interrupted(f"{kind} scoring stopped with {done_rows + scored:,} of {len(mine):,} inputs scored; run "
                          f"the cell again to go on from there") from None
    finally:
        bar.close()
    return scored


def _teacher_fn(job: dict, n_inputs: int = 0):
    """The job's teacher as a function of a list of inputs; on a GPU, a T5 teacher is compiled when the worker has
    at least config.COMPILE_FROM inputs to score."""
    from . import models

    if job["kind"] == "cross-encoder":
        tok, model = models.load_seq_classifier(job["teacher"])
        model = teachers.on_device(model)
        return lambda pairs: teachers.cross_encoder_scores(tok, model, [q for q, _ in pairs], [p for _, p in pairs],
                                                         job["batch_size"], job["max_length"], progress=False)
    tok, model = models.load_t5(job["teacher"])
    model = teachers.on_device(model, compile="both" if n_inputs >= config.COMPILE_FROM else False)
    return lambda prompts: teachers.t5_scores(tok, model, job["kind"], prompts, job["batch_size"], job["max_length"],
                                            progress=False)


def _layouts(folder: Path) -> list[str]:
    """The shard counts of the finished chunks, e.g. ['1 shard', '3 shards']."""
    counts = sorted({int(f.name.split("-")[1][2:]) for f in (folder / "chunks").glob("*.parquet")})
    return [f"{n} shard{'s' if n > 1 else ''}" for n in counts]


def merge(folder: Path) -> pd.DataFrame:
    """items + a `score` column, once every row has been scored exactly once (else a clear error)."""
    folder = Path(folder)
    items = cache.read_frame(folder / "items.parquet")
    files = sorted((folder / "chunks").glob("*.parquet")) if (folder / "chunks").exists() else []
    parts = pd.concat([cache.read_frame(f) for f in files]) if files else pd.DataFrame({"row": [], "score": []})
    counts = np.bincount(parts.row.astype(int), minlength=len(items)) if len(parts) else np.zeros(len(items), int)
    if (counts > 1).any():  # only workers that ran at the same time under different shard counts do this
        raise PdlibError(f"{folder}: {int((counts > 1).sum())} rows were scored twice, by workers of different "
                         f"shard counts ({', '.join(_layouts(folder))}) running at the same time; delete the "
                         f"chunks of one of them ({folder}/chunks/shardNNN-ofMMM-*) and run it again")
    if (counts == 0).any():
        raise PdlibError(f"{folder}: {int((counts == 0).sum())} rows unscored (shards so far: "
                         f"{', '.join(_layouts(folder)) or 'none'}); score them with python -m pdlib.jobs {folder} "
                         f"--shard i --n-shards N for every i < N, any N")
    scores = np.empty(len(items), dtype=np.float32)
    scores[parts.row.astype(int).to_numpy()] = parts.score.to_numpy()
    return items.assign(score=scores)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score one shard of a teacher-scoring job (resumable).")
    ap.add_argument("job", type=Path)
    ap.add_argument("--shard", type=int, default=int(os.environ.get("RANK", 0)))
    ap.add_argument("--n-shards", type=int, default=int(os.environ.get("WORLD_SIZE", 1)))
    ap.add_argument("--chunk-size", type=int, default=512)
    args = ap.parse_args(argv)
    if "LOCAL_RANK" in os.environ and "CUDA_VISIBLE_DEVICES" not in os.environ:
        import torch
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        n = run_shard(args.job, args.shard, args.n_shards, args.chunk_size)
    except PdlibError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"shard": args.shard, "n_shards": args.n_shards, "scored_now": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

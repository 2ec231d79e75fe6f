"""Sharded, resumable teacher scoring: a killed run resumes with no lost or duplicated rows; the score store
scores nothing twice."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from pdlib import PdlibError, data, jobs, pairs


@pytest.fixture(scope="module")
def job_inputs(session_data):
    col = data.load("synthetic/tiny/train")
    rng = np.random.default_rng(0)
    docnos = col.docs.docno.to_numpy()
    sampled = pd.DataFrame([(q, *rng.choice(docnos, 2, replace=False)) for q in col.queries.qid for _ in range(60)],
                           columns=["qid", "docno_a", "docno_b"])
    return pairs.both_orders(sampled), col  # 2,400 items


def _job(folder, inputs):
    items, col = inputs
    return jobs.make_job(folder, "tiny/t5", "duo-t5", items, col.queries, col.docs, batch_size=8)


def test_kill_and_resume_equals_an_uninterrupted_run(tmp_path, job_inputs):
    ref = _job(tmp_path / "ref", job_inputs)
    assert jobs.run_shard(ref, chunk_size=8, progress=False) == len(job_inputs[0])
    expected = jobs.merge(ref)

    job = _job(tmp_path / "killed", job_inputs)
    cmd = [sys.executable, "-m", "pdlib.jobs", str(job), "--chunk-size", "8"]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((job / "chunks").glob("*.parquet"))) < 5 if (job / "chunks").exists() else True:
        assert proc.poll() is None and time.time() < deadline, "worker ended before it could be killed"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_chunks = len(list((job / "chunks").glob("*.parquet")))
    assert 5 <= n_chunks < 300  # killed mid-way
    with pytest.raises(PdlibError, match="unscored"):
        jobs.merge(job)
    # restart: only what is missing is scored
    resumed = subprocess.run(cmd, env=os.environ.copy(), capture_output=True, text=True, check=True)
    assert f'"scored_now": {len(job_inputs[0]) - 8 * n_chunks}' in resumed.stdout
    got = jobs.merge(job)
    pd.testing.assert_frame_equal(got, expected)
    assert not list(job.glob("**/*.tmp"))  # no half-written chunk left behind


def test_shards_cover_every_row_exactly_once(tmp_path, job_inputs):
    job = _job(tmp_path / "sharded", job_inputs)
    calls = []

    def fake(prompts):
        calls.append(len(prompts))
        return np.arange(len(prompts), dtype=np.float32)

    for shard in (2, 0):
        jobs.run_shard(job, shard, 3, chunk_size=100, progress=False, score_fn=fake)
    with pytest.raises(PdlibError, match="800 rows unscored"):
        jobs.merge(job)
    jobs.run_shard(job, 1, 3, chunk_size=100, progress=False, score_fn=fake)
    assert sum(calls) == len(job_inputs[0])
    assert jobs.run_shard(job, 1, 3, chunk_size=100, progress=False, score_fn=fake) == 0  # nothing left
    assert len(jobs.merge(job)) == len(job_inputs[0])


def test_a_different_job_in_the_same_folder_is_refused(tmp_path, job_inputs):
    items, col = job_inputs
    _job(tmp_path / "j", job_inputs)
    with pytest.raises(PdlibError, match="different scoring job"):
        jobs.make_job(tmp_path / "j", "tiny/t5", "duo-t5", items.head(10), col.queries, col.docs)
    with pytest.raises(PdlibError, match="not a scoring job"):
        jobs.run_shard(tmp_path / "nothing")


def test_score_merges_what_separate_workers_made(session_data, job_inputs):
    items, col = job_inputs
    folder = jobs.pending("tiny/duot5", "synthetic/tiny/train", items, col.queries, col.docs, pairwise=True, batch_size=8)
    fake = lambda prompts: np.full(len(prompts), 0.25, dtype=np.float32)  # noqa: E731
    jobs.run_shard(folder, 0, 2, progress=False, score_fn=fake)
    with pytest.raises(PdlibError, match="unscored"):  # worker 1 of 2 has not run: no silent rescoring
        jobs.score("tiny/duot5", "synthetic/tiny/train", items, col.queries, col.docs, pairwise=True, batch_size=8)
    jobs.run_shard(folder, 1, 2, progress=False, score_fn=fake)
    got = jobs.score("tiny/duot5", "synthetic/tiny/train", items, col.queries, col.docs, pairwise=True, batch_size=8)
    assert (got.score == 0.25).all() and len(got) == len(items) and list(got.columns) == [*items.columns, "score"]


def test_the_store_scores_only_what_it_lacks(session_data, job_inputs, monkeypatch):
    """Round 2 of iterative training meets many pairs round 1 scored: only the new ones are scored."""
    items, col = job_inputs
    items = items.drop_duplicates(["qid", "docno_a", "docno_b"]).reset_index(drop=True)
    scored, teachers_loaded = [], []

    def fake_teacher(job, n_inputs=0):  # one load per job: job n scores n
        teachers_loaded.append(job)
        n = len(teachers_loaded)

        def fn(prompts):
            scored.append(len(prompts))
            return np.full(len(prompts), n, dtype=np.float32)
        return fn

    monkeypatch.setattr(jobs, "_teacher_fn", fake_teacher)
    args = dict(queries=col.queries, docs=col.docs, pairwise=True, max_length=77, progress=False)
    first = jobs.score("tiny/duot5", "synthetic/tiny/train", items.iloc[:1000], **args)
    assert sum(scored) == 1000 and (first.score == 1).all()
    again = jobs.score("tiny/duot5", "synthetic/tiny/train", items.iloc[500:1500], **args)
    assert sum(scored) == 1500                                     # 500 new rows, 500 from the store
    assert (again.score.iloc[:500] == 1).all() and (again.score.iloc[500:] == 2).all()
    assert jobs.pending("tiny/duot5", "synthetic/tiny/train", items.iloc[:1500], col.queries, col.docs, True,
                        max_length=77) is None
    other = jobs.score("tiny/duot5", "synthetic/tiny/dev", items.iloc[:10], **args)  # another dataset: its own store
    assert sum(scored) == 1510 and (other.score == 3).all()


def test_restart_clears_a_temporary_chunk_left_by_a_killed_worker(tmp_path, job_inputs):
    """A worker killed inside cache.atomic_path leaves `.<chunk>.<random>.tmp/`; the restarted worker removes
    it and finishes (this is the state test_kill_and_resume hits only when the kill lands mid-write)."""
    job = _job(tmp_path / "job", job_inputs)
    stale = job / "chunks" / ".shard000-of001-chunk000000.parquet.abc123.tmp"
    stale.mkdir(parents=True)
    (stale / "shard000-of001-chunk000000.parquet").write_bytes(b"half a parquet")
    n = jobs.run_shard(job, chunk_size=400, progress=False, score_fn=lambda p: [0.0] * len(p))
    assert n == len(job_inputs[0]) and not stale.exists()


def test_a_job_continues_under_another_shard_count_without_scoring_twice(tmp_path, job_inputs):
    """Issue 16 (item 5): a job scored partly with 1 shard, then by 3 workers, then finished by 2 (a 4-GPU job
    resumed on 2 GPUs): every row is scored exactly once and merge succeeds; a finished job scores nothing."""
    job = _job(tmp_path / "relayout", job_inputs)
    scored = []

    def fake(prompts):
        scored.append(len(prompts))
        return np.zeros(len(prompts), dtype=np.float32)

    def stops_after_300(prompts):
        if sum(scored) >= 300:
            raise KeyboardInterrupt
        return fake(prompts)

    from pdlib import Interrupted

    n = len(job_inputs[0])
    with pytest.raises(Interrupted, match="300 of"):
        jobs.run_shard(job, 0, 1, chunk_size=100, progress=False, score_fn=stops_after_300)
    assert sum(scored) == 300
    jobs.run_shard(job, 1, 3, chunk_size=64, progress=False, score_fn=fake)
    with pytest.raises(PdlibError, match=r"rows unscored \(shards so far: 1 shard, 3 shards\); score them with"):
        jobs.merge(job)
    for shard in (0, 1):
        jobs.run_shard(job, shard, 2, chunk_size=50, progress=False, score_fn=fake)
    assert sum(scored) == n and len(jobs.merge(job)) == n
    assert all(jobs.run_shard(job, s, 5, progress=False, score_fn=fake) == 0 for s in range(5))


def test_a_worker_compiles_its_t5_teacher_only_for_a_long_job(session_data, monkeypatch):
    """Compiling costs minutes at 3B and repays from about config.COMPILE_FROM pairs (measured on an H200): a
    worker with that many inputs left asks on_device for the compiled encoder and decoder, a shorter one does not;
    the cross-encoder is never compiled."""
    from pdlib import config, teachers

    asked = []
    monkeypatch.setattr(teachers, "on_device", lambda model, **kw: asked.append(kw) or model)
    job = {"kind": "duo-t5", "teacher": "tiny/t5", "batch_size": 8, "max_length": 64}
    jobs._teacher_fn(job, config.COMPILE_FROM - 1)
    jobs._teacher_fn(job, config.COMPILE_FROM)
    jobs._teacher_fn({**job, "kind": "cross-encoder", "teacher": "tiny/cross-encoder"}, config.COMPILE_FROM)
    assert asked == [{"compile": False}, {"compile": "both"}, {}]

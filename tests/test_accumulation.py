"""Gradient accumulation, autocast and checkpointing of pdlib.train (issue 17): an accumulated step is the
whole-batch step (in-batch negatives off), CPU training stays fp32, new config fields keep the old keys."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

from pdlib import PdlibError, cache, data, paths, students, train

DATASET = "synthetic/tiny/train"


@pytest.fixture(scope="module")
def examples(session_data) -> train.Examples:
    """Seven queries × 6 passages, 1-4 pairs each, labelled positives for some queries only: every share of
    the accumulation (queries, queries with a positive, pairs) is uneven across micro-batches."""
    coll = data.load(DATASET)
    rng = np.random.default_rng(1)
    qids = list(coll.queries.qid[:7])
    rows = []
    for k, qid in enumerate(qids):
        n_pairs = 1 + k % 4
        ij = np.array([rng.choice(6, 2, replace=False) for _ in range(n_pairs)])
        rows.append({"qid": qid, "docnos": rng.choice(coll.docs.docno, 6, replace=False).tolist(),
                     "teacher_scores": rng.normal(size=6).tolist(), "pair_i": ij[:, 0].tolist(),
                     "pair_j": ij[:, 1].tolist(), "pair_probs": rng.random(n_pairs).tolist()})
    frame = pd.DataFrame(rows)
    positives = {q: {d[0]} for k, (q, d) in enumerate(zip(frame.qid, frame.docnos)) if k % 3}  # some unlabelled
    positives[qids[0]] = {frame.docnos[0][2]}
    return train.Examples(frame, dict(zip(coll.queries.qid, coll.queries.text)), coll.doc_text("plain"),
                          positives, n=6)


def _cfg(**kw) -> train.TrainConfig:
    return train.TrainConfig(**{**dict(student="dpr", init="tiny/bi-encoder", batch_size=7, n_passages=6,
                                       in_batch=False), **kw})


def _grads(student, batch, cfg) -> tuple[dict, dict[str, torch.Tensor]]:
    student.zero_grad(set_to_none=True)
    parts = train.accumulate(student, batch, cfg)
    return parts, {n: p.grad.clone() for n, p in student.named_parameters() if p.grad is not None}


def test_accumulated_step_equals_the_whole_batch_step(examples):
    cfg = _cfg()
    student = train.make_student(cfg).eval()  # no dropout: both runs see one function
    batch = examples.batch(np.arange(7))
    assert int((batch.positive >= 0).sum()) not in (0, 7)
    whole, g_whole = _grads(student, batch, cfg)
    for micro in (1, 3, 4):  # 7 queries: 7 × 1, 3 + 3 + 1, 4 + 3
        parts, g = _grads(student, batch, dataclasses.replace(cfg, micro_batch=micro))
        for k in ("loss", "cl", "kd", "pair"):
            assert float(parts[k]) == pytest.approx(float(whole[k]), rel=1e-5, abs=1e-7), (micro, k)
        assert g.keys() == g_whole.keys() and len(g) > 10
        # fp32 sums in another order: tolerance relative to the gradient's scale (some are 0 up to rounding,
        # e.g. a key bias, which softmax cannot see)
        scale = max(float(v.abs().max()) for v in g_whole.values())
        for name in g:
            torch.testing.assert_close(g[name], g_whole[name], rtol=1e-4, atol=1e-5 * scale, msg=f"{micro} {name}")
        flat, flat_whole = torch.cat([g[n].flatten() for n in g]), torch.cat([g_whole[n].flatten() for n in g])
        assert float((flat - flat_whole).norm() / flat_whole.norm()) < 1e-5


def test_in_batch_negatives_stay_inside_each_micro_batch(examples):
    """Documented difference: with in-batch negatives a micro-batch contrasts its queries' positives only with
    its own queries' passages, so L_CL (and the gradient) differs from one pass over the whole batch."""
    cfg = _cfg(in_batch=True)
    student = train.make_student(cfg).eval()
    batch = examples.batch(np.arange(7))
    whole, _ = _grads(student, batch, cfg)
    split, _ = _grads(student, batch, dataclasses.replace(cfg, micro_batch=3))
    assert float(split["kd"]) == pytest.approx(float(whole["kd"]), rel=1e-5)
    assert float(split["pair"]) == pytest.approx(float(whole["pair"]), rel=1e-5)
    assert float(split["cl"]) < float(whole["cl"]) - 1e-3  # fewer negatives: an easier contrast


def test_cpu_training_is_fp32_without_autocast(examples):
    cfg = _cfg(micro_batch=4)
    student = train.make_student(cfg)
    seen = []
    encode = student.encode

    def recording(queries, docs):
        seen.append(torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda"))
        return encode(queries, docs)

    student.encode = recording
    batch = examples.batch(np.arange(7))
    parts = train.accumulate(student, batch, cfg)
    assert seen == [False, False] and parts["scores"].dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in student.parameters())
    assert isinstance(train.autocast("cpu"), type(train.autocast(torch.device("cpu"))))
    assert not isinstance(train.autocast("cpu"), torch.autocast)


def test_checkpointing_gives_the_same_gradients(examples):
    """Recomputed activations (with the same dropout masks: the RNG state is replayed) give the same step."""
    cfg = _cfg()
    batch = examples.batch(np.arange(4))
    plain = train.make_student(cfg)
    ckpt = train.make_student(dataclasses.replace(cfg, grad_checkpointing=True))
    ckpt.load_state_dict(plain.state_dict())
    hf = [m for m in ckpt.modules() if hasattr(m, "is_gradient_checkpointing")]
    assert hf and all(m.is_gradient_checkpointing for m in hf)
    torch.manual_seed(0)
    a, ga = _grads(plain.train(), batch, cfg)
    torch.manual_seed(0)
    b, gb = _grads(ckpt.train(), batch, cfg)
    assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-6)
    scale = max(float(v.abs().max()) for v in ga.values())
    for name in ga:
        torch.testing.assert_close(gb[name], ga[name], rtol=1e-5, atol=1e-6 * scale)


def test_new_fields_keep_existing_keys_and_jobs(examples, tmp_path):
    """micro_batch and grad_checkpointing at their defaults leave cache keys and job.json comparisons as they
    were before the fields existed; other values are keyed."""
    cfg = _cfg()
    fp = cache.fingerprint(cfg)
    added = ("micro_batch", "grad_checkpointing", "compile", "lambda_word", "word_teacher",
             "fn_margin")  # MD2PR's: issue 18
    assert not set(added) & set(fp)
    before = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in added}
    assert fp == before
    assert cache.fingerprint(_cfg(micro_batch=2))["micro_batch"] == 2
    assert cache.fingerprint(_cfg(grad_checkpointing=True))["grad_checkpointing"] is True
    assert cache.fingerprint(_cfg(in_batch=False, fn_margin=0.0))["fn_margin"] == 0.0
    # a job folder written before the fields existed still holds the same job
    folder = tmp_path / "job"
    folder.mkdir()
    job = {"config": before, "examples": paths.to_cache(tmp_path / "x.parquet"), "dataset": DATASET}
    (folder / "job.json").write_text(json.dumps(job))
    train.make_job(folder, cfg, tmp_path / "x.parquet", DATASET)
    with pytest.raises(PdlibError, match="micro_batch"):
        train.make_job(folder, _cfg(micro_batch=2), tmp_path / "x.parquet", DATASET)


def test_students_encoder_is_compiled_on_a_gpu_only(examples, monkeypatch):
    """On a GPU (pretended: the student stays on the CPU) pdlib.train compiles the innermost transformers model
    of either student, the BertModel it calls for texts; on the CPU, or with compile=False, nothing is compiled."""
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **kw: compiled.append(type(self).__name__))
    real = students.make_student
    for cfg in (_cfg(), _cfg(student="colbert", init="tiny/colbert")):
        compiled.clear()
        train.make_student(cfg)
        assert compiled == []
        monkeypatch.setattr(students, "make_student", lambda *a: real(*a[:-1], "cpu"))
        train.make_student(cfg, "cuda")
        assert compiled == ["BertModel"]
        train.make_student(dataclasses.replace(cfg, compile=False), "cuda:0")
        assert compiled == ["BertModel"]
        monkeypatch.setattr(students, "make_student", real)
    with pytest.raises(PdlibError, match="no transformers model to compile"):
        students.compile_encoders(torch.nn.Linear(2, 2))


def test_bad_micro_batch_fails_clearly(examples):
    with pytest.raises(PdlibError, match="micro_batch"):
        _cfg(micro_batch=0)
    with pytest.raises(PdlibError, match="at least one query"):
        examples.batch(np.arange(3)).split(0)
    parts = examples.batch(np.arange(7)).split(3)
    assert [len(p) for p in parts] == [3, 3, 1] and [len(p.docs) for p in parts] == [18, 18, 6]

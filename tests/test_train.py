"""pdlib.train: resume equals an uninterrupted run, both students save loadable checkpoints, bad input fails."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from pdlib import PdlibError, cache, data, losses, pairs, students, train

DATASET = "synthetic/tiny/train"


@pytest.fixture(scope="module")
def examples_path(session_data):
    """Examples shaped like pairs.training_examples: 8 passages per query (the judged ones first), random
    teacher scores and pairs, so the losses have something to fit."""
    coll = data.load(DATASET)
    rng = np.random.default_rng(0)
    judged = coll.qrels.groupby("qid").docno.apply(list).to_dict()
    rows = []
    for qid in coll.queries.qid:
        docs = list(dict.fromkeys(judged.get(qid, [])[:2] + rng.choice(coll.docs.docno, 8, replace=False).tolist()))[:8]
        ij = rng.choice(8, (4, 2))
        ij = ij[ij[:, 0] != ij[:, 1]]
        rows.append({"qid": qid, "docnos": docs, "teacher_scores": rng.normal(size=8).tolist(),
                     "pair_i": ij[:, 0].tolist(), "pair_j": ij[:, 1].tolist(), "pair_probs": rng.random(len(ij)).tolist()})
    return cache.write_frame(session_data / "train-test" / "examples.parquet", pd.DataFrame(rows))


def _cfg(**kw):
    base = dict(student="dpr", init="tiny/bi-encoder", steps=6, batch_size=4, n_passages=6, lr=1e-3,
                checkpoint_every=2, seed=3)
    return train.TrainConfig(**{**base, **kw})


def test_resume_ends_at_the_same_weights(examples_path, tmp_path):
    whole = train.train(tmp_path / "whole", _cfg(), examples_path, DATASET, progress=False)
    train.make_job(tmp_path / "cut", _cfg(), examples_path, DATASET)
    assert train.run(tmp_path / "cut", stop_after=3, progress=False) is None     # "killed" after step 3
    assert torch.load(tmp_path / "cut" / "state.pt", weights_only=True)["step"] == 2  # last checkpoint
    resumed = train.run(tmp_path / "cut", progress=False)                        # redoes step 3, then 4-6
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    log_a, log_b = train.read_log(tmp_path / "whole"), train.read_log(tmp_path / "cut")
    assert list(log_b.step) == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(log_a.loss, log_b.loss, rtol=0, atol=0)
    # and training changed the weights
    from pdlib.smoke import tiny

    init = load_file(str(tiny.build_tiny("bi-encoder") / "model.safetensors"))
    assert init.keys() == a.keys() and any(not torch.equal(init[k], a[k]) for k in a)


def test_training_lowers_the_loss_and_saves_a_sentence_transformer(examples_path, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = train.train(tmp_path / "job", _cfg(steps=40, checkpoint_every=40), examples_path, DATASET, progress=False)
    log = train.read_log(tmp_path / "job")
    assert set(log.columns) >= {"step", "loss", "cl", "kd", "pair", "lr"}
    assert log.loss.tail(10).mean() < log.loss.head(10).mean()
    model = SentenceTransformer(str(out), device="cpu")
    emb = model.encode(["a query"])
    assert emb.shape == (1, 64)


def test_colbert_student_saves_in_colbert_ai_format(examples_path, tmp_path):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint
    from colbert.modeling.colbert import colbert_score

    cfg = _cfg(student="colbert", init="tiny/colbert", steps=2, checkpoint_every=1, doc_maxlen=32, query_maxlen=8)
    out = train.train(tmp_path / "job", cfg, examples_path, DATASET, progress=False)
    meta = json.loads((out / "artifact.metadata").read_text())
    assert meta["dim"] == 128 and meta["doc_maxlen"] == 32 and meta["query_maxlen"] == 8
    coll = data.load(DATASET)
    q, d = coll.queries.text.iloc[0], coll.docs.text.iloc[0]
    # colbert-ai's own inference class loads the checkpoint and scores like the training module
    ckpt = Checkpoint(str(out), colbert_config=ColBERTConfig())
    Q = ckpt.queryFromText([q])
    D, mask = ckpt.doc(*ckpt.doc_tokenizer.tensorize([d]), keep_dims="return_mask")
    expected = colbert_score(Q, D, mask).item()
    ours = students.score_items("colbert", out, pd.DataFrame({"qid": ["q"], "docno": ["d"]}), {"q": q}, {"d": d},
                             doc_maxlen=32, query_maxlen=8)
    assert ours.score.iloc[0] == pytest.approx(expected, rel=1e-4)


def test_agreement_counts_pairs_ordered_like_the_teacher():
    table = pd.DataFrame({"qid": ["q"] * 3, "docno_a": ["a", "b", "a"], "docno_b": ["b", "c", "c"],
                          "prob": [0.9, 0.2, 0.5]})                               # the ½ pair is undecided
    scores = pd.DataFrame({"qid": ["q"] * 3, "docno": ["a", "b", "c"], "score": [3.0, 2.0, 1.0]})
    assert pairs.agreement(table, scores) == 0.5                                # a≻b agrees, b≺c does not
    with pytest.raises(ValueError, match="both passages"):
        pairs.agreement(table, scores.iloc[:2])


def test_bad_config_and_conflicting_job_fail_clearly(examples_path, tmp_path):
    with pytest.raises(PdlibError, match="student must be"):
        train.TrainConfig(student="bm25")
    with pytest.raises(PdlibError, match="nothing to train"):
        train.TrainConfig(use_cl=False, lambda_kd=0, lambda_pair=0)
    with pytest.raises(PdlibError, match="unknown training options"):
        train.TrainConfig.from_dict({"stepz": 3})
    train.make_job(tmp_path / "job", _cfg(), examples_path, DATASET)
    with pytest.raises(PdlibError, match="another training job"):
        train.make_job(tmp_path / "job", _cfg(steps=7), examples_path, DATASET)
    with pytest.raises(PdlibError, match="n_passages"):
        train.train(tmp_path / "deep", _cfg(n_passages=50), examples_path, DATASET, progress=False)
    assert not (tmp_path / "deep" / "model").exists()


class _FixedStudent(torch.nn.Module):
    """Scores known in advance: s(q_b, d) = table[b, d] for own passages, table_all for the whole batch."""

    def __init__(self, table, table_all):
        super().__init__()
        self.table, self.table_all = table, table_all

    def encode(self, queries, docs):
        return None, None

    def scores(self, Q, D, n, all_pairs=False):
        return self.table_all if all_pairs else self.table


def _batch(positive):
    return train.Batch(queries=["q0", "q1"], docs=["a", "b", "c", "d"], teacher=torch.tensor([[1.0, 0.0], [0.0, 0.0]]),
                       positive=torch.tensor(positive), pair_i=torch.tensor([[0], [1]]), pair_j=torch.tensor([[1], [0]]),
                       pair_probs=torch.tensor([[0.9], [0.5]]), pair_mask=torch.tensor([[True], [False]]))


def test_batch_loss_takes_every_term_from_the_losses():
    s = torch.tensor([[2.0, 0.0], [0.5, 1.0]])
    s_all = torch.tensor([[2.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.5, 1.0]])
    student, b = _FixedStudent(s, s_all), _batch([0, -1])                # query 1 has no labelled positive
    got = train.batch_loss(student, b, _cfg(n_passages=2, in_batch=False))
    cl = math.log(1 + math.exp(-2))                                       # query 0 alone, hand-worked
    kd = losses.kd_loss(s, b.teacher).item()
    pair = losses.pair_loss(s[:1], b.pair_i[:1], b.pair_j[:1], b.pair_probs[:1]).item()  # the masked pair is out
    assert got["cl"].item() == pytest.approx(cl) and got["kd"].item() == pytest.approx(kd)
    assert got["pair"].item() == pytest.approx(pair) and got["loss"].item() == pytest.approx(cl + kd + 3 * pair)
    assert torch.equal(got["scores"], s)
    in_batch = train.batch_loss(student, b, _cfg(n_passages=2, in_batch=True))  # positive vs query 1's passages
    assert in_batch["cl"].item() == pytest.approx(math.log(1 + 2 * math.exp(-1)))
    zero_shot = train.batch_loss(student, b, _cfg(n_passages=2, use_cl=False))
    assert zero_shot["cl"].item() == 0.0 and zero_shot["loss"].item() == pytest.approx(kd + 3 * pair)


def test_train_student_is_one_cached_stage(examples_path, session_data):
    """The same configuration on the same examples is one job folder, whichever way the dataset is named."""
    ex = cache.Artifact(cache.Key("examples", "m", "d", "x"), "examples.parquet")
    import shutil

    ex.path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(examples_path, ex.path)
    a = train.train_student(_cfg(steps=2), ex, DATASET, progress=False)
    b = train.train_student(_cfg(steps=2), ex, data.canonical_id(DATASET), progress=False)
    assert a == b and (a.path / "done").exists() and a.path.parent.parent.name == "train"
    assert json.loads((a.path.parent / "job.json").read_text())["examples"] == "examples/m__d__x/examples.parquet"
    c = train.train_student(_cfg(steps=2, init=str(a.path)), ex, DATASET, progress=False)  # a second round
    assert c.key.model == a.path.relative_to(session_data).as_posix()


def test_every_sampled_pair_reaches_l_pair_and_labelled_positives_join_the_lists():
    """Issue 12: pairs from the pointwise top-100 touch more passages than n_passages; every one of them is in
    the batch, pointing at the right passages, and a labelled positive the list lacks is added for L_CL only."""
    rng = np.random.default_rng(0)
    point = pd.DataFrame([(f"q{q}", f"q{q}d{r}", -float(r)) for q in range(3) for r in range(100)],
                         columns=["qid", "docno", "score"])
    ranked = point.assign(rank=point.groupby("qid").cumcount() + 1)
    sampled = pairs.sample_pairs(ranked, k=100, delta=10, n_pairs=50, seed=0).assign(prob=lambda f: rng.random(len(f)))
    ex_frame = pairs.training_examples(point, sampled, n_passages=16)
    assert (ex_frame.docnos.map(len) > 16).all()                          # the pairs need longer lists
    texts = {d: d for d in point.docno} | {"gold": "gold"}
    ex = train.Examples(ex_frame, {q: q for q in ex_frame.qid}, texts, {"q0": {"q0d3"}, "q1": {"gold"}}, n=16)
    b = ex.batch(np.arange(3))
    L = b.doc_mask.shape[1]
    docs = np.array(b.docs).reshape(3, L)
    for row, qid in enumerate(ex_frame.qid):
        mine = sampled[sampled.qid == qid]
        assert int(b.pair_mask[row].sum()) == len(mine) == 50
        got = {(docs[row, i], docs[row, j]) for i, j in zip(b.pair_i[row][b.pair_mask[row]].tolist(),
                                                             b.pair_j[row][b.pair_mask[row]].tolist())}
        assert got == set(zip(mine.docno_a, mine.docno_b))
    assert docs[0, b.positive[0]] == "q0d3" and b.positive[2] == -1     # in the list / no label
    n1 = int(b.doc_mask[1].sum())
    assert docs[1, n1 - 1] == "gold" and b.positive[1] == n1 - 1 and torch.isnan(b.teacher[1, n1 - 1])
    assert not b.doc_mask[0, int(b.doc_mask[0].sum()):].any() and torch.isnan(b.teacher[~b.doc_mask]).all()


def test_an_interrupted_training_says_one_line_and_resumes(examples_path, tmp_path, monkeypatch):
    """Issue 15: Ctrl-C in a training cell gives one line (IPython renders `_render_traceback_`), and the next
    run resumes from the checkpoint it names."""
    from pdlib import Interrupted

    cfg = _cfg(steps=4, checkpoint_every=2)
    train.make_job(tmp_path / "job", cfg, examples_path, DATASET)
    real, calls = train._step, []

    def stop_at_third(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(train, "_step", stop_at_third)
    with pytest.raises(Interrupted) as err:
        train.run(tmp_path / "job", progress=False)
    assert err.value._render_traceback_() == [
        "\x1b[33mInterrupted\x1b[0m: training stopped at step 2 of 4; run the cell again to resume from the "
        "checkpoint at step 2"]
    monkeypatch.setattr(train, "_step", real)
    assert train.run(tmp_path / "job", progress=False).exists()
    assert len(train.read_log(tmp_path / "job")) == 4

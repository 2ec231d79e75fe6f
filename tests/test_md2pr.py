"""MD2PR's options of the training loop (pdlib.md2pr): hand-worked false negatives, attention targets and
word-level KL; the loop with both options on the tiny stand-ins."""
from __future__ import annotations

import math

import pytest
import torch

from pdlib import PdlibError, md2pr, train

from test_train import DATASET, _cfg, _FixedStudent, examples_path  # noqa: F401 (a fixture)


def test_false_negatives_by_hand():
    """The docstring's example: θ = (5 + 3)/2 − 1 = 3; the positive itself and NaN scores never count."""
    teacher = torch.tensor([[5.0, 4.5, 1.0], [2.0, 6.0, 3.0]])
    got = md2pr.false_negatives(teacher, torch.tensor([0, 2]), margin=1.0)
    assert got.tolist() == [[False, True, False], [False, True, False]]
    # the threshold moves with the batch: a higher margin lets more through (3.0 − 2 = 2: query 1's passage 0 too)
    assert md2pr.false_negatives(teacher, torch.tensor([0, 2]), 2.0).tolist() == [[False, True, False],
                                                                                   [True, True, False]]
    nan = torch.tensor([[float("nan"), 9.0], [1.0, 2.0]])
    assert not md2pr.false_negatives(nan, torch.tensor([0, -1]), 0.0).any()  # no scored positive: none
    assert not md2pr.false_negatives(teacher, torch.tensor([-1, -1]), 0.0).any()


def test_filtered_negatives_leave_l_cl():
    """Own-list L_CL with query 0's passage 1 filtered: only passage 2 is left as its negative (hand-worked)."""
    s = torch.tensor([[2.0, 1.0, 0.0]])
    cfg_off, cfg_on = _cfg(n_passages=3, in_batch=False), _cfg(n_passages=3, in_batch=False, fn_margin=1.0)
    b = train.Batch(queries=["q"], docs=["a", "b", "c"], teacher=torch.tensor([[5.0, 4.5, 1.0]]),
                    positive=torch.tensor([0]), pair_i=torch.zeros(1, 1, dtype=torch.long),
                    pair_j=torch.ones(1, 1, dtype=torch.long), pair_probs=torch.tensor([[0.5]]),
                    pair_mask=torch.tensor([[False]]))
    student = _FixedStudent(s, None)
    off, on = train.batch_loss(student, b, cfg_off), train.batch_loss(student, b, cfg_on)
    assert off["cl"].item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + math.exp(1) + 1)))
    assert on["cl"].item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 1)))
    with pytest.raises(PdlibError, match="in_batch=False"):
        _cfg(fn_margin=1.0)  # with in-batch negatives the own list is no negative: a clear error


def test_attention_targets_and_word_loss_by_hand():
    """Inputs [CLS] q1 q2 [SEP] d1 d2 [SEP] (T = 7): the rows of q1, q2 over the columns of d1, d2, averaged over
    two heads and renormalised; then the docstring's KL example."""
    att = torch.zeros(1, 2, 7, 7)
    att[0, 0, 1, 4:6] = torch.tensor([0.3, 0.1])   # head 0, q1 -> d1, d2 (the rest goes elsewhere)
    att[0, 1, 1, 4:6] = torch.tensor([0.3, 0.1])
    att[0, :, 2, 4:6] = torch.tensor([0.2, 0.2])
    targets, rows = md2pr.attention_targets(att, [2], [2], nq=3, nd=2)
    assert rows.tolist() == [[True, True, False]]
    torch.testing.assert_close(targets[0, :2], torch.tensor([[0.75, 0.25], [0.5, 0.5]]))
    cols = torch.tensor([[True, True]])
    flat = md2pr.word_loss(torch.zeros(1, 3, 2), targets, rows, cols)
    kl_row0 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)  # 0.1308; row 1 is 0 against equal logits
    assert flat.item() == pytest.approx(kl_row0 / 2)
    fit = torch.tensor([[[math.log(3), 0.0], [0.0, 0.0], [5.0, -5.0]]])  # row 2 is padding: ignored
    assert md2pr.word_loss(fit, targets, rows, cols).item() == pytest.approx(0.0, abs=1e-6)
    # a padded passage column gets no student probability
    wide = md2pr.word_loss(torch.zeros(1, 3, 3), torch.cat([targets, torch.zeros(1, 3, 1)], -1), rows,
                           torch.tensor([[True, True, False]]))
    assert wide.item() == pytest.approx(kl_row0 / 2)


def test_word_level_training_runs_and_follows_the_teacher(examples_path, tmp_path):  # noqa: F811
    """The tiny cross-encoder teaches the tiny bi-encoder's token similarities: the teacher's targets are
    distributions over each passage's real tokens, aligned with the student's tokens; training with
    lambda_word lowers the word term; a ColBERT student or a missing teacher is a clear error."""
    from pdlib import students

    student = students.make_student("dpr", "tiny/bi-encoder", 180, 32, "cpu")
    queries, docs = ["alpha beta", "gamma"], ["alpha delta epsilon", "", "zeta", "gamma gamma eta theta"]
    Q, D, (q_tok, d_tok) = student.encode(queries, docs, tokens=True)
    (q_vec, q_ids), (d_vec, d_ids) = q_tok, d_tok
    assert [len(x) for x in d_ids][1] == 0 and q_vec.shape[:2] == (2, max(map(len, q_ids)))
    teacher = md2pr.word_teacher("tiny/cross-encoder", student.tokenizer, "cpu")
    q_rep = [q_ids[b] for b in range(2) for _ in range(2)]
    targets, rows = teacher.targets(q_rep, d_ids, q_vec.shape[1], d_vec.shape[1])
    for p, d in enumerate(d_ids):
        real = targets[p, :len(q_rep[p]), :len(d)]
        if d:
            torch.testing.assert_close(real.sum(-1), torch.ones(len(q_rep[p])))
        assert rows[p].sum() == (len(q_rep[p]) if d else 0) and targets[p, :, len(d):].abs().sum() == 0
    cfg = _cfg(steps=30, checkpoint_every=30, lambda_word=1.0, word_teacher="tiny/cross-encoder")
    train.train(tmp_path / "job", cfg, examples_path, DATASET, progress=False)
    log = train.read_log(tmp_path / "job")
    assert "word" in log and log.word.tail(5).mean() < log.word.head(5).mean()
    with pytest.raises(PdlibError, match="student='dpr'"):
        _cfg(student="colbert", lambda_word=1.0, word_teacher="tiny/cross-encoder")
    with pytest.raises(PdlibError, match="word_teacher"):
        _cfg(lambda_word=1.0)

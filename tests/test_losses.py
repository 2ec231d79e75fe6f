"""Losses against their docstrings' worked examples, a per-pair reference, and shape errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from pdlib import losses


def test_contrastive_worked_example_and_in_batch():
    assert losses.contrastive_loss(torch.tensor([[2.0, 0.0, 0.0]])).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)))
    s = torch.tensor([[1.0, 0.0, 5.0, 5.0], [0.0, 0.0, 0.0, 2.0]])  # B=2, n=2, all 4 passages of the batch
    got = losses.contrastive_loss(s, torch.tensor([0, 1]), in_batch=True)
    # the docstring's example: each positive against the other query's passages, its own others left out
    expect = (math.log(1 + 2 * math.exp(4)) + math.log(1 + 2 * math.exp(-2))) / 2
    assert got.item() == pytest.approx(expect)
    with pytest.raises(ValueError, match="in_batch needs"):
        losses.contrastive_loss(torch.zeros(2, 3), 0, in_batch=True)


def test_kd_worked_example_and_temperature():
    got = losses.kd_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3), 0.0]]))
    assert got.item() == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    # τ → large flattens the teacher: KL to a uniform student goes to 0
    assert losses.kd_loss(torch.zeros(1, 2), torch.tensor([[math.log(3), 0.0]]), temperature=1e6).item() < 1e-9
    with pytest.raises(ValueError, match="must match"):
        losses.kd_loss(torch.zeros(2, 3), torch.zeros(2, 4))


def test_pair_worked_example():
    s = torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    got = losses.pair_loss(s, torch.tensor([[0], [2]]), torch.tensor([[1], [0]]), torch.tensor([[0.8], [0.5]]))
    q = 1 / (1 + math.exp(-1))
    first = 0.8 * math.log(0.8 / q) + 0.2 * math.log(0.2 / (1 - q))
    assert first == pytest.approx(0.01286, abs=1e-5)
    assert got.item() == pytest.approx(first / 2, abs=1e-7)
    assert got.item() == pytest.approx(0.00643, abs=1e-5)


def _per_pair_reference(scores, pair_i, pair_j, probs, mask):
    """One KLDivLoss per pair, as the authors' training loop computes it."""
    kl = torch.nn.KLDivLoss(reduction="batchmean")
    terms = []
    for b in range(scores.shape[0]):
        for k in range(pair_i.shape[1]):
            if mask[b, k]:
                i, j, p = pair_i[b, k], pair_j[b, k], probs[b, k]
                terms.append(kl(F.log_softmax(scores[b, [i, j]], -1)[None], torch.stack([p, 1 - p])[None]))
    return sum(terms) / len(terms)


def test_pair_loss_equals_the_per_pair_loop_value_and_gradient():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 8, generator=g, requires_grad=True)
    pi, pj = torch.randint(0, 8, (4, 5), generator=g), torch.randint(0, 8, (4, 5), generator=g)
    p = torch.rand(4, 5, generator=g)
    mask = torch.rand(4, 5, generator=g) > 0.3
    ours = losses.pair_loss(s, pi, pj, p, mask)
    ref = _per_pair_reference(s, pi, pj, p, mask)
    assert ours.item() == pytest.approx(ref.item(), abs=1e-6)
    (g1,) = torch.autograd.grad(ours, s)
    (g2,) = torch.autograd.grad(ref, s)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_pair_loss_edge_cases():
    s = torch.zeros(2, 3, requires_grad=True)
    idx = torch.zeros(2, 1, dtype=torch.long)
    assert losses.pair_loss(s, idx, idx, torch.ones(2, 1), torch.zeros(2, 1, dtype=torch.bool)).item() == 0.0
    # p ∈ {0, 1} is fine (0·log 0 = 0), and the loss is smallest when the student agrees
    hard = losses.pair_loss(torch.tensor([[5.0, -5.0]]), torch.tensor([[0]]), torch.tensor([[1]]), torch.tensor([[1.0]]))
    wrong = losses.pair_loss(torch.tensor([[-5.0, 5.0]]), torch.tensor([[0]]), torch.tensor([[1]]), torch.tensor([[1.0]]))
    assert torch.isfinite(hard) and hard.item() < 1e-4 < wrong.item()
    with pytest.raises(ValueError, match=r"must all be \(B, P\)"):
        losses.pair_loss(torch.zeros(2, 3), torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long),
                         torch.zeros(2, 3))


def test_total_loss_combines_and_zero_shot_drops_cl():
    s = torch.tensor([[1.0, 0.0, -1.0]])
    t = torch.tensor([[0.0, 1.0, 0.0]])
    pi, pj, p = torch.tensor([[0]]), torch.tensor([[1]]), torch.tensor([[0.3]])
    out = losses.total_loss(s, t, pi, pj, p, positive=0, lambda_kd=1.0, lambda_pair=3.0)
    expect = losses.contrastive_loss(s, 0) + losses.kd_loss(s, t) + 3 * losses.pair_loss(s, pi, pj, p)
    assert out["loss"].item() == pytest.approx(expect.item())
    zs = losses.total_loss(s, t, pi, pj, p, positive=None, lambda_pair=3.0)
    assert zs["cl"].item() == 0.0
    assert zs["loss"].item() == pytest.approx((losses.kd_loss(s, t) + 3 * losses.pair_loss(s, pi, pj, p)).item())
    no_pair = losses.total_loss(s, t, pi, pj, p, lambda_pair=0.0)
    assert no_pair["pair"].item() == 0.0


def test_contrastive_leaves_out_queries_without_a_positive():
    """Worked example: query 0 has its positive at 0, query 1 none (−1): L_CL is query 0's term alone."""
    s = torch.tensor([[2.0, 0.0, 0.0], [9.0, -9.0, 0.0]])
    got = losses.contrastive_loss(s, torch.tensor([0, -1]))
    assert got.item() == pytest.approx(math.log(1 + 2 * math.exp(-2)))
    assert losses.contrastive_loss(s, torch.tensor([-1, -1])).item() == 0.0
    # in-batch: query 1 (positive −1) is left out; query 0 meets the other query's two passages
    s4 = torch.tensor([[1.0, 0.0, 5.0, 5.0], [0.0, 0.0, 0.0, 2.0]])
    got = losses.contrastive_loss(s4, torch.tensor([0, -1]), in_batch=True)
    assert got.item() == pytest.approx(-F.log_softmax(torch.tensor([1.0, 5.0, 5.0]), 0)[0].item())
    # padding is never a negative: the other query's second passage masked
    masked = losses.contrastive_loss(s4, torch.tensor([0, -1]), in_batch=True,
                                     doc_mask=torch.tensor([[True, True], [True, False]]))
    assert masked.item() == pytest.approx(math.log(1 + math.exp(4)))
    with pytest.raises(ValueError, match=r"positive must be \(B,\)"):
        losses.contrastive_loss(s, torch.tensor([0]))


def test_total_loss_takes_in_batch_negatives():
    s = torch.tensor([[1.0, 0.0], [0.0, 2.0]])                   # own passages (B=2, n=2)
    s_all = torch.tensor([[1.0, 0.0, 5.0, 5.0], [0.0, 0.0, 0.0, 2.0]])  # every passage of the batch
    out = losses.total_loss(s, None, positive=torch.tensor([0, 1]), in_batch_scores=s_all)
    assert out["cl"].item() == pytest.approx(losses.contrastive_loss(s_all, torch.tensor([0, 1]), in_batch=True).item())
    assert out["cl"].item() != pytest.approx(losses.contrastive_loss(s, torch.tensor([0, 1])).item())


def test_kd_leaves_out_masked_passages():
    """A padded passage or a labelled positive without a teacher score (NaN) is outside both distributions:
    [[0, 0, 9]] against [[ln 3, 0, NaN]] is the worked example's 0.1308."""
    got = losses.kd_loss(torch.tensor([[0.0, 0.0, 9.0]]), torch.tensor([[math.log(3), 0.0, float("nan")]]))
    assert got.item() == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    masked = losses.kd_loss(torch.tensor([[0.0, 0.0, 9.0]]), torch.tensor([[math.log(3), 0.0, 5.0]]),
                            mask=torch.tensor([[True, True, False]]))
    assert masked.item() == pytest.approx(got.item())
    s = torch.tensor([[0.0, 0.0, 9.0]], requires_grad=True)
    losses.kd_loss(s, torch.tensor([[math.log(3), 0.0, float("nan")]])).backward()
    assert torch.isfinite(s.grad).all() and s.grad[0, 2] == 0

"""The three losses of PairDistill (Used in 04_distill, 06_domain_adapt; §3.1, §3.3, §4.2).

All take the student's scores of each query's passages, `student_scores` (B, n), and are vectorised over
the batch (pairs are gathered by index: no Python loop over pairs).

    L = L_CL + λ_KD · L_KD + λ_pair · L_pair          (§4.2, supervised)
    L_ZS = L_KD + λ_pair · L_pair                     (§4.2, no labels: zero-shot domain adaptation)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(name: str, cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {msg}")


def contrastive_loss(student_scores: torch.Tensor, positive: torch.Tensor | int = 0,
                     in_batch: bool = False) -> torch.Tensor:
    """L_CL, InfoNCE over the query's passages D' with the labelled positive (§3.1):

        L_CL = mean_q −log( exp s(q, d⁺) / Σ_{d ∈ D'} exp s(q, d) )

    student_scores: (B, n), passage j of query b in column j. positive: (B,) index of d⁺ per query (or one
    int for all); a query whose positive is −1 (no labelled positive among its passages) is left out of the
    mean, and with no positive at all L_CL is 0. in_batch=True adds every other query's passages as negatives,
    as ColBERT does: the scores must then be (B, B·n), query b against all B·n passages of the batch, its own
    at b·n … b·n+n−1.

    Worked example: scores [[2, 0, 0]], positive 0 → −log(e²/(e²+2)) = log(1 + 2e⁻²) ≈ 0.2395.
    """
    _check("contrastive_loss", student_scores.dim() == 2, f"scores must be (B, n), got {tuple(student_scores.shape)}")
    B = student_scores.shape[0]
    pos = torch.full((B,), positive, dtype=torch.long, device=student_scores.device) if isinstance(positive, int) \
        else positive.long()
    _check("contrastive_loss", pos.shape == (B,), f"positive must be (B,) = ({B},), got {tuple(pos.shape)}")
    if in_batch:
        n = student_scores.shape[1] // B
        _check("contrastive_loss", n * B == student_scores.shape[1],
               f"in_batch needs (B, B·n) scores, got {tuple(student_scores.shape)}")
    has = pos >= 0
    if not has.any():
        return student_scores.sum() * 0.0
    if not has.all():
        student_scores, pos = student_scores[has], pos[has]
    if in_batch:
        pos = pos + torch.arange(B, device=pos.device)[has] * n
    return F.cross_entropy(student_scores, pos)


def kd_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """L_KD = mean_q KL(P_point(·|q) ‖ P(·|q)) with P_point = softmax(s_point/τ), P = softmax(s) (§3.3).

    Both (B, n) over the same passages. Worked example: student [[0, 0]], teacher [[ln 3, 0]], τ = 1 →
    P_point = (3/4, 1/4), P = (1/2, 1/2): KL = ¾ ln(3/2) + ¼ ln(1/2) ≈ 0.1308.
    """
    _check("kd_loss", student_scores.shape == teacher_scores.shape,
           f"student {tuple(student_scores.shape)} and teacher {tuple(teacher_scores.shape)} scores must match")
    target = F.log_softmax(teacher_scores.float() / temperature, dim=-1)
    return F.kl_div(F.log_softmax(student_scores.float(), dim=-1), target, log_target=True, reduction="batchmean")


def pair_loss(student_scores: torch.Tensor, pair_i: torch.Tensor, pair_j: torch.Tensor, pair_probs: torch.Tensor,
              pair_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_pair: mean over the sampled pairs of KL([p, 1−p] ‖ softmax([s_i, s_j])) (§4.2), where
    p = P_pair(d_i ≻ d_j | q) from the pairwise teacher and softmax([s_i, s_j])₀ = σ(s_i − s_j) is the
    student's P(d_i ≻ d_j | q).

    student_scores (B, n); pair_i, pair_j (B, P) passage positions; pair_probs (B, P); pair_mask (B, P) bool,
    False for padding (queries with fewer than P pairs). The paper writes a sum over each query's pairs and
    a mean over queries; with a fixed number of pairs per query that is this mean times P.

    Worked example (2 queries × 3 passages): scores [[1, 0, −1], [0, 0, 0]], pairs (0, 1) with p = 0.8 and
    (2, 0) with p = 0.5. Pair 1: σ(1) = 0.7311, KL = 0.8 ln(0.8/0.7311) + 0.2 ln(0.2/0.2689) = 0.01286;
    pair 2: σ(0) = 0.5 = p, KL = 0. L_pair = (0.01286 + 0) / 2 = 0.00643.
    """
    _check("pair_loss", student_scores.dim() == 2, f"scores must be (B, n), got {tuple(student_scores.shape)}")
    _check("pair_loss", pair_i.shape == pair_j.shape == pair_probs.shape and pair_i.shape[0] == student_scores.shape[0],
           f"pair_i {tuple(pair_i.shape)}, pair_j {tuple(pair_j.shape)}, pair_probs {tuple(pair_probs.shape)} must all "
           f"be (B, P) with B = {student_scores.shape[0]}")
    mask = torch.ones_like(pair_probs, dtype=torch.bool) if pair_mask is None else pair_mask.bool()
    if not mask.any():
        return student_scores.sum() * 0.0
    s = student_scores.float()
    margin = s.gather(1, pair_i.long()) - s.gather(1, pair_j.long())          # s_i − s_j
    p = pair_probs.float().clamp(0.0, 1.0)
    log_q, log_1q = F.logsigmoid(margin), F.logsigmoid(-margin)                # log σ, log(1 − σ)
    kl = torch.xlogy(p, p) - p * log_q + torch.xlogy(1 - p, 1 - p) - (1 - p) * log_1q
    return kl[mask].mean()


def total_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor | None = None,
               pair_i: torch.Tensor | None = None, pair_j: torch.Tensor | None = None,
               pair_probs: torch.Tensor | None = None, pair_mask: torch.Tensor | None = None,
               positive: torch.Tensor | int | None = 0, temperature: float = 1.0, lambda_kd: float = 1.0,
               lambda_pair: float = 3.0, in_batch_scores: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """L = L_CL + λ_KD·L_KD + λ_pair·L_pair; `positive=None` drops L_CL (zero-shot L_ZS, §4.2). A term whose
    weight is 0 or whose inputs are None is left out. `in_batch_scores` (B, B·n): L_CL against every passage
    of the batch (ColBERT's in-batch negatives) instead of the query's own. Returns {'loss', 'cl', 'kd',
    'pair'} (absent terms 0). The training loop (pdlib.train.batch_loss) computes every term here."""
    zero = student_scores.sum() * 0.0
    kd = kd_loss(student_scores, teacher_scores, temperature) if teacher_scores is not None and lambda_kd else zero
    pr = pair_loss(student_scores, pair_i, pair_j, pair_probs, pair_mask) \
        if pair_probs is not None and lambda_pair else zero
    if positive is None:
        cl = zero
    elif in_batch_scores is not None:
        cl = contrastive_loss(in_batch_scores, positive, in_batch=True)
    else:
        cl = contrastive_loss(student_scores, positive)
    return {"loss": zero + lambda_kd * kd + lambda_pair * pr + cl, "cl": cl.detach(), "kd": kd.detach(),
            "pair": pr.detach()}

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


def contrastive_loss(student_scores: torch.Tensor, positive: torch.Tensor | int = 0, in_batch: bool = False,
                     doc_mask: torch.Tensor | None = None, negative_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_CL, InfoNCE with the labelled positive d⁺ against negatives D' (§3.1):

        L_CL = mean_q −log( exp s(q, d⁺) / (exp s(q, d⁺) + Σ_{d ∈ D'} exp s(q, d)) )

    in_batch=False: student_scores (B, n), D' = the query's own other passages. in_batch=True (the authors'
    ColBERT training, ColBERT's in-batch negatives): student_scores (B, B·n), query b against all B·n passages
    of the batch, its own at b·n … b·n+n−1; D' = the *other* queries' passages (its own others are left out,
    as in ColBERT's compute_ib_loss). positive: (B,) position of d⁺ in the query's list (or one int for all);
    −1 leaves the query out of the mean, and with no positive at all L_CL is 0. doc_mask (B, n): False for
    padding, which is never a negative. negative_mask (B, n), own lists only: False for passages that are no
    negatives of their query (MD2PR's filtered false negatives, pdlib.md2pr).

    Worked examples: scores [[2, 0, 0]], positive 0 → log(1 + 2e⁻²) ≈ 0.2395. In-batch, B = n = 2, scores
    [[1, 0, 5, 5], [0, 0, 0, 2]], positives [0, 1]: query 0 → −log(e¹/(e¹ + 2e⁵)), query 1 (d⁺ in column 3)
    → −log(e²/(e² + 2)); L_CL is their mean.
    """
    _check("contrastive_loss", student_scores.dim() == 2, f"scores must be (B, n), got {tuple(student_scores.shape)}")
    B = student_scores.shape[0]
    pos = torch.full((B,), positive, dtype=torch.long, device=student_scores.device) if isinstance(positive, int) \
        else positive.long()
    _check("contrastive_loss", pos.shape == (B,), f"positive must be (B,) = ({B},), got {tuple(pos.shape)}")
    n = student_scores.shape[1] // B if in_batch else student_scores.shape[1]
    if in_batch:
        _check("contrastive_loss", n * B == student_scores.shape[1],
               f"in_batch needs (B, B·n) scores, got {tuple(student_scores.shape)}")
    has = pos >= 0
    if not has.any():
        return student_scores.sum() * 0.0
    cols = torch.arange(student_scores.shape[1], device=pos.device)
    target = pos + torch.arange(B, device=pos.device) * n if in_batch else pos
    allowed = torch.ones_like(student_scores, dtype=torch.bool)
    if doc_mask is not None:
        allowed = doc_mask.reshape(1, -1).expand(B, -1) if in_batch else doc_mask.bool()
    if negative_mask is not None and not in_batch:
        allowed = allowed & (negative_mask.bool() | (cols[None, :] == target[:, None]))
    if in_batch:  # the query's own passages are no negatives; its positive stays
        own = (cols[None, :] // n) == torch.arange(B, device=pos.device)[:, None]
        allowed = allowed & (~own | (cols[None, :] == target[:, None]))
    scores = student_scores if allowed.all() else student_scores.masked_fill(~allowed, float("-inf"))
    if not has.all():
        scores, target = scores[has], target[has]
    return F.cross_entropy(scores, target)


def kd_loss(student_scores: torch.Tensor, teacher_scores: torch.Tensor, temperature: float = 1.0,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_KD = mean_q KL(P_point(·|q) ‖ P(·|q)) with P_point = softmax(s_point/τ), P = softmax(s) (§3.3).

    Both (B, n) over the same passages. mask (B, n): False for passages outside the distribution (padding, a
    labelled positive the teacher did not score); a NaN teacher score is masked too. Worked example: student
    [[0, 0]], teacher [[ln 3, 0]], τ = 1 → P_point = (3/4, 1/4), P = (1/2, 1/2): KL = ¾ ln(3/2) + ¼ ln(1/2) ≈ 0.1308.
    """
    _check("kd_loss", student_scores.shape == teacher_scores.shape,
           f"student {tuple(student_scores.shape)} and teacher {tuple(teacher_scores.shape)} scores must match")
    keep = ~torch.isnan(teacher_scores) if mask is None else mask.bool() & ~torch.isnan(teacher_scores)
    if keep.all():
        target = F.log_softmax(teacher_scores.float() / temperature, dim=-1)
        return F.kl_div(F.log_softmax(student_scores.float(), dim=-1), target, log_target=True, reduction="batchmean")
    neg_inf = torch.tensor(float("-inf"), device=student_scores.device)
    log_p = F.log_softmax(torch.where(keep, teacher_scores.float() / temperature, neg_inf), dim=-1)
    log_q = F.log_softmax(torch.where(keep, student_scores.float(), neg_inf), dim=-1)
    kl = torch.where(keep, log_p.exp() * (log_p - log_q), torch.zeros_like(log_p))
    return kl.sum() / student_scores.shape[0]


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
               lambda_pair: float = 3.0, in_batch_scores: torch.Tensor | None = None,
               doc_mask: torch.Tensor | None = None, lambda_cl: float = 1.0,
               negative_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """L = L_CL + λ_KD·L_KD + λ_pair·L_pair; `positive=None` drops L_CL (zero-shot L_ZS, §4.2). A term whose
    weight is 0 or whose inputs are None is left out. `in_batch_scores` (B, B·n): L_CL against the other
    queries' passages (ColBERT's in-batch negatives) instead of the query's own. doc_mask (B, n): False for
    padding. `lambda_cl` weighs L_CL (1 in the paper; gradient accumulation gives each micro-batch its share).
    negative_mask (B, n): False for passages L_CL must not use as negatives (own-list L_CL only).
    Returns {'loss', 'cl', 'kd', 'pair'} (absent terms 0, parts unweighted). The training loop
    (pdlib.train.batch_loss) computes every term here."""
    zero = student_scores.sum() * 0.0
    kd = kd_loss(student_scores, teacher_scores, temperature, doc_mask) \
        if teacher_scores is not None and lambda_kd else zero
    pr = pair_loss(student_scores, pair_i, pair_j, pair_probs, pair_mask) \
        if pair_probs is not None and lambda_pair else zero
    if positive is None or not lambda_cl:
        cl = zero
    elif in_batch_scores is not None:
        cl = contrastive_loss(in_batch_scores, positive, in_batch=True, doc_mask=doc_mask)
    else:
        cl = contrastive_loss(student_scores, positive, doc_mask=doc_mask, negative_mask=negative_mask)
    return {"loss": zero + lambda_kd * kd + lambda_pair * pr + lambda_cl * cl, "cl": cl.detach(), "kd": kd.detach(),
            "pair": pr.detach()}

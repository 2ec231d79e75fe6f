"""L_pair: pdlib's vectorised loss vs a per-pair loop written like the authors' `pair_distill_loss`.

32 queries × 64 passages × 50 pairs (Table 7 batch and passages, §5.2 pairs). Times forward + backward of
each, checks that the values agree within 1e-6, prints the speed-up (goal >= 50x).

    python benchmarks/pair_loss.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from pdlib.losses import pair_loss


def per_pair_loop(scores, pair_i, pair_j, probs):
    """One KLDivLoss call per pair, summed in Python and divided by the number of pairs."""
    kl = torch.nn.KLDivLoss(reduction="batchmean", log_target=False)
    loss, count = 0.0, 0
    for b in range(scores.shape[0]):
        for k in range(pair_i.shape[1]):
            i, j, p = int(pair_i[b, k]), int(pair_j[b, k]), float(probs[b, k])
            loss = loss + kl(F.log_softmax(scores[b][[i, j]], dim=-1).unsqueeze(0),
                             torch.tensor([p, 1 - p]).unsqueeze(0))
            count += 1
    return loss / count


def timed(fn, scores, repeats):
    best, value = float("inf"), None
    for _ in range(repeats):
        s = scores.detach().clone().requires_grad_(True)
        t0 = time.perf_counter()
        value = fn(s)
        value.backward()
        best = min(best, time.perf_counter() - t0)
    return best, float(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=32)
    ap.add_argument("--passages", type=int, default=64)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(args.queries, args.passages, generator=g)
    pi = torch.randint(0, args.passages, (args.queries, args.pairs), generator=g)
    pj = (pi + torch.randint(1, 10, pi.shape, generator=g)) % args.passages
    probs = torch.rand(args.queries, args.pairs, generator=g)
    t_vec, v_vec = timed(lambda s: pair_loss(s, pi, pj, probs), scores, args.repeats)
    t_loop, v_loop = timed(lambda s: per_pair_loop(s, pi, pj, probs), scores, args.repeats)
    print(f"{args.queries} queries x {args.passages} passages x {args.pairs} pairs, forward + backward, best of "
          f"{args.repeats}, {torch.get_num_threads()} threads")
    print(f"per-pair loop : {t_loop * 1e3:9.2f} ms   L_pair = {v_loop:.8f}")
    print(f"pdlib (vector): {t_vec * 1e3:9.2f} ms   L_pair = {v_vec:.8f}")
    print(f"|difference| = {abs(v_loop - v_vec):.2e} (goal <= 1e-6); speed-up = {t_loop / t_vec:.0f}x (goal >= 50x)")


if __name__ == "__main__":
    main()

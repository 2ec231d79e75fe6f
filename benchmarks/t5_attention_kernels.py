"""Which SDPA kernel T5's encoder self-attention gets inside the model, and why the fused ones refuse it.

Runs one batch of duoT5 prompts (real lengths, bucketed as t5_scores' fast path does) through a T5-3B-shaped
model of 2 layers with teachers.fused_attention(kernel="cudnn"), captures the (query, key, value, bias) of the
first encoder self-attention, and for each backend alone (cuDNN, memory-efficient, math) and each layout
(as the model passes them; q/k/v made contiguous; the bias made contiguous; both) prints whether it runs,
its time, and torch's reason when it refuses. GPU only.

    python benchmarks/t5_attention_kernels.py
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from pairwise_scoring import DATA, build, load_texts


def main():
    from pdlib import teachers

    if not torch.cuda.is_available():
        raise SystemExit("t5_attention_kernels.py compares GPU attention kernels: run it on a GPU machine "
                         "(benchmarks/gpu_check.sh does)")
    docs, triples = load_texts(next(p for p in DATA if p.exists()), 128)
    tok, model = build("3b", docs, layers=2)
    prompts = [teachers.prompt("duo-t5", q, a, b) for q, a, b in triples]
    teachers.fused_attention(model, kernel="cudnn", encoder_only=True)
    captured = []
    real = F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kw):
        if not captured:
            captured.append((q, k, v, attn_mask, kw))
        return real(q, k, v, attn_mask=attn_mask, **kw)
    F.scaled_dot_product_attention = spy
    teachers.t5_scores(tok, model, "duo-t5", prompts, 128, 512, progress=False, fast=True)
    F.scaled_dot_product_attention = real
    q, k, v, bias, kw = captured[0]
    print(f"captured: q {tuple(q.shape)} strides {q.stride()} {q.dtype} inference={q.is_inference()}; "
          f"bias {tuple(bias.shape)} strides {bias.stride()} {bias.dtype} min {bias.float().min().item():.3g}; {kw}")
    try:
        print("default choice:", SDPBackend(torch._fused_sdp_choice(q, k, v, bias, 0.0, False, scale=1.0)).name)
    except Exception as e:
        print("default choice: unknown", type(e).__name__, e)
    layouts = {"as passed": (q, k, v, bias), "q/k/v contiguous": (q.contiguous(), k.contiguous(), v.contiguous(), bias),
               "bias contiguous": (q, k, v, bias.contiguous()),
               "both contiguous": (q.contiguous(), k.contiguous(), v.contiguous(), bias.contiguous()),
               "bias finite (-1e4 for masked)": (q, k, v, bias.clamp(min=-1e4))}
    with torch.inference_mode(False):
        fresh = tuple(t.clone() for t in (q, k, v, bias))
    layouts["not inference tensors"] = fresh
    ref = None
    for name, (a, b, c, m) in layouts.items():
        for backend in (SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH):
            with warnings.catch_warnings(record=True) as caught, sdpa_kernel(backend):
                warnings.simplefilter("always")
                try:
                    with torch.inference_mode():
                        out = F.scaled_dot_product_attention(a, b, c, attn_mask=m, scale=1.0)
                        torch.cuda.synchronize()
                        t0 = time.perf_counter()
                        for _ in range(10):
                            F.scaled_dot_product_attention(a, b, c, attn_mask=m, scale=1.0)
                        torch.cuda.synchronize()
                    ref = out.float() if ref is None else ref
                    err = ((out.float() - ref).norm() / ref.norm()).item()
                    print(f"{name:<30} {backend.name:<20} ok  {(time.perf_counter() - t0) / 10 * 1e3:6.2f} ms  "
                          f"rel. to the first {err:.1e}")
                except RuntimeError as e:
                    why = " | ".join(str(w.message).split(" (Triggered")[0] for w in caught
                                     if "not used because" not in str(w.message))
                    print(f"{name:<30} {backend.name:<20} refused: {why[:300] or str(e).splitlines()[0][:120]}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

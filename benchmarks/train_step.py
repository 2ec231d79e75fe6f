"""The Table 7 ColBERT training step: today's fp32 loop vs bf16 autocast with micro-batches (issue 17).

Student: ColBERT-shaped — bert-base (random init), a 128-d projection, L2-normalised token vectors, MaxSim
(pdlib.students.maxsim, the students' own scoring) — over token ids made ahead on the device, so tokenisation
is not timed. Step: pdlib.train.train_step (accumulate: forward, pdlib.losses.total_loss with L_CL over in-batch
negatives, L_KD and L_pair; backward; gradient clipping; AdamW), i.e. exactly what the training loop runs.
Shapes (Table 7): 32 queries × 64 passages × 180 tokens, queries of 32 tokens, 50 pairs per query.

Variants: fp32 as pdlib trained before issue 17 (no autocast, TF32 off; the whole batch does not fit one
GPU, so a smaller batch), fp32 with TF32, and bf16 autocast with micro-batches of 8 and 16 queries and with
activation checkpointing. Prints queries/s, peak GPU memory, MFU against the bf16 matrix rate measured in the
same run, and the ratio to today's path.

    python benchmarks/train_step.py                # GPU: Table 7 shapes (about 1 minute on an H100/H200)
    python benchmarks/train_step.py --quick        # CPU: tiny shapes, fp32 only, to check that it runs
"""
from __future__ import annotations

import argparse
import time

import torch

from gpu_common import device_name, guarded, matmul_rate, peak_gb, sync

from pdlib import students, train
from pdlib.batches import Batch


class ColBERTShaped(torch.nn.Module):
    """colbert-ai's ColBERT maths (BERT → linear to `dim` → mask padding → L2-normalise; MaxSim) on token ids
    held on the device: `encode` takes row indices into them in place of texts."""

    def __init__(self, config, dim: int, query_ids: torch.Tensor, doc_ids: torch.Tensor, doc_mask: torch.Tensor):
        super().__init__()
        from transformers import BertModel

        self.bert = BertModel(config, add_pooling_layer=False)
        self.linear = torch.nn.Linear(config.hidden_size, dim, bias=False)
        self.query_ids, self.doc_ids, self.doc_mask = query_ids, doc_ids, doc_mask

    def _vectors(self, ids, mask):
        out = self.linear(self.bert(ids, attention_mask=mask)[0]) * mask[..., None]
        return torch.nn.functional.normalize(out, p=2, dim=2)

    def encode(self, queries: list[int], docs: list[int]):
        q, d = slice(queries[0], queries[-1] + 1), slice(docs[0], docs[-1] + 1)  # consecutive rows: no copy
        q_ids, d_ids, d_mask = self.query_ids[q], self.doc_ids[d], self.doc_mask[d]
        return self._vectors(q_ids, torch.ones_like(q_ids)), (self._vectors(d_ids, d_mask), d_mask.bool())

    def scores(self, Q, D, n: int, all_pairs: bool = False):
        D, mask = D
        return students.maxsim(Q, D, mask, None if all_pairs else n)


def make_batch(B: int, n: int, pairs: int, q_len: int, d_len: int, vocab: int, device: str, seed: int = 0):
    """Random token ids (passages of random real length ≤ d_len, padded), teacher scores, pairs within a δ=10
    window, the labelled positive first — the batch pdlib.batches.Examples would give."""
    g = torch.Generator().manual_seed(seed)
    q_ids = torch.randint(1000, vocab, (B, q_len), generator=g)
    d_ids = torch.randint(1000, vocab, (B * n, d_len), generator=g)
    lengths = torch.randint(d_len // 3, d_len + 1, (B * n,), generator=g)
    lengths[:: max(1, B * n // 4)] = d_len  # some passages fill the window, as in a real batch
    d_mask = (torch.arange(d_len)[None, :] < lengths[:, None]).long()
    pi = torch.randint(0, n - 9, (B, pairs), generator=g)
    pj = pi + torch.randint(1, 10, (B, pairs), generator=g)
    batch = Batch(queries=list(range(B)), docs=list(range(B * n)), teacher=torch.randn(B, n, generator=g),
                  positive=torch.zeros(B, dtype=torch.long), pair_i=pi, pair_j=pj,
                  pair_probs=torch.rand(B, pairs, generator=g), pair_mask=torch.ones(B, pairs, dtype=torch.bool),
                  doc_mask=torch.ones(B, n, dtype=torch.bool))
    return batch, q_ids.to(device), (d_ids * d_mask).to(device), d_mask.to(device)


def flops_per_query(cfg, q_len: int, d_len: int, n: int, dim: int, micro: int) -> float:
    """Training FLOPs of one query: 3 × forward (backward = 2 × forward), matrix products only."""
    d, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers

    def encoder(s):  # per sequence: projections, FFN, QKᵀ and AV, the 128-d projection
        return layers * (2 * s * (4 * d * d + 2 * d * ff) + 4 * s * s * d) + 2 * s * d * dim
    maxsim = 2 * q_len * d_len * dim * (n + micro * n)  # own passages + in-batch negatives
    return 3 * (encoder(q_len) + n * encoder(d_len) + maxsim)


def run_variant(name, args, bert_cfg, batch_size, micro, bf16, tf32=False, ckpt=False, rate=None, base=None,
                fused_adam=False, compiled=False):
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    batch, q_ids, d_ids, d_mask = make_batch(batch_size, args.passages, args.pairs, args.query_len, args.doc_len,
                                             bert_cfg.vocab_size, device)
    student = ColBERTShaped(bert_cfg, args.dim, q_ids, d_ids, d_mask).to(device).train()
    if ckpt:
        students.use_checkpointing(student)
    if compiled:  # what pdlib.train does on a GPU (TrainConfig.compile)
        students.compile_encoders(student)
    cfg = train.TrainConfig(student="colbert", batch_size=batch_size, n_passages=args.passages, lr=1e-5,
                            micro_batch=micro, grad_checkpointing=ckpt)
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=0.0, fused=fused_adam or None)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    for _ in range(args.warmup):
        train.train_step(student, optimizer, scheduler, batch, cfg, bf16=bf16)
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        parts = train.train_step(student, optimizer, scheduler, batch, cfg, bf16=bf16)
    sync()
    qps = batch_size * args.steps / (time.perf_counter() - t0)
    flops = flops_per_query(bert_cfg, args.query_len, args.doc_len, args.passages, args.dim, micro or batch_size)
    line = (f"{name:<44} {batch_size:>3} = {micro or batch_size:>2} x {batch_size // (micro or batch_size)}"
            f" {qps:8.2f} q/s {peak_gb():7.1f} GB  {flops * qps / 1e12:7.3g} TFLOP/s")
    if rate:
        line += f"  MFU {flops * qps / 1e12 / rate:5.1%}"
    if base:
        line += f"  {qps / base:5.2f}x"
    print(line + f"   loss {parts['loss']:.4f}", flush=True)
    return qps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny shapes on the CPU, to check that it runs")
    ap.add_argument("--batch", type=int, default=32, help="queries per optimizer step (Table 7: 32)")
    ap.add_argument("--fp32-batch", type=int, default=8, help="today's fp32 path: 32 queries need > 148 GB")
    ap.add_argument("--micro", type=int, nargs="+", default=[8, 16], help="bf16 micro-batch sizes to time")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--faster", type=int, nargs="*", default=[],
                    help="GPU: also time these micro-batch sizes with a compiled BERT (pdlib.train's GPU default), "
                         "then with fused AdamW too")
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    from transformers import BertConfig

    if args.quick:
        bert_cfg = BertConfig(vocab_size=2000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=128)
        args.batch, args.fp32_batch, args.micro = 4, 4, [2]
        shape = dict(passages=12, doc_len=24, query_len=8, pairs=6, dim=16)
    else:
        bert_cfg = BertConfig()  # bert-base-uncased: 12 layers, 768 wide, 30522 tokens
        shape = dict(passages=64, doc_len=180, query_len=32, pairs=50, dim=128)
    for k, v in shape.items():
        setattr(args, k, v)
    gpu = torch.cuda.is_available()
    rate = matmul_rate()
    print(f"device: {device_name()}; torch {torch.__version__}; matrix rate {rate:.3g} TFLOP/s "
          f"({'bf16 8192³' if gpu else 'fp32 1024³, CPU'})")
    print(f"student: ColBERT-shaped, {bert_cfg.num_hidden_layers} layers x {bert_cfg.hidden_size}, {args.dim}-d "
          f"MaxSim; {args.passages} passages x {args.doc_len} tokens, queries {args.query_len} tokens, "
          f"{args.pairs} pairs; L_CL (in-batch) + L_KD + 3 L_pair; {args.steps} timed steps after {args.warmup}")
    print(f"{'variant':<44} {'batch = micro x steps':>12} {'throughput':>12} {'peak':>8}")
    base = guarded("fp32", lambda: run_variant("fp32, no autocast, TF32 off (today)", args, bert_cfg,
                                               args.fp32_batch, None, bf16=False, rate=rate))
    results = {"fp32": base}
    if gpu:
        results["tf32"] = guarded("tf32", lambda: run_variant("fp32 + TF32", args, bert_cfg, args.fp32_batch, None,
                                                              bf16=False, tf32=True, rate=rate, base=base))
    for micro in args.micro:
        results[f"micro{micro}"] = guarded(f"micro {micro}", lambda: run_variant(
            f"{'bf16 autocast' if gpu else 'fp32'}, micro-batches of {micro}", args, bert_cfg, args.batch, micro,
            bf16=gpu, rate=rate, base=base))
    for micro in args.faster if gpu else []:
        results[f"compiled{micro}"] = guarded(f"compiled {micro}", lambda: run_variant(
            f"bf16 autocast, micro-batches of {micro}, compiled BERT", args, bert_cfg, args.batch, micro,
            bf16=True, rate=rate, base=base, compiled=True))
        results[f"fused{micro}"] = guarded(f"fused {micro}", lambda: run_variant(
            "  the same + fused AdamW", args, bert_cfg, args.batch, micro, bf16=True, rate=rate, base=base,
            fused_adam=True, compiled=True))
    results["ckpt"] = guarded("checkpointing", lambda: run_variant(
        f"{'bf16 autocast' if gpu else 'fp32'} + checkpointing, one pass", args, bert_cfg, args.batch, None,
        bf16=gpu, ckpt=True, rate=rate, base=base))
    best = max((v, k) for k, v in results.items() if v and k not in ("fp32", "tf32"))
    print(f"best: {best[1]} {best[0]:.1f} queries/s"
          + (f" = {best[0] / base:.2f}x today's fp32 path" if base else "")
          + (f"; goal >= 45 queries/s at batch {args.batch}: {'met' if best[0] >= 45 else 'NOT met'}" if gpu else ""))


if __name__ == "__main__":
    main()

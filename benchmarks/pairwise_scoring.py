"""Pairwise teacher throughput: generate() as the authors score, pdlib's reference loop, and its GPU fast path.

Same T5 model, same (query, passage, passage) prompts in duoT5's format, paths compared:
  generate  tokenizer(..., padding="max_length", max_length=512) in input order, then
            model.generate(max_new_tokens=1, output_scores=True) and softmax over the true/false scores
            (how the authors' scoring script works); on by default for small/base, off for 3b (slow)
  today     pdlib.teachers.t5_scores(fast=False): sorted by length, padded per batch, one decoder step, one
            transfer per batch, eager attention (pdlib's only path before issue 17)
  fast      t5_scores' GPU path: length buckets, full batches, pinned non-blocking copies, one transfer
  fused     + teachers.fused_attention (SDPA with T5's position bias as additive mask)
  compiled  + a compiled encoder (teachers.on_device(compile=True): torch.compile, dynamic shapes)
  both      fast + the encoder and the decoder compiled (teachers.on_device(compile="both"))
  cudnn     fast + the encoder's self-attention in cuDNN's fused kernel (teachers.on_device(fused="cudnn"));
            cudnn32 the same with buckets of 32 tokens (fewer shapes for cuDNN to plan); cudnn+compiled and
            cudnn+both with the encoder (and the decoder) compiled
--profile V prints the GPU kernels that take the most time in one pass of variant V (today, fast, cudnn).
Prints pairs/s, MFU against the bf16 matrix rate measured in the same run, the ratio to `today`, and the
largest difference of the probabilities to `today`'s.

    python benchmarks/pairwise_scoring.py                     # CPU: a t5-small-sized model, 128 pairs
    python benchmarks/pairwise_scoring.py --quick             # CPU: 2 layers, 48 pairs, to check that it runs
    python benchmarks/pairwise_scoring.py --size 3b --pairs 4096 --batch-size 128   # duoT5-3B shape, GPU

Texts: MS MARCO passages and DL19 queries from ../shared/data/msmarco-dl19-mini (real lengths; --shared to
point elsewhere). The model is randomly initialised (no hub access here): throughput does not depend on the
weights. The tokenizer is a BPE trained on those passages, so token counts are realistic. MFU counts the
model's matrix FLOPs on the real (unpadded) tokens: encoder, the decoder's one step including its
cross-attention keys and values over every encoder token, and the output layer; padding counts as waste.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from gpu_common import device_name, guarded, matmul_rate, sync

SIZES = {  # T5 v1.0 shapes
    "small": dict(d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_heads=8),
    "base": dict(d_model=768, d_ff=3072, d_kv=64, num_layers=12, num_heads=12),  # duoT5-base
    "3b": dict(d_model=1024, d_ff=16384, d_kv=128, num_layers=24, num_heads=32),  # duoT5-3B (T5 v1.0 3B)
}
ROOT = Path(__file__).resolve().parents[1]
DATA = [ROOT.parent / "shared" / "data" / "msmarco-dl19-mini", ROOT / "data" / "bench" / "msmarco-dl19-mini"]


def load_texts(shared: Path, n_pairs: int, seed: int = 0):
    docs = [json.loads(line)["text"] for line in open(shared / "corpus.jsonl")]
    queries = [json.loads(line)["text"] for line in open(shared / "queries.jsonl")]
    rng = np.random.default_rng(seed)
    return docs, [(queries[rng.integers(len(queries))], docs[i], docs[j])
                  for i, j in rng.integers(len(docs), size=(n_pairs, 2))]


def build(size: str, docs: list[str], attn: str | None = None, layers: int | None = None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(docs + ["Query Document0 Document1 Relevant true false"] * 100,
                            trainers.BpeTrainer(vocab_size=32000, special_tokens=["<pad>", "</s>", "<unk>"]))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    shape = dict(SIZES[size], **({"num_layers": layers} if layers else {}))
    cfg = T5Config(vocab_size=len(hf), pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, dropout_rate=0.0,
                   **shape)
    if attn:
        cfg._attn_implementation = attn
    if torch.cuda.is_available():  # initialise on the GPU: a 3B model's random init on the CPU takes minutes
        with torch.device("cuda"):
            model = T5ForConditionalGeneration(cfg)
        return hf, model.to(dtype=torch.bfloat16).eval()
    return hf, T5ForConditionalGeneration(cfg).eval()


def pair_flops(cfg, n: int) -> float:
    """Matrix FLOPs of one pair of n real tokens: encoder, one decoder step, the output layer."""
    d, inner, ff, layers = cfg.d_model, cfg.num_heads * cfg.d_kv, cfg.d_ff, cfg.num_layers
    encoder = layers * (2 * n * (4 * d * inner + 2 * d * ff) + 4 * n * n * inner)
    decoder = cfg.num_decoder_layers * (2 * (4 * d * inner + 2 * d * inner + 2 * d * ff)  # one token
                                        + 2 * n * 2 * d * inner + 4 * n * inner)          # cross-attn K, V, scores
    return encoder + decoder + 2 * d * cfg.vocab_size


@torch.inference_mode()
def baseline(tok, model, prompts, batch_size, max_length=512):
    true_id, false_id = (tok(w, add_special_tokens=False).input_ids[0] for w in ("true", "false"))
    out = []
    for start in range(0, len(prompts), batch_size):
        enc = tok(prompts[start:start + batch_size], padding="max_length", truncation=True, max_length=max_length,
                  return_token_type_ids=False,
                  return_tensors="pt").to(model.device)
        gen = model.generate(**enc, max_new_tokens=1, output_scores=True, return_dict_in_generate=True,
                             do_sample=False)
        scores = gen.scores[0][:, [true_id, false_id]].float()
        out.append(torch.softmax(scores, dim=-1)[:, 0].cpu().numpy())
    return np.concatenate(out)


def timed(fn):
    sync()
    t0 = time.perf_counter()
    result = fn()
    sync()
    return result, time.perf_counter() - t0


def unfuse(model) -> None:
    """Undo teachers.fused_attention and a compiled encoder/decoder (benchmark only: the variants share one
    model)."""
    for m in model.modules():
        m.__dict__.pop("forward", None)
        m.__dict__.pop("_pdlib_kernel", None)
    model.encoder._compiled_call_impl = None
    model.decoder._compiled_call_impl = None


def profile(label: str, score, rows: int = 12) -> None:
    """The GPU kernels (or CPU ops) that take the most time in one call of `score`."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    gpu = torch.cuda.is_available()
    with torch_profile(activities=[ProfilerActivity.CUDA if gpu else ProfilerActivity.CPU]) as prof:
        score()
        sync()
    events = prof.key_averages()
    key = "self_device_time_total" if gpu else "self_cpu_time_total"
    total = sum(getattr(e, key) for e in events) or 1
    print(f"profile of {label}: {total / 1e3:.1f} ms of {'GPU' if gpu else 'CPU'} time", flush=True)
    for e in sorted(events, key=lambda e: -getattr(e, key))[:rows]:
        print(f"  {getattr(e, key) / total:6.1%} {getattr(e, key) / 1e3:9.1f} ms {e.count:6d}x  {e.key[:90]}", flush=True)


def main():
    from pdlib import teachers

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--layers", type=int, help="fewer layers (encoder and decoder) than the size has; MFU counts them")
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--big-batch", type=int, help="also time the first compiled variant with this batch size")
    ap.add_argument("--bucket", type=int, default=16, help="fast path: pad to a multiple of this many tokens")
    ap.add_argument("--also-buckets", type=int, nargs="*", default=[],
                    help="also time the first compiled variant with these buckets (same compiled model)")
    ap.add_argument("--static-bucket", type=int, default=48, help="the static variant: its bucket (one graph each)")
    ap.add_argument("--variants", nargs="+", default=["today", "fast", "fused", "compiled", "fused+compiled"],
                    help="which pdlib paths to time (compiled ones need a GPU)")
    ap.add_argument("--generate", action=argparse.BooleanOptionalAction, default=None,
                    help="time the generate() baseline too (default: for small and base)")
    ap.add_argument("--profile", nargs="*", default=[], help="profile one pass of these variants (today, fast, cudnn)")
    ap.add_argument("--quick", action="store_true", help="CPU check: 2 layers of t5-small, 48 pairs")
    ap.add_argument("--shared", type=Path, default=next((p for p in DATA if p.exists()), DATA[0]),
                    help="folder with corpus.jsonl and queries.jsonl")
    ap.add_argument("--attn", default="eager", help="attention implementation: eager (pdlib's choice for T5) or sdpa")
    args = ap.parse_args()
    gpu = torch.cuda.is_available()
    if args.quick:
        args.size, args.layers, args.pairs, args.batch_size = "small", 2, 48, 8
    if not gpu:
        args.variants = [v for v in args.variants if "compiled" not in v and "both" not in v]
    run_generate = args.size != "3b" if args.generate is None else args.generate

    rate = matmul_rate()
    docs, triples = load_texts(args.shared, args.pairs)
    tok, model = build(args.size, docs, args.attn, args.layers)
    prompts = [teachers.prompt("duo-t5", q, a, b) for q, a, b in triples]
    lengths = np.array([min(512, len(ids)) for ids in tok(prompts).input_ids])
    flops = sum(pair_flops(model.config, n) for n in lengths)
    print(f"device: {device_name()}; torch {torch.__version__}; matrix rate {rate:.3g} TFLOP/s "
          f"({'bf16 8192³' if gpu else 'fp32 1024³, CPU'})")
    print(f"model: T5-{args.size} shape, {model.config.num_layers} layers, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params, {'bf16' if gpu else 'fp32'}; "
          f"{len(prompts)} pairs, tokens mean {lengths.mean():.0f} (min {lengths.min()}, max {lengths.max()}); "
          f"batch {args.batch_size}; {flops / len(prompts) / 1e9:.0f} GFLOP per pair", flush=True)

    results: dict[str, tuple[float, np.ndarray]] = {}

    def report(key, label, probs, seconds, extra=""):
        pps = len(prompts) / seconds
        line = f"{label:<36} {pps:9.1f} pairs/s  {flops / seconds / 1e12:7.3g} TFLOP/s  MFU {flops / seconds / 1e12 / rate:6.1%}"
        if "today" in results:
            ref_pps, ref_p = results["today"]
            line += f"  {pps / ref_pps:5.2f}x  max |Δp| {np.nanmax(np.abs(probs - ref_p)):.1e}"
        nan = int(np.isnan(probs).sum())
        print(line + (f"  ({nan} NaN)" if nan else "") + extra, flush=True)
        results[key] = (pps, probs)

    def variant(key, label, fast, batch_size=args.batch_size, bucket=args.bucket):
        score = lambda: teachers.t5_scores(tok, model, "duo-t5", prompts, batch_size, 512, progress=False,  # noqa: E731
                                           fast=fast, bucket=bucket)
        _, first = timed(score)  # warm-up over every shape (compiles, if compiled)
        probs, seconds = timed(score)
        report(key, label, probs, seconds, f"   (first pass {first:.1f} s)")
        if key in args.profile:
            profile(label, score)

    if "today" in args.variants:  # the reference of every ratio: first
        guarded("today", lambda: variant("today", "today: t5_scores, reference loop", fast=False))
    if run_generate:
        guarded("generate", lambda: report("generate", "generate(max_new_tokens=1), pad 512",
                                           *timed(lambda: baseline(tok, model, prompts, args.batch_size))))
    for name in ("cudnn", "cudnn32"):  # the likely best first: a time limit cuts what follows
        if name in args.variants:
            teachers.fused_attention(model, kernel="cudnn", encoder_only=True)  # what on_device(fused="cudnn") does
            guarded(name, lambda: variant(name, f"fast + cuDNN attention{', buckets of 32' if name[-2:] == '32' else ''}",
                                          True, bucket=32 if name.endswith("32") else args.bucket))
            unfuse(model)
    if "fast" in args.variants:
        guarded("fast", lambda: variant("fast", "fast: buckets, pinned, 1 transfer", fast=True))
    if "fused" in args.variants:
        teachers.fused_attention(model)
        guarded("fused", lambda: variant("fused", "fast + fused SDPA attention", fast=True))
        unfuse(model)
    if "static" in args.variants:  # one graph per padded length: lengths in buckets of --static-bucket tokens
        torch._dynamo.reset()
        teachers.on_device(model, fused=False, compile="static")
        guarded("static", lambda: variant("static", f"fast + static compile, buckets of {args.static_bucket}", True,
                                          bucket=args.static_bucket))
        torch._dynamo.reset()
        unfuse(model)  # back to eager for the variants below
    big_batch, also_buckets = args.big_batch, args.also_buckets

    def padding(bucket):  # the share of padding tokens in t5_scores' batches (sorted by length, full batches)
        order = np.sort(lengths)
        padded = sum(bucket * -(-order[i:i + args.batch_size].max() // bucket) * len(order[i:i + args.batch_size])
                     for i in range(0, len(order), args.batch_size))
        return 1 - order.sum() / padded
    for name in ("cudnn+both", "both", "cudnn+compiled", "fused+compiled", "compiled"):  # likely best first
        if name in args.variants:
            torch._dynamo.reset()
            fused = "cudnn" if name.startswith("cudnn") else name.startswith("fused")
            teachers.on_device(model, fused=fused, compile="both" if name.endswith("both") else True)
            label = {"both": "compiled encoder and decoder", "cudnn+compiled": "cuDNN attention + compiled encoder",
                     "cudnn+both": "cuDNN attn. + compiled enc. and dec.",
                     "fused+compiled": "fused + compiled encoder", "compiled": "compiled encoder"}[name]
            guarded(name, lambda: variant(name, f"fast + {label}", True))
            if big_batch:
                guarded(f"{name} {big_batch}", lambda: variant(f"{name} {big_batch}", f"  the same, batch {big_batch}",
                                                                True, big_batch))
                big_batch = None  # one variant at the larger batch is enough
            for b in also_buckets:
                guarded(f"{name} b{b}", lambda: variant(f"{name} b{b}", f"  the same, buckets of {b} "
                                                         f"({padding(b):.1%} padding)", True, bucket=b))
            also_buckets = []
            unfuse(model)
    if "today" in results and len(results) > 1:
        best = max((v[0], k) for k, v in results.items())
        print(f"best: {best[1]}: {best[0]:.1f} pairs/s = {best[0] / results['today'][0]:.2f}x today's path, "
              f"MFU {flops / (len(prompts) / best[0]) / 1e12 / rate:.1%}"
              + (" (goal >= 55 %)" if gpu else ""))


if __name__ == "__main__":
    main()

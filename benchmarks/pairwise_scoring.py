"""Pairwise teacher throughput: pdlib's scorer vs the `generate(max_new_tokens=1)` approach.

Same T5 model, same (query, passage, passage) prompts in duoT5's format:
  baseline  tokenizer(..., padding="max_length", max_length=512) in input order, then
            model.generate(max_new_tokens=1, output_scores=True) and softmax over the true/false scores
            (how the authors' scoring script works)
  pdlib     pdlib.teachers.t5_scores: inputs sorted by length, padded per batch, one forward pass of the
            decoder's first step
Prints pairs/s of both, their ratio (goal >= 2x on CPU) and the largest difference of the probabilities.
On a GPU (bf16) it also prints model FLOP utilisation against the card's bf16 peak.

    python benchmarks/pairwise_scoring.py                     # CPU: a t5-small-sized model, 128 pairs
    python benchmarks/pairwise_scoring.py --size base --pairs 4096 --batch-size 128   # duoT5-base size, GPU

Texts: MS MARCO passages and DL19 queries from ../shared/data/msmarco-dl19-mini (real lengths). The model
is randomly initialised (no hub access here): throughput does not depend on the weights. The tokenizer is
a BPE trained on those passages, so token counts are realistic.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

SIZES = {  # T5 v1.0 shapes
    "small": dict(d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_heads=8),
    "base": dict(d_model=768, d_ff=3072, d_kv=64, num_layers=12, num_heads=12),  # duoT5-base
}


def load_texts(shared: Path, n_pairs: int, seed: int = 0):
    docs = [json.loads(line)["text"] for line in open(shared / "corpus.jsonl")]
    queries = [json.loads(line)["text"] for line in open(shared / "queries.jsonl")]
    rng = np.random.default_rng(seed)
    return docs, [(queries[rng.integers(len(queries))], docs[i], docs[j])
                  for i, j in rng.integers(len(docs), size=(n_pairs, 2))]


def build(size: str, docs: list[str], attn: str | None = None):
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
    cfg = T5Config(vocab_size=len(hf), pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, **SIZES[size])
    if attn:
        cfg._attn_implementation = attn
    return hf, T5ForConditionalGeneration(cfg).eval()


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


def timed(fn, sync):
    sync()
    t0 = time.perf_counter()
    result = fn()
    sync()
    return result, time.perf_counter() - t0


def main():
    from pdlib import teachers

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "msmarco-dl19-mini")
    ap.add_argument("--attn", default="eager", help="attention implementation: eager (pdlib's choice for T5) or sdpa")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak of the GPU (H100 SXM: 989)")
    args = ap.parse_args()

    docs, triples = load_texts(args.shared, args.pairs)
    tok, model = build(args.size, docs, args.attn)
    gpu = torch.cuda.is_available()
    if gpu:
        model = model.to("cuda", dtype=torch.bfloat16)
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    prompts = [teachers.prompt("duo-t5", q, a, b) for q, a, b in triples]
    warm = prompts[: 4 * args.batch_size]  # a few shapes, so kernel selection is not timed
    baseline(tok, model, warm, args.batch_size)
    teachers.t5_scores(tok, model, "duo-t5", warm, args.batch_size, progress=False)

    p_base, t_base = timed(lambda: baseline(tok, model, prompts, args.batch_size), sync)
    p_ours, t_ours = timed(lambda: teachers.t5_scores(tok, model, "duo-t5", prompts, args.batch_size, 512,
                                                    progress=False), sync)
    lengths = [min(512, len(ids)) for ids in tok(prompts).input_ids]
    device = torch.cuda.get_device_name() if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {device}; model: T5-{args.size} {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M "
          f"params, {'bf16' if gpu else 'fp32'}; {len(prompts)} pairs, mean {np.mean(lengths):.0f} tokens")
    print(f"baseline generate(max_new_tokens=1), pad to 512: {len(prompts) / t_base:9.1f} pairs/s")
    print(f"pdlib one decoder step, sorted dynamic padding: {len(prompts) / t_ours:9.1f} pairs/s")
    print(f"speed-up: {t_base / t_ours:.2f}x   max |Δp|: {np.abs(p_base - p_ours).max():.2e}")
    if gpu:
        enc_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith("encoder."))
        dec_params = sum(p.numel() for n, p in model.named_parameters() if n.startswith("decoder."))
        flops = sum(2 * enc_params * n + 2 * dec_params for n in lengths)  # weights only: a lower bound
        print(f"pdlib achieved {flops / t_ours / 1e12:.1f} TFLOP/s = MFU {flops / t_ours / 1e12 / args.peak_tflops:.1%} "
              f"of {args.peak_tflops:.0f} TFLOP/s bf16 peak")


if __name__ == "__main__":
    main()

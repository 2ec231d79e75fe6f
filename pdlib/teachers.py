"""Pointwise and pairwise teachers (Used through pdlib.jobs in 02-04 and 06; §3.2, §4.1, Appendix C.1).

Every scorer reads one number per input off a single forward pass:

| scorer | input | score |
|---|---|---|
| cross-encoder (MiniLM) | (query, passage) | the one raw logit, no sigmoid |
| monoT5 | `Query: {q} Document: {d} Relevant:` | log P(true) = log_softmax([false, true])[true] |
| duoT5 | `Query: {q} Document0: {d_i} Document1: {d_j} Relevant:` | P(d_i ≻ d_j) = softmax([true, false])[true] |
| LLM pointwise (C.1) | Yes/No prompt | log P(Yes) − log P(No) (the authors' choice; P(Yes) ∈ [0, 1] would make softmax(s/τ) over 64 passages nearly flat: at most e between two) |
| LLM pairwise (C.1) | A/B prompt | P(d_i ≻ d_j) = softmax([A, B])[A] |

For T5 models only the decoder's *first* step is run (decoder input = the start token), not `generate`.
Inputs are sorted by length so that each batch pads little; bf16 on GPU.

On a GPU (`on_device`) a T5 teacher's encoder gets cuDNN's fused attention kernel, which takes T5's
relative-position bias as an additive mask (`fused_attention`; transformers 4.57 runs T5 only in eager
attention), a compiled encoder and decoder in jobs of a million inputs or more, and `t5_scores` takes its fast
path: inputs tokenised once, sorted, padded to a few length buckets in full batches (few shapes, so few
recompiles), copied from pinned memory without blocking, and the scores kept on the GPU until one transfer at
the end (no synchronisation per batch). On the CPU everything stays
fp32 and eager, as the reference scorer.
"""
from __future__ import annotations

import contextlib
import types

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

# Appendix C.1 (the PDF wraps the first line; the instruction is one sentence). The paper prints one
# "Document:" slot for the pairwise prompt; we label the two passages A and B, the answers it asks for.
LLM_POINTWISE = "Is the document relevant to the query (Yes or No)?\nQuery: {query}\nDocument: {document}"
LLM_PAIRWISE = ("Which document is more relevant to the query? Answer only 'A' or 'B'.\nQuery: {query}\n"
                "Document A: {doc_a}\nDocument B: {doc_b}")
MONO_T5 = "Query: {query} Document: {document} Relevant:"
DUO_T5 = "Query: {query} Document0: {doc_a} Document1: {doc_b} Relevant:"

# kind -> (prompt, positive answer word, negative answer word, output)
T5_KINDS = {
    "mono-t5": (MONO_T5, "true", "false", "log_prob"),
    "duo-t5": (DUO_T5, "true", "false", "prob"),
    "llm-point": (LLM_POINTWISE, "Yes", "No", "log_odds"),
    "llm-pair": (LLM_PAIRWISE, "A", "B", "prob"),
}


def prompt(kind: str, query: str, doc_a: str, doc_b: str | None = None) -> str:
    """The exact input string a T5 teacher of `kind` sees."""
    template = T5_KINDS[kind][0]
    if "{doc_b}" in template:
        if doc_b is None:
            raise ValueError(f"{kind} compares two passages: pass doc_b")
        return template.format(query=query, doc_a=doc_a, doc_b=doc_b)
    return template.format(query=query, document=doc_a)


def answer_token_ids(tokenizer, kind: str) -> tuple[int, int]:
    """Vocabulary ids of the positive and negative answer words (e.g. ▁true 1176, ▁false 6136 in T5)."""
    ids = []
    for word in T5_KINDS[kind][1:3]:
        tok = tokenizer(word, add_special_tokens=False).input_ids
        if len(tok) != 1:
            raise ValueError(f"the tokenizer splits the answer {word!r} into {tok}: not a {kind} teacher")
        ids.append(tok[0])
    return ids[0], ids[1]


def score_from_logits(kind: str, pos_logit: torch.Tensor, neg_logit: torch.Tensor) -> torch.Tensor:
    """The teacher's score from the first-step logits of its two answer tokens (see the module table)."""
    two = torch.stack([neg_logit.float(), pos_logit.float()], dim=-1)
    if T5_KINDS[kind][3] == "log_prob":
        return torch.log_softmax(two, dim=-1)[..., 1]
    if T5_KINDS[kind][3] == "log_odds":  # log P(Yes) − log P(No) = the logit difference
        return two[..., 1] - two[..., 0]
    return torch.softmax(two, dim=-1)[..., 1]


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def t5_scores(tokenizer, model, kind: str, texts: list[str], batch_size: int = 32, max_length: int = 512,
              progress: bool = True, fast: bool | None = None, bucket: int = 8) -> np.ndarray:
    """Score prompts with one decoder step of a T5 model; returns one float per prompt, in input order.

    fast (None: on a GPU): the GPU path of the module docstring, every batch `batch_size` rows (the last one
    filled up with repeats) padded to a multiple of `bucket` tokens (8: on MS MARCO duoT5 prompts at batch 128,
    5.4 % padding against 9 % at 16 and 14 % at 32; compiled at duoT5-3B's shape on an H200, 1,064 pairs/s
    against 1,033 at 16, and 1,061 at 4, benchmarks/results/h200-2026-11-27b-pairwise_3b.txt; a compiled encoder
    has dynamic shapes, so finer buckets cost no recompiles). With no synchronisation in the loop the host builds
    batch k+1 while the GPU runs batch k. False: the reference loop (per-batch padding to a multiple of 8, one
    transfer per batch), which the CPU takes by default."""
    pos_id, neg_id = answer_token_ids(tokenizer, kind)
    device = _device_of(model)
    # tokenize everything in one call (the Rust tokenizer encodes a batch in parallel), then sort by token
    # length so that each batch is padded only to its own longest input
    input_ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(ids) for ids in input_ids], kind="stable")
    out = np.empty(len(texts), dtype=np.float32)
    start_id = model.config.decoder_start_token_id
    bar = tqdm(total=len(texts), desc=kind, unit="pair" if "{doc_b}" in T5_KINDS[kind][0] else "doc",
               disable=not progress)
    if fast or (fast is None and device.type == "cuda"):
        scores = []
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            ids, mask = _bucketed(input_ids, idx, batch_size, bucket, tokenizer.pad_token_id, device)
            dec = torch.full((batch_size, 1), start_id, dtype=torch.long, device=device)
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, use_cache=False).logits[:, 0, :]
            scores.append(score_from_logits(kind, logits[:len(idx), pos_id], logits[:len(idx), neg_id]))
            bar.update(len(idx))
        if scores:
            out[order] = torch.cat(scores).cpu().numpy()  # the one synchronisation
        bar.close()
        return out
    # padding ids tokenised once and sorted by length is the point here: transformers' advice to call the
    # tokenizer instead ("You're using a ...Fast tokenizer") does not apply, and would repeat in every notebook
    getattr(tokenizer, "deprecation_warnings", {})["Asking-to-pad-a-fast-tokenizer"] = True
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tokenizer.pad({"input_ids": [input_ids[i] for i in idx]}, pad_to_multiple_of=8,  # few shapes
                            return_tensors="pt").to(device)
        dec = torch.full((len(idx), 1), start_id, dtype=torch.long, device=device)
        logits = model(**enc, decoder_input_ids=dec, use_cache=False).logits[:, 0, :]
        out[idx] = score_from_logits(kind, logits[:, pos_id], logits[:, neg_id]).cpu().numpy()
        bar.update(len(idx))
    bar.close()
    return out


def _bucketed(input_ids: list[list[int]], idx: np.ndarray, rows: int, bucket: int, pad_id: int, device):
    """One batch on `device`: (ids, attention mask), `rows` rows (the last input repeated to fill them) and the
    longest input's length rounded up to a multiple of `bucket`; built in pinned memory and copied without
    blocking on a GPU."""
    chosen = [input_ids[i] for i in idx]
    chosen += [chosen[-1]] * (rows - len(chosen))
    width = bucket * -(-max(len(x) for x in chosen) // bucket)
    ids = np.full((rows, width), pad_id, dtype=np.int64)
    mask = np.zeros((rows, width), dtype=np.int64)
    for r, x in enumerate(chosen):
        ids[r, :len(x)] = x
        mask[r, :len(x)] = 1
    ids, mask = torch.from_numpy(ids), torch.from_numpy(mask)
    if torch.device(device).type == "cuda":  # the caching host allocator keeps the pinned block until copied
        ids, mask = ids.pin_memory(), mask.pin_memory()
    return ids.to(device, non_blocking=True), mask.to(device, non_blocking=True)


@torch.inference_mode()
def cross_encoder_scores(tokenizer, model, queries: list[str], passages: list[str], batch_size: int = 64,
                         max_length: int = 256, progress: bool = True) -> np.ndarray:
    """Raw logit of a one-label cross-encoder for each (query, passage) pair."""
    if len(queries) != len(passages):
        raise ValueError(f"{len(queries)} queries but {len(passages)} passages: pass one query per passage")
    device = _device_of(model)
    order = np.argsort([len(q) + len(p) for q, p in zip(queries, passages)], kind="stable")
    out = np.empty(len(order), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc="cross-encoder", disable=not progress, unit="batch"):
        idx = order[start:start + batch_size]
        enc = tokenizer([queries[i] for i in idx], [passages[i] for i in idx], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt").to(device)
        out[idx] = model(**enc).logits[:, 0].float().cpu().numpy()
    return out


def on_device(model, fused: bool | str = "cudnn", compile: bool | str = False):
    """Move a teacher to the GPU in bf16 when there is one (CPU stays fp32 and eager). A T5 teacher's encoder
    self-attention runs through cuDNN's fused kernel (fused="cudnn", the default: `fused_attention`), or
    through the kernel torch picks (fused=True), or transformers' eager attention (fused=False). With
    compile=True its encoder is compiled (torch.compile with dynamic shapes: one compilation serves every length
    bucket and batch size), compile="both" its decoder too; compile="static" one graph per padded length.

    Measured at duoT5-3B's shape (benchmarks/gpu_check.sh; 4,096 pairs of mean 141 tokens, batch 128; MFU
    against the card's bf16 matrix rate measured in the same run; benchmarks/results). On an H200 (2026-11-27):
    today's eager reference loop 606 pairs/s (32 % MFU); cuDNN attention 878 (46 %, 1.45x, no start cost);
    cuDNN attention + compiled encoder 948 (50 %, a 54 s first pass); cuDNN attention + compiled encoder and
    decoder 1,043 (54.6 %, 1.72x, a 170 s first pass; 1,032 in a second run, 1,021 at batch 256), all with
    buckets of 16 tokens; a third run: 1,033 at 16, 1,064 (55.6 %, 1.79x) at t5_scores' buckets of 8. Earlier, with
    transformers' eager attention: compiled encoder 847 (H200), encoder and decoder 878 (H100, 45 %),
    compile="static" 686 (H200). Hence cuDNN by default, and compiling where a job is long enough to repay it
    (pdlib.config.COMPILE_FROM)."""
    if not torch.cuda.is_available():
        return model
    model = model.to("cuda", dtype=torch.bfloat16)
    if _t5_attentions(model):
        if fused == "cudnn":  # cuDNN's fused kernel for the encoder's self-attention
            fused_attention(model, kernel="cudnn", encoder_only=True)
        elif fused:
            fused_attention(model)
        if compile == "static":  # one graph per padded length (t5_scores' buckets): slower to start, faster
            torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
            model.encoder.compile(dynamic=False)
        elif compile:
            model.encoder.compile(dynamic=True)
            if compile == "both":  # the decoder's one step too (launch-bound in eager at 3B: 24 small layers)
                model.decoder.compile(dynamic=True)
    return model


# --- a fused attention kernel for T5 --------------------------------------------------------------------------
def _t5_attentions(model) -> list:
    try:
        from transformers.models.t5.modeling_t5 import T5Attention
    except ImportError:
        return []
    return [m for m in model.modules() if isinstance(m, T5Attention)]


def fused_attention(model, kernel: str = "auto", encoder_only: bool = False):
    """Run T5 attention of `model` through torch's scaled_dot_product_attention, in place.

    T5 adds a learnt relative-position bias to the attention scores and does not scale them by 1/√d; here that
    bias (with the padding mask added, as transformers builds it) is SDPA's additive `attn_mask` and scale=1,
    so a fused kernel computes softmax(QKᵀ + bias)V without writing the score matrix. The same function as
    transformers' eager T5 (tests/test_teachers.py checks the logits on CPU); calls that need the eager path
    (a cache, attention weights, head masks, pruned heads, training) still take it.

    kernel: "auto" lets torch pick; "cudnn" asks for cuDNN's fused attention on a GPU (of torch's kernels the
    one that takes an arbitrary bias fast: 0.53 ms against 4.4 ms for the memory-efficient kernel and the
    unfused math at duoT5-3B's attention shape on an H200, benchmarks/results) and falls back on the others
    where it refuses a shape; the CPU ignores it. encoder_only: fuse only the encoder's self-attention (the
    decoder runs one token: nothing to gain, and fewer shapes for cuDNN to plan)."""
    if kernel not in ("auto", "cudnn"):
        raise ValueError(f"kernel must be 'auto' or 'cudnn', not {kernel!r}")
    found = _t5_attentions(model.encoder if encoder_only and hasattr(model, "encoder") else model)
    if not found:
        raise ValueError(f"{type(model).__name__} has no T5 attention to fuse")
    for attn in found:
        attn.forward = types.MethodType(_sdpa_t5_attention, attn)
        attn._pdlib_kernel = kernel
    return model


def _sdpa_context(kernel: str, device: torch.device):
    if kernel != "cudnn" or device.type != "cuda":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel([SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH],
                       set_priority=True)


def _sdpa_t5_attention(self, hidden_states, mask=None, key_value_states=None, position_bias=None,
                       past_key_values=None, layer_head_mask=None, query_length=None, use_cache=False,
                       output_attentions=False, cache_position=None, **kwargs):
    """transformers' T5Attention.forward (4.57) with SDPA in place of matmul-softmax-matmul."""
    if (past_key_values is not None or output_attentions or layer_head_mask is not None or self.pruned_heads
            or self.training or kwargs):
        return type(self).forward(self, hidden_states, mask=mask, key_value_states=key_value_states,
                                  position_bias=position_bias, past_key_values=past_key_values,
                                  layer_head_mask=layer_head_mask, query_length=query_length, use_cache=use_cache,
                                  output_attentions=output_attentions, cache_position=cache_position, **kwargs)
    batch, length = hidden_states.shape[:2]
    source = hidden_states if key_value_states is None else key_value_states

    def heads(x):
        return x.view(batch, -1, self.n_heads, self.key_value_proj_dim).transpose(1, 2)
    query, key, value = heads(self.q(hidden_states)), heads(self.k(source)), heads(self.v(source))
    if position_bias is None:  # the first layer: relative-position bias (or zeros) plus the padding mask
        keys = key.shape[-2]
        if self.has_relative_attention_bias:
            real = query_length if query_length is not None else \
                (cache_position[-1] + 1 if cache_position is not None else length)
            position_bias = self.compute_bias(real, keys, device=query.device,
                                              cache_position=cache_position)[:, :, -length:, :]
        else:
            position_bias = torch.zeros((1, self.n_heads, length, keys), device=query.device, dtype=query.dtype)
        if mask is not None:
            position_bias = position_bias + mask[:, :, :, :keys]
        # compute_bias permutes its (query, key, head) lookup to (head, query, key) as a view, so the bias keeps
        # the heads innermost (last-dimension stride n_heads). The GPU's fused kernels need stride 1 there and
        # otherwise fall back on the unfused math, upcast to fp32: on an H100 at duoT5-3B's shape, 16.5 ms per
        # layer against 0.85 ms for cuDNN once the bias is contiguous (benchmarks/results). One copy here serves
        # every layer.
        position_bias = position_bias.to(query.dtype).contiguous()
    with _sdpa_context(getattr(self, "_pdlib_kernel", "auto"), query.device):
        out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=position_bias,
                                                               scale=1.0)
    return self.o(out.transpose(1, 2).reshape(batch, length, self.inner_dim)), position_bias


def to_run(scores: pd.DataFrame) -> pd.DataFrame:
    """Sort teacher scores into a ranked run (`qid, docno, score, rank`)."""
    ranked = scores.sort_values(["qid", "score"], ascending=[True, False], kind="stable").copy()
    ranked["rank"] = ranked.groupby("qid").cumcount() + 1
    return ranked.reset_index(drop=True)

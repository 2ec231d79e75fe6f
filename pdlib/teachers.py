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
"""
from __future__ import annotations

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
              progress: bool = True) -> np.ndarray:
    """Score prompts with one decoder step of a T5 model; returns one float per prompt, in input order."""
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


def on_device(model):
    """Move a teacher to the GPU in bf16 when there is one (CPU stays fp32)."""
    if torch.cuda.is_available():
        return model.to("cuda", dtype=torch.bfloat16)
    return model


def to_run(scores: pd.DataFrame) -> pd.DataFrame:
    """Sort teacher scores into a ranked run (`qid, docno, score, rank`)."""
    ranked = scores.sort_values(["qid", "score"], ascending=[True, False], kind="stable").copy()
    ranked["rank"] = ranked.groupby("qid").cumcount() + 1
    return ranked.reset_index(drop=True)

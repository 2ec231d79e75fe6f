"""Pointwise teachers (Used in 02_pointwise; §3.2).

Cross-encoder (`cross-encoder/ms-marco-MiniLM-L-6-v2`): s_point(q, d) is the single raw logit, no sigmoid.
Batched, with (query, passage) pairs sorted by length so each batch pads little.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm


@torch.inference_mode()
def cross_encoder_scores(tokenizer, model, queries: list[str], passages: list[str], batch_size: int = 64,
                         max_length: int = 256, progress: bool = True) -> np.ndarray:
    """Raw logit of a one-label cross-encoder for each (query, passage) pair."""
    if len(queries) != len(passages):
        raise ValueError(f"{len(queries)} queries but {len(passages)} passages: pass one query per passage")
    order = np.argsort([len(q) + len(p) for q, p in zip(queries, passages)], kind="stable")
    out = np.empty(len(order), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc="cross-encoder", disable=not progress, unit="batch"):
        idx = order[start:start + batch_size]
        enc = tokenizer([queries[i] for i in idx], [passages[i] for i in idx], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        out[idx] = model(**enc).logits[:, 0].float().numpy()
    return out


def rerank_run(run: pd.DataFrame, query_text: dict[str, str], doc_text: dict[str, str], score_fn,
               **kwargs) -> pd.DataFrame:
    """Score every (qid, docno) of a run with `score_fn(queries, passages, **kwargs)` -> `qid, docno, score`."""
    scores = score_fn([query_text[q] for q in run.qid], [doc_text[d] for d in run.docno], **kwargs)
    return pd.DataFrame({"qid": run.qid.to_numpy(), "docno": run.docno.to_numpy(), "score": scores})


def to_run(scores: pd.DataFrame) -> pd.DataFrame:
    """Sort teacher scores into a ranked run (`qid, docno, score, rank`)."""
    ranked = scores.sort_values(["qid", "score"], ascending=[True, False], kind="stable").copy()
    ranked["rank"] = ranked.groupby("qid").cumcount() + 1
    return ranked.reset_index(drop=True)

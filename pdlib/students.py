"""The two students of PairDistill (Used in 04_distill, 06_domain_adapt through pdlib.train; §3.1, §5.2).

* **ColBERT** (late interaction: MaxSim over L2-normalised token vectors, [Q]/[D] markers, a linear
  projection to 128 dims) is colbert-ai's own `ColBERT` module, from a colbert-ai checkpoint (ColBERTv2) or a
  plain BERT (bert-base-uncased, Table 3), saved with colbert-ai's `save()` so PLAID indexes it.
* **DPR** (dual encoder, dot product of pooled vectors) is a sentence-transformers model; if it L2-normalises
  its embeddings (all-MiniLM-L6-v2 does) the cosine is multiplied by 20, sentence-transformers' usual scale.

Both expose `encode(queries, docs)`, `scores(Q, D, n, all_pairs)` ((B, n), or (B, B·n) for in-batch
negatives) and `save(folder)`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import PdlibError, models


class DPRStudent(torch.nn.Module):
    """Dual encoder: s(q, d) = scale · ⟨E(q), E(d)⟩ with a sentence-transformers encoder E."""

    def __init__(self, init: str, doc_maxlen: int, query_maxlen: int, device: str):
        super().__init__()
        self.st = models.load_bi_encoder(init, device=device)
        self.st.max_seq_length = max(doc_maxlen, query_maxlen)
        self.doc_maxlen, self.query_maxlen = doc_maxlen, query_maxlen
        normalises = any(type(m).__name__ == "Normalize" for m in self.st)
        self.scale = 20.0 if normalises else 1.0

    def _embed(self, texts: list[str], maxlen: int, tokens: bool = False):
        # `preprocess` is what the deprecated `tokenize` calls in newer releases; 5.0 has only `tokenize`
        feats = (self.st.preprocess if hasattr(self.st, "preprocess") else self.st.tokenize)(texts)
        feats = {k: v[:, :maxlen].to(self.st.device) if torch.is_tensor(v) and v.dim() == 2 else v
                 for k, v in feats.items()}
        out = self.st(feats)
        if not tokens:
            return out["sentence_embedding"]
        # the real tokens of each text: positions 1 … n−2 of [CLS] … [SEP] (pdlib.md2pr aligns them)
        lengths = (feats["attention_mask"].sum(1) - 2).clamp_min(0).tolist()
        width = max(1, max(lengths))
        ids = [feats["input_ids"][r, 1:1 + n].tolist() for r, n in enumerate(lengths)]
        return out["sentence_embedding"], (out["token_embeddings"][:, 1:1 + width], ids)

    @property
    def tokenizer(self):
        return self.st.tokenizer

    def encode(self, queries: list[str], docs: list[str], tokens: bool = False):
        """(Q, D) pooled vectors; tokens=True adds ((query token vectors, ids), (passage token vectors, ids)) of
        the same forward pass, without [CLS]/[SEP] (MD2PR's word level, pdlib.md2pr)."""
        if not tokens:
            return self._embed(queries, self.query_maxlen), self._embed(docs, self.doc_maxlen)
        (Q, q_tok), (D, d_tok) = self._embed(queries, self.query_maxlen, True), self._embed(docs, self.doc_maxlen, True)
        return Q, D, (q_tok, d_tok)

    def scores(self, Q: torch.Tensor, D: torch.Tensor, n: int, all_pairs: bool = False) -> torch.Tensor:
        """(B, n) scores of each query against its own n passages, or (B, B·n) against all passages."""
        if all_pairs:
            return self.scale * Q @ D.T
        return self.scale * torch.einsum("bh,bnh->bn", Q, D.view(Q.shape[0], n, -1))

    def save(self, folder: Path) -> None:
        self.st.save(str(folder), safe_serialization=True)


class ColBERTStudent(torch.nn.Module):
    """colbert-ai's ColBERT: s(q, d) = Σ_i max_j ⟨q_i, d_j⟩ over normalised token vectors (MaxSim)."""

    def __init__(self, init: str, doc_maxlen: int, query_maxlen: int, device: str):
        super().__init__()
        from colbert.infra import ColBERTConfig
        from colbert.modeling.colbert import ColBERT
        from colbert.modeling.tokenization import DocTokenizer, QueryTokenizer

        from .plaid import _setup_extensions

        _setup_extensions()
        path = models.local_path(init)
        config = ColBERTConfig(checkpoint=path, doc_maxlen=doc_maxlen, query_maxlen=query_maxlen,
                               dim=128, similarity="cosine", gpus=int(device.startswith("cuda")))
        self.colbert = ColBERT(name=path, colbert_config=config).to(device)
        self.query_tok, self.doc_tok = QueryTokenizer(config), DocTokenizer(config)

    def encode(self, queries: list[str], docs: list[str]):
        Q = self.colbert.query(*self.query_tok.tensorize(queries))
        D, mask = self.colbert.doc(*self.doc_tok.tensorize(docs), keep_dims="return_mask")
        return Q, (D.float(), mask)

    def scores(self, Q: torch.Tensor, D, n: int, all_pairs: bool = False) -> torch.Tensor:
        from colbert.modeling.colbert import colbert_score

        D, mask = D
        if not all_pairs:  # colbert-ai's own MaxSim over aligned (query, passage) pairs
            return colbert_score(Q.repeat_interleave(n, dim=0), D, mask, self.colbert.colbert_config).view(-1, n)
        return maxsim(Q, D, mask.squeeze(-1))

    def save(self, folder: Path) -> None:
        self.colbert.save(str(folder))


def maxsim(Q: torch.Tensor, D: torch.Tensor, mask: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """ColBERT's late interaction s(q, d) = Σ_i max_j ⟨q_i, d_j⟩ (MaxSim, padding tokens never the max).

    Q (B, q_len, dim) query token vectors; D (B·n, d_len, dim) passage token vectors, query-major; mask
    (B·n, d_len) True for a real passage token. n=None: every query against every passage, (B, B·n) (in-batch
    negatives); n: each query against its own n passages, (B, n)."""
    if n is None:
        sim = torch.einsum("qid,pjd->qpij", Q, D).masked_fill(~mask[None, :, None, :], -9999)
    else:
        B, t = Q.shape[0], D.shape[1]
        sim = torch.einsum("bid,bnjd->bnij", Q, D.view(B, n, t, -1)).masked_fill(~mask.view(B, n, 1, t), -9999)
    return sim.max(-1).values.sum(-1)                                            # MaxSim, summed over query tokens


def use_checkpointing(student: torch.nn.Module) -> torch.nn.Module:
    """Activation checkpointing in every transformers model inside a student (TrainConfig.grad_checkpointing):
    each layer's activations are recomputed in the backward pass instead of kept, for about a third more
    compute. Non-reentrant, so it needs no input that requires a gradient."""
    from transformers import PreTrainedModel

    found = [m for m in student.modules() if isinstance(m, PreTrainedModel) and m.supports_gradient_checkpointing]
    if not found:
        raise PdlibError(f"{type(student).__name__} holds no transformers model that supports gradient checkpointing")
    for m in found:
        m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return student


def compile_encoders(student: torch.nn.Module) -> torch.nn.Module:
    """torch.compile every innermost transformers model inside a student, in place (pdlib.train does it on a
    GPU): the encoder the student calls for queries and passages, whatever wraps it (colbert-ai's HF_ColBERT,
    sentence-transformers' Transformer). Module.compile keeps the parameter names, so checkpoints are unchanged.
    Table 7's ColBERT step on an H200: 49.5 queries/s against 46.4 eager in the same run (bf16, micro-batches of
    16, 69 GB against 78; the first step compiles, about a minute; benchmarks/results/h200-2026-11-27c-*.txt)."""
    from transformers import PreTrainedModel

    def inner(m):
        return not any(isinstance(c, PreTrainedModel) for c in m.modules() if c is not m)

    found = [m for m in student.modules() if isinstance(m, PreTrainedModel) and inner(m)]
    if not found:
        raise PdlibError(f"{type(student).__name__} holds no transformers model to compile")
    for m in found:
        m.compile()
    return student


STUDENTS = ("dpr", "colbert")


def make_student(student: str, init: str, doc_maxlen: int = 180, query_maxlen: int = 32,
                 device: str = "cpu") -> torch.nn.Module:
    """A `dpr` or `colbert` student starting from `init` (a model id or a trained folder)."""
    if student not in STUDENTS:
        raise PdlibError(f"student must be 'dpr' or 'colbert', got {student!r}")
    return (DPRStudent if student == "dpr" else ColBERTStudent)(str(init), doc_maxlen, query_maxlen, device)


def passage_style(student: str) -> str:
    """How a student reads passages: ColBERT `title | text` (the authors), DPR `title text`."""
    return "colbert" if student == "colbert" else "plain"


@torch.inference_mode()
def score_items(student: str, model: str, items: pd.DataFrame, query_text: dict[str, str],
                doc_text: dict[str, str], batch_size: int = 64, doc_maxlen: int = 180,
                query_maxlen: int = 32) -> pd.DataFrame:
    """Scores s(q, d) of a student (`dpr` | `colbert`, a model id or trained folder) for given (qid, docno)
    rows, e.g. the passages of held-out teacher pairs (04). Returns qid, docno, score."""
    net = make_student(student, model, doc_maxlen, query_maxlen).eval()
    items = items[["qid", "docno"]].drop_duplicates().reset_index(drop=True)
    out = []
    for i in range(0, len(items), batch_size):
        chunk = items.iloc[i:i + batch_size]
        Q, D = net.encode([query_text[q] for q in chunk.qid], [doc_text[d] for d in chunk.docno])
        out.append(net.scores(Q, D, 1)[:, 0].float().cpu().numpy())
    return items.assign(score=np.concatenate(out) if out else np.zeros(0))

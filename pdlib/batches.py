"""Training batches (Used in 04_distill through pdlib.train; §4.2, Table 7).

`Examples` holds the training examples of 04_distill (pdlib.pairs.training_examples) with the texts they refer
to and cuts seeded batches from them; a `Batch` is what the student and pdlib.losses see, and `Batch.split`
cuts it into micro-batches for gradient accumulation (pdlib.train.accumulate).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import PdlibError, data
from .atomic import read_frame


@dataclass
class Batch:
    queries: list[str]
    docs: list[str]            # B·L passage texts, query-major (L: the batch's longest list; padding is "")
    teacher: torch.Tensor      # (B, L) pointwise teacher scores; NaN where there is none (padding, added positive)
    positive: torch.Tensor     # (B,) position of the labelled positive in its list, −1 if the query has none
    pair_i: torch.Tensor       # (B, P)
    pair_j: torch.Tensor
    pair_probs: torch.Tensor
    pair_mask: torch.Tensor
    doc_mask: torch.Tensor | None = None  # (B, L) True for a real passage, False for padding

    def __len__(self) -> int:
        return len(self.queries)

    def to(self, device) -> "Batch":
        """The batch with its tensors on `device`: on a GPU from pinned memory without blocking (a pageable copy
        would wait for the GPU); elsewhere the batch itself."""
        if torch.device(device).type != "cuda":
            return self
        return dataclasses.replace(self, **{f.name: getattr(self, f.name).pin_memory().to(device, non_blocking=True)
                                            for f in dataclasses.fields(self)
                                            if isinstance(getattr(self, f.name), torch.Tensor)})

    def split(self, size: int) -> list["Batch"]:
        """Micro-batches of `size` queries (the last may be smaller), each with its queries' passages, teacher
        scores and pairs; lists keep the batch's padded length L. Used by pdlib.train.accumulate."""
        if size < 1:
            raise PdlibError(f"a micro-batch needs at least one query, got {size}")
        B, L = len(self), len(self.docs) // len(self)
        return [Batch(queries=self.queries[a:a + size], docs=self.docs[a * L:(a + size) * L],
                      teacher=self.teacher[a:a + size], positive=self.positive[a:a + size],
                      pair_i=self.pair_i[a:a + size], pair_j=self.pair_j[a:a + size],
                      pair_probs=self.pair_probs[a:a + size], pair_mask=self.pair_mask[a:a + size],
                      doc_mask=None if self.doc_mask is None else self.doc_mask[a:a + size])
                for a in range(0, B, size)]


class Examples:
    """The training examples of 04_distill (pdlib.pairs.training_examples) with the texts they refer to.

    A query's list holds every passage of its sampled pairs and at least n passages (pairs.training_examples),
    so lists differ in length: a batch pads them to its longest with a mask. A labelled positive that the
    list lacks is added at its end for L_CL, with no teacher score (L_KD leaves it out), as the authors mix
    labelled positives into ColBERT's training lists. Queries with fewer than n passages are left out."""

    def __init__(self, examples: pd.DataFrame, query_text: dict[str, str], doc_text: dict[str, str],
                 positives: dict[str, set[str]], n: int, add_positives: bool = True):
        keep = examples.docnos.map(len) >= n
        if not keep.any():
            raise PdlibError(f"no training query has {n} passages: lower n_passages or retrieve a deeper top-k")
        self.frame = examples[keep].reset_index(drop=True)
        self.dropped = int((~keep).sum())
        self.query_text, self.doc_text, self.positives, self.n = query_text, doc_text, positives, n
        self.add_positives = add_positives

    @classmethod
    def load(cls, examples: Path, dataset: str, n: int, style: str = "plain", add_positives: bool = True) -> "Examples":
        """The examples parquet with the texts and labelled positives of `dataset` (ir_datasets id); style
        "colbert" gives passages as `title | text` (data.passage_texts)."""
        coll = data.load(dataset)
        positives = coll.qrels[coll.qrels.relevance > 0].groupby("qid").docno.apply(set).to_dict()
        return cls(read_frame(examples), dict(zip(coll.queries.qid, coll.queries.text)), coll.doc_text(style),
                   positives, n, add_positives)

    def _list(self, qid: str, docnos, scores) -> tuple[list[str], list[float], int]:
        """(passages, teacher scores, position of the labelled positive or −1) of one query."""
        docs, teacher = list(docnos), [float(x) for x in scores]
        labelled = self.positives.get(qid, ())
        pos = next((i for i, d in enumerate(docs) if d in labelled), -1)
        if pos < 0 and labelled and self.add_positives:
            docs.append(min(labelled))  # one labelled positive, the same in every process
            teacher.append(float("nan"))
            pos = len(docs) - 1
        return docs, teacher, pos

    def __len__(self) -> int:
        return len(self.frame)

    def order(self, seed: int, step: int, batch_size: int) -> np.ndarray:
        """Row indices of batch `step`: epochs are seeded permutations, so any step is found from (seed, step)."""
        start = step * batch_size
        rows = []
        while len(rows) < batch_size:
            epoch, offset = divmod(start + len(rows), len(self))
            perm = np.random.default_rng([seed, epoch]).permutation(len(self))
            rows.extend(perm[offset: offset + batch_size - len(rows)].tolist())
        return np.asarray(rows)

    def batch(self, rows: np.ndarray) -> Batch:
        sub = self.frame.iloc[rows]
        lists = [self._list(q, d, t) for q, d, t in zip(sub.qid, sub.docnos, sub.teacher_scores)]
        L = max(len(docs) for docs, _, _ in lists)
        P = max(1, max(len(x) for x in sub.pair_i))

        def pad(values, size, fill):
            return [list(v) + [fill] * (size - len(v)) for v in values]
        pi, pj = torch.tensor(pad(sub.pair_i, P, 0)), torch.tensor(pad(sub.pair_j, P, 0))
        return Batch(queries=[self.query_text[q] for q in sub.qid],
                     docs=[self.doc_text[d] if d else "" for docs, _, _ in lists for d in docs + [""] * (L - len(docs))],
                     teacher=torch.tensor(pad([t for _, t, _ in lists], L, float("nan")), dtype=torch.float32),
                     positive=torch.tensor([p for _, _, p in lists]), pair_i=pi, pair_j=pj,
                     pair_probs=torch.tensor(pad(sub.pair_probs, P, 0.5), dtype=torch.float32),
                     pair_mask=torch.tensor([[k < len(v) for k in range(P)] for v in sub.pair_i]),
                     doc_mask=torch.tensor([[k < len(docs) for k in range(L)] for docs, _, _ in lists]))

"""MD2PR's two additions to distillation, as options of the one training loop (Used in 07_beyond; pdlib.train).

"A Multi-level Distillation based Dense Passage Retrieval Model" (MD2PR; its abstract in ../shared/paper)
distils a cross-encoder into a dual encoder at two levels and filters false negatives:

* **sentence level**: the student's score distribution over a query's passages follows the teacher's. That is
  PairDistill's L_KD (pdlib.losses.kd_loss); nothing new here.
* **word level** (`word_loss`, weight `TrainConfig.lambda_word`): for every query token, the student's
  similarities to the passage's tokens, as a softmax over the passage tokens, follow the cross-encoder's
  attention from that query token to the passage tokens.
* **dynamic false-negative filtering** (`false_negatives`, `TrainConfig.fn_margin`): a passage of the query's
  own list that the teacher scores near the labelled positive is no negative for L_CL.

What the abstract leaves open, and what we chose:
- the teacher's attention: its last layer, averaged over heads, the query-token rows restricted to the
  passage-token columns and renormalised there (the [CLS]/[SEP] columns dropped). Computed on the fly from
  the pointwise cross-encoder (`WordTeacher`), so nothing is stored per (query, passage, token).
- the student's similarities: cosine of its last-layer token vectors (DPR students; ColBERT has its own
  late interaction, and is not supported) times 20, sentence-transformers' scale, as a softmax over the
  passage's tokens; the loss is KL(teacher ‖ student) averaged over the real query tokens of every
  (query, passage) of the batch. Teacher and student must share a tokenizer vocabulary (the paper's MiniLM
  cross-encoder and its bert-base-uncased students do; so do the smoke stand-ins), so the tokens align.
- the threshold: updated at every training step (an "iteration" of the loop) from the batch itself: the mean
  teacher score of the batch's labelled positives minus `fn_margin` (of each micro-batch's, when
  `micro_batch` cuts the batch). A passage at or above it, other than
  the positive, leaves L_CL's negatives. It acts on the query's own list, so it needs `in_batch=False` (with
  in-batch negatives the own list is no negative anyway).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from . import PdlibError, models

SIM_SCALE = 20.0  # cosine × 20: the student's token similarities as logits (sentence-transformers' scale)


def false_negatives(teacher: torch.Tensor, positive: torch.Tensor, margin: float) -> torch.Tensor:
    """(B, L) True for passages taken as false negatives: teacher score ≥ θ = mean teacher score of the batch's
    labelled positives − margin, the positive itself excluded. NaN scores (padding, an unscored positive) are
    never false negatives; with no scored positive in the batch, none is.

    Worked example: teacher [[5, 4.5, 1], [2, 6, 3]], positives [0, 2], margin 1: θ = (5 + 3)/2 − 1 = 3;
    query 0: 4.5 ≥ 3 → passage 1; query 1: 6 ≥ 3 → passage 1 (passage 2 is its positive)."""
    L = teacher.shape[1]
    has = positive >= 0
    pos_scores = teacher[has.nonzero().squeeze(-1), positive[has].long()] if has.any() else teacher.new_empty(0)
    pos_scores = pos_scores[~torch.isnan(pos_scores)]
    if len(pos_scores) == 0:
        return torch.zeros_like(teacher, dtype=torch.bool)
    theta = pos_scores.mean() - margin
    cols = torch.arange(L, device=teacher.device)[None, :]
    is_pos = has[:, None] & (cols == positive[:, None])
    return (teacher >= theta) & ~is_pos & ~torch.isnan(teacher)


def attention_targets(attentions: torch.Tensor, n_query: list[int], n_doc: list[int], nq: int, nd: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's word-level targets from its last-layer attention (P, H, T, T) over inputs
    [CLS] query [SEP] passage [SEP]: for each pair p, rows 1..n_query[p] (query tokens), columns
    n_query[p]+2 .. n_query[p]+1+n_doc[p] (passage tokens), averaged over heads and renormalised over the
    columns. Returns (P, nq, nd) targets (zero-padded) and a (P, nq) mask of real rows (a query token of a
    pair with a non-empty passage)."""
    P = attentions.shape[0]
    att = attentions.float().mean(1)
    out = att.new_zeros(P, nq, nd)
    rows = torch.zeros(P, nq, dtype=torch.bool, device=att.device)
    for p in range(P):
        a, b = n_query[p], n_doc[p]
        if a == 0 or b == 0:
            continue
        block = att[p, 1:1 + a, a + 2:a + 2 + b]
        out[p, :a, :b] = block / block.sum(-1, keepdim=True).clamp_min(1e-12)
        rows[p, :a] = True
    return out, rows


def word_loss(student_sims: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor
              ) -> torch.Tensor:
    """Word-level distillation: mean over real query-token rows of KL(target ‖ softmax(student_sims)) over the
    passage tokens. student_sims, targets (P, nq, nd); rows (P, nq) real query tokens; cols (P, nd) real
    passage tokens.

    Worked example: one row, two passage tokens, target (3/4, 1/4), student logits (0, 0):
    KL = ¾ ln(3/2) + ¼ ln(1/2) ≈ 0.1308; with logits (ln 3, 0) the KL is 0."""
    if not rows.any():
        return student_sims.sum() * 0.0
    logits = student_sims.float().masked_fill(~cols[:, None, :], float("-inf"))
    log_q = F.log_softmax(logits, dim=-1)
    log_q = torch.where(cols[:, None, :], log_q, torch.zeros_like(log_q))
    kl = (torch.xlogy(targets, targets) - targets * log_q).sum(-1)  # (P, nq)
    return kl[rows].mean()


class WordTeacher:
    """The cross-encoder whose attention the student's token similarities follow (eager attention, no grad)."""

    def __init__(self, model_id: str, student_tokenizer, device: torch.device | str = "cpu"):
        self.tok, self.model = models.load_seq_classifier(model_id, attn_implementation="eager")
        if self.tok.get_vocab() != student_tokenizer.get_vocab():
            raise PdlibError(f"word-level distillation needs the teacher {model_id!r} and the student to share a "
                             "tokenizer vocabulary (their tokens must align); choose a teacher of the student's vocabulary")
        self.model.to(device)
        self.max_len = int(getattr(self.model.config, "max_position_embeddings", 512))

    @torch.no_grad()
    def targets(self, q_ids: list[list[int]], d_ids: list[list[int]], nq: int, nd: int):
        """(targets (P, nq, nd), rows (P, nq)) for pairs given as token ids without special tokens."""
        cls, sep, pad = self.tok.cls_token_id, self.tok.sep_token_id, self.tok.pad_token_id
        seqs, n_q, n_d = [], [], []
        for q, d in zip(q_ids, d_ids):
            d = d[: max(0, self.max_len - len(q) - 3)]
            seqs.append([cls, *q, sep, *d, sep])
            n_q.append(len(q))
            n_d.append(len(d))
        T = max(map(len, seqs))
        ids = torch.full((len(seqs), T), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), T), dtype=torch.long)
        types = torch.zeros((len(seqs), T), dtype=torch.long)
        for p, s in enumerate(seqs):
            ids[p, :len(s)], mask[p, :len(s)] = torch.tensor(s), 1
            types[p, n_q[p] + 2:len(s)] = 1
        dev = next(self.model.parameters()).device
        out = self.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), token_type_ids=types.to(dev),
                         output_attentions=True)
        return attention_targets(out.attentions[-1], n_q, n_d, nq, nd)


@functools.lru_cache(maxsize=2)
def word_teacher(model_id: str, student_tokenizer, device: str) -> WordTeacher:
    """One WordTeacher per (teacher, student tokenizer, device) in a process: loaded once per training run."""
    return WordTeacher(model_id, student_tokenizer, device)


def batch_word_loss(token_outputs, n_passages: int, tokenizer, teacher_id: str) -> torch.Tensor:
    """The word-level term of one batch from the student's token outputs (DPRStudent.encode(tokens=True)):
    B queries, B·L passages query-major ("" is padding)."""
    (q_vec, q_ids), (d_vec, d_ids) = token_outputs
    L = n_passages
    q_rep = [q_ids[b] for b in range(len(q_ids)) for _ in range(L)]
    nq, nd = q_vec.shape[1], d_vec.shape[1]
    teacher = word_teacher(teacher_id, tokenizer, str(q_vec.device))
    targets, rows = teacher.targets(q_rep, d_ids, nq, nd)
    q = F.normalize(q_vec.float(), dim=-1).repeat_interleave(L, dim=0)  # (B·L, nq, h)
    d = F.normalize(d_vec.float(), dim=-1)                                # (B·L, nd, h)
    sims = SIM_SCALE * torch.einsum("pih,pjh->pij", q, d)
    n_doc = torch.tensor([len(x) for x in d_ids], device=d.device)
    cols = torch.arange(nd, device=d.device)[None, :] < n_doc[:, None]
    return word_loss(sims, targets.to(sims.device), rows.to(sims.device), cols)

"""Brief supervised training of the tiny teacher stand-ins on the synthetic labels (smoke profile only).

The paper's teachers were trained on MS MARCO labels (MiniLM cross-encoder, monoT5/duoT5) or instruction
tuned (flan-t5). Their tiny stand-ins get the same kind of supervision on the synthetic training split, so
that in the smoke profile the teachers really are better than the student and distillation has something
to teach. Not used for real checkpoints.

Targets are graded: within one query's list the target distribution is softmax(3 * grade); pairwise
targets are 1 / 0 / 0.5 for a better / worse / equally relevant first passage.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from . import rerank

TEACHER_QUERIES = 3000


def _query_lists(seed: int, list_size: int = 8):
    """For every training query of the smoke set: its text and a list of (passage text, grade)."""
    from dataclasses import replace

    from .synthetic import PRESETS, generate

    # the smoke set's vocabulary (same seed) with many more labelled queries and their own passages: the
    # teachers' "MS MARCO", disjoint from the passages of the smoke set itself
    docs, queries, qrels = generate(replace(PRESETS["smoke"], n_train=TEACHER_QUERIES, n_dev=0, n_test=0))
    q, rel = queries["train"], qrels["train"]
    grade = {(a, b): g for a, b, g in rel.itertuples(index=False)}
    by_topic = {t: g.docno.to_numpy() for t, g in docs.groupby("topic")}
    # passages judged for *some* training query: used as negatives for the others, so that a passage's
    # identity ("it was relevant in training") says nothing and only its match with the query counts
    planted = docs[docs.docno.isin(set(rel.docno))]
    planted_by_topic = {t: g.docno.to_numpy() for t, g in planted.groupby("topic")}
    judged_of = rel.groupby("qid").docno.apply(list).to_dict()
    text = dict(zip(docs.docno, docs.text))
    rng = np.random.default_rng(seed)

    def sample(qid: str, topic: int):
        """One grade-2 passage, up to two grade-1 look-alikes, the rest negatives (grade 0)."""
        judged = judged_of.get(qid, [])
        best = [d for d in judged if grade[(qid, d)] == 2]
        near = [d for d in judged if grade[(qid, d)] == 1]
        chosen = [best[rng.integers(len(best))]] if best else []
        chosen += [near[i] for i in rng.permutation(len(near))[:2]]
        pool = rng.choice(planted_by_topic[topic], 6, replace=False).tolist() + \
            rng.choice(by_topic[topic], 3, replace=False).tolist() + \
            rng.choice(planted.docno.to_numpy(), list_size, replace=False).tolist()
        chosen += [d for d in dict.fromkeys(pool) if (qid, d) not in grade][: list_size - len(chosen)]
        return [(text[d], grade.get((qid, d), 0)) for d in chosen]

    return [(qt, topic, qid) for qid, qt, topic in zip(q.qid, q.text, q.topic)], sample, rng


def _optimizer(model, lr: float, steps: int):
    """AdamW with linear warm-up over the first 10% of steps (post-LN transformers trained from scratch)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    warm = max(1, steps // 10)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))


def _listwise_loss(scores: torch.Tensor, grades: torch.Tensor) -> torch.Tensor:
    target = torch.softmax(3.0 * grades, dim=-1)
    return -(target * torch.log_softmax(scores, dim=-1)).sum(-1).mean()


def train_cross_encoder(tokenizer, model, steps: int = 300, batch_queries: int = 16, lr: float = 2e-3,
                        seed: int = 0, progress: bool = True):
    """Listwise training of a one-logit cross-encoder on the synthetic train queries."""
    torch.manual_seed(seed)
    queries, sample, rng = _query_lists(seed)
    opt, sched = _optimizer(model, lr, steps)
    model.train()
    for _ in tqdm(range(steps), desc="train tiny cross-encoder", disable=not progress):
        batch = [queries[i] for i in rng.choice(len(queries), batch_queries, replace=False)]
        lists = [sample(qid, topic) for _, topic, qid in batch]
        enc = tokenizer([qt for (qt, _, _), lst in zip(batch, lists) for _ in lst],
                        [t for lst in lists for t, _ in lst], padding=True, return_tensors="pt")
        scores = model(**enc).logits[:, 0].view(batch_queries, -1)
        grades = torch.tensor([[g for _, g in lst] for lst in lists], dtype=torch.float32)
        loss = _listwise_loss(scores, grades)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def _t5_margin(tokenizer, model, kind: str, prompts: list[str]) -> torch.Tensor:
    pos, neg = rerank.answer_token_ids(tokenizer, kind)
    enc = tokenizer(prompts, padding=True, return_tensors="pt")
    dec = torch.full((len(prompts), 1), model.config.decoder_start_token_id)
    logits = model(**enc, decoder_input_ids=dec).logits[:, 0, :]
    return logits[:, pos] - logits[:, neg]


def train_t5_teacher(tokenizer, model, steps: int = 300, batch_queries: int = 16, lr: float = 2e-3,
                     seed: int = 0, progress: bool = True):
    """Multi-task training of one tiny T5 on the four prompt formats (monoT5, duoT5, Appendix C.1 Yes/No
    and A/B), so the same stand-in can play monoT5, duoT5 and the instruction-following LLM."""
    torch.manual_seed(seed)
    queries, sample, rng = _query_lists(seed)
    opt, sched = _optimizer(model, lr, steps)
    model.train()
    kinds = ["mono-t5", "duo-t5", "llm-point", "llm-pair"]
    for step in tqdm(range(steps), desc="train tiny T5 teacher", disable=not progress):
        kind = kinds[step % 4]
        batch = [queries[i] for i in rng.choice(len(queries), batch_queries, replace=False)]
        lists = [sample(qid, topic) for _, topic, qid in batch]
        if kind in ("mono-t5", "llm-point"):
            prompts = [rerank.prompt(kind, qt, t) for (qt, _, _), lst in zip(batch, lists) for t, _ in lst]
            margin = _t5_margin(tokenizer, model, kind, prompts).view(batch_queries, -1)
            grades = torch.tensor([[g for _, g in lst] for lst in lists], dtype=torch.float32)
            loss = _listwise_loss(margin, grades) + \
                torch.nn.functional.binary_cross_entropy_with_logits(margin, (grades == 2).float())
        else:
            prompts, targets = [], []
            for (qt, _, _), lst in zip(batch, lists):
                for i, j in rng.choice(len(lst), (6, 2)):
                    if i == j:
                        continue
                    (ti, gi), (tj, gj) = lst[i], lst[j]
                    prompts.append(rerank.prompt(kind, qt, ti, tj))
                    targets.append(1.0 if gi > gj else 0.0 if gi < gj else 0.5)
            margin = _t5_margin(tokenizer, model, kind, prompts)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(margin, torch.tensor(targets))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()

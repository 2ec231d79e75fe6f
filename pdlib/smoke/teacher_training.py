"""Brief supervised training of the tiny teacher stand-ins on the synthetic labels (smoke profile only).

The paper's teachers were trained on MS MARCO labels (MiniLM cross-encoder, monoT5/duoT5) or instruction
tuned (flan-t5). Their tiny stand-ins get the same kind of supervision on the synthetic training split, so
that they know something about relevance the untrained student does not. They are *not* better rankers than
the student it starts from (smoke Table 5: cross-encoder RR@10 56 against the retriever's 75); the duoT5
stand-in does order held-out pairs (75%, tests/test_models.py). Not used for real checkpoints.

Targets are graded: a passage's target probability is grade / 2 (0, ½, 1); pairwise targets are 1 / 0 for a
better / worse first passage (pairs of equal grade are not used). Lists mix the judged passages with negatives from a
lexical top-30 (as MS MARCO rerankers are trained on BM25 negatives) and random ones.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import teachers
from .synthetic import PRESETS, generate

TEACHER_QUERIES = 3000


def _query_lists(seed: int, list_size: int = 8):
    """For every training query of the smoke set: its text and a list of (passage text, grade)."""
    from dataclasses import replace

    # the smoke set's vocabulary (same seed) with many more labelled queries and their own passages: the
    # teachers' "MS MARCO", disjoint from the passages of the smoke set itself
    docs, queries, qrels = generate(replace(PRESETS["smoke"], n_train=TEACHER_QUERIES, n_dev=0, n_test=0))
    q, rel = queries["train"], qrels["train"]
    grade = {(a, b): g for a, b, g in rel.itertuples(index=False)}
    judged_of = rel.groupby("qid").docno.apply(list).to_dict()
    # hard negatives as a first-stage retriever returns them (as MS MARCO rerankers are trained on BM25's
    # top-k): the 30 passages sharing the most words with the query, minus the judged ones
    vocab = {w: i for i, w in enumerate(sorted({w for t in docs.text for w in t.split()}))}

    def bag(texts):
        m = np.zeros((len(texts), len(vocab)), dtype=np.float32)
        for r, t in enumerate(texts):
            m[r, [vocab[w] for w in t.split() if w in vocab]] = 1.0
        return m

    rng = np.random.default_rng(seed)
    overlap = bag(list(q.text)) @ bag(list(docs.text)).T + rng.random((len(q), len(docs)), dtype=np.float32) * 0.1
    top = np.argpartition(-overlap, 30, axis=1)[:, :30]
    hard = {qid: [d for d in docs.docno.to_numpy()[row] if (qid, d) not in grade] for qid, row in zip(q.qid, top)}
    del overlap
    text = dict(zip(docs.docno, docs.text))
    all_docs = docs.docno.to_numpy()

    def sample(qid: str, topic: int):
        """One grade-2 passage, up to two grade-1 look-alikes, the rest negatives (grade 0): half hard, half random."""
        judged = judged_of.get(qid, [])
        best = [d for d in judged if grade[(qid, d)] == 2]
        near = [d for d in judged if grade[(qid, d)] == 1]
        chosen = [best[rng.integers(len(best))]] if best else []
        chosen += [near[i] for i in rng.permutation(len(near))[:2]]
        n_neg = list_size - len(chosen)
        negatives = [hard[qid][i] for i in rng.permutation(len(hard[qid]))[: n_neg - n_neg // 2]]
        negatives += [d for d in rng.choice(all_docs, n_neg, replace=False) if (qid, d) not in grade]
        chosen += negatives[:n_neg]
        return [(text[d], grade.get((qid, d), 0)) for d in chosen]

    return [(qt, topic, qid) for qid, qt, topic in zip(q.qid, q.text, q.topic)], sample, rng


def _optimizer(model, lr: float, steps: int):
    """AdamW with linear warm-up over the first 10% of steps (post-LN transformers trained from scratch)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    warm = max(1, steps // 10)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))


def train_cross_encoder(tokenizer, model, steps: int = 1000, batch_queries: int = 16, lr: float = 1e-3,
                        seed: int = 0, progress: bool = True):
    """Graded binary cross-entropy (target grade / 2) of a one-logit cross-encoder on the synthetic queries."""
    torch.manual_seed(seed)
    queries, sample, rng = _query_lists(seed)
    opt, sched = _optimizer(model, lr, steps)
    model.train()
    for _ in tqdm(range(steps), desc="train tiny cross-encoder", disable=not progress):
        batch = [queries[i] for i in rng.choice(len(queries), batch_queries, replace=False)]
        lists = [sample(qid, topic) for _, topic, qid in batch]
        enc = tokenizer([qt for (qt, _, _), lst in zip(batch, lists) for _ in lst],
                        [t for lst in lists for t, _ in lst], padding=True, return_tensors="pt")
        scores = model(**enc).logits[:, 0]
        grades = torch.tensor([g for lst in lists for _, g in lst], dtype=torch.float32)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, grades / 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def _t5_margin(tokenizer, model, kind: str, prompts: list[str]) -> torch.Tensor:
    pos, neg = teachers.answer_token_ids(tokenizer, kind)
    enc = tokenizer(prompts, padding=True, return_tensors="pt")
    dec = torch.full((len(prompts), 1), model.config.decoder_start_token_id)
    logits = model(**enc, decoder_input_ids=dec).logits[:, 0, :]
    return logits[:, pos] - logits[:, neg]


# The T5 stand-in's tasks in turn: half its steps go to the two pairwise prompts, which learn slowest
T5_SCHEDULE = ("mono-t5", "duo-t5", "llm-point", "duo-t5", "llm-pair", "duo-t5")


def train_t5_teacher(tokenizer, model, steps: int = 2400, batch_queries: int = 16, lr: float = 1e-3,
                     seed: int = 0, progress: bool = True):
    """Multi-task training of one tiny T5 on the four prompt formats (monoT5, duoT5, Appendix C.1 Yes/No
    and A/B), so the same stand-in can play monoT5, duoT5 and the instruction-following LLM. The steps cycle
    through `T5_SCHEDULE`; the pointwise tasks teach the relevance features the pairwise ones compare."""
    torch.manual_seed(seed)
    queries, sample, rng = _query_lists(seed)
    opt, sched = _optimizer(model, lr, steps)
    model.train()
    for step in tqdm(range(steps), desc="train tiny T5 teacher", disable=not progress):
        kind = T5_SCHEDULE[step % len(T5_SCHEDULE)]
        batch = [queries[i] for i in rng.choice(len(queries), batch_queries, replace=False)]
        lists = [sample(qid, topic) for _, topic, qid in batch]
        if kind in ("mono-t5", "llm-point"):
            prompts = [teachers.prompt(kind, qt, t) for (qt, _, _), lst in zip(batch, lists) for t, _ in lst]
            margin = _t5_margin(tokenizer, model, kind, prompts)
            grades = torch.tensor([g for lst in lists for _, g in lst], dtype=torch.float32)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(margin, grades / 2)
        else:
            prompts, targets = [], []
            for (qt, _, _), lst in zip(batch, lists):
                for i, j in rng.choice(len(lst), (12, 2)):
                    if lst[i][1] == lst[j][1]:  # only pairs the labels decide: ties would teach "always ½"
                        continue
                    (ti, gi), (tj, gj) = lst[i], lst[j]
                    prompts.append(teachers.prompt(kind, qt, ti, tj))
                    targets.append(1.0 if gi > gj else 0.0)
            margin = _t5_margin(tokenizer, model, kind, prompts)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(margin, torch.tensor(targets))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()

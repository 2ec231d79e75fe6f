"""Teachers: exact prompt strings and score extraction checked against hand-built logits."""
import math

import numpy as np
import pytest
import torch

from pdlib import teachers


def test_prompts_are_exactly_the_papers():
    assert teachers.prompt("mono-t5", "what is x", "x is y") == "Query: what is x Document: x is y Relevant:"
    assert teachers.prompt("duo-t5", "q", "d1", "d2") == "Query: q Document0: d1 Document1: d2 Relevant:"
    assert teachers.prompt("llm-point", "q", "d") == \
        "Is the document relevant to the query (Yes or No)?\nQuery: q\nDocument: d"
    assert teachers.prompt("llm-pair", "q", "d1", "d2") == \
        "Which document is more relevant to the query? Answer only 'A' or 'B'.\nQuery: q\nDocument A: d1\nDocument B: d2"
    with pytest.raises(ValueError, match="doc_b"):
        teachers.prompt("duo-t5", "q", "d1")


def test_score_extraction_by_hand():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 0.0])
    # monoT5: log P(true) over {true, false}
    assert teachers.score_from_logits("mono-t5", pos, neg).tolist() == pytest.approx(
        [math.log(math.exp(2) / (math.exp(2) + 1)), math.log(0.5)])
    # duoT5 / LLM pairwise: P(positive answer)
    expect = [1 / (1 + math.exp(-2)), 0.5]
    for kind in ("duo-t5", "llm-pair"):
        assert teachers.score_from_logits(kind, pos, neg).tolist() == pytest.approx(expect)
    # LLM pointwise (the authors' s_point): log P(Yes) − log P(No) = logit difference, unbounded, so that
    # softmax(s/τ) can prefer one passage by more than e (P(Yes) ∈ [0, 1] could not)
    log_odds = teachers.score_from_logits("llm-point", torch.tensor([2.0, 6.0]), torch.tensor([0.0, -1.0]))
    assert log_odds.tolist() == pytest.approx([2.0, 7.0])
    assert math.log(1 / (1 + math.exp(-7)) / (1 - 1 / (1 + math.exp(-7)))) == pytest.approx(7.0)
    assert torch.softmax(log_odds, 0)[1] / torch.softmax(log_odds, 0)[0] > math.e


class _Tok:
    """A 'tokenizer' whose answer words are single ids."""
    vocab = {"true": 5, "false": 6, "Yes": 7, "No": 8, "A": 9, "B": 10}

    def __call__(self, text, add_special_tokens=True, **kw):
        if isinstance(text, str):
            return type("E", (), {"input_ids": [self.vocab.get(text, 3), 4] if add_special_tokens else
                                  [self.vocab.get(text, 3)]})()
        return {"input_ids": [[len(t)] * len(t) for t in text]}  # one token per character

    def pad(self, features, pad_to_multiple_of=None, return_tensors="pt"):
        n = max(len(ids) for ids in features["input_ids"])
        ids = torch.tensor([ids + [0] * (n - len(ids)) for ids in features["input_ids"]])
        return _Batch(input_ids=ids, attention_mask=(ids > 0).long())


class _Batch(dict):
    def to(self, device):
        return self


class _Model(torch.nn.Module):
    """First-step logits set by hand: true/Yes/A gets len(prompt) / 10, false/No/B gets 1."""
    config = type("C", (), {"decoder_start_token_id": 0})()

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.calls = []

    def forward(self, input_ids, attention_mask, decoder_input_ids, use_cache=False):
        assert decoder_input_ids.shape == (len(input_ids), 1) and (decoder_input_ids == 0).all()  # one step
        self.calls.append(len(input_ids))
        logits = torch.zeros(len(input_ids), 1, 12)
        for pos, neg in ((5, 6), (7, 8), (9, 10)):
            logits[:, 0, pos] = input_ids[:, 0].float() / 10
            logits[:, 0, neg] = 1.0
        return type("O", (), {"logits": logits})()


def test_t5_scores_one_decoder_step_in_input_order_with_sorted_batches():
    texts = ["x" * n for n in (30, 5, 20, 10, 40)]
    model = _Model()
    out = teachers.t5_scores(_Tok(), model, "duo-t5", texts, batch_size=2, progress=False)
    expect = [1 / (1 + math.exp(-(len(t) / 10 - 1))) for t in texts]
    assert out.tolist() == pytest.approx(expect, rel=1e-6)
    assert model.calls == [2, 2, 1]


def test_answer_words_must_be_single_tokens():
    class Split(_Tok):
        def __call__(self, text, add_special_tokens=True, **kw):
            return type("E", (), {"input_ids": [1, 2]})()
    with pytest.raises(ValueError, match="splits the answer"):
        teachers.answer_token_ids(Split(), "duo-t5")


def test_real_t5_vocabulary_ids(session_data):
    """With the tiny stand-in's tokenizer, the ids come from its vocabulary (▁true etc.)."""
    from pdlib import models

    tok, _ = models.load_t5("tiny/t5")
    pos, neg = teachers.answer_token_ids(tok, "duo-t5")
    assert tok.convert_ids_to_tokens([pos, neg]) == ["▁true", "▁false"]


def test_cross_encoder_returns_raw_logits_in_order():
    class CE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask):
            return type("O", (), {"logits": input_ids[:, :1].float() - 100.0})()  # raw, unbounded

    class Tok:
        def __call__(self, q, p, **kw):
            ids = torch.tensor([[len(a) + len(b)] for a, b in zip(q, p)])
            return _Batch(input_ids=ids, attention_mask=torch.ones_like(ids))

    q, p = ["aa", "a", "aaaa"], ["b", "bbb", "b"]
    out = teachers.cross_encoder_scores(Tok(), CE(), q, p, batch_size=2, progress=False)
    assert out.tolist() == [3 - 100.0, 4 - 100.0, 5 - 100.0]


def _prompts(n: int = 11) -> list[str]:
    """duoT5 prompts of different lengths from the synthetic corpus."""
    from pdlib import data

    coll = data.load("synthetic/tiny/train")
    docs, queries = list(coll.docs.text), list(coll.queries.text)
    return [teachers.prompt("duo-t5", queries[k % len(queries)], docs[k], " ".join(docs[k + 1: k + 2 + k % 3]))
            for k in range(n)]


def test_fused_attention_gives_the_eager_logits(session_data):
    """T5 through SDPA with its position bias as an additive mask and scale 1: the same logits as transformers'
    eager T5 (encoder self-attention with padding, decoder self- and cross-attention)."""
    from pdlib import models

    tok, eager = models.load_t5("tiny/t5")
    _, fused = models.load_t5("tiny/t5")
    assert teachers.fused_attention(fused) is fused
    enc = tok(_prompts(6), padding=True, return_tensors="pt")
    assert (enc.attention_mask == 0).any()  # padding is masked in both
    dec = torch.zeros((6, 1), dtype=torch.long)
    with torch.inference_mode():
        want = eager(**enc, decoder_input_ids=dec, use_cache=False).logits
        got = fused(**enc, decoder_input_ids=dec, use_cache=False).logits
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="no T5 attention"):
        teachers.fused_attention(torch.nn.Linear(2, 2))


def test_fused_attention_hands_the_gpu_kernels_a_bias_they_accept(session_data, monkeypatch):
    """The GPU's fused SDPA kernels (cuDNN, memory-efficient) refuse a mask whose last dimension is not of stride 1
    and torch then runs the unfused math in fp32 (20x slower per layer on an H100). transformers' compute_bias
    returns a permuted view with the heads innermost; the fused path must pass a contiguous bias, in the model's
    dtype, to every layer. With the cuDNN choice for the encoder only, the logits stay the eager ones."""
    from pdlib import models

    tok, eager = models.load_t5("tiny/t5")
    _, fused = models.load_t5("tiny/t5")
    teachers.fused_attention(fused, kernel="cudnn", encoder_only=True)
    n_fused = sum(getattr(m, "_pdlib_kernel", None) == "cudnn" for m in fused.modules())
    assert n_fused == fused.config.num_layers  # the encoder's self-attentions, none of the decoder's
    seen = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kw):
        seen.append((attn_mask.stride(-1), attn_mask.is_contiguous(), attn_mask.dtype == q.dtype))
        return real(q, k, v, attn_mask=attn_mask, **kw)
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    enc = tok(_prompts(5), padding=True, return_tensors="pt")
    dec = torch.zeros((5, 1), dtype=torch.long)
    with torch.inference_mode():
        want = eager(**enc, decoder_input_ids=dec, use_cache=False).logits
        got = fused(**enc, decoder_input_ids=dec, use_cache=False).logits
    assert seen == [(1, True, True)] * fused.config.num_layers
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="kernel must be"):
        teachers.fused_attention(fused, kernel="flash")


def test_on_a_gpu_a_t5_teacher_gets_cudnn_attention_and_compiles_only_when_asked(session_data, monkeypatch):
    """on_device's GPU defaults (issue 17, measured at duoT5-3B on an H200: cuDNN attention 1.45x the eager loop,
    no start cost): the encoder's self-attentions through cuDNN, nothing compiled unless asked; a cross-encoder
    is moved and left as it is. The CPU keeps the eager fp32 model. Here the GPU is pretended (no copy made)."""
    from pdlib import models

    _, t5 = models.load_t5("tiny/t5")
    assert teachers.on_device(t5) is t5 and not any(hasattr(m, "_pdlib_kernel") for m in t5.modules())  # CPU
    moved, compiled = [], []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *a, **kw: moved.append(kw.get("dtype")) or self)
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compiled.append(kw))
    teachers.on_device(t5)
    kernels = [getattr(m, "_pdlib_kernel", None) for m in t5.modules()]
    assert kernels.count("cudnn") == t5.config.num_layers and moved == [torch.bfloat16] and compiled == []
    _, t5 = models.load_t5("tiny/t5")
    teachers.on_device(t5, fused=False, compile="both")
    assert not any(hasattr(m, "_pdlib_kernel") for m in t5.modules())
    assert compiled == [{"dynamic": True}] * 2  # the encoder and the decoder
    _, ce = models.load_seq_classifier("tiny/cross-encoder")
    assert teachers.on_device(ce) is ce and not any(hasattr(m, "_pdlib_kernel") for m in ce.modules())


def test_fast_path_scores_like_the_reference_on_cpu(session_data):
    """The GPU path's bookkeeping (sorted length buckets, a last batch filled with repeats, one transfer at the
    end) on the CPU in fp32: the reference loop's scores, in input order."""
    from pdlib import models

    tok, model = models.load_t5("tiny/t5")
    prompts = _prompts(11)
    ref = teachers.t5_scores(tok, model, "duo-t5", prompts, batch_size=4, progress=False)
    fast = teachers.t5_scores(tok, model, "duo-t5", prompts, batch_size=4, progress=False, fast=True, bucket=32)
    teachers.fused_attention(model)
    both = teachers.t5_scores(tok, model, "duo-t5", prompts, batch_size=4, progress=False, fast=True, bucket=16)
    assert fast.dtype == np.float32 and len(fast) == 11 and len(set(ref.round(6))) > 1
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(both, ref, rtol=0, atol=1e-5)

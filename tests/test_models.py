"""Model registry and the offline tiny stand-ins."""
import json

import pytest
import torch

from pdlib import PdlibError, models


def test_tiny_t5_carries_the_answer_words_as_single_tokens(session_data):
    tok, model = models.load_t5("tiny/t5")
    for word in models.T5_ANSWER_WORDS:
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
    assert models.build_tiny("t5") == models.build_tiny("t5")


def test_tiny_colbert_loads_in_colbert_ai(session_data):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    path = models.colbert_checkpoint("tiny/colbert")
    assert json.loads((models.build_tiny("colbert") / "artifact.metadata").read_text())["dim"] == 128
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


def test_unavailable_model_is_one_clear_error():
    with pytest.raises(PdlibError, match="not available offline.*Run once with network"):
        models.load_t5("castorini/duot5-3b-msmarco")
    with pytest.raises(PdlibError, match="unknown model id"):
        models.spec("someone/else")
    with pytest.raises(PdlibError, match="no tiny stand-in"):
        models.build_tiny("gpt")


def test_registry_covers_the_papers_models():
    for model_id in ["colbert-ir/colbertv2.0", "cross-encoder/ms-marco-MiniLM-L-6-v2", "castorini/monot5-3b-msmarco",
                     "castorini/duot5-3b-msmarco", "google/flan-t5-xl", "bert-base-uncased"]:
        assert models.spec(model_id).profile == "paper"

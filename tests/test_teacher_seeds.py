"""benchmarks/teacher_seeds.py's own logic: A.2 split by label ties, and --set on the teacher recipe."""
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study():
    spec = importlib.util.spec_from_file_location("teacher_seeds", ROOT / "benchmarks" / "teacher_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a2_is_split_by_label_ties(study):
    """Hand-worked: query "ba ke lo mu"; d1 judged (grade 2), d2 and d3 unjudged holding two query words each,
    d4 holding one. Pairs (d2, d3) tie; (d1, d2) and (d3, d4) do not. The pointwise teacher orders d1 > d2 > d3 >
    d4; the pairwise one agrees on (d1, d2) and not on (d2, d3) or (d3, d4): 1 tie of 3, on which they disagree;
    disagreement on the two untied pairs 1 of 2."""
    train = SimpleNamespace(
        qrels=pd.DataFrame({"qid": ["q"], "docno": ["d1"], "relevance": [2]}),
        queries=pd.DataFrame({"qid": ["q"], "text": ["ba ke lo mu"]}),
        docs=pd.DataFrame({"docno": ["d1", "d2", "d3", "d4"],
                           "text": ["ba ke lo mu zi", "ba ke zo", "lo mu zo", "ba zo zu"]}))
    pointwise = pd.DataFrame({"qid": ["q"] * 4, "docno": ["d1", "d2", "d3", "d4"], "score": [4.0, 3.0, 2.0, 1.0]})
    sampled = pd.DataFrame({"qid": ["q"] * 3, "docno_a": ["d1", "d2", "d3"], "docno_b": ["d2", "d3", "d4"],
                            "prob": [0.9, 0.2, 0.3]})
    out = study._a2_by_label(sampled, pointwise, train)
    assert out == {"A.2 tied pairs %": pytest.approx(33.3), "A.2 disagreement on tied %": 100.0,
                   "A.2 disagreement on untied %": 50.0}


def test_set_changes_the_recipe_and_refuses_unknown_names(study, monkeypatch):
    from pdlib.smoke import teacher_training

    monkeypatch.setattr(teacher_training, "UNJUDGED_CREDIT", teacher_training.UNJUDGED_CREDIT)
    monkeypatch.setattr(teacher_training, "T5_PAIR_DRAWS", teacher_training.T5_PAIR_DRAWS)
    assert study._recipe(["UNJUDGED_CREDIT=0.1", "T5_PAIR_DRAWS=6"]) == {"UNJUDGED_CREDIT": 0.1, "T5_PAIR_DRAWS": 6}
    assert teacher_training.UNJUDGED_CREDIT == 0.1 and teacher_training.T5_PAIR_DRAWS == 6
    with pytest.raises(SystemExit, match="NAME one of UNJUDGED_CREDIT"):
        study._recipe(["TINY_VERSION=13"])
    with pytest.raises(SystemExit, match="expected NAME=VALUE"):
        study._recipe(["UNJUDGED_CREDIT"])
    with pytest.raises(SystemExit, match=r"T5_PAIR_DRAWS takes a number \(int\)"):
        study._recipe(["T5_PAIR_DRAWS=six"])


def test_set_reaches_the_cross_encoders_lexical_phase(study, monkeypatch, tmp_path):
    """--set LEXICAL_STEPS=0 is read when the cross-encoder trains (not frozen as a default argument): its first
    step aims at grade / 2 and the word credit, not at word shares (a judged passage holds 3 or 4 words: 0.75, 1)."""
    import torch
    from transformers import BertForSequenceClassification

    from pdlib.smoke import teacher_training, tiny

    monkeypatch.setattr(teacher_training, "LEXICAL_STEPS", teacher_training.LEXICAL_STEPS)
    seen = []
    real = torch.nn.functional.binary_cross_entropy_with_logits
    monkeypatch.setattr(torch.nn.functional, "binary_cross_entropy_with_logits",
                        lambda scores, target: seen.append({round(t, 4) for t in target.tolist()})
                        or real(scores, target))
    tok = tiny._bert_tokenizer(tmp_path)
    model = BertForSequenceClassification(tiny._bert_config(len(tok), num_labels=1))
    study._recipe(["LEXICAL_STEPS=0"])
    teacher_training.train_cross_encoder(tok, model, steps=1, batch_queries=2, progress=False)
    credit = {round(teacher_training.UNJUDGED_CREDIT * k, 4) for k in range(4)}
    assert seen[0] <= {0.5, 1.0} | credit and {0.5, 1.0} & seen[0]

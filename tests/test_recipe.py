"""The paper's recipe where the `paper` profile used to depart from it (issue 12), each against a hand-worked
example: passage text for ColBERT, AdamW without weight decay, teacher lengths in every round, Climate-FEVER's
query split, licensed sets from a placed folder. (Pair orientation, lists that keep every pair, the in-batch
L_CL and the LLM log-odds are held in test_pairs, test_train, test_losses and test_teachers.)"""
import json

import pandas as pd
import pytest

from pdlib import PdlibError, cache, data, distill, evalsets, evaluate, students, train


def test_colbert_reads_title_bar_text(scifact):
    coll = data.load("beir/scifact/test")
    doc = coll.docs[coll.docs.title != ""].iloc[0]
    assert coll.doc_text()[doc.docno] == doc.text and doc.text.startswith(doc.title + " ")
    colbert = coll.doc_text("colbert")[doc.docno]
    assert colbert == f"{doc.title} | {doc.text[len(doc.title) + 1:]}"  # the authors' loaders.py
    assert students.passage_style("colbert") == "colbert" and students.passage_style("dpr") == "plain"
    no_titles = pd.DataFrame({"docno": ["d"], "text": ["only text"]})
    assert data.passage_texts(no_titles, "colbert") == ["only text"]


def test_adamw_without_weight_decay_by_default(session_data, tmp_path):
    cfg = train.TrainConfig(student="dpr", init="tiny/bi-encoder")
    student, optimizer, *_ = train._resume(tmp_path, cfg, "cpu")
    assert cfg.weight_decay == 0.0 and all(g["weight_decay"] == 0.0 for g in optimizer.param_groups)
    _, optimizer, *_ = train._resume(tmp_path, train.TrainConfig(init="tiny/bi-encoder", weight_decay=0.01), "cpu")
    assert optimizer.param_groups[0]["weight_decay"] == 0.01  # torch's default stays an option


def test_later_rounds_ask_the_teachers_as_02_and_03_did():
    """Teachers.of reads k, the pair window, the pair count, the orientation and both input lengths from the
    artifacts 02 and 03 made, so round 2 cannot use other lengths than round 1 (it used 512 then 256)."""
    point = {"artifact": "p", "teacher": "ce", "dataset": "d", "k": 100, "max_length": 180}
    sampled = {"artifact": "s", "pointwise": point, "k": 100, "delta": 10, "n_pairs": 50, "seed": 0, "orders": "one"}
    probs = cache.Artifact(cache.Key("pairs", "m", "d", "x"), "pair_probs.parquet",
                           {"teacher": "duo", "sampled": sampled, "max_length": 360})
    t = distill.Teachers.of(probs)
    assert (t.pointwise, t.pairwise, t.k, t.k_pairs, t.delta, t.n_pairs, t.orders) == ("ce", "duo", 100, 100, 10, 50, "one")
    assert (t.max_length_point, t.max_length_pair) == (180, 360)


def test_climate_fever_style_split_is_seeded_and_disjoint(scifact):
    train_id, test_id = (data.query_split("beir/scifact/test", part) for part in ("train", "test"))
    a, b = data.load(train_id, docs=False), data.load(test_id, docs=False)
    whole = data.load("beir/scifact/test", docs=False)
    assert not set(a.queries.qid) & set(b.queries.qid)
    assert set(a.queries.qid) | set(b.queries.qid) == set(whole.queries.qid)
    assert 0.4 < len(a.queries) / len(whole.queries) < 0.6
    assert set(a.qrels.qid) <= set(a.queries.qid) and len(a.qrels) + len(b.qrels) == len(whole.qrels)
    assert data.load(train_id, docs=False).queries.qid.tolist() == a.queries.qid.tolist()  # same every time
    other_seed = data.load(data.query_split("beir/scifact/test", "train", seed=1), docs=False)
    assert set(other_seed.queries.qid) != set(a.queries.qid)
    es = evalsets.target_set("scifact", test_id)
    assert es.ids == [test_id] and es.doc_maxlen == 300 and evalsets.corpus_id(test_id) == "beir/scifact"
    assert evalsets.target_set("scifact", "beir/scifact/test").name == "scifact"
    assert "held-out 50%" in evalsets.target_note(train_id, test_id)
    assert evalsets.target_note(test_id, test_id).startswith("transductive")
    assert evalsets.target_note("beir/fiqa/train", "beir/fiqa/test") == ""
    with pytest.raises(PdlibError, match="part is train or test"):
        data.query_split("beir/scifact/test", "dev")


def _place(root, name, splits=("test",)):
    folder = root / "licensed" / name
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"{name}-d{i}", "title": f"t{i}", "text": f"{name} passage {i} about topic {i % 3}"} for i in range(12)]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": f"q{i}", "text": f"topic {i}"}) for i in range(4)))
    for split in splits:
        (folder / "qrels" / f"{split}.tsv").write_text(
            "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\t{name}-d{i}\t1\n" for i in range(3)))
    return folder


def test_licensed_sets_count_once_placed(fresh_data, tmp_path):
    assert evalsets.eval_set("robust04").note.startswith("skipped: licensed data, place its BEIR folder at data/licensed/")
    for name in ("robust04", "signal1m", "trec-news"):
        _place(fresh_data, name)
    _place(fresh_data, "bioasq", splits=("train", "test"))
    es = evalsets.eval_set("robust04")
    assert not es.note and es.ids == ["pdlib-licensed/robust04/test"] and es.doc_maxlen == 300
    coll = data.load(es.ids[0])
    assert len(coll.docs) == 12 and len(coll.queries) == 3 and len(coll.qrels) == 3
    assert coll.doc_text()["robust04-d1"] == "t1 robust04 passage 1 about topic 1"
    assert data.licensed_id("bioasq", "train") == "pdlib-licensed/bioasq/train"
    assert evalsets.target_set("bioasq", "pdlib-licensed/bioasq/test").name == "bioasq"  # Table 4's BioASQ column
    value = evalsets.run_eval(es, "dense", "tiny/bi-encoder", k=10)["robust04"]
    assert 0.0 <= value <= 1.0
    # All-18 once every member has a value, never a partial mean
    per_set = {name: 50.0 for name in evaluate.ALL_18}
    assert evaluate.group_averages(per_set)["All-18"] == 50.0
    assert evaluate.group_averages({**per_set, "bioasq": None})["All-18"] is None
    with pytest.raises(PdlibError, match="not placed"):
        data.load("pdlib-licensed/signal1m/train")

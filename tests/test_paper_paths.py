"""The `paper` profile's code paths on small local fixtures (issue 14): MS MARCO / DL ids, LoTTE and ODQA served
from placed folders (data/placed/<id>/, what an air-gapped cluster does), measured through evalsets.run_eval with
the real all-MiniLM-L6-v2; and the ColBERT student at ColBERTv2's shape (a shape stand-in, 2 of 12 layers)
trained, round-tripped through colbert-ai, indexed and searched with PLAID."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from pdlib import data, evaluate, evalsets, paths, retrieve

from test_train import DATASET, examples_path  # noqa: F401  (a fixture)

MINI = paths.shared_data_dir() / "msmarco-dl19-mini"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _write_beir(folder: Path, docs: list[dict], queries: list[dict], qrels: list[tuple] | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    if qrels is not None:
        (folder / "qrels").mkdir(exist_ok=True)
        (folder / "qrels" / "test.tsv").write_text("".join(f"{q}\t{d}\t{r}\n" for q, d, r in qrels))  # no header
    return folder


@pytest.fixture(scope="module")
def dl19_mini():
    """Five DL19 queries, their judged passages and 150 others, from ../shared/data's DL19 mini corpus."""
    if not (MINI / "corpus.jsonl").exists():
        pytest.skip("../shared/data/msmarco-dl19-mini is not beside the repository")
    qrels = data.read_beir_qrels(MINI / "qrels" / "test.tsv")
    qids = sorted(qrels.qid.unique())[:5]
    qrels = qrels[qrels.qid.isin(qids)]
    docs = [json.loads(line) for line in (MINI / "corpus.jsonl").read_text().split("\n") if line.strip()]
    judged = set(qrels.docno)
    others = random.Random(0).sample([d for d in docs if d["_id"] not in judged], 150)
    queries = [q for q in map(json.loads, (MINI / "queries.jsonl").read_text().strip().split("\n")) if q["_id"] in qids]
    return [d for d in docs if d["_id"] in judged] + others, queries, list(qrels.itertuples(index=False, name=None))


@pytest.fixture
def placed(session_data, tmp_path, monkeypatch):
    monkeypatch.setenv("PDLIB_PLACED", str(tmp_path / "placed"))
    return tmp_path / "placed"


@pytest.mark.slow
def test_dl19_loads_from_a_placed_folder_and_a_real_model_ranks_it(placed, dl19_mini):
    docs, queries, qrels = dl19_mini
    _write_beir(placed / data.MSMARCO["dl19"], docs, queries, qrels)
    coll = data.load(data.MSMARCO["dl19"])
    assert len(coll.docs) == len(docs) and len(coll.queries) == 5 and len(coll.qrels) == len(qrels)  # no line lost
    canon = data.canonical_id(data.MSMARCO["dl19"])
    assert canon.startswith("pdlib-placed/msmarco-passage/trec-dl-2019/judged@")
    ndcg = evalsets.run_eval(evalsets.eval_set("dl19"), "dense", MINILM, k=100, progress=False)["dl19"]
    assert 0.4 < ndcg <= 1.0  # a real pretrained model on real DL19 judgements
    # a corrected folder replaces the placed copy (its content is the key), and so do its results
    four = {q["_id"] for q in queries[:4]}
    _write_beir(placed / data.MSMARCO["dl19"], docs, queries[:4], [r for r in qrels if r[0] in four])
    assert data.canonical_id(data.MSMARCO["dl19"]) != canon
    assert len(data.load(data.MSMARCO["dl19"], docs=False).queries) == 4


@pytest.mark.slow
def test_lotte_success_at_5_from_a_placed_folder(placed, dl19_mini):
    docs, queries, qrels = dl19_mini
    lotte = data.LOTTE["lotte-search"]
    _write_beir(placed / lotte, docs, queries, [(q, d, 1) for q, d, r in qrels if int(r) >= 2])
    es = evalsets.eval_set("lotte-search")
    assert es.measures == {"lotte-search": "Success@5"} and es.doc_maxlen == 300
    value = evalsets.run_eval(es, "dense", MINILM, k=100, progress=False)["lotte-search"]
    # by hand: the share of queries with a relevant passage among the run's top 5
    coll = data.load(lotte)
    run = retrieve.first_stage("dense", MINILM, coll.docs, data.corpus_id(lotte),
                               {"eval": (data.canonical_id(lotte), coll.queries)}, k=100, doc_maxlen=300)["eval"].frame()
    top5 = run[run["rank"] <= 5].merge(coll.qrels, on=["qid", "docno"])
    assert value == pytest.approx(top5.qid.nunique() / coll.queries.qid.nunique())
    assert 0 < value <= 1


@pytest.mark.slow
def test_odqa_answer_recall_from_a_placed_folder(placed):
    """DPR-style ODQA: real NQ dev questions and answers (../shared/data/odqa), a corpus of our making where one
    passage holds each question's answer; relevance comes from the answers, not from qrels."""
    src = paths.shared_data_dir() / "odqa" / "topics.dpr.nq.dev.txt"
    if not src.exists():
        pytest.skip("../shared/data/odqa is not beside the repository")
    rows = [line.split("\t") for line in src.read_text().splitlines()[:12]]
    queries = [{"_id": f"nq{i}", "text": q, "answers": eval(a)} for i, (q, a) in enumerate(rows)]  # noqa: S307
    docs = [{"_id": f"p{i}", "title": "", "text": f"{q['text']} The answer is {q['answers'][0]}."}
            for i, q in enumerate(queries[:10])]  # questions 10 and 11 have no passage: they cannot be found
    docs += [{"_id": f"x{i}", "title": "", "text": f"An unrelated passage number {i} about gardening."} for i in range(40)]
    nq = data.ODQA["nq"]
    _write_beir(placed / nq, docs, queries, None)
    coll = data.load(nq)
    assert coll.queries.answers.map(len).gt(0).all() and coll.qrels.empty
    recall = evalsets.run_eval(evalsets.eval_set("odqa-nq"), "dense", MINILM, k=20, progress=False)["nq"]
    assert recall == pytest.approx(10 / 12)
    assert evaluate.has_answer(docs[0]["text"], queries[0]["answers"])


@pytest.mark.slow
def test_colbert_student_at_colbertv2_shape_trains_round_trips_and_indexes(session_data, tmp_path, monkeypatch,
                                                                          examples_path):  # noqa: F811
    import torch
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    from pdlib import students, train
    from pdlib.smoke import shapes

    monkeypatch.setenv("PDLIB_MODELS", str(tmp_path / "models"))
    shapes.build("colbert-ir/colbertv2.0", layers=2)
    cfg = train.TrainConfig(student="colbert", init="colbert-ir/colbertv2.0", steps=2, batch_size=2, n_passages=4,
                            lr=1e-5, checkpoint_every=1, doc_maxlen=32, query_maxlen=16, seed=0)
    out = train.train(tmp_path / "job", cfg, examples_path, DATASET, progress=False)
    meta = json.loads((out / "artifact.metadata").read_text())
    assert meta["dim"] == 128 and meta["doc_maxlen"] == 32
    coll = data.load(DATASET)
    ckpt = Checkpoint(str(out), colbert_config=ColBERTConfig())
    assert ckpt.bert.config.hidden_size == 768 and ckpt.linear.weight.shape == (128, 768)  # ColBERTv2's widths
    q, d = coll.queries.text.iloc[0], coll.docs.text.iloc[0]
    Q = ckpt.queryFromText([q])
    D, mask = ckpt.doc(*ckpt.doc_tokenizer.tensorize([d]), keep_dims="return_mask")
    from colbert.modeling.colbert import colbert_score

    ours = students.score_items("colbert", out, pd.DataFrame({"qid": ["q"], "docno": ["d"]}), {"q": q}, {"d": d},
                                doc_maxlen=32, query_maxlen=16)
    assert ours.score.iloc[0] == pytest.approx(colbert_score(Q, D, mask).item(), rel=1e-4)
    runs = retrieve.first_stage("colbert", str(out), coll.docs, DATASET, {"q": (DATASET, coll.queries)}, k=5,
                                doc_maxlen=32, query_maxlen=16, progress=False)
    run = runs["q"].frame()
    assert run.groupby("qid").size().eq(5).all() and set(run.qid) == set(coll.queries.qid)
    assert torch.isfinite(torch.tensor(run.score.to_numpy())).all()

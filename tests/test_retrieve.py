"""Dense retrieval through faiss against brute force."""
import numpy as np
import pandas as pd
import pytest

from pdlib import PdlibError, retrieve


class FakeEncoder:
    """A deterministic 'model' with sentence-transformers' encode signature."""
    similarity_fn_name = "dot"

    def __init__(self, table):
        self.table = table

    def encode(self, texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False):
        emb = np.stack([self.table[t] for t in texts]).astype(np.float32)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True) if normalize_embeddings else emb


def _setup(n_docs=300, n_q=20, dim=16):
    rng = np.random.default_rng(0)
    table = {f"doc {i}": rng.normal(size=dim) for i in range(n_docs)}
    table.update({f"query {i}": rng.normal(size=dim) for i in range(n_q)})
    docs = pd.DataFrame({"docno": [f"d{i}" for i in range(n_docs)], "text": [f"doc {i}" for i in range(n_docs)]})
    queries = pd.DataFrame({"qid": [f"q{i}" for i in range(n_q)], "text": [f"query {i}" for i in range(n_q)]})
    return FakeEncoder(table), docs, queries


def test_flat_search_equals_brute_force():
    model, docs, queries = _setup()
    run = retrieve.dense_retrieve(model, docs, queries, k=10, progress=False)
    assert list(run.columns) == retrieve.RUN_COLUMNS and len(run) == 200
    D = model.encode(docs.text.tolist())
    Q = model.encode(queries.text.tolist())
    scores = Q @ D.T
    for i, qid in enumerate(queries.qid):
        mine = run[run.qid == qid]
        expect = np.argsort(-scores[i])[:10]
        assert mine.docno.tolist() == [f"d{j}" for j in expect]
        assert np.allclose(mine.score, scores[i, expect], atol=1e-5)
        assert mine["rank"].tolist() == list(range(1, 11))


def test_approximate_indexes_find_most_of_the_exact_top10():
    model, docs, queries = _setup()
    exact = retrieve.dense_retrieve(model, docs, queries, k=10, progress=False)
    for kind in ("hnsw", "ivf"):
        approx = retrieve.dense_retrieve(model, docs, queries, k=10, index=kind, progress=False)
        overlap = len(set(zip(exact.qid, exact.docno)) & set(zip(approx.qid, approx.docno))) / len(exact)
        assert overlap > 0.7, kind


def test_k_larger_than_corpus_and_bad_index():
    model, docs, queries = _setup(n_docs=5, n_q=2)
    run = retrieve.dense_retrieve(model, docs, queries, k=100, progress=False)
    assert len(run) == 10
    with pytest.raises(PdlibError, match="unknown index"):
        retrieve.dense_retrieve(model, docs, queries, index="lsh", progress=False)


def test_trec_run_roundtrip(tmp_path):
    model, docs, queries = _setup(n_docs=20, n_q=3)
    run = retrieve.dense_retrieve(model, docs, queries, k=5, progress=False)
    back = retrieve.read_trec_run(retrieve.write_trec_run(run, tmp_path / "r.trec"))
    assert back[["qid", "docno", "rank"]].equals(run[["qid", "docno", "rank"]].reset_index(drop=True))


def test_a_corpus_is_encoded_once_per_model_and_length(fresh_data, monkeypatch):
    """Runs with other queries or depths reuse one cached encoding of the corpus (stage doc_embeddings), in the
    caller's row order; another doc_maxlen is another encoding, and it cuts passages there."""
    from pdlib import models

    enc, docs, queries = _setup(n_docs=50, n_q=5)
    enc.max_seq_length, seen = 256, []
    orig = enc.encode

    def counting(texts, **kw):
        if texts and texts[0].startswith("doc"):
            seen.append(enc.max_seq_length)
        return orig(texts, **kw)

    enc.encode = counting
    monkeypatch.setattr(models, "load_bi_encoder", lambda model_id, device=None: enc)
    first = retrieve.first_stage("dense", "m", docs, "corpus-x", {"a": ("set-a", queries)}, k=5, doc_maxlen=64)
    again = retrieve.first_stage("dense", "m", docs.iloc[::-1], "corpus-x",
                                 {"b": ("set-b", queries.iloc[:3]), "c": ("set-c", queries)}, k=7, doc_maxlen=64)
    assert seen == [64]  # one encoding, cut at doc_maxlen
    assert enc.max_seq_length == 256  # the model's own limit is restored
    a, c = first["a"].frame(), again["c"].frame()
    assert (c[c["rank"] <= 5].docno.to_numpy() == a.docno.to_numpy()).all()  # reversed docs, same ranking
    retrieve.first_stage("dense", "m", docs, "corpus-x", {"a": ("set-a", queries)}, k=5, doc_maxlen=300)
    assert seen == [64, 256]  # another length: encoded again, at the model's own limit
    with pytest.raises(PdlibError, match="names two passage sets"):
        other = docs.assign(docno=[f"z{i}" for i in range(len(docs))])
        retrieve.first_stage("dense", "m", other, "corpus-x", {"d": ("set-d", queries)}, k=5, doc_maxlen=64)

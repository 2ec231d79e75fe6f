"""First-stage retrieval: dense (DPR-style dual encoder) through faiss (Used in 01_retrieve, 05_eval_beir).

Every retriever hands over the same run table: `qid, docno, score, rank` (rank starts at 1).
Exact inner-product search (`IndexFlatIP`) is the default; `index="hnsw"` or `"ivf"` trade exactness for
speed on large corpora. pdlib does not care whether faiss-cpu or faiss-gpu is installed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import PdlibError, cache, data

RUN_COLUMNS = ["qid", "docno", "score", "rank"]


def encode(model, texts: list[str], batch_size: int = 64, normalize: bool = False,
           progress: bool = True) -> np.ndarray:
    """Embed texts with a sentence-transformers model as float32 (rows L2-normalised if `normalize`)."""
    emb = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=normalize,
                       show_progress_bar=progress)
    return np.ascontiguousarray(emb, dtype=np.float32)


def encode_passages(model, texts: list[str], batch_size: int = 64, normalize: bool = False, progress: bool = True,
                    doc_maxlen: int | None = None) -> np.ndarray:
    """`encode` with passages cut at doc_maxlen tokens (as ColBERT's), or at the model's own limit if shorter."""
    own = getattr(model, "max_seq_length", None)
    if own is None or not doc_maxlen:
        return encode(model, texts, batch_size, normalize, progress)
    model.max_seq_length = min(own, doc_maxlen)
    try:
        return encode(model, texts, batch_size, normalize, progress)
    finally:
        model.max_seq_length = own


@cache.stage("doc_embeddings", "docs.npz", model="model_id", dataset="corpus", ignore=("docs", "batch_size", "progress"))
def doc_embeddings(model_id: str, corpus: str, doc_maxlen: int, docs: pd.DataFrame, batch_size: int = 64,
                   progress: bool = True, workdir: Path | None = None) -> None:
    """A dual encoder's passage embeddings of one corpus, computed once and shared by every run that searches it
    (01's, 04's evaluations, 05, 06). Holds `emb` and the `docnos` of its rows (see `corpus_embeddings`)."""
    from . import models
    from .atomic import atomic_path

    model = models.load_bi_encoder(model_id)
    normalize = getattr(model, "similarity_fn_name", None) == "cosine"
    emb = encode_passages(model, docs.text.tolist(), batch_size, normalize, progress, doc_maxlen)
    with atomic_path(workdir / "docs.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, emb=emb, docnos=docs.docno.to_numpy().astype(str))


def corpus_embeddings(model_id: str, corpus: str, doc_maxlen: int, docs: pd.DataFrame, batch_size: int = 64,
                      progress: bool = True) -> np.ndarray:
    """`doc_embeddings` in the row order of `docs` (another split of the corpus may have listed them otherwise)."""
    with np.load(doc_embeddings(model_id, corpus, doc_maxlen, docs, batch_size, progress).path) as z:
        emb, stored = z["emb"], pd.Index(z["docnos"])
    rows = stored.get_indexer(docs.docno.astype(str))
    if (rows < 0).any():
        raise PdlibError(f"corpus id {corpus} names two passage sets: its cached embeddings lack "
                         f"{int((rows < 0).sum())} of these passages. Give the other set its own corpus id.")
    return emb[rows]


def build_index(doc_emb: np.ndarray, index: str = "flat", nlist: int | None = None, hnsw_m: int = 32):
    """A faiss inner-product index over document embeddings: flat (exact) | hnsw | ivf."""
    import faiss

    dim = doc_emb.shape[1]
    if index == "flat":
        idx = faiss.IndexFlatIP(dim)
    elif index == "hnsw":
        idx = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    elif index == "ivf":
        # faiss wants >= 39 training points per list; 4*sqrt(N) lists is the usual size for large N
        nlist = nlist or max(1, min(int(4 * np.sqrt(len(doc_emb))), len(doc_emb) // 39))
        idx = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        idx.train(doc_emb)
        idx.nprobe = min(nlist, max(16, nlist // 64))
    else:
        raise PdlibError(f"unknown index {index!r}: use 'flat' (exact), 'hnsw' or 'ivf'")
    idx.add(doc_emb)
    return idx


def search(idx, query_emb: np.ndarray, qids: list[str], docnos: np.ndarray, k: int) -> pd.DataFrame:
    """Top-k of each query as a run table."""
    k = min(k, idx.ntotal)
    scores, ids = idx.search(np.ascontiguousarray(query_emb, dtype=np.float32), k)
    keep = ids >= 0  # faiss pads with -1 when fewer than k are found
    return pd.DataFrame({
        "qid": np.repeat(np.asarray(qids, dtype=object), k)[keep.ravel()],
        "docno": np.asarray(docnos, dtype=object)[ids[keep]],
        "score": scores[keep].astype(np.float32),
        "rank": np.tile(np.arange(1, k + 1), len(qids))[keep.ravel()],
    })


class DenseIndex:
    """A corpus encoded once by a dual encoder, searchable for many query sets (Used in 01, 05, 06).

    normalize=None follows the model: cosine-similarity models (e.g. all-MiniLM-L6-v2) are normalised.
    """

    def __init__(self, model, docs: pd.DataFrame, batch_size: int = 64, index: str = "flat",
                 normalize: bool | None = None, progress: bool = True, doc_maxlen: int | None = None,
                 doc_emb: np.ndarray | None = None):
        if len(docs) == 0:
            raise PdlibError("DenseIndex needs at least one document")
        self.model, self.batch_size, self.progress = model, batch_size, progress
        self.normalize = (getattr(model, "similarity_fn_name", None) == "cosine") if normalize is None else normalize
        self.docnos = docs.docno.to_numpy()
        if doc_emb is None:
            doc_emb = encode_passages(model, docs.text.tolist(), batch_size, self.normalize, progress, doc_maxlen)
        self.index = build_index(doc_emb, index)

    def search(self, queries: pd.DataFrame, k: int = 100) -> pd.DataFrame:
        if len(queries) == 0:
            raise PdlibError("no queries to search")
        emb = encode(self.model, queries.text.tolist(), self.batch_size, self.normalize, self.progress)
        return search(self.index, emb, queries.qid.tolist(), self.docnos, k)


def dense_retrieve(model, docs: pd.DataFrame, queries: pd.DataFrame, k: int = 100, batch_size: int = 64,
                   index: str = "flat", normalize: bool | None = None, progress: bool = True) -> pd.DataFrame:
    """Encode `docs` and `queries` with a dual encoder and return the top-k run (Used in 01_retrieve)."""
    return DenseIndex(model, docs, batch_size, index, normalize, progress).search(queries, k)


def write_trec_run(run: pd.DataFrame, target: Path | str, tag: str = "pdlib") -> Path:
    """Write a run as a TREC run file (qid Q0 docno rank score tag), atomically."""
    from .atomic import atomic_path

    target = Path(target)
    with atomic_path(target) as tmp:
        run.assign(q0="Q0", tag=tag)[["qid", "q0", "docno", "rank", "score", "tag"]].to_csv(
            tmp, sep=" ", header=False, index=False)
    return target


def read_trec_run(path: Path | str) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", header=None, names=["qid", "q0", "docno", "rank", "score", "tag"],
                        dtype={"qid": str, "docno": str})
    return frame[RUN_COLUMNS]


def retriever_of(student: str) -> str:
    """The first-stage retriever that serves a student architecture: colbert -> PLAID, dpr -> faiss."""
    return "colbert" if student == "colbert" else "dense"


@cache.stage("run", "run.parquet", model="model_id", dataset="dataset", ignore=("queries", "search"))
def _run(retriever: str, model_id: str, corpus: str, dataset: str, k: int, options: dict, queries: pd.DataFrame,
         search) -> pd.DataFrame:
    """The top-k run of one query set (the corpus's index is built by `search` only on a miss)."""
    return search(queries, k)


def first_stage(retriever: str, model_id: str, docs: pd.DataFrame, corpus_id: str,
                query_sets: dict[str, tuple[str, pd.DataFrame]], k: int = 100, faiss_index: str = "flat",
                nbits: int = 2, doc_maxlen: int = 180, query_maxlen: int = 32, batch_size: int = 64,
                progress: bool = True) -> dict[str, cache.Artifact]:
    """Retrieve several query sets from one corpus, each run a cached stage (Used in 01, 04, 05, 06).

    retriever: 'dense' (sentence-transformers dual encoder + faiss) or 'colbert' (colbert-ai checkpoint + PLAID).
    query_sets: name -> (dataset id, queries). Returns name -> run Artifact (`.frame()`: qid, docno, score,
    rank). The model is loaded and the corpus indexed only if some run is missing from the cache.
    """
    from . import models

    if retriever not in ("dense", "colbert"):
        raise PdlibError(f"unknown retriever {retriever!r}: use 'dense' (faiss) or 'colbert' (PLAID)")
    options = {"index": faiss_index, "doc_maxlen": doc_maxlen} if retriever == "dense" else \
        {"nbits": nbits, "doc_maxlen": doc_maxlen, "query_maxlen": query_maxlen}
    searcher = None

    def search(queries, kk):
        nonlocal searcher
        if searcher is None:
            if retriever == "dense":
                emb = corpus_embeddings(str(model_id), data.corpus_id(corpus_id), doc_maxlen, docs, batch_size,
                                        progress)
                searcher = DenseIndex(models.load_bi_encoder(model_id), docs, batch_size, faiss_index,
                                      progress=progress, doc_emb=emb).search
            else:
                from . import plaid

                ckpt = models.colbert_checkpoint(model_id)
                index = plaid.plaid_index(str(model_id), corpus_id, nbits, doc_maxlen, docs).path
                searcher = lambda q, n: plaid.search(ckpt, index, q, n, query_maxlen=query_maxlen)  # noqa: E731
        return searcher(queries, kk)

    return {name: _run(retriever, str(model_id), data.canonical_id(corpus_id), ds, k, options, queries, search)
            for name, (ds, queries) in query_sets.items()}

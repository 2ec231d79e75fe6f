"""ColBERT late interaction with the PLAID engine, through colbert-ai (Used in 01_retrieve, 05_eval_beir).

`index()` compresses a collection's token embeddings with `nbits` residual bits (the paper: 2, Appendix B.3);
`search()` returns the usual run table `qid, docno, score, rank`. On CPU the first use compiles
colbert-ai's C++ extensions (about two minutes); they are kept in data/torch_extensions so later runs skip
that. colbert-ai is driven in-process (no forked workers), one rank.
"""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pandas as pd

from . import PdlibError, cache, models, paths
from .data import passage_texts
from .atomic import atomic_path, read_frame, write_frame


def _setup_extensions() -> None:
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(paths.data_dir() / "torch_extensions"))


@contextlib.contextmanager
def _colbert_run(root: Path, quiet: bool):
    from colbert.infra import Run, RunConfig

    _setup_extensions()
    with Run().context(RunConfig(nranks=1, root=str(root), experiment="pdlib", avoid_fork_if_possible=True)):
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            yield


def index(checkpoint: str, docs: pd.DataFrame, folder: Path, nbits: int = 2, doc_maxlen: int = 180,
          kmeans_niters: int = 4, quiet: bool = True) -> Path:
    """Build a PLAID index of `docs` (docno, text) with a colbert-ai checkpoint into `folder` (atomic)."""
    from colbert import Indexer
    from colbert.infra import ColBERTConfig

    folder = Path(folder)
    if (folder / "docnos.parquet").exists():
        return folder
    if len(docs) == 0:
        raise PdlibError("nothing to index: the collection is empty")
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        config = ColBERTConfig(nbits=nbits, doc_maxlen=doc_maxlen, kmeans_niters=kmeans_niters,
                               index_path=str(tmp / "index"), root=str(tmp), gpus=0 if not _cuda() else 1)
        with _colbert_run(tmp, quiet):
            Indexer(checkpoint=checkpoint, config=config, verbose=0 if quiet else 3).index(
                name=str(tmp / "index"), collection=passage_texts(docs, "colbert"), overwrite=True)
        write_frame(tmp / "docnos.parquet", docs[["docno"]].reset_index(drop=True))
    return folder


@cache.stage("plaid", "plaid", model="model_id", dataset="corpus", ignore=("docs",))
def plaid_index(model_id: str, corpus: str, nbits: int, doc_maxlen: int, docs: pd.DataFrame, workdir: Path) -> None:
    """The PLAID index of a corpus for a ColBERT model (a cached stage; Used through retrieve.first_stage)."""
    index(models.colbert_checkpoint(model_id), docs, workdir / "plaid", nbits=nbits, doc_maxlen=doc_maxlen)


def search(checkpoint: str, folder: Path, queries: pd.DataFrame, k: int = 100, query_maxlen: int = 32,
           quiet: bool = True) -> pd.DataFrame:
    """Top-k of each query from a PLAID index -> run table."""
    from colbert import Searcher
    from colbert.infra import ColBERTConfig

    folder = Path(folder)
    if not (folder / "docnos.parquet").exists():
        raise PdlibError(f"{folder} is not a finished PLAID index: build it with pdlib.plaid.index")
    docnos = read_frame(folder / "docnos.parquet").docno.to_numpy()
    with _colbert_run(folder, quiet):
        searcher = Searcher(index=str(folder / "index"), checkpoint=checkpoint, verbose=0 if quiet else 3,
                            config=ColBERTConfig(query_maxlen=query_maxlen, gpus=0 if not _cuda() else 1))
        ranking = searcher.search_all(dict(enumerate(queries.text.tolist())), k=min(k, len(docnos)))
    qids = queries.qid.to_numpy()
    rows = [(qids[qi], docnos[pid], float(score), rank) for qi, pid, rank, score in ranking.tolist()]
    return pd.DataFrame(rows, columns=["qid", "docno", "score", "rank"])


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()

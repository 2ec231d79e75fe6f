"""Dataset access, always through ir_datasets ids (Used in every notebook).

`load(dataset_id)` returns a `Collection` of typed tables: docs `docno, text`, queries `qid, text`
(+ `answers` for ODQA), qrels `qid, docno, relevance`. Offline use works from pre-placed files:
`use_local_beir(name, folder)` puts a BEIR-layout `source.zip` where ir_datasets looks for it, and a folder under
data/placed/<id>/ serves any id (pdlib.placing). A plug-in
(the smoke world) adds a namespace of its own ids with `register_namespace` (e.g. `synthetic/<preset>/<split>`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from . import PdlibError, load_plugins, paths
from .placing import (LICENSED, LICENSED_PREFIX, PLACED_PREFIX, _placed_answers, _resolve_licensed,  # noqa: F401
                      _resolve_placed, content_tag, licensed_folder, licensed_id, placed_dir, placed_folder,
                      read_beir_qrels, register_local, setup_ir_datasets, use_local_beir,
                      validate_beir)  # (re-exported here)

# --- the paper's datasets, by the name used in its tables -> ir_datasets id ---------------------------
MSMARCO = {
    "msmarco-train": "msmarco-passage/train/judged",
    "msmarco-dev": "msmarco-passage/dev/small",
    "dl19": "msmarco-passage/trec-dl-2019/judged",
    "dl20": "msmarco-passage/trec-dl-2020/judged",
}
CQADUPSTACK = ["android", "english", "gaming", "gis", "mathematica", "physics", "programmers", "stats",
               "tex", "unix", "webmasters", "wordpress"]
BEIR = {  # Table 1 row -> ir_datasets id (test split); None: licensed, not distributed by ir_datasets/BEIR
    "trec-covid": "beir/trec-covid", "nfcorpus": "beir/nfcorpus/test", "fiqa": "beir/fiqa/test",
    "arguana": "beir/arguana", "webis-touche2020": "beir/webis-touche2020/v2", "quora": "beir/quora/test",
    "scidocs": "beir/scidocs", "scifact": "beir/scifact/test", "nq": "beir/nq",
    "hotpotqa": "beir/hotpotqa/test", "dbpedia-entity": "beir/dbpedia-entity/test",
    "fever": "beir/fever/test", "climate-fever": "beir/climate-fever",
    "cqadupstack": [f"beir/cqadupstack/{s}" for s in CQADUPSTACK],  # reported as the mean of subforums
    "robust04": None, "signal1m": None, "trec-news": None, "bioasq": None,
}
LOTTE = {"lotte-search": "lotte/pooled/test/search", "lotte-forum": "lotte/pooled/test/forum"}
ODQA = {"nq": "dpr-w100/natural-questions/dev", "trivia-qa": "dpr-w100/trivia-qa/dev",
        "squad": "pdlib-odqa/squad/dev"}  # SQuAD is not in ir_datasets: registered from DPR's file


@dataclass
class Collection:
    """The typed tables of one dataset id. docs may be shared between splits of one corpus."""
    dataset_id: str
    docs: pd.DataFrame      # docno, text
    queries: pd.DataFrame   # qid, text (+ answers for ODQA)
    qrels: pd.DataFrame     # qid, docno, relevance

    def doc_text(self, style: str = "plain") -> dict[str, str]:
        """docno -> passage text: "plain" is `title text` (teachers, dual encoders); "colbert" is
        `title | text`, the authors' ColBERT input (loaders.py of their ColBERT fork)."""
        return dict(zip(self.docs.docno, passage_texts(self.docs, style)))


def passage_texts(docs: pd.DataFrame, style: str = "plain") -> list[str]:
    """The passages of a docs table as a model reads them (see Collection.doc_text)."""
    if style == "plain" or "title" not in docs:
        return docs.text.tolist()
    if style != "colbert":
        raise PdlibError(f"unknown passage style {style!r}: use 'plain' or 'colbert'")
    return [f"{t} | {x[len(t) + 1:]}" if t else x for t, x in zip(docs.title.fillna(""), docs.text)]


# --- queries split in two, for a target domain without a train split (Table 4's Climate-FEVER) -------------
SPLIT_PREFIX = "pdlib-split/"


def query_split(dataset_id: str, part: str, fraction: float = 0.5, seed: int = 0) -> str:
    """The id of one part of a dataset's queries: `part` "train" holds a seeded `fraction` of them, "test" the
    rest, disjoint; corpus and qrels are the dataset's own. E.g. query_split("beir/climate-fever", "train") is
    `pdlib-split/0/0.5/train/beir/climate-fever`. Used in 06 (BEIR has no Climate-FEVER train split)."""
    if part not in ("train", "test") or not 0 < fraction < 1:
        raise PdlibError(f"query_split: part is train or test and 0 < fraction < 1, got {part!r}, {fraction}")
    return f"{SPLIT_PREFIX}{seed}/{fraction}/{part}/{dataset_id}"


def _split_parts(dataset_id: str) -> tuple[int, float, str, str]:
    seed, fraction, part, base = dataset_id[len(SPLIT_PREFIX):].split("/", 3)
    return int(seed), float(fraction), part, base


def _in_part(qids: pd.Series, seed: int, fraction: float, part: str) -> pd.Series:
    """A query's part from a hash of (seed, qid): the same everywhere, independent of order and of the others."""
    import hashlib

    u = qids.map(lambda q: int(hashlib.sha256(f"{seed}:{q}".encode()).hexdigest()[:15], 16) / 16 ** 15)
    return (u < fraction) if part == "train" else (u >= fraction)


# --- namespaces of ids resolved on first use (licensed sets here; a plug-in's, e.g. `synthetic/...`) ----
_NAMESPACES: dict[str, Callable[[str], str]] = {}


def register_namespace(prefix: str, resolve: Callable[[str], str]) -> None:
    """Ids starting with `prefix` are resolved by `resolve(id) -> registered ir_datasets id` (licensed sets here;
    a plug-in for its own ids)."""
    _NAMESPACES[prefix] = resolve


register_namespace(LICENSED_PREFIX, _resolve_licensed)


def canonical_id(dataset_id: str) -> str:
    """The ir_datasets id behind a name: a plug-in's id (e.g. `synthetic/<preset>/<split>`) becomes the id it
    registers in ir_datasets (generated on first use); other ids pass through. Cache keys use this id."""
    load_plugins()
    prefix = next((p for p in _NAMESPACES if dataset_id.startswith(p)), None)
    if prefix:
        return _NAMESPACES[prefix](dataset_id)
    folder = placed_folder(dataset_id)
    return _resolve_placed(dataset_id, folder) if folder is not None else dataset_id


def corpus_id(dataset_id: str) -> str:
    """The id of the corpus a dataset's passages come from (MS MARCO dev/DL19/DL20 share one index)."""
    setup_ir_datasets()
    import ir_datasets

    if dataset_id.startswith(SPLIT_PREFIX):
        return corpus_id(_split_parts(dataset_id)[3])
    canon = canonical_id(dataset_id)
    try:
        return ir_datasets.docs_parent_id(canon)
    except Exception:  # ids registered by pdlib (synthetic, SQuAD) name their own corpus
        return canon


def _irds(dataset_id: str):
    setup_ir_datasets()
    import ir_datasets

    dataset_id = canonical_id(dataset_id)
    try:
        return ir_datasets.load(dataset_id)
    except KeyError:
        raise PdlibError(f"unknown dataset id {dataset_id!r}: use an ir_datasets id (see pdlib.data.MSMARCO, "
                         f"BEIR, LOTTE, ODQA) or a plug-in's id such as synthetic/smoke/train") from None


def _offline_error(dataset_id: str, err: Exception) -> PdlibError:
    hint = ""
    if dataset_id.startswith("beir/"):
        name = dataset_id.split("/")[1]
        hint = (f" Offline, place the BEIR files: pdlib.data.use_local_beir({name!r}, folder) "
                f"(a folder with corpus.jsonl, queries.jsonl, qrels/).")
    return PdlibError(f"dataset {dataset_id!r} is not available here ({type(err).__name__}: {str(err)[:200]}). "
                      f"Run once with network so ir_datasets can download it to {paths.ir_datasets_home()}." + hint)


def _doc_text(doc) -> str:
    title = getattr(doc, "title", "") or ""
    text = getattr(doc, "text", "") or getattr(doc, "body", "") or ""
    return f"{title} {text}".strip() if title else text


SQUAD_ID = "pdlib-odqa/squad/dev"


def squad_questions(path: Path | str | None = None) -> pd.DataFrame:
    """SQuAD dev questions with answers, from DPR's qas file (one JSON object a line: question, answer list),
    which ir_datasets does not carry. Default: data/odqa/squad-dev.jsonl, else ../shared/data/odqa's copy."""
    import json

    candidates = [Path(path)] if path else [paths.data_dir() / "odqa" / "squad-dev.jsonl",
                                            paths.shared_data_dir() / "odqa" / "topics.dpr.squad.test.txt"]
    found = next((c for c in candidates if c.exists()), None)
    if found is None:
        raise PdlibError(f"SQuAD questions not found (looked at {', '.join(map(str, candidates))}): place DPR's "
                         f"squad1-dev qas file (question + answer per line, JSON) at {candidates[0]}")
    rows = [json.loads(line) for line in found.read_text().split("\n") if line.strip()]
    return pd.DataFrame({"qid": [f"squad-{i}" for i in range(len(rows))], "text": [r["question"] for r in rows],
                         "answers": [list(r["answer"]) for r in rows]})


def load(dataset_id: str, docs: bool = True) -> Collection:
    if dataset_id.startswith(SPLIT_PREFIX):
        seed, fraction, part, base = _split_parts(dataset_id)
        whole = load(base, docs)
        keep = _in_part(whole.queries.qid, seed, fraction, part)
        queries = whole.queries[keep].reset_index(drop=True)
        qrels = whole.qrels[whole.qrels.qid.isin(set(queries.qid))].reset_index(drop=True)
        return Collection(dataset_id, whole.docs, queries, qrels)
    return _load(dataset_id, docs)


def _load(dataset_id: str, docs: bool = True) -> Collection:
    """Load a dataset id as typed tables (Used in 01-07). docs=False skips the corpus (queries + qrels).

    SQuAD (Table 2) has no ir_datasets id: `pdlib-odqa/squad/dev` pairs DPR's questions (squad_questions)
    with the DPR Wikipedia passages of `dpr-w100`; its relevance comes from answers, not qrels."""
    if dataset_id == SQUAD_ID:
        corpus = load("dpr-w100", docs=True).docs if docs else pd.DataFrame(columns=["docno", "text"])
        return Collection(SQUAD_ID, corpus, squad_questions(), pd.DataFrame(columns=["qid", "docno", "relevance"]))
    ds = _irds(dataset_id)
    try:
        doc_df = pd.DataFrame(((d.doc_id, _doc_text(d), getattr(d, "title", "") or "") for d in ds.docs_iter()),
                              columns=["docno", "text", "title"]) \
            if docs and ds.has_docs() else pd.DataFrame(columns=["docno", "text"])
        if "title" in doc_df and not doc_df.title.astype(bool).any():
            doc_df = doc_df.drop(columns="title")  # a corpus without titles keeps the plain two columns
        rows = []
        for q in ds.queries_iter() if ds.has_queries() else []:
            row = {"qid": q.query_id, "text": q.text}
            if hasattr(q, "answers"):
                row["answers"] = list(q.answers)
            rows.append(row)
        queries = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["qid", "text"])
        qrels = pd.DataFrame(((r.query_id, r.doc_id, int(r.relevance)) for r in ds.qrels_iter()),
                             columns=["qid", "docno", "relevance"]) if ds.has_qrels() \
            else pd.DataFrame(columns=["qid", "docno", "relevance"])
    except PdlibError:
        raise
    except Exception as err:  # network/download failures surface from deep inside ir_datasets
        raise _offline_error(dataset_id, err) from err
    answers = _placed_answers(canonical_id(dataset_id))
    if answers:
        queries["answers"] = queries.qid.map(lambda q: answers.get(q, []))
    return Collection(dataset_id, doc_df, queries, qrels)


def scifact_offline() -> None:
    """Make beir/scifact/{train,test} load offline from ../shared/data/scifact (tests and CI)."""
    use_local_beir("scifact")

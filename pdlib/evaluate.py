"""Evaluation on ir-measures (Used in 01, 02, 03, 04, 05, 06).

Measures are ir-measures names (`RR@10`, `R@1000`, `nDCG@10`, `Success@5`); the default provider pipeline
is used (forcing pytrec_eval gives an uncut RR@10). ODQA answer recall@k follows DPR's evaluation: a
passage counts when it contains a normalised answer string as a token sequence; those passages become
binary qrels and ir-measures' Success@k gives the recall.
"""
from __future__ import annotations

import re
import unicodedata
from statistics import mean

import pandas as pd

from . import PdlibError

# Table 1 groups (BEIR names as in pdlib.data.BEIR)
BEIR_13 = ["trec-covid", "nfcorpus", "fiqa", "arguana", "webis-touche2020", "quora", "scidocs", "scifact", "nq",
           "hotpotqa", "dbpedia-entity", "fever", "climate-fever"]
PTR_11 = ["trec-covid", "nfcorpus", "fiqa", "arguana", "webis-touche2020", "scidocs", "scifact", "hotpotqa",
          "dbpedia-entity", "fever", "climate-fever"]
ALL_18 = BEIR_13 + ["cqadupstack", "robust04", "signal1m", "trec-news", "bioasq"]
GROUPS = {"PTR-11": PTR_11, "BEIR-13": BEIR_13, "All-18": ALL_18}


def _ir_frames(run: pd.DataFrame, qrels: pd.DataFrame):
    missing = {"qid", "docno", "score"} - set(run.columns) or {"qid", "docno", "relevance"} - set(qrels.columns)
    if missing:
        raise PdlibError(f"evaluate needs run columns qid, docno, score and qrels qid, docno, relevance; "
                         f"missing {sorted(missing)}")
    r = run.rename(columns={"qid": "query_id", "docno": "doc_id"})[["query_id", "doc_id", "score"]]
    q = qrels.rename(columns={"qid": "query_id", "docno": "doc_id"})[["query_id", "doc_id", "relevance"]]
    r = r.astype({"query_id": str, "doc_id": str, "score": float})
    return r, q.astype({"query_id": str, "doc_id": str, "relevance": int})


def evaluate(run: pd.DataFrame, qrels: pd.DataFrame, measures=("nDCG@10", "RR@10", "R@100")) -> dict[str, float]:
    """Mean of each measure over the queries in qrels (queries without a result count as 0)."""
    import ir_measures

    parsed = [ir_measures.parse_measure(m) for m in measures]
    r, q = _ir_frames(run, qrels)
    agg = ir_measures.calc_aggregate(parsed, q, r)
    return {name: float(agg[m]) for name, m in zip(measures, parsed)}


def per_query(run: pd.DataFrame, qrels: pd.DataFrame, measures=("nDCG@10",)) -> pd.DataFrame:
    """Per-query values as `qid, measure, value`."""
    import ir_measures

    parsed = {ir_measures.parse_measure(m): m for m in measures}
    r, q = _ir_frames(run, qrels)
    rows = [(m.query_id, parsed[m.measure], float(m.value)) for m in ir_measures.iter_calc(list(parsed), q, r)]
    return pd.DataFrame(rows, columns=["qid", "measure", "value"])


# --- ODQA answer recall (DPR's has_answer, string match on tokens) ---------------------------------------
_TOKEN = re.compile(r"[\w]+|[^\w\s]", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(unicodedata.normalize("NFD", text))]


def has_answer(passage: str, answers: list[str]) -> bool:
    """True when some answer's normalised token sequence occurs in the passage's (DPR, Karpukhin et al.)."""
    text = _tokens(passage)
    for answer in answers:
        ans = _tokens(answer)
        if ans and any(text[i:i + len(ans)] == ans for i in range(len(text) - len(ans) + 1)):
            return True
    return False


def answer_qrels(run: pd.DataFrame, doc_text: dict[str, str], answers: dict[str, list[str]]) -> pd.DataFrame:
    """Binary qrels: every retrieved passage that contains an answer of its query."""
    rows = [(q, d, 1) for q, d in zip(run.qid, run.docno) if has_answer(doc_text[d], answers.get(q, []))]
    rels = pd.DataFrame(rows, columns=["qid", "docno", "relevance"])
    # every query must appear in qrels so that a miss counts as 0; a zero-relevance row makes it present
    absent = sorted(set(answers) - set(rels.qid))
    return pd.concat([rels, pd.DataFrame({"qid": absent, "docno": "__none__", "relevance": 0})], ignore_index=True)


def answer_recall(run: pd.DataFrame, doc_text: dict[str, str], answers: dict[str, list[str]], k: int = 5) -> float:
    """ODQA Recall@k of Table 2: share of questions with an answer-bearing passage in the top k."""
    top = run[run["rank"] <= k]
    return evaluate(top, answer_qrels(top, doc_text, answers), (f"Success@{k}",))[f"Success@{k}"]


def group_averages(per_dataset: dict[str, float]) -> dict[str, float | None]:
    """BEIR-13, PTR-11 and All-18 averages of Table 1; None when a member is missing (never a partial mean)."""
    out = {}
    for group, names in GROUPS.items():
        vals = [per_dataset.get(n) for n in names]
        out[group] = None if any(v is None for v in vals) else mean(vals)
    return out

"""The evaluation sets of Tables 1 and 2, each with the paper's measure and lengths (Used in 05, 06; §5.1, B.3).

`eval_set(name)` maps a table row name (`msmarco-dev`, `dl19`, a BEIR name such as `scifact`, `lotte-search`,
`odqa-nq`, …) or any ir_datasets id (e.g. `synthetic/smoke/test`) to the ids to load, the measure of each table
row it fills and the ColBERT lengths of Appendix B.3 (passages 300 for BEIR and LoTTE; queries 300 for
ArguAna, 64 for Climate-FEVER). `run_eval` retrieves and scores one set with one model; a licensed set
that is absent comes back as a note, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import PdlibError, data, evaluate, retrieve


@dataclass
class EvalSet:
    name: str
    ids: list[str]                   # ir_datasets ids; several (CQADupStack) are averaged
    measures: dict[str, str]         # table row -> measure (ir-measures name, or answer-R@5 for ODQA)
    table: str                       # table1 | table2 | other
    doc_maxlen: int = 180
    query_maxlen: int = 32
    note: str = ""                   # non-empty: not evaluated, and why


def eval_set(name: str) -> EvalSet:
    if name == "msmarco-dev":
        return EvalSet(name, [data.MSMARCO["msmarco-dev"]],
                       {"msmarco-dev-rr10": "RR@10", "msmarco-dev-r1k": "R@1000"}, "table1")
    if name in ("dl19", "dl20"):
        return EvalSet(name, [data.MSMARCO[name]], {name: "nDCG@10"}, "table1")
    if name in data.BEIR:
        ids = data.BEIR[name] or data.licensed_id(name)  # a licensed set counts once its folder is placed
        qlen = {"arguana": 300, "climate-fever": 64}.get(name, 32)
        if ids is None:
            return EvalSet(name, [], {name: "nDCG@10"}, "table1", 300, qlen,
                           note=f"skipped: licensed data, place its BEIR folder at data/licensed/{name}/ — "
                                f"{data.LICENSED[name]}")
        return EvalSet(name, ids if isinstance(ids, list) else [ids], {name: "nDCG@10"}, "table1", 300, qlen)
    if name.startswith(data.SPLIT_PREFIX):  # part of a set's queries: the set's measure and lengths
        base = data._split_parts(name)[3]
        row = next((r for r, i in data.BEIR.items() if i == base or data.licensed_id(r) == base), None)
        if row is not None:
            es = eval_set(row)
            return EvalSet(name, [name], {name: "nDCG@10"}, "other", es.doc_maxlen, es.query_maxlen)
    if name in data.LOTTE:
        return EvalSet(name, [data.LOTTE[name]], {name: "Success@5"}, "table1", 300)
    if name.startswith("odqa-") and name[5:] in data.ODQA:
        return EvalSet(name, [data.ODQA[name[5:]]], {name[5:]: "answer-R@5"}, "table2")
    return EvalSet(name, [name], {name: "nDCG@10", f"{name} RR@10": "RR@10"}, "other")


def target_set(name: str, test_dataset: str) -> EvalSet:
    """Table 4's evaluation of a target domain: its Table 1 row when `test_dataset` is the set's own test
    split, else the given queries (e.g. the held-out half of a query_split) with the set's measure and lengths."""
    if name in data.BEIR and test_dataset in (data.BEIR[name], data.licensed_id(name)):
        return eval_set(name)
    return eval_set(test_dataset)


def target_note(train_dataset: str, test_dataset: str) -> str:
    """How a Table 4 column departs from the paper's evaluation, in words ("" when it does not)."""
    if data.canonical_id(train_dataset) == data.canonical_id(test_dataset):
        return "transductive: trained on the queries it is evaluated on"
    if test_dataset.startswith(data.SPLIT_PREFIX):
        seed, fraction, _, base = data._split_parts(test_dataset)
        return (f"evaluated on the held-out {1 - fraction:.0%} of {base}'s queries (seed {seed}); "
                f"the other {fraction:.0%} are the unlabelled training queries")
    return ""


corpus_id = data.corpus_id  # kept here too: callers name it evalsets.corpus_id


def run_eval(es: EvalSet, retriever: str, model: str, k: int = 100, batch_size: int = 64,
             progress: bool = True) -> dict[str, float]:
    """Retrieve every id of the set with `model` (cached runs) and return table row -> value (0–1)."""
    if es.note:
        raise PdlibError(f"{es.name}: {es.note}")
    values: dict[str, list[float]] = {row: [] for row in es.measures}
    for dataset_id in es.ids:
        coll = data.load(dataset_id)
        ds = data.canonical_id(dataset_id)
        run = retrieve.first_stage(retriever, str(model), coll.docs, corpus_id(dataset_id), {"eval": (ds, coll.queries)},
                                   k=k, batch_size=batch_size, doc_maxlen=es.doc_maxlen,
                                   query_maxlen=es.query_maxlen, progress=progress)["eval"].frame()
        for row, measure in es.measures.items():
            if measure == "answer-R@5":
                answers = dict(zip(coll.queries.qid, coll.queries.answers))
                values[row].append(evaluate.answer_recall(run, coll.doc_text(), answers, k=5))
            else:
                values[row].append(evaluate.evaluate(run, coll.qrels, [measure])[measure])
    return {row: float(np.mean(v)) for row, v in values.items()}


def fig1_points(ours: dict[str, dict[str, float]], sets: list[EvalSet], in_domain: str,
                labels: list[str]) -> tuple[list[tuple[str, float, float]], str, str]:
    """Figure 1's points for our models: (label, in-domain value, out-of-domain value) and the axis labels.
    In-domain: the `in_domain` set's RR@10 (or its first measure); out-of-domain: the BEIR-13 average when all
    13 ran, else the mean over the evaluated Table 1 sets that are not MS MARCO (`ours` in %)."""
    table_of = {row: es.table for es in sets for row in es.measures}
    in_rows = eval_set(in_domain).measures
    in_row = next((r for r, m in in_rows.items() if m == "RR@10"), next(iter(in_rows)))
    ood = [r for r in ours if r not in in_rows and table_of.get(r) != "table2" and not r.startswith("avg-")
           and not r.startswith(("msmarco", "dl1", "dl2")) and not r.endswith("RR@10")]
    points = []
    for label in labels:
        if label in ours.get(in_row, {}) and ood:
            y = ours.get("avg-BEIR-13", {}).get(label, float(np.mean([ours[r][label] for r in ood if label in ours[r]])))
            points.append((label, ours[in_row][label], y))
    ood_name = "BEIR-13 average" if "avg-BEIR-13" in ours else f"mean over {', '.join(ood) or 'none'}"
    return points, f"in-domain: {in_row.removesuffix(' ' + in_rows[in_row])} {in_rows[in_row]} (%)", \
        f"out-of-domain: {ood_name} (%)"


def headline(es: EvalSet, searcher: tuple[str, str] | None, k: int = 100, batch_size: int = 64) -> float | None:
    """The set's first table measure in % for (retriever, model); None without a model (Table 4, 06)."""
    if searcher is None:
        return None
    return 100 * run_eval(es, searcher[0], str(searcher[1]), k=k, batch_size=batch_size)[next(iter(es.measures))]

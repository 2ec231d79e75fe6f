"""The paper's tables, built in one place: ours beside the paper's value, the difference, best and second best
marked, percentages with one decimal as the paper prints them (Used in 02-07; STYLE 16).
A student's row comes from `StudentEval` (04, 07): retrieval over the training corpus for dev or test queries.

Our metrics arrive as fractions (ir-measures); every table shows them in % with one decimal, one scale per
table. The paper's numbers come from pdlib.paper only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from . import data, evaluate, paper, retrieve

# every frame a notebook displays (run heads, scores, losses) shows 3 decimals, not pandas' 6 (issue 15); the
# tables written to figures/ format their own numbers
pd.set_option("display.precision", 3)


def pct(value: float | None) -> float | None:
    """A fraction as a percentage with one decimal (None and NaN stay None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(100.0 * float(value), 1)


def diff(ours: float | None, published: float | None) -> float | None:
    """ours − paper, one decimal; None when either is missing."""
    return None if ours is None or published is None else round(ours - published, 1)


def best_two(values: dict[str, float | None]) -> tuple[str | None, str | None]:
    """The names of the best and second-best value (None values ignored; ties keep the earlier name)."""
    ranked = sorted(((v, i, k) for i, (k, v) in enumerate(values.items()) if v is not None and not pd.isna(v)),
                    key=lambda t: (-t[0], t[1]))
    names = [k for _, _, k in ranked[:2]] + [None, None]
    return names[0], names[1]


def marked(frame: pd.DataFrame, value_cols: list[str], html: bool = False) -> pd.DataFrame:
    """A copy for display: values with one decimal, the best of each row bold and the second underlined
    (Markdown `**x**` / `<u>x</u>`, or HTML tags for a notebook), missing cells "–"."""
    out = frame.copy().astype(object)
    bold, under = ("<b>{}</b>", "<u>{}</u>") if html else ("**{}**", "<u>{}</u>")
    for i, row in frame.iterrows():
        first, second = best_two({c: row[c] for c in value_cols})
        for c in value_cols:
            if pd.isna(row[c]):
                out.at[i, c] = "–"
                continue
            text = f"{row[c]:.1f}"
            out.at[i, c] = bold.format(text) if c == first else under.format(text) if c == second else text
    return out


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def show(frame: pd.DataFrame, best: str | None = None, cols: list[str] | None = None,
         fold: list[str] | None = None):
    """A table as the paper prints it, for the notebook (a pandas Styler): one decimal, "–" for a missing value,
    no index; best="col" bolds the best of each value column and underlines the second (Tables 3-6), best="row"
    does so within each row (Tables 1-2: models side by side). Value columns: `cols`, default those starting
    with "ours". fold: rows where all these columns are empty are left out and named in one caption line (a
    profile that evaluates few of Table 1's sets). The saved .csv/.md/.tex files are unchanged."""
    view, note = frame, ""
    if fold:
        empty = frame[fold].isna().all(axis=1)
        if empty.any() and not empty.all():
            names = ", ".join(map(str, frame.loc[empty, frame.columns[0]]))
            n = int(empty.sum())
            view, note = frame[~empty], f"Not evaluated in this run ({n} row{'s' if n != 1 else ''}): {names}"
    cols = [c for c in (cols or [c for c in view.columns if str(c).startswith("ours")]) if c in view.columns]

    def marks(values: pd.Series) -> list[str]:
        numbers = pd.to_numeric(values, errors="coerce")  # text cells (e.g. Table 7's) are never marked
        first, second = best_two({k: (None if pd.isna(v) else float(v)) for k, v in numbers.items()})
        return ["font-weight: bold" if k == first else "text-decoration: underline" if k == second else ""
                for k in values.index]

    styler = view.style.format(_cell).hide(axis="index")
    if best == "col":
        for c in cols:
            styler = styler.apply(lambda col: marks(col), subset=[c], axis=0)
    elif best == "row" and cols:
        styler = styler.apply(lambda row: marks(row), subset=cols, axis=1)
    return styler.set_caption(note) if note else styler


def metric_row(run: pd.DataFrame, qrels: pd.DataFrame, measures=("RR@10", "nDCG@10")) -> dict[str, float | None]:
    """Measures of a run in %, one decimal: {"RR@10": 75.4, "nDCG@10": 48.9}."""
    return {m: pct(v) for m, v in evaluate.evaluate(run, qrels, list(measures)).items()}


@dataclass(frozen=True)
class StudentEval:
    """Where a student is evaluated: first-stage retrieval over the training corpus (`corpus_dataset`, its
    collection `corpus`) for the queries of `dataset` (its collection `queries`), RR@10 / nDCG@10 (%).
    Used in 04 (dev and test queries) and 07 (dev)."""
    corpus_dataset: str
    corpus: data.Collection
    dataset: str
    queries: data.Collection
    k: int = 100
    doc_maxlen: int = 180
    query_maxlen: int = 32

    def evaluate(self, model, kind: str) -> dict[str, float | None]:
        run = retrieve.first_stage(retrieve.retriever_of(kind), str(model), self.corpus.docs, self.corpus_dataset,
                                   {"eval": (self.dataset, self.queries.queries)}, k=self.k,
                                   doc_maxlen=self.doc_maxlen, query_maxlen=self.query_maxlen)["eval"]
        return metric_row(run.frame(), self.queries.qrels)


def beside_paper(records: list[dict], published: list[float | None], measure: str = "RR@10") -> pd.DataFrame:
    """Records (label columns + measures in %) with `paper (<measure>, %)`, `ours (<measure>, %)`, difference."""
    frame = pd.DataFrame(records)
    ours = frame.pop(measure)
    labels = [c for c in frame.columns if c not in ("nDCG@10",)]
    out = frame[labels].copy()
    out[f"paper ({measure}, %)"] = published
    out[f"ours ({measure}, %)"] = ours.to_numpy()
    out["difference"] = [diff(o, p) for o, p in zip(out[f"ours ({measure}, %)"], published)]
    if "nDCG@10" in frame:
        out["ours (nDCG@10, %)"] = frame["nDCG@10"].to_numpy()
    return out


# --- the tables -----------------------------------------------------------------------------------------
def table3(records: list[dict]) -> pd.DataFrame:
    """Table 3: records {group, row, paper_row, RR@10, nDCG@10} (ours in %) in the paper's order. paper_row
    "initial" is the student before distillation (the paper's ColBERTv2, Table 1's dev RR@10)."""
    rows = [dict(r) for r in records]
    published = [paper.TABLE1["msmarco-dev-rr10"]["ColBERTv2"] if r["paper_row"] == "initial"
                 else paper.table3_value(r["paper_row"]) if r["paper_row"] else None for r in rows]
    for r in rows:
        del r["paper_row"]
    return beside_paper(rows, published)


def table5(retriever_run, pointwise: list, qrels: pd.DataFrame, pairwise: tuple | None = None) -> pd.DataFrame:
    """Table 5 (reranking the dev queries): the retriever's run, each pointwise teacher's reranking (02's
    pointwise_scores artifacts) and optionally the pairwise one, `(label, kind, run)`. The paper's value by
    the teacher's kind."""
    from .jobs import teacher_kind
    from .teachers import to_run

    records = [{"reranker": f"initial retriever ({retriever_run.params['model_id']})", "kind": "retriever",
                **metric_row(retriever_run.frame(), qrels)}]
    records += [{"reranker": p.params["teacher"], "kind": teacher_kind(p.params["teacher"], False),
                 **metric_row(to_run(p.frame()), qrels)} for p in pointwise]
    if pairwise is not None:
        label, kind, run = pairwise
        records.append({"reranker": label, "kind": kind, **metric_row(run, qrels)})
    return beside_paper(records, [paper.TABLE5.get(paper.TABLE5_KINDS.get(r["kind"], "")) for r in records])


def table6(records: list[dict]) -> pd.DataFrame:
    """Table 6: records {lambda_pair, RR@10, nDCG@10}."""
    return beside_paper(records, [paper.TABLE6.get(float(r["lambda_pair"])) for r in records])


def appendix_a2(pointwise: str, pairwise: str, rate: float) -> pd.DataFrame:
    """Appendix A.2: how often the pointwise teacher orders a sampled pair unlike the pairwise teacher."""
    return pd.DataFrame([{"pointwise teacher": pointwise, "pairwise teacher": pairwise,
                          "paper (disagreement, %)": pct(paper.A2_DISAGREEMENT), "ours (disagreement, %)": pct(rate),
                          "difference": diff(pct(rate), pct(paper.A2_DISAGREEMENT))}])


def order_effect(effect: dict[str, float], one: dict[str, float], both: dict[str, float]) -> pd.DataFrame:
    """Ours (03): the pairwise teacher's position bias and what averaging both orders changes; `one` / `both`:
    Table 5's sym-sum metrics (in %) from the first order alone / from both orders averaged."""
    rows = [("position bias: P(a≻b | a first) + P(b≻a | b first) − 1", pct(effect["position bias"])),
            ("pairs whose decision changes when both orders are averaged", pct(effect["decisions changed by averaging"]))]
    rows += [(f"sym-sum {m}, first order only (as the paper scores)", v) for m, v in one.items()]
    rows += [(f"sym-sum {m}, both orders averaged (ours)", v) for m, v in both.items()]
    return pd.DataFrame(rows, columns=["quantity", "ours (%)"])


def table7(used: dict, profile: str) -> pd.DataFrame:
    """Table 7: the paper's hyperparameters beside this run's (names as in paper.TABLE7)."""
    def same(name, value):
        return used[name] == value if isinstance(value, str) else float(used[name]) == float(value)
    return pd.DataFrame([{"hyperparameter": name, "paper": str(value), f"ours ({profile})": str(used[name]),
                          "same": same(name, value)} for name, value in paper.TABLE7])


def table1(ours: dict[str, dict[str, float]], notes: dict[str, str], labels: list[str], profile: str,
           extra_rows: list[str] = ()) -> pd.DataFrame:
    """Table 1: every paper row (plus `extra_rows`, e.g. synthetic sets), the cited systems, ColBERTv2 and
    PairDistill (paper) beside ours (`labels`: our initial retriever, our student). `ours`: row -> label ->
    value in %; group averages (PTR-11, BEIR-13, All-18) are added when every member was evaluated."""
    for label in labels:
        per_set = {r: v[label] for r, v in ours.items() if label in v}
        for group, value in evaluate.group_averages(per_set).items():
            if value is not None:
                ours.setdefault(f"avg-{group}", {})[label] = value
    cited = [s for s in paper.TABLE1_SYSTEMS if s not in ("ColBERTv2", "PairDistill")]
    records = []
    for r in list(paper.TABLE1) + list(extra_rows):
        p = paper.TABLE1.get(r, {})
        got = {k: (None if v is None else round(v, 1)) for k, v in ours.get(r, {}).items()}
        rec = {"row": paper.TABLE1_ROW_LABELS.get(r, r), **{f"{s} (cited)": p.get(s) for s in cited},
               "ColBERTv2 (paper)": p.get("ColBERTv2"), labels[0]: got.get(labels[0]),
               "PairDistill (paper)": p.get("PairDistill")}
        if len(labels) > 1:
            rec[labels[1]] = got.get(labels[1])
        rec["difference"] = diff(rec.get(labels[1]) if len(labels) > 1 else None, rec["PairDistill (paper)"])
        rec["note"] = notes.get(r, "" if r in ours else
                                ("computed only when every member is evaluated" if r.startswith("avg-") else
                                 f"not evaluated in profile {profile}"))
        records.append(rec)
    return pd.DataFrame(records)


def table2(ours: dict[str, dict[str, float]], labels: list[str], profile: str) -> pd.DataFrame:
    """Table 2: answer Recall@5 on the ODQA dev sets, cited systems, the paper's and ours (in %)."""
    rows = []
    for r in ["nq", "trivia-qa", "squad"]:
        got = {k: round(v, 1) for k, v in ours.get(r, {}).items()}
        rec = {"dataset": r, **{f"{s} (cited)": paper.TABLE2[s][r] for s in ("BM25", "SPLADEv2")},
               "ColBERTv2 (paper)": paper.TABLE2["ColBERTv2"][r], labels[0]: got.get(labels[0]),
               "PairDistill (paper)": paper.TABLE2["PairDistill"][r]}
        student = got.get(labels[1]) if len(labels) > 1 else None
        if len(labels) > 1:
            rec[labels[1]] = student
        rec["difference"] = diff(student, rec["PairDistill (paper)"])
        rec["note"] = "" if r in ours else f"not evaluated in profile {profile} (eval_datasets: add odqa-{r})"
        rows.append(rec)
    return pd.DataFrame(rows)


def table4(values: dict[tuple[str, str], float | None], targets: list[str], notes: dict[str, str],
           retriever_model: str, marks: dict[str, str] | None = None) -> pd.DataFrame:
    """Table 4: rows ColBERTv2 (our initial retriever), PairDistill, L_KD only, L_pair; per target the paper's
    value, ours (%) and the difference; a target with a note (licensed data not placed) gets the note instead,
    one with a mark (evalsets.target_note: transductive, held-out half) gets it beside its numbers."""
    rows = []
    for label in ("ColBERTv2", "PairDistill", "L_KD only", "L_pair"):
        rec = {"model": label if label != "ColBERTv2" else f"initial retriever ({retriever_model})",
               "group": "baseline" if label in ("ColBERTv2", "PairDistill") else "domain adaptation"}
        for name in targets:
            cited = paper.TABLE4[label].get(name)
            if name in notes:
                rec.update({f"{name}: paper": cited, f"{name}: note": notes[name]})
                continue
            ours = values.get((name, label))
            ours = None if ours is None else round(ours, 1)
            rec.update({f"{name}: paper": cited, f"{name}: ours": ours, f"{name}: difference": diff(ours, cited)})
            if (marks or {}).get(name):
                rec[f"{name}: note"] = marks[name]
        rows.append(rec)
    return pd.DataFrame(rows)


def rounds(records: list[dict]) -> pd.DataFrame:
    """The iterations of 04 as a table (the trained student shown by its folder inside the cache)."""
    return pd.DataFrame([{k: (v.key.relpath.as_posix() if hasattr(v, "key") else v) for k, v in r.items()}
                         for r in records]).drop(columns=["examples"], errors="ignore")


def over_seeds(frames: dict[int, pd.DataFrame], keys: list[str], values: list[str]) -> pd.DataFrame:
    """One table per seed (same rows) -> per row: each value column as `mean ± std` over the seeds (one
    decimal; std with n − 1), and the seeds' values. Used by benchmarks/seeds.py."""
    long = pd.concat([f[keys + values].assign(seed=s) for s, f in frames.items()], ignore_index=True)
    out = long.groupby(keys, sort=False)[values].agg(["mean", "std"])
    shown = pd.DataFrame(index=out.index)
    for v in values:
        shown[f"{v} mean ± std"] = [f"{m:.1f} ± {sd:.1f}" for m, sd in zip(out[(v, "mean")], out[(v, "std")])]
        shown[f"{v} by seed"] = long.groupby(keys, sort=False)[v].apply(lambda x: ", ".join(f"{y:.1f}" for y in x))
    return shown.reset_index()


def paired_difference(diffs: list[float]) -> dict[str, object]:
    """A claim "A beats B" over seeds from the per-seed differences A − B: mean ± std, and whether it holds
    beyond the spread (every seed agrees in sign and |mean| exceeds the std)."""
    s = pd.Series(diffs, dtype=float)
    mean, sd = float(s.mean()), float(s.std(ddof=1)) if len(s) > 1 else float("nan")
    holds = bool((s > 0).all() and mean > sd)
    verdict = "holds" if holds else "reversed" if ((s < 0).all() and -mean > sd) else "within the spread"
    return {"difference (points) mean ± std": f"{mean:+.1f} ± {sd:.1f}",
            "by seed": ", ".join(f"{d:+.1f}" for d in diffs), "verdict": verdict}

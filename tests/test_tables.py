"""pdlib.tables: the paper's value beside ours, one decimal, best and second marked (hand-worked examples)."""
import pandas as pd

from pdlib import paper, tables


def test_percent_and_difference_round_as_the_paper_prints():
    assert tables.pct(0.7544047619) == 75.4 and tables.pct(0.91125) == 91.1 and tables.pct(None) is None
    assert tables.pct(float("nan")) is None
    assert tables.diff(75.4, 39.7) == 35.7 and tables.diff(None, 39.7) is None


def test_best_two_ignores_missing_and_keeps_the_earlier_on_ties():
    assert tables.best_two({"a": 1.0, "b": 3.0, "c": None, "d": 2.0}) == ("b", "d")
    assert tables.best_two({"a": 2.0, "b": 2.0}) == ("a", "b")
    assert tables.best_two({"a": None}) == (None, None)
    # the paper's SciFact row: ABEL-FT best, PairDistill second; ours at 99 would lead
    row = dict(paper.TABLE1["scifact"])
    assert tables.best_two(row) == ("ABEL-FT", "PairDistill")
    assert tables.best_two({**row, "ours": 99.0}) == ("ours", "ABEL-FT")


def test_marked_bolds_the_best_and_underlines_the_second():
    frame = pd.DataFrame({"row": ["x"], "a": [70.04], "b": [71.46], "c": [None]})
    out = tables.marked(frame, ["a", "b", "c"])
    assert out.loc[0].tolist() == ["x", "<u>70.0</u>", "**71.5**", "–"]
    assert tables.marked(frame, ["a", "b"], html=True).loc[0, "b"] == "<b>71.5</b>"


def test_table3_takes_the_paper_values_from_pdlib_paper():
    records = [{"group": "(before distillation)", "row": "initial", "paper_row": "initial", "RR@10": 75.4, "nDCG@10": 48.9},
               {"group": "Distillation Loss", "row": "PairDistill", "paper_row": "PairDistill", "RR@10": 91.1,
                "nDCG@10": 71.6},
               {"group": "Initialization", "row": "tiny/bert", "paper_row": "bert-base-uncased", "RR@10": 92.5,
                "nDCG@10": 72.9},
               {"group": "Iterative Training", "row": "Iteration 3", "paper_row": "Iteration 3", "RR@10": 90.0,
                "nDCG@10": 70.0},
               {"group": "extra", "row": "L_CL only", "paper_row": "L_CL only", "RR@10": 80.0, "nDCG@10": 60.0}]
    t = tables.table3(records)
    assert list(t.columns) == ["group", "row", "paper (RR@10, %)", "ours (RR@10, %)", "difference", "ours (nDCG@10, %)"]
    assert t["paper (RR@10, %)"].tolist()[:4] == [39.7, 40.7, 40.3, 40.7]
    assert pd.isna(t["paper (RR@10, %)"].iloc[4]) and pd.isna(t["difference"].iloc[4])
    assert t["difference"].tolist()[:2] == [35.7, 50.4]
    assert records[0]["paper_row"] == "initial"  # the caller's records are left as they were


def test_table6_and_appendix_a2():
    t = tables.table6([{"lambda_pair": 1.0, "RR@10": 90.4, "nDCG@10": 70.3}, {"lambda_pair": 3, "RR@10": 91.1, "nDCG@10": 71.6}])
    assert t["paper (RR@10, %)"].tolist() == [40.3, 40.7] and t["difference"].tolist() == [50.1, 50.4]
    a2 = tables.appendix_a2("ce", "duo", 0.476583)
    assert a2.loc[0, ["paper (disagreement, %)", "ours (disagreement, %)", "difference"]].tolist() == [31.0, 47.7, 16.7]


def test_table7_compares_values_and_names():
    used = {"batch size": 8, "# passages per question": 64, "max passage length": 180, "max query length": 32,
            "max training steps": 100000, "learning rate": 1e-5, "optimizer": "AdamW", "temperature τ": 1.0,
            "λ_KD": 1.0, "λ_pair": 3.0}
    t = tables.table7(used, "smoke").set_index("hyperparameter")
    assert not t.loc["batch size", "same"] and t.loc["learning rate", "same"] and t.loc["optimizer", "same"]
    assert t.loc["batch size", "paper"] == "32" and t.loc["batch size", "ours (smoke)"] == "8"


def test_seed_summaries_by_hand():
    frames = {0: pd.DataFrame({"row": ["a", "b"], "v": [1.0, 4.0]}), 1: pd.DataFrame({"row": ["a", "b"], "v": [3.0, 4.0]})}
    out = tables.over_seeds(frames, ["row"], ["v"]).set_index("row")
    assert out.loc["a", "v mean ± std"] == "2.0 ± 1.4" and out.loc["b", "v mean ± std"] == "4.0 ± 0.0"
    assert out.loc["a", "v by seed"] == "1.0, 3.0"
    assert tables.paired_difference([2.0, 3.0, 4.0])["verdict"] == "holds"               # mean 3 > std 1
    assert tables.paired_difference([0.5, 3.0, 0.1])["verdict"] == "within the spread"   # std 1.6 > mean 1.2
    assert tables.paired_difference([-2.0, -3.0, -4.0])["verdict"] == "reversed"
    assert tables.paired_difference([2.0, -1.0, 4.0])["difference (points) mean ± std"] == "+1.7 ± 2.5"


def test_show_prints_tables_as_the_paper_does():
    """Issue 15: one decimal, "–" for a missing value (also None), the best of a column bold and the second
    underlined; folded rows named in one caption line."""
    frame = pd.DataFrame({"row": ["a", "b", "c", "d"], "ours (RR@10, %)": [71.25, 80.0, 75.5, None],
                          "difference": [None, 1.04, -2.0, None]})
    html = tables.show(frame, best="col").to_html()
    assert "71.2" in html and "1.0" in html and "71.25" not in html and "None" not in html
    styler = tables.show(frame, best="col")
    styler._compute()
    styles = {(r, c): "".join(f"{k}: {v}" for k, v in props) for (r, c), props in styler.ctx.items()}
    assert styles[(1, 1)] == "font-weight: bold" and styles[(2, 1)] == "text-decoration: underline"
    assert not styles.get((0, 1)) and not any(c == 2 and v for (r, c), v in styles.items())  # difference unmarked
    folded = tables.show(frame, fold=["ours (RR@10, %)"]).to_html()
    assert "Not evaluated in this run (1 row): d" in folded and ">d<" not in folded
    by_row = tables.show(pd.DataFrame({"row": ["x"], "A": [1.0], "B": [3.0], "C": [2.0]}), best="row",
                         cols=["A", "B", "C"])
    by_row._compute()
    assert {c for (r, c), props in by_row.ctx.items() if ("font-weight", "bold") in props} == {2}

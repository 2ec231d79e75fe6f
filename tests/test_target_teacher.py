"""benchmarks/target_teacher.py's own logic: which teacher orders the target's pairs of different grade right."""
import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("target_teacher", ROOT / "benchmarks" / "target_teacher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_right_share_counts_pairs_of_different_grade_only():
    """Hand-worked: d1 grade 2, d2 grade 1, d3 and d4 unjudged (0). Pairs (d1, d2), (d2, d3), (d3, d4), (d4, d1):
    (d3, d4) ties and is left out. Pointwise scores d1 1, d2 3, d3 2, d4 0 order (d1, d2) wrong, (d2, d3) right,
    (d4, d1) right: 2 of 3. Pairwise P(a > b) 0.9, 0.6, 0.5, 0.2 orders all three right."""
    qrels = pd.DataFrame({"qid": ["q", "q"], "docno": ["d1", "d2"], "relevance": [2, 1]})
    point = pd.DataFrame({"qid": ["q"] * 4, "docno": ["d1", "d2", "d3", "d4"], "score": [1.0, 3.0, 2.0, 0.0]})
    pairs = pd.DataFrame({"qid": ["q"] * 4, "docno_a": ["d1", "d2", "d3", "d4"], "docno_b": ["d2", "d3", "d4", "d1"],
                          "prob": [0.9, 0.6, 0.5, 0.2]})
    assert _module().right_share(pairs, point, qrels) == {"pairs of different grade": 3, "pointwise right %": 66.7,
                                                          "pairwise right %": 100.0}

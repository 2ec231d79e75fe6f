"""The smoke world's model ids: which tiny stand-in serves each, and the recipe version in their keys."""
from __future__ import annotations

from ..models import ModelSpec

TINY_VERSION = "13"  # bump when the stand-ins' recipe or the synthetic generator changes (part of their keys)

SPECS = [
    ModelSpec("tiny/bert", "bert", "student backbone", "smoke"),
    ModelSpec("tiny/bi-encoder", "bi-encoder", "DPR student", "smoke"),
    ModelSpec("tiny/colbert", "colbert", "ColBERT student / initial retriever", "smoke"),
    ModelSpec("tiny/cross-encoder", "cross-encoder", "pointwise teacher (trained on synthetic labels)", "smoke"),
    ModelSpec("tiny/t5", "t5", "untrained T5 stand-in (benchmarks)", "smoke"),
    ModelSpec("tiny/monot5", "mono-t5", "pointwise T5 teacher (trained on synthetic labels)", "smoke"),
    ModelSpec("tiny/duot5", "duo-t5", "pairwise T5 teacher (trained on synthetic labels)", "smoke"),
    ModelSpec("tiny/flan-t5", "instruct-t5", "instruction teacher: Appendix C.1 prompts", "smoke"),
]
# tiny id -> the stand-in folder that serves it (one multi-task T5 plays monoT5, duoT5 and flan-t5)
TINY_FOLDERS = {"bert": "bert", "bi-encoder": "bi-encoder", "colbert": "colbert", "cross-encoder": "cross-encoder",
                "t5": "t5", "monot5": "t5-teacher", "duot5": "t5-teacher", "flan-t5": "t5-teacher"}

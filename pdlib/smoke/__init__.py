"""The smoke world: a plug-in on top of pdlib for the offline `smoke` profile (nanoGPT's shakespeare_char).

* `synthetic`: a deterministic synthetic retrieval set whose relevance is learnable (ids `synthetic/<preset>/<split>`);
* `tiny`: tiny stand-ins of the paper's models with the same architectures (ids `tiny/*`);
* `teacher_training`: the brief supervised training that makes the tiny teachers teachers.

Importing this package registers its ids into `pdlib.data` and `pdlib.models`; the core never imports it. It is
found through the entry point `pdlib.plugins` (pyproject.toml), loaded the first time a registry meets an id.
"""
from __future__ import annotations

from .. import data, models
from ..models import ModelSpec

TINY_VERSION = "9"  # bump when the stand-ins' recipe or the synthetic generator changes (part of their keys)

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


def _locate(model_id: str) -> str:
    from .tiny import build_tiny

    return str(build_tiny(TINY_FOLDERS[model_id.split("/", 1)[1]]))


def _resolve(dataset_id: str) -> str:
    from .synthetic import resolve

    return resolve(dataset_id)


models.register(*SPECS)
models.register_namespace("tiny/", _locate, TINY_VERSION)
data.register_namespace("synthetic/", _resolve)
data.register_namespace("pdlib-synthetic/", _resolve)

"""The smoke world: a plug-in on top of pdlib for the offline `smoke` profile (nanoGPT's shakespeare_char).

* `synthetic`: a deterministic synthetic retrieval set whose relevance is learnable (ids `synthetic/<preset>/<split>`);
* `tiny`: tiny stand-ins of the paper's models with the same architectures (ids `tiny/*`);
* `teacher_training`: the brief supervised training that makes the tiny teachers teachers;
* `specs`: the `tiny/*` ids, the folder that serves each and the recipe version in their keys.

Importing this package registers its ids into `pdlib.data` and `pdlib.models`; the core never imports it. It is
found through the entry point `pdlib.plugins` (pyproject.toml), loaded the first time a registry meets an id.
"""
from __future__ import annotations

from .. import data, models
from .specs import SPECS, TINY_FOLDERS, TINY_VERSION

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

"""Profiles and typed notebook parameters.

The `parameters` cell of each notebook is the configuration: typed globals with a short comment each,
whose defaults are the offline `smoke` profile. `params/<profile>.yaml` overrides them per profile:

    common:          # offered to every notebook that declares the key
      seed: 0
    01_retrieve:     # only for that notebook; every key must be declared there
      k_train: 100

Papermill only *warns* about a parameter the notebook does not declare; `resolve()` makes it an
error, and checks each value against the declared type.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from . import PdlibError, paths

# A scoring job of at least this many inputs compiles a T5 teacher's encoder and decoder on a GPU (pdlib.jobs): at
# duoT5-3B's shape on an H200 the compiled path saves 0.18 ms a pair (1,043 against 878 pairs/s with cuDNN
# attention alone) and its first pass costs about 170 s more, so it pays from about a million pairs (the paper
# profile's 03 scores 40 million). pdlib.plan times such jobs at the compiled rate.
COMPILE_FROM = 1_000_000

PROFILES = ("smoke", "small", "medium", "paper")
NOTEBOOKS = ("01_retrieve", "02_pointwise", "03_pairwise", "04_distill", "05_eval_beir", "06_domain_adapt",
             "07_beyond")

_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
          "list": (list,), "dict": (dict,)}


def notebook_path(notebook: str) -> Path:
    name = match_notebook(notebook)
    return paths.notebooks_dir() / f"{name}.ipynb"


def match_notebook(selector: str) -> str:
    """'03', '03_pairwise' or '03_pairwise.ipynb' -> '03_pairwise'."""
    sel = Path(selector).stem
    hits = [nb for nb in NOTEBOOKS if nb == sel or nb.split("_")[0] == sel]
    if len(hits) != 1:
        raise PdlibError(f"unknown notebook {selector!r}: choose one of {', '.join(NOTEBOOKS)} (or its number, e.g. 03)")
    return hits[0]


def load_profile(profile: str) -> dict[str, dict[str, Any]]:
    """Read params/<profile>.yaml -> {'common': {...}, '01_retrieve': {...}, ...}."""
    if profile not in PROFILES:
        raise PdlibError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    path = paths.params_dir() / f"{profile}.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise PdlibError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', None) or err}); fix the file") from None
    bad = sorted(set(raw) - {"common", *NOTEBOOKS})
    if bad:
        raise PdlibError(f"{path}: unknown section(s) {bad}; sections are 'common' and {list(NOTEBOOKS)}")
    return {sec: dict(raw.get(sec) or {}) for sec in ("common", *NOTEBOOKS)}


def declared_parameters(notebook: str) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell as papermill reads it: name -> {inferred_type_name, default, help}."""
    import nbformat
    import papermill

    path = notebook_path(notebook)
    declared = papermill.inspect_notebook(str(path))
    cell = next((c for c in nbformat.read(path, as_version=4).cells
                 if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise PdlibError(f"{path.name} has no cell tagged 'parameters'")
    lines = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != len(declared):  # papermill silently skips a line it cannot parse
        raise PdlibError(f"{path.name}: papermill parsed {len(declared)} of {len(lines)} parameter lines; write "
                         f"each as `name: type = value  # comment` (no '=' inside the comment)")
    return declared


def _check_type(notebook: str, name: str, value: Any, type_name: str) -> None:
    base = type_name.split("[")[0].strip().lower()
    allowed = _TYPES.get(base)
    if allowed is None:
        return  # a type we do not check (e.g. Optional[...]): papermill passes it through
    ok = isinstance(value, allowed) and not (base in ("int", "float") and isinstance(value, bool))
    if not ok:
        raise PdlibError(f"{notebook}: parameter {name!r} must be {type_name}, got {value!r} "
                         f"({type(value).__name__}); fix it in params/*.yaml or on the command line")


def _at_least(n):
    return (lambda v: v >= n), f"must be ≥ {n}"


def _positive():
    return (lambda v: v > 0), "must be > 0"


def _one_of(*choices):
    return (lambda v: v in choices), f"must be one of {', '.join(choices)}"


# Allowed values, checked before any notebook runs (an invalid value would fail deep inside, or cache nonsense)
RULES: dict[str, tuple] = {
    **{k: _at_least(1) for k in ("k_train", "k_rerank", "delta", "n_pairs", "steps", "train_batch_size",
                                 "checkpoint_every", "iterations", "k_eval", "batch_size")},
    **{k: _at_least(2) for k in ("k_pairs", "n_passages", "table5_m", "n_passages_kd")},
    **{k: _at_least(8) for k in ("max_length", "max_length_point", "max_length_pair", "doc_maxlen", "query_maxlen")},
    **{k: _positive() for k in ("lr", "temperature")},
    **{k: _at_least(0) for k in ("lambda_kd", "lambda_pair", "weight_decay", "warmup", "nbits", "lambda_word")},
    "kd_samplings": ((lambda v: bool(v) and all(x in ("top", "stratified", "random") for x in v)),
                     "must be a list of top, stratified, random"),
    "selections": ((lambda v: bool(v) and all(x in ("window", "uncertain") for x in v)),
                   "must be a list of window, uncertain"),
    "budgets": ((lambda v: bool(v) and all(isinstance(x, int) and x >= 1 for x in v)),
                "must be a list of whole numbers ≥ 1"),
    "pair_orders": _one_of("one", "both"), "retriever": _one_of("dense", "colbert"),
    "student": _one_of("dpr", "colbert"), "faiss_index": _one_of("flat", "hnsw", "ivf"),
    "lambda_pair_grid": ((lambda v: all(isinstance(x, (int, float)) and x >= 0 for x in v)),
                         "must be a list of numbers ≥ 0"),
}


def check_ranges(notebook: str, params: dict[str, Any]) -> None:
    """One PdlibError naming the parameter, its allowed range and the notebooks that use it."""
    for name, value in params.items():
        rule = RULES.get(name)
        if rule is not None and not rule[0](value):
            users = [nb for nb in NOTEBOOKS if name in declared_parameters(nb)]
            raise PdlibError(f"parameter {name} = {value!r} {rule[1]} (used by {', '.join(users)}); fix it in "
                             f"params/*.yaml or on the command line")


# (notebook, parameter) ≤ (notebook, parameter): what a later notebook takes from an earlier one's output
ACROSS = [(("02_pointwise", "k_rerank"), ("01_retrieve", "k_train"), "02 reranks 01's top-k_train"),
          (("03_pairwise", "k_pairs"), ("02_pointwise", "k_rerank"), "03 pairs 02's reranked top-k_rerank"),
          (("03_pairwise", "table5_m"), ("02_pointwise", "k_rerank"), "Table 5 pairs 02's dev top-k_rerank"),
          (("04_distill", "n_passages"), ("02_pointwise", "k_rerank"), "04's lists come from 02's top-k_rerank"),
          (("06_domain_adapt", "n_passages"), ("06_domain_adapt", "k_train"), "06's lists come from its top-k_train"),
          (("07_beyond", "n_passages_kd"), ("02_pointwise", "k_rerank"), "07's lists come from 02's top-k_rerank")]


def check_across(profile: str, overrides: dict[str, Any] | None = None, chosen: list[str] | None = None) -> None:
    """The limits between notebooks (ACROSS) for the notebooks about to run (`chosen`, default all): a notebook's
    value against what the notebook it reads from uses in this profile with these overrides; one PdlibError."""
    every = {nb: effective(nb, profile, overrides) for nb in NOTEBOOKS}
    for (nb_a, a), (nb_b, b), why in ACROSS:
        if nb_a in (chosen or NOTEBOOKS) and every[nb_a][a] > every[nb_b][b]:
            raise PdlibError(f"parameter {a} = {every[nb_a][a]} must be ≤ {b} = {every[nb_b][b]} ({why}); fix it in "
                             f"params/{profile}.yaml or on the command line")


def resolve(notebook: str, profile: str = "smoke", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Parameters papermill should inject into `notebook` for `profile`, validated.

    Raises PdlibError for a key the notebook's section names but the notebook does not declare, for a
    `common` key no notebook declares, and for a value of the wrong type. `overrides` (the command line's
    -p) apply to the notebooks that declare them; `check_overrides` rejects one that no notebook run declares.
    """
    notebook = match_notebook(notebook)
    prof = load_profile(profile)
    declared = declared_parameters(notebook)
    if "profile" not in declared:
        raise PdlibError(f"{notebook}: its parameters cell must declare `profile: str`")
    common = prof["common"]
    orphan = [k for k in common if not any(k in declared_parameters(nb) for nb in NOTEBOOKS)]
    if orphan:
        raise PdlibError(f"params/{profile}.yaml: common key(s) {orphan} are declared by no notebook")
    params = {k: v for k, v in common.items() if k in declared}
    unknown = sorted(set(prof[notebook]) - set(declared))
    if unknown:
        raise PdlibError(f"params/{profile}.yaml [{notebook}]: unknown parameter(s) {unknown} for {notebook}; "
                         f"it declares {sorted(declared)}")
    params.update(prof[notebook])
    params.update({k: v for k, v in (overrides or {}).items() if k in declared})
    params["profile"] = profile
    for name, value in params.items():
        _check_type(notebook, name, value, declared[name]["inferred_type_name"])
    check_ranges(notebook, params)
    return params


def effective(notebook: str, profile: str = "smoke", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter's value in a run of `notebook`: its declared defaults updated with `resolve`'s values."""
    import ast

    values = {k: ast.literal_eval(v["default"]) for k, v in declared_parameters(notebook).items()}
    return {**values, **resolve(notebook, profile, overrides)}


def check_overrides(notebooks: list[str], overrides: dict[str, Any]) -> None:
    """Every override must be declared by at least one of the notebooks to run (-p k_trian=3 is a typo)."""
    declared = {nb: set(declared_parameters(nb)) for nb in notebooks}
    unknown = sorted(k for k in overrides if not any(k in d for d in declared.values()))
    if unknown:
        every = sorted(set().union(*declared.values()))
        raise PdlibError(f"unknown parameter(s) {unknown} for {', '.join(notebooks)}; they declare {every}")


def param_hash(params: dict[str, Any], keys: list[str] | None = None, length: int = 12) -> str:
    """Stable hash of the parameters that affect a result (all of them unless `keys` is given)."""
    chosen = {k: params[k] for k in sorted(keys)} if keys is not None else dict(sorted(params.items()))
    blob = json.dumps(chosen, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every notebook calls this after its parameters cell)."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

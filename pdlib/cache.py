"""One keyed cache for every expensive artifact; a stage's key is derived, never typed (STYLE 13).

A *stage* is a function decorated with `@stage(...)`. Calling it derives the key from what determines the
result — the function's qualified name and version, the canonical ids of its model and dataset
(`models.canonical`, `data.canonical_id`), its other arguments, and the keys of the artifacts it consumes —
the way HF `datasets` fingerprints a transform from the previous fingerprint. On a hit the artifact is
returned without running anything; on a miss the function runs and its result is written atomically. So two
call sites cannot key the same work differently, and no notebook builds a key.

    @stage("pointwise", "pointwise.parquet", model="teacher", dataset="dataset", ignore=("batch_size",))
    def pointwise_scores(teacher, dataset, run: Artifact, k, max_length, batch_size=64) -> pd.DataFrame: ...

Artifacts live at data/<stage>/<model>__<dataset>__<digest>/<name>; every path inside the cache is relative
to its root, so a moved or copied cache keeps its keys.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import re
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from . import PdlibError, data, models, paths
from .atomic import atomic_path, folder_lock, read_frame, read_json, write_frame, write_json  # noqa: F401 (re-exported)


def _slug(text: str, limit: int = 80) -> str:
    return (re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "none")[-limit:]


def _short(model: str) -> str:
    """A checkpoint made in the cache (`train/<…>__<digest>/model`) is named in folders by its job's digest."""
    parts = model.split("/")
    return f"{parts[0]}-{parts[1].rsplit('__', 1)[-1]}" if len(parts) == 3 and "__" in parts[1] else model


@dataclasses.dataclass(frozen=True)
class Key:
    stage: str
    model: str    # canonical model id ("-" when the stage has none)
    dataset: str  # canonical dataset id ("-" when the stage has none)
    digest: str   # fingerprint of everything that determines the artifact

    @property
    def relpath(self) -> Path:
        named = [_slug(x) for x in (_short(self.model), self.dataset) if x != "-"]  # a stage without a model
        return Path(_slug(self.stage)) / "__".join([*named, self.digest])

    @property
    def folder(self) -> Path:
        return paths.data_dir() / self.relpath


@dataclasses.dataclass(frozen=True)
class Artifact:
    """What a stage made: its key, the file or folder name inside the key's folder, and the arguments that
    made it (readable; upstream artifacts nested with theirs)."""
    key: Key
    name: str
    params: dict = dataclasses.field(default_factory=dict, compare=False)

    @property
    def path(self) -> Path:
        return self.key.folder / self.name

    def frame(self) -> pd.DataFrame:
        return read_frame(self.path)

    def json(self) -> Any:
        return read_json(self.path)


def fingerprint(value: Any, readable: bool = False) -> Any:
    """A JSON-able stand-in of an argument: an Artifact by its key (readable: with its own parameters), a
    dataclass by its fields, a path inside the cache relative to the cache root."""
    if isinstance(value, pd.DataFrame):
        raise TypeError("a stage cannot fingerprint a DataFrame argument: pass the id that determines it and "
                        "list the table in the stage's `ignore`")
    if isinstance(value, Artifact):
        ident = f"{value.key.relpath.as_posix()}/{value.name}"
        return {"artifact": ident, **value.params} if readable else ident
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: fingerprint(getattr(value, f.name), readable) for f in dataclasses.fields(value)
                if not (f.metadata.get("added") and getattr(value, f.name) == f.default)}
    if isinstance(value, Path):
        return paths.to_cache(value)
    if isinstance(value, dict):
        return {str(k): fingerprint(v, readable) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [fingerprint(v, readable) for v in value]
    return value


def added_field(default: Any) -> Any:
    """A dataclass field added after keys were made with its class: fingerprints leave it out while it holds
    its default, so every existing key (and the artifact under it) stays valid; any other value is keyed."""
    return dataclasses.field(default=default, metadata={"added": True})


def _canonical_in(fp: dict, dotted: str | None, value: str) -> None:
    """Put the canonical id where the fingerprint holds the argument `dotted` (e.g. cfg.init), so that a name
    and its canonical id, or a checkpoint and its copy in a moved cache, make one key."""
    if not dotted:
        return
    *path, last = dotted.split(".")
    for part in path:
        fp = fp.get(part) if isinstance(fp, dict) else None
    if isinstance(fp, dict) and last in fp:
        fp[last] = value


def derive(stage_name: str, function: str, model: str | None, dataset: str | None, params: dict,
           version: int = 1, model_arg: str | None = None, dataset_arg: str | None = None) -> Key:
    """The key of a stage: canonical model and dataset ids, the function, its version and arguments
    (`model_arg` / `dataset_arg`: where the ids sit among the arguments, replaced there by the canonical ids)."""
    model_c = models.canonical(model) if model else "-"
    dataset_c = data.canonical_id(dataset) if dataset else "-"
    fp = fingerprint(params)
    _canonical_in(fp, model_arg, model_c)
    _canonical_in(fp, dataset_arg, dataset_c)
    blob = {"stage": stage_name, "function": function, "version": version, "model": model_c, "dataset": dataset_c,
            "params": fp}
    tag = data.content_tag(dataset_c)  # "" for "-" and every set not placed with use_local_beir
    if tag:  # a BEIR set placed from local files: keyed by their content too (a corrected copy replaces it)
        blob["dataset_content"] = tag
    digest = hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return Key(stage_name, model_c, dataset_c, digest)


def _get(arguments: dict, dotted: str | None):
    if not dotted:
        return None
    name, *attrs = dotted.split(".")
    value = arguments[name]
    for a in attrs:  # attributes of objects, keys of an Artifact's params
        value = value[a] if isinstance(value, dict) else getattr(value, a)
    return None if value is None else str(value)


def stage(name: str, artifact: str, *, model: str | None = None, dataset: str | None = None,
          ignore: tuple[str, ...] = (), version: int = 1, added: dict[str, Any] | None = None) -> Callable:
    """Make a function a cached stage (see the module docstring).

    model / dataset: the argument holding the model / dataset id, dotted for an attribute or an upstream
    artifact's parameter (e.g. "cfg.init", "pointwise.params.dataset").
    ignore: arguments that do not change the result (batch sizes, progress bars, tables a dataset id
    determines). added: arguments added after keys were made, with their defaults: left out of the key while
    they hold them (as `added_field` for dataclasses), so every existing key stays valid. A parameter called
    `workdir` receives the key's folder (for resumable jobs). The function
    returns a DataFrame (written as parquet), a dict or list (JSON), or None after writing `artifact` itself
    into `workdir`. Returns an `Artifact`; `.frame()` reads it.
    """
    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        skip = {"workdir", *ignore}

        @functools.wraps(fn)
        def wrapper(*args, **kwargs) -> Artifact:
            bound = sig.bind_partial(*args, **kwargs)  # `workdir` is ours to fill
            bound.apply_defaults()
            params = {k: v for k, v in bound.arguments.items()
                      if k not in skip and not (added and k in added and v == added[k])}
            key = derive(name, fn.__qualname__, _get(bound.arguments, model), _get(bound.arguments, dataset),
                         params, version, model, dataset)
            art = Artifact(key, artifact, fingerprint(params, readable=True))
            if art.path.exists():
                return art
            with folder_lock(key.folder):  # a concurrent run computing the same entry: wait, then reuse it
                if art.path.exists():
                    return art
                if "workdir" in sig.parameters:
                    bound.arguments["workdir"] = key.folder
                result = fn(*bound.args, **bound.kwargs)
                if isinstance(result, pd.DataFrame):
                    write_frame(art.path, result)
                elif isinstance(result, (dict, list)):
                    write_json(art.path, result)
                elif not art.path.exists():
                    raise RuntimeError(f"stage {name}: {fn.__qualname__} returned {type(result).__name__} and wrote "
                                       f"no {artifact}")
                write_json(key.folder / f"{artifact}.meta.json", {"key": dataclasses.asdict(key), "function":
                                                                   f"{fn.__module__}.{fn.__qualname__}", "params": art.params})
            return art

        wrapper.stage_name = name
        return wrapper
    return decorate


# --- hand-over: what a notebook made, for the notebooks after it ------------------------------------------
def _stage_file(profile: str, name: str) -> Path:
    return paths.data_dir() / "stages" / profile / f"{name}.json"


def _record(a: Artifact) -> dict:
    return {"key": dataclasses.asdict(a.key), "name": a.name, "params": a.params}


def publish(profile: str, name: str, artifact: Artifact | list[Artifact]) -> None:
    """Record that `name` of `profile` is `artifact` (or a list of them), for the notebooks that follow."""
    records = [_record(a) for a in artifact] if isinstance(artifact, list) else _record(artifact)
    write_json(_stage_file(profile, name), records)


def lookup(profile: str, name: str, made_by: str) -> Artifact | list[Artifact]:
    """What an earlier notebook published under `name`; a clear error if it has not run yet."""
    stage_file = _stage_file(profile, name)
    if not stage_file.exists():
        raise PdlibError(f"no {name!r} for profile {profile!r} yet: run {made_by} first "
                         f"(./run_all.sh --profile {profile} --only {made_by[:2]})")
    rec = read_json(stage_file)
    arts = [Artifact(Key(**r["key"]), r["name"], r["params"]) for r in (rec if isinstance(rec, list) else [rec])]
    for a in arts:
        if not a.path.exists():
            raise PdlibError(f"{a.key.relpath / a.name} is gone from the cache (cleared?): run {made_by} again")
    return arts if isinstance(rec, list) else arts[0]

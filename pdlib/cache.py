"""One keyed cache for every expensive artifact.

key = stage x model x dataset x hash of the parameters that affect the result. A changed parameter gives
a new key (a miss); an unchanged one finds the artifact again (a hit). Writes are atomic: content goes to a
temporary sibling that is renamed into place only when complete, so a crash never leaves half an
artifact where a later run would take it for a finished one.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from . import paths
from .config import param_hash


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "none"


@dataclass(frozen=True)
class Key:
    stage: str
    model: str
    dataset: str
    params: str  # hash of the parameters that affect the result

    @property
    def relpath(self) -> Path:
        return Path(_slug(self.stage)) / f"{_slug(self.model)}__{_slug(self.dataset)}__{self.params}"


def key(stage: str, model: str, dataset: str, params: dict[str, Any] | None = None) -> Key:
    """Build a cache key. `params` holds only what changes the artifact (not batch sizes or paths). A tiny
    stand-in's recipe version is part of the hash, so rebuilt stand-ins never meet stale scores."""
    params = dict(params or {})
    if model.startswith("tiny/"):
        from .models import TINY_VERSION

        params["_tiny_version"] = TINY_VERSION
    return Key(stage, model, dataset, param_hash(params))


def path(k: Key, name: str = "", root: Path | None = None) -> Path:
    """Where the artifact `name` of key `k` lives (the key's folder when name is empty)."""
    base = (root or paths.data_dir()) / k.relpath
    return base / name if name else base


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` (file or folder); rename it onto `target` on success only."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    inner = tmp / target.name
    try:
        yield inner
        if not inner.exists():
            raise RuntimeError(f"nothing was written to {inner}")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(inner, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(target: Path, obj: Any) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    return target


def read_json(target: Path) -> Any:
    return json.loads(Path(target).read_text())


def write_frame(target: Path, frame: pd.DataFrame) -> Path:
    """Parquet, atomically (the typed tables handed between notebooks)."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    return target


def read_frame(target: Path) -> pd.DataFrame:
    return pd.read_parquet(target)


def cached_frame(k: Key, name: str, compute: Callable[[], pd.DataFrame], root: Path | None = None,
                 meta: dict[str, Any] | None = None) -> pd.DataFrame:
    """Return the cached table `name` of key `k`, computing and storing it on a miss.

    `meta` (the full parameters, model and dataset ids) is stored beside the artifact for provenance.
    """
    target = path(k, name, root)
    if target.exists():
        return read_frame(target)
    frame = compute()
    write_frame(target, frame)
    write_json(target.with_suffix(".meta.json"), {"key": k.__dict__, **(meta or {})})
    return frame


# --- stage hand-over: what a notebook made, for the notebooks after it --------------------------------
def _stage_file(profile: str, name: str, root: Path | None = None) -> Path:
    return (root or paths.data_dir()) / "stages" / profile / f"{name}.json"


def publish(profile: str, name: str, target: Path, k: Key, root: Path | None = None) -> None:
    """Record that artifact `name` of `profile` is `target` (made under key `k`)."""
    base = root or paths.data_dir()
    write_json(_stage_file(profile, name, root), {"path": str(Path(target).relative_to(base)), "key": k.__dict__})


def lookup(profile: str, name: str, made_by: str, root: Path | None = None) -> tuple[Path, Key]:
    """(path, key) of an artifact an earlier notebook published; a clear error if it has not run yet."""
    from . import PdlibError

    stage = _stage_file(profile, name, root)
    if not stage.exists():
        raise PdlibError(f"no {name!r} for profile {profile!r} yet: run {made_by} first "
                         f"(./run_all.sh --profile {profile} --only {made_by[:2]})")
    rec = read_json(stage)
    target = (root or paths.data_dir()) / rec["path"]
    if not target.exists():
        raise PdlibError(f"{target} is gone (cache cleared?): run {made_by} again")
    return target, Key(**rec["key"])

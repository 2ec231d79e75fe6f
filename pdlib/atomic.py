"""Atomic writes: content goes to a temporary sibling that is renamed into place only when complete, so a
crash never leaves half an artifact where a later run would take it for a finished one. `folder_lock`: one
process at a time builds a given folder, so two runs on one cache never build it twice or read it half-made."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pandas as pd


def folder_lock(folder: Path):
    """An inter-process lock for something built once (a cache entry, a stand-in model, a converted dataset):
    `<folder>.lock` beside it, from filelock. Check for the finished thing again inside the lock."""
    from filelock import FileLock

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder) + ".lock")


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


def write_text(target: Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def write_json(target: Path, obj: Any) -> Path:
    return write_text(target, json.dumps(obj, indent=1, sort_keys=True, default=str))


def read_json(target: Path) -> Any:
    return json.loads(Path(target).read_text())


def write_frame(target: Path, frame: pd.DataFrame) -> Path:
    """Parquet, atomically (the typed tables handed between notebooks)."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(target)


def read_frame(target: Path) -> pd.DataFrame:
    return pd.read_parquet(target)

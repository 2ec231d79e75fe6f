"""The smoke teachers' weights, trained once and shipped with pdlib (issue 13: "longer teacher builds, cached once").

The paper's teachers are checkpoints someone trained once (MiniLM cross-encoder, monoT5/duoT5, flan-t5) that every
run downloads. The smoke world's stand-ins play that part: their recipe (`teacher_training`) takes about 12 minutes
on 2 cores (since TINY_VERSION 13 the 4-layer T5 about 45 minutes on one core), and its result depends on the torch
thread count, so a first run on another machine rebuilt other teachers (other tables). Both were the cost of training
them per machine. So the trained stand-ins of the current recipe (`TINY_VERSION`) live in `pdlib/smoke/weights/`
(about 1.6 MB of safetensors and tokenizer files) with a
manifest of their sha256 sums and how they were built; `tiny.build_tiny` copies them into `models/` after checking
every sum, and trains only where no shipped copy of this version exists, or when `PDLIB_TRAIN_TEACHERS=1` asks for
the recipe itself (`benchmarks/teacher_seeds.py` trains other seeds from it).

    python -m pdlib.smoke.tiny --ship     # train both teachers from the recipe (seed 0, 2 threads) and ship them
    python -m pdlib.smoke.tiny --ship --threads 1   # ... on 1 thread (how the shipped T5 of v13 was trained)
    python -m pdlib.smoke.tiny --check    # verify the shipped copies against the manifest
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .. import PdlibError
from ..atomic import atomic_path, write_json
from .specs import TINY_VERSION

WEIGHTS = Path(__file__).resolve().parent / "weights"
TEACHERS = ("cross-encoder", "t5-teacher")  # the stand-ins trained on the synthetic labels
THREADS = 2  # torch threads of a --ship build (the result depends on them; the manifest records each teacher's)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(root: Path | None = None) -> dict:
    path = (root or WEIGHTS) / "MANIFEST.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _entry(name: str, root: Path | None) -> dict | None:
    """The manifest's entry of teacher `name` for this TINY_VERSION, or None (none shipped, or asked to train)."""
    if name not in TEACHERS or os.environ.get("PDLIB_TRAIN_TEACHERS", "") not in ("", "0"):
        return None
    entry = manifest(root).get("teachers", {}).get(name)
    return entry if entry and entry.get("version") == TINY_VERSION else None


def available(name: str, root: Path | None = None) -> Path | None:
    """The shipped folder of teacher `name` for this TINY_VERSION, or None (none shipped, or asked to train)."""
    entry = _entry(name, root)
    return (root or WEIGHTS) / entry["folder"] if entry else None


def verify(name: str, root: Path | None = None) -> Path:
    """Check every file of the shipped teacher `name` against the manifest; its folder, or one clear error."""
    entry = _entry(name, root)
    if entry is None:
        raise PdlibError(f"no shipped weights of tiny/{name} v{TINY_VERSION}")
    folder, files = (root or WEIGHTS) / entry["folder"], entry["files"]
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    bad = [f for f in files if f not in present or _sha256(folder / f) != files[f]]
    if bad or present != sorted(files):
        raise PdlibError(f"the shipped weights of tiny/{name} in {folder} do not match their manifest "
                         f"({', '.join(bad) or 'other files'}): restore them with `git checkout -- {folder}`, or "
                         f"train them from the recipe with PDLIB_TRAIN_TEACHERS=1")
    return folder


def install(name: str, target: Path, root: Path | None = None) -> None:
    """Copy the verified shipped teacher `name` to `target` (a fresh path, as tiny._build's)."""
    shutil.copytree(verify(name, root), target)


def record(built: dict[str, Path], threads: int | dict[str, int], root: Path | None = None) -> dict:
    """Ship the teachers `built` ({name: its trained folder}, this TINY_VERSION) under `root`: copy them, drop
    earlier versions' copies and write the manifest (sha256 of every file, how they were built: `threads`, one
    count for all or {name: count}, is written to each teacher's entry)."""
    import torch

    root = root or WEIGHTS
    out = {"version": TINY_VERSION, "torch": torch.__version__, "seed": 0, "teachers": {}}
    for name, built_folder in built.items():
        folder = f"tiny-{name}-v{TINY_VERSION}"
        with atomic_path(root / folder) as tmp:
            shutil.copytree(built_folder, tmp)
        files = {p.name: _sha256(p) for p in sorted((root / folder).iterdir())}
        out["teachers"][name] = {"version": TINY_VERSION, "folder": folder, "files": files,
                                 "threads": threads[name] if isinstance(threads, dict) else threads}
    for old in root.glob("tiny-*"):  # earlier versions' copies
        if old.name not in {e["folder"] for e in out["teachers"].values()}:
            shutil.rmtree(old)
    write_json(root / "MANIFEST.json", out)
    return out

"""Where things live: the repository root, the artifact cache (data/), figures/, params/, ../shared/data.

Every location can be moved with an environment variable, so tests and CI can point the cache at a
temporary folder without touching the user's data/.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("PDLIB_ROOT", Path(__file__).resolve().parents[1]))


def data_dir() -> Path:
    """Artifact cache: runs, teacher scores, checkpoints, indexes, ir_datasets files (git-ignored)."""
    return Path(os.environ.get("PDLIB_DATA", ROOT / "data"))


def models_dir() -> Path:
    """Model folders kept apart from the artifact cache, so that clearing data/ keeps them: the smoke profile's
    tiny stand-ins, built once per machine (their teachers train for minutes; pdlib.smoke.tiny). Git-ignored;
    PDLIB_MODELS moves it."""
    return Path(os.environ.get("PDLIB_MODELS", ROOT / "models"))


def figures_dir() -> Path:
    return Path(os.environ.get("PDLIB_FIGURES", ROOT / "figures"))


def params_dir() -> Path:
    return ROOT / "params"


def notebooks_dir() -> Path:
    return ROOT / "notebooks"


def shared_data_dir() -> Path:
    """Pre-placed public data beside the repository (../shared/data), used offline by tests and CI."""
    return Path(os.environ.get("PDLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def ir_datasets_home() -> Path:
    """ir_datasets' own cache. Kept inside data/ unless the user already set IR_DATASETS_HOME."""
    return Path(os.environ.get("IR_DATASETS_HOME", data_dir() / "ir_datasets"))


def to_cache(path: Path | str) -> str:
    """How the cache records a path: relative to the cache root when inside it (a moved or copied cache keeps
    its keys and jobs), else absolute. `from_cache` undoes it."""
    p = Path(path).resolve()
    try:
        return p.relative_to(data_dir().resolve()).as_posix()
    except ValueError:
        return str(p)


def from_cache(recorded: str) -> Path:
    """A path recorded by `to_cache`, as a path on this machine."""
    return Path(recorded) if Path(recorded).is_absolute() else data_dir() / recorded


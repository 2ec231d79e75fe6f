"""Saving figures and tables under figures/<profile>/, named after the paper item (Used in 01-06)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import paths
from .cache import atomic_path


def out_dir(profile: str) -> Path:
    folder = paths.figures_dir() / profile
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_figure(fig, profile: str, name: str) -> list[Path]:
    """Write `name`.png and `name`.pdf; return their paths."""
    written = []
    for ext in ("png", "pdf"):
        target = out_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight")
        written.append(target)
    return written


def save_table(frame: pd.DataFrame, profile: str, name: str, caption: str = "") -> list[Path]:
    """Write `name`.csv, .md and .tex; return their paths."""
    written = []
    for ext, render in (("csv", lambda f: f.to_csv(index=False)),
                        ("md", lambda f: (f"{caption}\n\n" if caption else "") + f.to_markdown(index=False) + "\n"),
                        ("tex", lambda f: f.to_latex(index=False, float_format="%.3f", caption=caption or None))):
        target = out_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            tmp.write_text(render(frame))
        written.append(target)
    return written

"""Notebooks that stay clean in git when JupyterLab opens and saves them (issue 15).

JupyterLab marks a notebook changed when it opens it, and its save rewrites the kernelspec's display name
("Python 3 (ipykernel)") and a machine-specific `language_info` (the Python version). Two guards:

* `pre_save_hook`: the Jupyter server gives every saved notebook the committed kernel metadata, so opening and
  saving writes the committed bytes. scripts/setup.sh installs it into the venv's Jupyter config
  (`.venv/etc/jupyter/jupyter_server_config.py`); outputs are kept for the reader.
* `clean`: the git clean filter (.gitattributes; scripts/setup.sh runs `git config filter.pdlib-nbclean.clean`)
  also drops outputs and per-run cell metadata, so a notebook that was run and saved shows no diff and is
  committed stripped.

    python -m pdlib.nbclean < notebook.ipynb > cleaned.ipynb
"""
from __future__ import annotations

import sys

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
CELL_NOISE = ("execution", "collapsed", "scrolled", "jupyter", "ExecuteTime", "papermill")  # per-run cell metadata


def clean(text: str) -> str:
    """A notebook's JSON text -> the committed form (outputs and run metadata gone, fixed kernel metadata)."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    nb.metadata = nbformat.from_dict({**{k: v for k, v in nb.metadata.items() if k not in ("widgets", "papermill")},
                                      "kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO})
    for cell in nb.cells:
        for key in CELL_NOISE:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb) + "\n"


def pre_save_hook(model: dict, **kwargs) -> None:
    """Jupyter server's pre-save hook (jupyter_server ContentsManager.pre_save_hook): a notebook is saved with the
    committed kernel metadata; everything else, outputs included, as the reader left it."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        meta = model["content"].setdefault("metadata", {})
        meta["kernelspec"], meta["language_info"] = dict(KERNELSPEC), dict(LANGUAGE_INFO)


def main() -> int:
    sys.stdout.write(clean(sys.stdin.read()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

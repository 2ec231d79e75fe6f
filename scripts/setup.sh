#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install pdlib with pinned versions.
# Idempotent: a second call with nothing changed returns in about a second.
#   PDLIB_VENV         where the venv lives (default: .venv in the repo)
#   TORCH_INDEX_URL    optional wheel index for torch (e.g. https://download.pytorch.org/whl/cpu on a
#                      CPU-only Linux box, so that pip does not fetch the multi-GB CUDA build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PDLIB_VENV:-$root/.venv}"
py="${PYTHON:-python3}"
stamp="$venv/.pdlib-installed"
want="$(cat "$root/pyproject.toml" "$root/requirements/constraints.txt" | sha256sum | cut -c1-16)"

# Notebooks stay clean in git (pdlib/nbclean.py): a clean filter for commits, a Jupyter pre-save hook for Lab.
configure_notebooks() {
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" config filter.pdlib-nbclean.clean "\"$venv/bin/python\" -m pdlib.nbclean"
  fi
  if [ ! -f "$venv/etc/jupyter/jupyter_server_config.py" ]; then
    mkdir -p "$venv/etc/jupyter"
    printf '%s\n' "# written by scripts/setup.sh: JupyterLab saves notebooks with the committed kernel metadata" \
      "from pdlib.nbclean import pre_save_hook" "c.FileContentsManager.pre_save_hook = pre_save_hook" \
      > "$venv/etc/jupyter/jupyter_server_config.py"
  fi
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  configure_notebooks
  exit 0
fi
echo "[setup] preparing $venv (first run takes a few minutes)" >&2
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
# torch first, alone: every later install is constrained to this exact version, so nothing can swap it
# for another build (a CUDA wheel on a CPU machine, or a newer release).
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null; then
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "${pip[@]}" install torch==2.13.0 --index-url "$TORCH_INDEX_URL"
  else
    "${pip[@]}" install torch==2.13.0
  fi
fi
"${pip[@]}" install -c "$root/requirements/constraints.txt" -e "$root[dev]"
"$venv/bin/python" -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
configure_notebooks
echo "$want" > "$stamp"
echo "[setup] done: $("$venv/bin/python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')" >&2

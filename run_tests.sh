#!/usr/bin/env bash
# Set up .venv on first use, then run the test suite offline (what CI runs). Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PDLIB_VENV:-$root/.venv}"
"$root/scripts/setup.sh"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd "$root"
exec "$venv/bin/python" -m pytest "$@"

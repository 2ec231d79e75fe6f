#!/usr/bin/env bash
# Regenerate the companion's tables and figures: sets up .venv on first use, then runs notebooks 01-06
# with papermill for a profile (default: smoke, offline, a few minutes on a laptop CPU).
#   ./run_all.sh                      # smoke profile, all notebooks
#   ./run_all.sh --profile small      # real small data/models (network once)
#   ./run_all.sh --only 03            # one notebook (or --only 01,02)
#   ./run_all.sh -p k_train=20        # override a parameter
#   ./run_all.sh --help
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${PDLIB_VENV:-$root/.venv}"
case " $* " in
  *" --profile smoke "*|*" --profile=smoke "*) export HF_HUB_OFFLINE=1 ;;
  *" --profile "*|*" --profile="*) ;;
  *) export HF_HUB_OFFLINE=1 ;;  # smoke is the default and needs no network
esac
"$root/scripts/setup.sh"
exec "$venv/bin/python" -m pdlib.runner "$@"

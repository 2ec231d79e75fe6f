"""Run the notebooks with papermill for a profile (what run_all.sh calls).

    python -m pdlib.runner --profile smoke [--only 01,03] [-p k_train=20]

Parameters come from params/<profile>.yaml, checked by pdlib.config.resolve (unknown keys and wrong types
are errors). Executed copies are written to data/executed/<profile>/.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from . import PdlibError, config, paths


def execute(notebook: str, profile: str = "smoke", overrides: dict | None = None,
            output_dir: Path | None = None, progress: bool = True) -> Path:
    """Execute one notebook under papermill with validated parameters; return the executed copy's path."""
    import os

    import papermill

    name = config.match_notebook(notebook)
    params = config.resolve(name, profile, overrides)
    os.environ["PDLIB_NOTEBOOK"] = name  # the kernel inherits these: provenance of what it writes
    os.environ["PDLIB_PARAM_HASH"] = config.param_hash(params)
    out_dir = output_dir or paths.data_dir() / "executed" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.ipynb"
    papermill.execute_notebook(str(config.notebook_path(name)), str(out), parameters=params,
                               cwd=str(paths.notebooks_dir()), kernel_name="python3", progress_bar=progress,
                               log_output=False)
    return out


def failure_line(notebook: str, profile: str, err) -> str:
    """One line for a notebook that failed under papermill: the notebook, the cell, the error's own message (a
    PdlibError says what to do; any other error keeps its last line), and where the full trace is."""
    executed = paths.data_dir() / "executed" / profile / f"{notebook}.ipynb"
    message = " ".join(str(err.evalue).split()) or err.ename
    what = message if err.ename == "PdlibError" else f"{err.ename}: {message}"
    return f"run_all: {notebook} failed in cell [{err.exec_count}]: {what} (full trace: {executed})"


def _parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise PdlibError(f"-p expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="run_all.sh", description="Regenerate the PairDistill companion's "
                                 "tables and figures by running notebooks 01-07 with papermill.")
    ap.add_argument("--profile", default="smoke", choices=config.PROFILES,
                    help="parameter profile (params/<profile>.yaml); smoke runs offline in minutes")
    ap.add_argument("--only", default="", help="comma-separated notebooks to run, e.g. 03 or 01,02")
    ap.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                    help="override one parameter for the selected notebooks (YAML value)")
    ap.add_argument("--plan", action="store_true", help="print the work of each notebook and its estimated time "
                    "on this CPU and on one H100, run nothing (pdlib.plan)")
    ap.add_argument("--probe", action="store_true", help="with --plan: measure this machine's throughput first "
                    "(about 20 s) instead of using the committed figures")
    args = ap.parse_args(argv)
    try:
        chosen = [config.match_notebook(s) for s in args.only.split(",") if s.strip()] or list(config.NOTEBOOKS)
        overrides = _parse_overrides(args.param)
        config.check_overrides(chosen, overrides)
        for name in chosen:  # validate everything before running anything
            config.resolve(name, args.profile, overrides)
        config.check_across(args.profile, overrides, chosen)
        if args.plan:
            from . import plan

            print(plan.report(args.profile, overrides, chosen, plan.probe() if args.probe else None))
            return 0
        for name in chosen:
            t0 = time.perf_counter()
            print(f"[run_all] {name} (profile {args.profile})", flush=True)
            try:
                out = execute(name, args.profile, overrides)
            except Exception as err:
                if type(err).__name__ != "PapermillExecutionError":
                    raise
                print(failure_line(name, args.profile, err), file=sys.stderr)
                return 2 if err.ename in ("PdlibError", "Interrupted") else 1
            print(f"[run_all] {name} done in {time.perf_counter() - t0:.0f}s -> {out}", flush=True)
    except PdlibError as err:
        print(f"run_all: error: {err}", file=sys.stderr)
        return 2
    from .figures import write_index

    print(f"[run_all] tables and figures: {paths.figures_dir()} (index: {write_index()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

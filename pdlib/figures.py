"""Saving figures and tables under figures/<profile>/, named after the paper item (Used in 01-07).

Every artifact is recorded in figures/<profile>/index.json with the notebook that made it and its
provenance (profile, git commit, dataset and model ids, parameter hash); tables carry the same provenance
as a footer (Markdown) or comment (LaTeX). `write_index()` turns the records into figures/README.md.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd

from . import paths
from .models import canonical as canonical_model
from .atomic import atomic_path

# which paper item each artifact regenerates (for figures/README.md)
PAPER_ITEMS = {
    "table1": "Table 1", "table2": "Table 2", "table3": "Table 3", "table4": "Table 4", "table5": "Table 5",
    "table6": "Table 6", "table7": "Table 7", "fig1": "Figure 1", "appendix_a2": "Appendix A.2",
}


def out_dir(profile: str) -> Path:
    folder = paths.figures_dir() / profile
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def git_commit() -> str:
    """Short commit of the repository (+ '-dirty' with uncommitted changes), or 'unknown'."""
    root = paths.ROOT
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(profile: str, datasets=(), models=()) -> dict:
    """What made an artifact. The notebook and parameter hash come from the runner (PDLIB_NOTEBOOK,
    PDLIB_PARAM_HASH); an interactive session says so."""
    def short(m):  # trained checkpoints by their place in the cache, so the footer reads the same anywhere
        return canonical_model(str(m.path if hasattr(m, "path") else m))
    return {"profile": profile, "commit": git_commit(), "datasets": sorted({str(d) for d in datasets}),
            "models": sorted({short(m) for m in models}),
            "notebook": os.environ.get("PDLIB_NOTEBOOK", "interactive"),
            "parameters": os.environ.get("PDLIB_PARAM_HASH", "interactive")}


def _stand_in_label(caption: str) -> str:
    """Prefix a caption with a warning when the models/ folder in use holds shape stand-ins (random weights)."""
    from .models import stand_ins_placed

    fakes = stand_ins_placed()
    if not fakes:
        return caption
    label = (f"MEANINGLESS NUMBERS: computed with shape stand-ins (random weights) of {', '.join(fakes)} in "
             f"{paths.models_dir().name}/.")
    print(label)
    return f"{label} {caption}".strip()


def _footer(prov: dict) -> str:
    return (f"profile {prov['profile']} · commit {prov['commit']} · notebook {prov['notebook']} · "
            f"parameters {prov['parameters']} · datasets: {', '.join(prov['datasets']) or '-'} · "
            f"models: {', '.join(prov['models']) or '-'}")


def _record(profile: str, files: list[Path], prov: dict, caption: str = "") -> None:
    index = out_dir(profile) / "index.json"
    entries = json.loads(index.read_text()) if index.exists() else {}
    for f in files:
        entries[f.name] = {**prov, "caption": caption}
    with atomic_path(index) as tmp:
        tmp.write_text(json.dumps(entries, indent=1, sort_keys=True))


def save_figure(fig, profile: str, name: str, datasets=(), models=(), caption: str = "") -> list[Path]:
    """Write `name`.png and `name`.pdf; return their paths."""
    written = []
    labelled = _stand_in_label(caption)
    if labelled != caption:  # random weights: the figure itself says so
        fig.text(0.5, 0.5, "shape stand-ins:\nmeaningless numbers", ha="center", va="center", fontsize=18,
                 color="red", alpha=0.35, rotation=20)
        caption = labelled
    for ext in ("png", "pdf"):
        target = out_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight")
        written.append(target)
    _record(profile, written, provenance(profile, datasets, models), caption)
    return written


def save_table(frame: pd.DataFrame, profile: str, name: str, caption: str = "", datasets=(), models=(),
               markdown_frame: pd.DataFrame | None = None) -> list[Path]:
    """Write `name`.csv, .md and .tex (the last two with a provenance footer); return their paths.
    `markdown_frame`: the same table with display marks (bold best, underlined second) for the .md file."""
    prov = provenance(profile, datasets, models)
    foot = _footer(prov)
    caption = _stand_in_label(caption)
    written = []
    for ext, render in (("csv", lambda f: f.to_csv(index=False)),
                        ("md", lambda f: (f"{caption}\n\n" if caption else "")
                         + (f if markdown_frame is None else markdown_frame).to_markdown(index=False)
                         + f"\n\n<sub>{foot}</sub>\n"),
                        ("tex", lambda f: f.to_latex(index=False, float_format="%.1f", caption=caption or None)
                         + f"% {foot}\n")):
        target = out_dir(profile) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            tmp.write_text(render(frame))
        written.append(target)
    _record(profile, written, prov, caption)
    return written


def write_index(root: Path | None = None) -> Path:
    """figures/README.md: every artifact of every profile, the paper item, the notebook that made it."""
    root = root or paths.figures_dir()
    lines = ["# Generated tables and figures", "",
             "Written by `./run_all.sh` (pdlib.figures.write_index); do not edit. Each table's Markdown/LaTeX "
             "file ends with its provenance: profile, git commit, notebook, parameter hash, dataset and model ids.", ""]
    for index in sorted(root.glob("*/index.json")):
        profile = index.parent.name
        entries = json.loads(index.read_text())
        lines += [f"## Profile `{profile}`", "", "| file | paper item | notebook | commit | caption |",
                  "|:--|:--|:--|:--|:--|"]
        for fname, e in sorted(entries.items(), key=lambda kv: (kv[1]["notebook"], kv[0])):
            if not (index.parent / fname).exists():
                continue
            item = next((v for k, v in PAPER_ITEMS.items() if fname.startswith(k)), "companion view")
            cap = e.get("caption", "").replace("|", "/")
            lines.append(f"| [{fname}]({profile}/{fname}) | {item} | {e['notebook']} | {e['commit']} | {cap} |")
        lines.append("")
    target = root / "README.md"
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(lines))
    return target


def shown(path: Path | str) -> str:
    """A path as a reader should see it: relative to the repository (or the cache, or the figures folder)."""
    p = Path(path).resolve()
    for base, label in ((paths.figures_dir(), "figures"), (paths.data_dir(), "data"), (paths.ROOT, "")):
        try:
            rel = p.relative_to(Path(base).resolve()).as_posix()
            return f"{label}/{rel}" if label else rel
        except ValueError:
            continue
    return p.name


def written_note(written: list[Path]):
    """The closing cell of every notebook: the tables and figures it wrote, as repository paths."""
    from IPython.display import Markdown

    return Markdown("**Written by this notebook:**\n" + "\n".join(f"- `{shown(p)}`" for p in written))


def fig1(ours_points: list[tuple[str, float, float]], x_label: str, y_label: str, profile: str):
    """Figure 1: the paper's systems (cited) in-domain vs out-of-domain, and ours beside them on axes of their
    own. Our panel spans at least 10 points per axis, so a fraction of a point does not fill the figure."""
    import matplotlib.pyplot as plt

    from . import paper

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for s in paper.TABLE1_SYSTEMS:
        x, y = paper.TABLE1["msmarco-dev-rr10"].get(s), paper.TABLE1["avg-BEIR-13"].get(s)
        if x is not None and y is not None:
            ax.scatter(x, y, color="tab:red" if s == "PairDistill" else "tab:gray", zorder=3)
            ax.annotate(s, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("in-domain: MS MARCO dev RR@10 (%)")
    ax.set_ylabel("out-of-domain: BEIR-13 nDCG@10 (%)")
    ax.set_title("the paper's systems (cited)")
    for label, x, y in ours_points:
        ax2.scatter(x, y, marker="*", s=160, color="tab:blue" if "initial" in label else "tab:red", zorder=4)
        ax2.annotate(label, (x, y), fontsize=8, xytext=(4, -10), textcoords="offset points")
    for values, setter in (([p[1] for p in ours_points], ax2.set_xlim), ([p[2] for p in ours_points], ax2.set_ylim)):
        if values:
            mid, half = (max(values) + min(values)) / 2, max(5.0, 0.65 * (max(values) - min(values)))
            setter(mid - half, mid + half)
    ax2.set_xlabel(x_label)
    ax2.set_ylabel(y_label)
    ax2.set_title(f"ours (profile {profile})")
    fig.tight_layout()
    return fig


def pairwise_heatmap(pair_table: pd.DataFrame, ranked: pd.DataFrame, qrels: pd.DataFrame, m: int):
    """03's teaching view: for the query with the most judged passages in its pointwise top-m, the matrix of
    P(row ≻ column) beside the pointwise scores; a dot marks a pair the pointwise teacher orders the other way."""
    import matplotlib.pyplot as plt
    import numpy as np

    judged_top = ranked[ranked["rank"] <= m].merge(qrels, on=["qid", "docno"])
    qid = judged_top.groupby("qid").relevance.sum().idxmax() if len(judged_top) else pair_table.qid.iloc[0]
    top = ranked[ranked.qid == qid].head(m)
    docs = top.docno.tolist()
    pos = {d: i for i, d in enumerate(docs)}
    P = np.full((len(docs), len(docs)), np.nan)
    for a, b, p in pair_table[pair_table.qid == qid][["docno_a", "docno_b", "prob"]].itertuples(index=False):
        P[pos[a], pos[b]] = p
    grades = qrels[qrels.qid == qid].set_index("docno").relevance.reindex(docs).fillna(0).astype(int)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4), gridspec_kw={"width_ratios": [3, 1]})
    im = ax1.imshow(P, vmin=0, vmax=1, cmap="RdBu_r")
    rows, cols = np.nonzero((P > 0.5) != (np.arange(len(docs))[:, None] < np.arange(len(docs))[None, :]))
    keep = rows != cols  # pointwise puts i above j iff i < j
    ax1.plot(cols[keep], rows[keep], "k.", markersize=5)
    labels = [f"{d} (g{g})" for d, g in zip(docs, grades)]
    ax1.set_xticks(range(len(docs)), labels, rotation=90, fontsize=7)
    ax1.set_yticks(range(len(docs)), labels, fontsize=7)
    ax1.set_title(f"P(row ≻ column), query {qid}")
    fig.colorbar(im, ax=ax1, fraction=0.046)
    ax2.barh(range(len(docs)), top.score, color="tab:green")
    ax2.invert_yaxis()
    ax2.set_yticks([])
    ax2.set_title("pointwise score")
    return fig



def kd_sampling_view(pointwise: pd.DataFrame, pair_table: pd.DataFrame, n_passages: int, samplings: list[str],
                     seed: int):
    """07_beyond: one query's pointwise scores in rank order, with the passages each kd_sampling puts in its list
    (those of its sampled pairs, the same for all, and the fill the sampling chose)."""
    import matplotlib.pyplot as plt

    from .pairs import training_examples

    qid = sorted(pair_table.qid.unique())[0]
    scores = pointwise[pointwise.qid == qid].sort_values("score", ascending=False).reset_index(drop=True)
    pairs = pair_table[pair_table.qid == qid]
    rank = {d: r + 1 for r, d in enumerate(scores.docno)}
    in_pairs = set(pairs.docno_a) | set(pairs.docno_b)
    fig, axes = plt.subplots(len(samplings), 1, figsize=(7, 1.6 * len(samplings) + 0.6), sharex=True, squeeze=False)
    for ax, how in zip(axes[:, 0], samplings):
        chosen = training_examples(scores, pairs, n_passages, how, seed).docnos[0]
        ax.plot(scores.index + 1, scores.score, color="0.75", lw=1)
        for group, color, label in ((in_pairs, "tab:orange", "in a sampled pair"),
                                    (set(chosen) - in_pairs, "tab:blue", "fill chosen by the sampling")):
            xs = sorted(rank[d] for d in group)
            ax.scatter(xs, scores.score.iloc[[x - 1 for x in xs]], s=14, color=color, label=label, zorder=3)
        ax.set_ylabel("s_point")
        ax.set_title(f"kd_sampling = {how}", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel(f"pointwise rank of query {qid}'s passages")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def budget_plot(frame: pd.DataFrame, measure: str = "nDCG@10"):
    """07_beyond: dev quality against the pairwise teacher's cost (share of the paper's 50 window pairs), one line
    per pair selection, each point labelled with its pairs per query."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for (select, group), marker in zip(frame.groupby("selection", sort=False), "os^D"):
        group = group.sort_values("cost (% of 50 window pairs)")
        ax.plot(group["cost (% of 50 window pairs)"], group[measure], marker=marker, label=select)
        for _, r in group.iterrows():
            ax.annotate(str(r["pairs per query"]), (r["cost (% of 50 window pairs)"], r[measure]), fontsize=7,
                        textcoords="offset points", xytext=(3, 3))
    ax.axvline(25, color="0.6", ls=":", lw=1, label="¼ of the paper's pairs")
    ax.set_xlabel("pairwise teacher cost (% of 50 window pairs a query)")
    ax.set_ylabel(f"{measure} (dev, %)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

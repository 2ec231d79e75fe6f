"""The notebooks under papermill in the smoke profile, and the committed notebooks' hygiene."""
import json
import re
import tempfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from pdlib import cache, config, paths, runner


@pytest.mark.parametrize("notebook", config.NOTEBOOKS)
def test_committed_notebooks_carry_no_outputs(notebook):
    nb = nbformat.read(config.notebook_path(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{notebook}: run nbstripout before committing"


@pytest.fixture(scope="module")
def smoke_run(session_data):
    assert runner.main(["--profile", "smoke"]) == 0
    return session_data


def test_smoke_profile_runs_end_to_end(smoke_run):
    for nb in config.NOTEBOOKS:
        executed = nbformat.read(smoke_run / "executed" / "smoke" / f"{nb}.ipynb", as_version=4)
        injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and "profile = \"smoke\"" in injected[0].source
    run = cache.lookup("smoke", "run_train", "01_retrieve").frame()
    assert list(run.columns) == ["qid", "docno", "score", "rank"]
    assert run.groupby("qid").size().eq(100).all() and run.qid.nunique() == 240
    point = cache.lookup("smoke", "pointwise_train", "02_pointwise").frame()
    assert len(point) == len(run) and list(point.columns) == ["qid", "docno", "score"]
    probs = cache.lookup("smoke", "pairs_train", "03_pairwise").frame()
    assert list(probs.columns) == ["qid", "docno_a", "docno_b", "prob_forward", "prob_reverse", "prob"]
    assert probs.groupby("qid").size().eq(50).all() and probs.prob.between(0, 1).all()
    assert probs.prob_reverse.isna().all()  # scored in one order
    sampled = cache.lookup("smoke", "pairs_sampled", "03_pairwise").frame()
    assert ((sampled.rank_b - sampled.rank_a).between(1, 9)).all()  # once, higher-ranked first (the paper)
    examples = cache.lookup("smoke", "examples_train", "04_distill").frame()
    assert examples.docnos.map(len).ge(16).all()  # at least n_passages of the smoke profile
    assert examples.pair_i.map(len).eq(50).all()   # every sampled pair is in its query's list (issue 12)
    assert examples.pair_probs.map(len).equals(examples.pair_i.map(len))
    assert all(0 <= p <= 1 for probs in examples.pair_probs for p in probs)
    out = paths.figures_dir() / "smoke"
    for name in ["retrieval_initial_dev.md", "fig_positive_ranks.png", "fig_recall_at_k.png", "fig_pair_gaps.pdf",
                 "fig_pairwise_heatmap.png", "fig_training_curves.png", "fig_domain_adapt_curves.png",
                 "fig1_in_vs_out_of_domain.png", "fig1_in_vs_out_of_domain.pdf", "appendix_a2_disagreement.csv",
                 "pair_order_effect.csv"]:
        assert (out / name).stat().st_size > 0, name
    # every table of the paper: three formats, the paper's values beside ours, provenance in the footer
    for table in ["table1_retrieval", "table2_odqa", "table3_ablations", "table4_domain_adapt", "table5_reranking",
                  "table6_lambda_pair", "table7_hyperparameters"]:
        for ext in ("csv", "md", "tex"):
            assert (out / f"{table}.{ext}").stat().st_size > 0, f"{table}.{ext}"
        assert any("paper" in c for c in pd.read_csv(out / f"{table}.csv").columns), table
        assert "<sub>profile smoke · commit " in (out / f"{table}.md").read_text(), table
    index = (paths.figures_dir() / "README.md").read_text()
    assert "[table1_retrieval.md](smoke/table1_retrieval.md) | Table 1 | 05_eval_beir" in index
    assert "[fig1_in_vs_out_of_domain.png](smoke/fig1_in_vs_out_of_domain.png) | Figure 1 | 05_eval_beir" in index
    table1 = pd.read_csv(out / "table1_retrieval.csv").set_index("row")
    assert table1.loc["BioASQ", "note"].startswith("not evaluated")  # smoke does not ask for it
    assert table1.loc["synthetic/smoke-target/test", "PairDistill (ours)"] > 0
    table4 = pd.read_csv(out / "table4_domain_adapt.csv")
    assert table4.model.tolist()[2:] == ["L_KD only", "L_pair"] and table4["smoke-target: ours"].between(0, 100).all()
    table7 = pd.read_csv(out / "table7_hyperparameters.csv").set_index("hyperparameter")
    assert table7.loc["batch size", "paper"] == "32" and table7.loc["batch size", "ours (smoke)"] == "8"
    table3 = pd.read_csv(out / "table3_ablations.csv")
    assert table3.row.tolist()[1:4] == ["PairDistill", "- L_pair", "- L_KD"]
    ours_only = table3.group.str.endswith("(ours)")  # L_CL only, L_ZS: rows of ours, no paper value
    assert table3.row[ours_only].tolist() == ["L_CL only", "L_ZS, no labels"]
    assert table3["paper (RR@10, %)"][~ours_only].notna().all() and table3["ours (RR@10, %)"].between(0, 100).all()
    assert table3.loc[1, "paper (RR@10, %)"] == 40.7 and table3.loc[0, "paper (RR@10, %)"] == 39.7
    for col in ("ours (RR@10, %)", "difference", "ours (nDCG@10, %)"):  # percentages with one decimal
        assert (table3[col].dropna() == table3[col].dropna().round(1)).all(), col
    assert {"Iteration 1", "Iteration 2"} <= set(table3.row)
    table6 = pd.read_csv(out / "table6_lambda_pair.csv")
    assert table6.lambda_pair.tolist() == [1.0, 3.0] and table6["paper (RR@10, %)"].tolist() == [40.3, 40.7]
    assert (out / "fig_training_curves.png").stat().st_size > 0
    table5 = pd.read_csv(out / "table5_reranking.csv")
    assert list(table5.kind) == ["retriever", "cross-encoder", "mono-t5", "llm-point", "duo-t5"]
    assert table5["paper (RR@10, %)"].tolist()[:3] == [39.7, 40.5, 40.6] and table5["paper (RR@10, %)"].iloc[-1] == 41.5
    assert pd.isna(table5["paper (RR@10, %)"].iloc[3])  # the instruction LLM has no Table 5 row
    a2 = pd.read_csv(out / "appendix_a2_disagreement.csv")
    assert a2["paper (disagreement, %)"].tolist() == [31.0]
    # 07_beyond (issue 18): every method of the one loop ran, with its rows and costs
    kd = pd.read_csv(out / "beyond_kd_sampling.csv")
    assert kd.kd_sampling.tolist() == ["top", "stratified", "random"] and kd["passages per query"].ge(32).all()
    md2pr = pd.read_csv(out / "beyond_md2pr.csv")
    assert md2pr.row.str.startswith("PairDistill (own-list").iloc[0] and md2pr.row.str.startswith("MD2PR").iloc[-1]
    budget = pd.read_csv(out / "beyond_pair_budget.csv")
    assert budget[["selection", "pairs per query"]].values.tolist() == [[s, n] for s in ("window", "uncertain")
                                                                        for n in (5, 10, 25, 50)]
    assert budget["cost (% of 50 window pairs)"].tolist() == [10.0, 20.0, 50.0, 100.0] * 2
    for frame in (kd, md2pr, budget):
        assert frame[["RR@10", "nDCG@10"]].notna().all().all() and frame["nDCG@10"].between(0, 100).all()
    assert (out / "fig_beyond_pair_budget.png").stat().st_size > 0 and (out / "fig_beyond_kd_sampling.pdf").exists()
    # 07's PairDistill with 50 window pairs is 04's run (one cached stage): the same dev score as Table 3's row
    assert budget.set_index(["selection", "pairs per query"]).loc[("window", 50), "nDCG@10"] == \
        table3.set_index("row").loc["PairDistill", "ours (nDCG@10, %)"]
    # no machine path in any caption or provenance line
    for f in out.glob("*.md"):
        assert str(smoke_run) not in f.read_text() and "/tmp/" not in f.read_text(), f.name


NOISE = ("is deprecated", "IProgress not found", "TqdmWarning", "Asking-to-pad", "You're using a")


def _outputs(cell) -> tuple[str, int, str]:
    """(every text the cell shows, its stderr lines, its HTML without style blocks)."""
    texts, stderr, html = [], 0, []
    for o in cell.outputs:
        if o.get("output_type") == "stream":
            texts.append(o.get("text", ""))
            stderr += o.get("text", "").count("\n") if o.get("name") == "stderr" else 0
        for mime, value in o.get("data", {}).items():
            if mime.startswith("text/"):
                texts.append(value if isinstance(value, str) else "".join(value))
        html.append(re.sub(r"<style.*?</style>", "", o.get("data", {}).get("text/html", ""), flags=re.S))
    return "\n".join(texts), stderr, "\n".join(html)


def test_what_a_reader_sees_in_the_executed_notebooks(smoke_run):
    """Issue 15: in every executed smoke notebook, no cell floods the page (more than 50 lines of stderr), no
    output shows an absolute machine path (the cache, the repository, the temporary folder, the home folder), no displayed table shows a raw
    float of more than 4 decimals, and the library warnings a reader used to meet in every notebook
    (deprecations, tqdm without widgets, fast-tokenizer padding advice) stay silenced."""
    machine = [str(smoke_run), str(paths.ROOT), tempfile.gettempdir(), str(Path.home())]
    for nb in config.NOTEBOOKS:
        executed = nbformat.read(smoke_run / "executed" / "smoke" / f"{nb}.ipynb", as_version=4)
        for i, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
            text, stderr, html = _outputs(cell)
            where = f"{nb}, code cell {i}"
            assert stderr <= 50, f"{where}: {stderr} lines of stderr"
            assert not [m for m in machine if m in text], f"{where} shows a machine path"
            floats = re.findall(r"\d+\.\d{5,}", html)
            assert not floats, f"{where}: {floats[:3]}"
            assert not [n for n in NOISE if n in text], f"{where}: {[n for n in NOISE if n in text]}"


def test_the_smoke_teachers_rerank_better_than_the_student(smoke_run):
    """Issue 13: the smoke teachers are teachers. On the dev set (Table 5) the pointwise and the pairwise teacher
    rerank the initial retriever's top-k far better than the retriever ranks it (40 queries, so a 10-point bar is
    about two standard errors), the pairwise teacher reranks better than the pointwise one, and A.2's disagreement
    is below chance. Measured on the 2-core machine of 2026-11-27 with the shipped teachers of TINY_VERSION 13:
    retriever 75.4 / 48.9, cross-encoder 98.8 / 86.0, duoT5 sym-sum 100.0 / 88.3 (RR@10 / nDCG@10 %), A.2 41.1 %.
    The teachers are one shipped build, so this is that build's ordering; over teacher seeds 0-2 duoT5 leads by
    +4.0 +- 2.8 RR@10 and +7.1 +- 5.8 nDCG@10 and A.2 is 34.5-41.1 % (benchmarks/teacher_seeds.py, README)."""
    table5 = pd.read_csv(paths.figures_dir() / "smoke" / "table5_reranking.csv").set_index("kind")
    for col in ("ours (RR@10, %)", "ours (nDCG@10, %)"):
        for teacher in ("cross-encoder", "duo-t5"):
            assert table5.loc[teacher, col] > table5.loc["retriever", col] + 10, (teacher, col)
        assert table5.loc["duo-t5", col] > table5.loc["cross-encoder", col], col
    a2 = pd.read_csv(paths.figures_dir() / "smoke" / "appendix_a2_disagreement.csv")
    assert a2["ours (disagreement, %)"].iloc[0] < 50


def test_one_training_folder_per_distinct_configuration(smoke_run):
    """Issue 11: Table 3's rows, Table 6's grid and the iterations share runs through the train stage's key.
    Distinct smoke configurations: PairDistill (= iteration 1 = λ_pair 3 = initialisation with the student's
    own checkpoint), − L_pair, − L_KD, L_CL only, L_ZS, − heuristic (other examples), tiny/bert (= DPR + L_KD +
    L_pair, both start from tiny/bert as a DPR), DPR L_CL only, DPR + L_KD, iteration 2, λ_pair 1 — and 06's
    two L_ZS runs; then 07's 15: three kd samplings (lists of 32), five MD2PR rows, and seven of the eight
    pair-budget rows (50 window pairs is 04's PairDistill)."""
    jobs = [json.loads(p.read_text()) for p in (smoke_run / "train").glob("*/job.json")]
    assert len(jobs) == 13 + 15
    distinct = {json.dumps(j, sort_keys=True) for j in jobs}
    assert len(distinct) == len(jobs)
    assert all(not j["examples"].startswith("/") for j in jobs)  # cache-relative
    rounds = json.loads((smoke_run / "stages" / "smoke" / "student.json").read_text())
    assert rounds["key"]["stage"] == "train"


def test_distillation_improves_the_smoke_student(smoke_run):
    """Issue #5: after distillation the student agrees with the pairwise teacher on more held-out pairs (all
    top-10 pairs of the dev queries, 3,600; none were training pairs) and retrieves the held-out test queries
    better than the student it started from. The smoke numbers depend on the CPU the tiny teachers are trained
    on: with the teachers of issue 13 (TINY_VERSION 13), agreement 55.4 -> 71.9 % and nDCG@10 48.7 -> 82.2 on the
    2-core machine of 2026-11-27 (before them 54.4 -> 59.2 % and 48.7 -> 76.1). The bar for agreement is two standard errors of a
    difference of two shares of 3,600 pairs (2 × 1.2 points)."""
    effect = pd.read_csv(paths.figures_dir() / "smoke" / "distill_effect.csv").set_index("model")
    before, after = effect.loc["initial student"], effect.loc["PairDistill (iteration 1)"]
    assert after["agreement with pairwise teacher (%)"] > before["agreement with pairwise teacher (%)"] + 2.4
    assert after["nDCG@10 (test, %)"] > before["nDCG@10 (test, %)"] + 5


def test_a_stage_regenerates_byte_identical(smoke_run):
    """Within one machine a regenerated artifact is the same file: 03's pair sample and 04's examples, removed
    from the cache and made again by their stages."""
    from pdlib import distill

    sampled = cache.lookup("smoke", "pairs_sampled", "03_pairwise")
    examples = cache.lookup("smoke", "examples_train", "04_distill")
    before = {a.path: a.path.read_bytes() for a in (sampled, examples)}
    for a in (sampled, examples):
        a.path.unlink()
    point, probs = cache.lookup("smoke", "pointwise_train", "02_pointwise"), cache.lookup("smoke", "pairs_train", "03_pairwise")
    p = sampled.params
    again = distill.sampled_pairs(point, p["k"], p["delta"], p["n_pairs"], p["seed"], p["orders"])
    assert again == sampled and again.path.read_bytes() == before[sampled.path]
    ex = distill.training_examples(point, probs, examples.params["n_passages"])
    assert ex == examples and ex.path.read_bytes() == before[examples.path]


def test_rerun_with_nothing_changed_reuses_the_cache(smoke_run):
    target = cache.lookup("smoke", "pointwise_train", "02_pointwise").path
    before = target.stat().st_mtime_ns
    assert runner.main(["--profile", "smoke", "--only", "02"]) == 0
    assert cache.lookup("smoke", "pointwise_train", "02_pointwise").path == target
    assert target.stat().st_mtime_ns == before
    # a changed parameter is a new key: recomputed beside, the old artifact untouched
    assert runner.main(["--profile", "smoke", "--only", "03", "-p", "n_pairs=7"]) == 0
    probs = cache.lookup("smoke", "pairs_train", "03_pairwise").frame()
    assert probs.groupby("qid").size().eq(7).all()


def test_runner_rejects_bad_parameters_before_running_anything(session_data, capsys):
    assert runner.main(["--profile", "smoke", "--only", "01", "-p", "k_trian=3"]) == 2
    assert "unknown parameter(s) ['k_trian']" in capsys.readouterr().err
    assert runner.main(["-p", "k_train=abc"]) == 2  # declared by 01 only: checked there, not refused by 02
    assert "'k_train' must be int" in capsys.readouterr().err
    assert runner.main(["--only", "09"]) == 2
    with pytest.raises(SystemExit) as exit_:
        runner.main(["--help"])
    assert exit_.value.code == 0


@pytest.mark.slow
def test_01_retrieves_with_colbert_plaid_in_smoke(smoke_run):
    """The paper's retriever path: the tiny ColBERT checkpoint, indexed and searched by colbert-ai's PLAID."""
    assert runner.main(["--profile", "smoke", "--only", "01", "-p", "retriever=colbert", "-p", "k_train=20"]) == 0
    art = cache.lookup("smoke", "run_train", "01_retrieve")
    assert art.params["model_id"] == "tiny/colbert" and "plaid" in {p.name for p in smoke_run.iterdir()}
    run = art.frame()
    assert run.groupby("qid").size().eq(20).all() and run.qid.nunique() == 240


@pytest.mark.parametrize("notebook", ["04_distill", "05_eval_beir", "06_domain_adapt"])
def test_cells_of_04_to_06_read_like_the_paper(notebook):
    """Issue 11: plumbing lives in pdlib; a code cell of 04-06 (the parameters cell aside) stays within 15 lines,
    builds no cache key and does not choose the retriever by hand."""
    nb = nbformat.read(config.notebook_path(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        assert len(cell.source.splitlines()) <= 15, cell.source[:80]
        assert "cache.derive" not in cell.source and "Key(" not in cell.source
        assert '"colbert" if' not in cell.source, cell.source[:80]


def test_saving_a_notebook_the_way_jupyterlab_does_leaves_git_clean(tmp_path):
    """Issue 15: JupyterLab saves through jupyter_server's contents manager with its own kernel metadata (display
    name "Python 3 (ipykernel)", the machine's language_info). With the pre-save hook scripts/setup.sh installs,
    opening and saving writes the committed bytes and git stays clean; a notebook run and saved keeps its outputs
    on disk, and the git clean filter (pdlib.nbclean, .gitattributes) hides them from diffs and commits."""
    import shutil
    import subprocess
    import sys

    from jupyter_server.services.contents.filemanager import FileContentsManager

    from pdlib import nbclean

    repo = tmp_path / "repo"
    shutil.copytree(paths.notebooks_dir(), repo / "notebooks")
    for name in (".gitattributes", ".gitignore"):
        shutil.copy(paths.ROOT / name, repo / name)
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True, text=True).stdout  # noqa: E731
    git("init", "-q")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    git("config", "filter.pdlib-nbclean.clean", f"{sys.executable} -m pdlib.nbclean")
    git("add", "-A")
    git("commit", "-qm", "notebooks")
    lab = FileContentsManager(root_dir=str(repo), pre_save_hook=nbclean.pre_save_hook)
    lab_info = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                "pygments_lexer": "ipython3", "version": "3.11.7"}

    def save_as_lab(name, run=False):
        model = lab.get(f"notebooks/{name}")
        nb = model["content"]
        nb.metadata.kernelspec.display_name = "Python 3 (ipykernel)"
        nb.metadata.language_info = lab_info
        if run:
            code = next(c for c in nb.cells if c.cell_type == "code")
            code.execution_count = 3
            code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
            code.metadata["execution"] = {"iopub.status.busy": "2026-11-26T12:00:00.000Z"}
        lab.save({"type": "notebook", "format": "json", "content": nb}, f"notebooks/{name}")

    for path in sorted((repo / "notebooks").glob("*.ipynb")):
        committed = path.read_text()
        assert nbclean.clean(committed) == committed  # committed notebooks are already clean
        save_as_lab(path.name)
        assert path.read_text() == committed, path.name  # opened and saved: the same bytes
    assert git("status", "--porcelain") == ""
    save_as_lab("03_pairwise.ipynb", run=True)
    saved = nbformat.read(repo / "notebooks" / "03_pairwise.ipynb", as_version=4)
    assert any(c.get("outputs") for c in saved.cells)  # the reader keeps the outputs
    assert git("diff", "--stat") == ""  # git sees the committed notebook
    git("add", "-A")
    assert git("status", "--porcelain") == ""
    nb = nbformat.read(repo / "notebooks" / "01_retrieve.ipynb", as_version=4)  # a real edit still shows
    nb.cells.append(nbformat.v4.new_markdown_cell("a note"))
    nbformat.write(nb, repo / "notebooks" / "01_retrieve.ipynb")
    assert "01_retrieve.ipynb" in git("status", "--porcelain")

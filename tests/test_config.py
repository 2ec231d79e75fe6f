"""Profiles and parameters: unknown keys and wrong types are errors; smoke equals the notebook defaults."""
import ast

import nbformat
import pytest
import yaml

from pdlib import PdlibError, config, paths


def test_every_notebook_declares_typed_parameters_with_comments():
    for nb in config.NOTEBOOKS:
        declared = config.declared_parameters(nb)
        assert "profile" in declared and "seed" in declared, nb
        for name, p in declared.items():
            assert p["inferred_type_name"] in {"int", "float", "str", "bool", "list", "dict"}, (nb, name)
            assert p["help"], f"{nb}: parameter {name} needs a short comment"


def test_smoke_profile_equals_the_notebook_defaults():
    """Running a notebook by hand (no papermill) is the smoke profile."""
    for nb in config.NOTEBOOKS:
        declared = config.declared_parameters(nb)
        for name, value in config.resolve(nb, "smoke").items():
            assert ast.literal_eval(declared[name]["default"]) == value, (nb, name)


@pytest.mark.parametrize("profile", config.PROFILES)
def test_every_profile_resolves_for_every_notebook(profile):
    for nb in config.NOTEBOOKS:
        params = config.resolve(nb, profile)
        assert params["profile"] == profile


def test_unknown_parameter_is_an_error_not_a_warning():
    with pytest.raises(PdlibError, match=r"unknown parameter\(s\) \['k_trian'\] for 01_retrieve"):
        config.check_overrides(["01_retrieve"], {"k_trian": 5})
    # an override goes to the notebooks that declare it (`./run_all.sh -p k_train=20` runs all six)
    config.check_overrides(list(config.NOTEBOOKS), {"k_train": 20})
    assert config.resolve("01", "smoke", {"k_train": 20})["k_train"] == 20
    assert "k_train" not in config.resolve("02", "smoke", {"k_train": 20})
    with pytest.raises(PdlibError, match="k_train"):
        config.check_overrides(["02_pointwise", "03_pairwise"], {"k_train": 20})


def test_unknown_key_in_a_profile_file_is_an_error(tmp_path, monkeypatch):
    prof = yaml.safe_load((paths.params_dir() / "smoke.yaml").read_text())
    prof["03_pairwise"]["detla"] = 5
    (tmp_path / "smoke.yaml").write_text(yaml.safe_dump(prof))
    monkeypatch.setattr(paths, "params_dir", lambda: tmp_path)
    with pytest.raises(PdlibError, match="detla"):
        config.resolve("03_pairwise", "smoke")
    prof["03_pairwise"].pop("detla")
    prof["common"]["nobody_declares_me"] = 1
    (tmp_path / "smoke.yaml").write_text(yaml.safe_dump(prof))
    with pytest.raises(PdlibError, match="nobody_declares_me"):
        config.resolve("03_pairwise", "smoke")


def test_wrong_type_is_an_error():
    with pytest.raises(PdlibError, match="must be int"):
        config.resolve("03_pairwise", "smoke", {"delta": "10"})
    with pytest.raises(PdlibError, match="must be int"):
        config.resolve("03_pairwise", "smoke", {"delta": True})
    assert config.resolve("03_pairwise", "smoke", {"delta": 5})["delta"] == 5


def test_unknown_profile_and_notebook():
    with pytest.raises(PdlibError, match="unknown profile"):
        config.resolve("01", "huge")
    with pytest.raises(PdlibError, match="unknown notebook"):
        config.match_notebook("08")
    assert config.match_notebook("03") == "03_pairwise" and config.match_notebook("07") == "07_beyond"


def test_unparseable_parameter_line_is_caught(tmp_path, monkeypatch):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('profile: str = "smoke"  # ok\nk: int = 3  # k = 3 confuses papermill')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for name in config.NOTEBOOKS:
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    monkeypatch.setattr(paths, "notebooks_dir", lambda: tmp_path)
    with pytest.raises(PdlibError, match="parsed 1 of 2"):
        config.declared_parameters("01")


def test_param_hash_depends_on_values_not_order():
    assert config.param_hash({"a": 1, "b": 2}) == config.param_hash({"b": 2, "a": 1})
    assert config.param_hash({"a": 1}) != config.param_hash({"a": 2})
    assert config.param_hash({"a": 1, "x": 9}, keys=["a"]) == config.param_hash({"a": 1})


def test_every_paper_profile_value_cites_its_source():
    """Issue 12: each key of params/paper.yaml says where its value comes from (Table 7, §5.2, the authors'
    file, or "ours")."""
    import re

    lines = (paths.params_dir() / "paper.yaml").read_text().splitlines()
    keys = [ln for ln in lines if re.match(r"^  [a-z_0-9]+:", ln)]
    assert len(keys) > 50
    bare = [ln for ln in keys if "#" not in ln]
    assert not bare, bare
    assert all(re.search(r"#\s*(§|Table|Appendix|Figure|authors'|ours)", ln) for ln in keys)
    paper = config.resolve("04_distill", "paper")
    assert (paper["warmup"], paper["weight_decay"], paper["in_batch"]) == (3000, 0.0, True)
    assert config.resolve("01_retrieve", "paper")["train_dataset"] == "msmarco-passage/train"  # all 808,731
    assert (config.resolve("02_pointwise", "paper")["max_length"], config.resolve("03_pairwise", "paper")["max_length"]) \
        == (180, 360)
    adapt = config.resolve("06_domain_adapt", "paper")
    assert adapt["n_pairs"] == 50 and adapt["max_length_point"] == adapt["max_length_pair"] == 1024
    climate = next(t for t in adapt["targets"] if t[0] == "climate-fever")
    assert climate[1] != climate[2]  # never trains on the queries it is evaluated on


def test_a_failing_notebook_is_one_line_in_the_terminal(fresh_data, capsys):
    """Issue 16 (item 1): `--only 04` on an empty cache fails inside the notebook with a PdlibError; the terminal
    shows the notebook, the cell and that error's own message in one line, and where the full trace is."""
    from pdlib import runner

    assert runner.main(["--only", "04"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "File \"" not in err
    ours = [ln for ln in err.splitlines() if ln.startswith("run_all")]  # beside papermill's progress bar
    assert len(ours) == 1
    line = ours[0]
    assert line.startswith("run_all: 04_distill failed in cell [") and "Traceback" not in line
    assert "02_pointwise" in line or "01_retrieve" in line  # the PdlibError says which notebook to run first
    assert line.endswith(f"(full trace: {fresh_data / 'executed' / 'smoke' / '04_distill.ipynb'})")


@pytest.mark.parametrize("override, message", [
    ("delta=0", "parameter delta = 0 must be ≥ 1 (used by 03_pairwise, 06_domain_adapt)"),
    ("n_pairs=-5", "parameter n_pairs = -5 must be ≥ 1 (used by 03_pairwise, 06_domain_adapt)"),
    ("pair_orders=three", "parameter pair_orders = 'three' must be one of one, both (used by 03_pairwise)"),
    ("k_pairs=200", "parameter k_pairs = 200 must be ≤ k_rerank = 100 (03 pairs 02's reranked top-k_rerank)"),
])
def test_nonsense_parameters_stop_before_any_notebook_runs(fresh_data, capsys, override, message):
    """Issue 16 (item 2): one line naming the parameter, its range and its notebooks; nothing runs or is cached."""
    from pdlib import runner

    assert runner.main(["--only", "03", "-p", override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not fresh_data.exists() or not any(fresh_data.iterdir())


def test_a_yaml_error_names_the_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "smoke.yaml").write_text("common:\n  seed: 0\n 01_retrieve: [unclosed\n")
    monkeypatch.setattr(config.paths, "params_dir", lambda: tmp_path)
    with pytest.raises(PdlibError, match=r"smoke\.yaml line \d+: not valid YAML"):
        config.load_profile("smoke")

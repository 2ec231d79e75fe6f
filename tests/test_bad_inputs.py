"""A catalogue of bad inputs (issue 16): each gives one clear error that says what to do, and leaves no partial
artifact. Cases tested elsewhere: nonsense parameters and a YAML error (test_config.py), a notebook failure in the
terminal (test_config.py), unknown models and datasets (test_models.py, test_data.py), a conflicting training job
(test_train.py)."""
from __future__ import annotations

import json
import shutil

import pytest

from pdlib import PdlibError, models


def test_a_checkpoint_that_names_its_own_code_is_refused(session_data, tmp_path):
    """colbert-ai opens configs with trust_remote_code=True; a folder whose config has an auto_map would run its
    own Python. pdlib refuses it before any loader sees it."""
    from pdlib.smoke import tiny

    for name in ("colbert", "bi-encoder"):
        folder = tmp_path / name
        shutil.copytree(tiny.build_tiny(name), folder)
        cfg = json.loads((folder / "config.json").read_text())
        cfg["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
        (folder / "config.json").write_text(json.dumps(cfg))
        (folder / "modeling_evil.py").write_text("raise SystemExit('remote code ran')\n")
        with pytest.raises(PdlibError, match="names custom code .*never runs"):
            models.local_path(str(folder))
    with pytest.raises(PdlibError, match="names custom code"):
        models.colbert_checkpoint(str(tmp_path / "colbert"))
    with pytest.raises(PdlibError, match="names custom code"):
        models.load_bi_encoder(str(tmp_path / "bi-encoder"))

"""Shared fixtures. Every test writes its artifacts under a temporary data/ and figures/ (never the user's)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def session_data(tmp_path_factory) -> Path:
    """One data/ for the whole session, so tiny models and synthetic sets are built once."""
    root = tmp_path_factory.mktemp("pdlib-data")
    os.environ["PDLIB_DATA"] = str(root)
    os.environ["PDLIB_FIGURES"] = str(tmp_path_factory.mktemp("pdlib-figures"))
    os.environ["IR_DATASETS_HOME"] = str(root / "ir_datasets")
    return root


@pytest.fixture
def fresh_data(session_data, tmp_path, monkeypatch) -> Path:
    """An empty data/ for one test (cache hit/miss, atomic writes). ir_datasets keeps the session's home: it
    reads IR_DATASETS_HOME once, when it is first imported."""
    monkeypatch.setenv("PDLIB_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def scifact(session_data):
    if not (SHARED / "scifact" / "corpus.jsonl.gz").exists():
        pytest.skip("../shared/data/scifact is not beside the repository")
    from pdlib import data

    data.use_local_beir("scifact", SHARED / "scifact")
    return SHARED / "scifact"

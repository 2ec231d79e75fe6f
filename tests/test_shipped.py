"""The smoke teachers shipped with pdlib (pdlib.smoke.shipped): this recipe's, checked, copied instead of trained."""
import hashlib
import shutil

import pytest

from pdlib import PdlibError
from pdlib.smoke import shipped, tiny
from pdlib.smoke.specs import TINY_VERSION


def _sums(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_shipped_teachers_are_this_recipe_versions_and_intact():
    # a recipe change bumps TINY_VERSION; then the teachers must be trained and shipped again
    # (`python -m pdlib.smoke.tiny --ship`), or every first run would train them (the T5 for about 45 minutes)
    entries = shipped.manifest()["teachers"]
    assert sorted(entries) == sorted(shipped.TEACHERS)
    for name in shipped.TEACHERS:
        assert entries[name]["version"] == TINY_VERSION
        folder = shipped.verify(name)
        assert _sums(folder) == entries[name]["files"]


def test_build_tiny_copies_the_shipped_teacher_and_trains_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("PDLIB_TRAIN_TEACHERS", raising=False)
    monkeypatch.setattr(tiny, "_build", lambda *a, **k: pytest.fail("trained a teacher that is shipped"))
    folder = tiny.build_tiny("cross-encoder", root=tmp_path)
    assert folder == tmp_path / "models" / f"tiny-cross-encoder-v{TINY_VERSION}"
    assert _sums(folder) == shipped.manifest()["teachers"]["cross-encoder"]["files"]


def test_damaged_shipped_weights_are_one_clear_error_and_leave_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("PDLIB_TRAIN_TEACHERS", raising=False)
    weights = tmp_path / "weights"
    shutil.copytree(shipped.WEIGHTS, weights)
    blob = weights / f"tiny-t5-teacher-v{TINY_VERSION}" / "model.safetensors"
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    monkeypatch.setattr(shipped, "WEIGHTS", weights)
    with pytest.raises(PdlibError, match="do not match their manifest.*model.safetensors.*PDLIB_TRAIN_TEACHERS"):
        tiny.build_tiny("t5-teacher", root=tmp_path)
    models = tmp_path / "models"
    assert not (models / f"tiny-t5-teacher-v{TINY_VERSION}").exists()
    assert not [p for p in models.iterdir() if p.name.startswith(".tiny-")]  # no half-copied folder


def test_train_teachers_asks_for_the_recipe(tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(tiny, "_build", lambda name, folder, seed=0: (built.append(name), folder.mkdir(),
                                                                      (folder / "config.json").write_text("{}")))
    monkeypatch.setenv("PDLIB_TRAIN_TEACHERS", "1")
    assert shipped.available("cross-encoder") is None
    tiny.build_tiny("cross-encoder", root=tmp_path)
    assert built == ["cross-encoder"]
    monkeypatch.setenv("PDLIB_TRAIN_TEACHERS", "0")
    assert shipped.available("cross-encoder") is not None
    assert shipped.available("colbert") is None  # students are never shipped: seeded initialisations
    tiny.build_tiny("t5-teacher", root=tmp_path, train=True)  # shipped, but asked to train (tiny --ship)
    assert built == ["cross-encoder", "t5-teacher"]


def test_ship_records_this_versions_builds_and_drops_older_copies(tmp_path, monkeypatch):
    models, weights = tmp_path / "models", tmp_path / "weights"
    expected = shipped.manifest()["teachers"]
    for name in shipped.TEACHERS:  # this version's builds are there: shipping trains nothing
        shutil.copytree(shipped.verify(name), models / f"tiny-{name}-v{TINY_VERSION}")
    (weights / "tiny-cross-encoder-v1").mkdir(parents=True)  # an earlier version's copy
    monkeypatch.setenv("PDLIB_MODELS", str(models))
    monkeypatch.setattr(shipped, "WEIGHTS", weights)
    monkeypatch.setattr(tiny, "build_tiny", lambda *a, **k: pytest.fail("trained a teacher that was built"))
    out = tiny.ship_teachers(threads=1)
    assert out["version"] == TINY_VERSION and {e["threads"] for e in out["teachers"].values()} == {1}
    assert sorted(p.name for p in weights.iterdir()) == sorted(
        ["MANIFEST.json"] + [f"tiny-{n}-v{TINY_VERSION}" for n in shipped.TEACHERS])
    for name in shipped.TEACHERS:
        assert out["teachers"][name]["files"] == expected[name]["files"]
        assert _sums(shipped.verify(name)) == expected[name]["files"]  # the copy under the patched WEIGHTS

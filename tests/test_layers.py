"""pdlib's floors, as pdlib/__init__.py writes them down: every import goes down (or sideways without a circle),
and the core never imports the smoke world (STYLE 17, 18)."""
import ast
import re
from pathlib import Path

import pdlib

PKG = Path(pdlib.__file__).parent


def floors() -> dict[str, int]:
    """module -> floor, parsed from the package docstring's numbered list."""
    out = {}
    for line in pdlib.__doc__.splitlines():
        m = re.match(r"^(\d+)\.\s+([a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*)\s", line + " ")
        if m:
            out.update({name: int(m.group(1)) for name in m.group(2).split(", ")})
    return out


def module_of(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]  # pdlib/smoke/* is the one module "smoke"


def imports(path: Path) -> set[str]:
    """The pdlib modules a file imports (top-level and inside functions), by their floor name."""
    tree = ast.parse(path.read_text())
    package = ["pdlib", *path.relative_to(PKG).parent.parts]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            if target[:1] != ["pdlib"]:
                continue
            if len(target) == 1:  # from . import x, y: each name is a module (or the package's own names)
                found |= {a.name for a in node.names if (PKG / f"{a.name}.py").exists() or (PKG / a.name).is_dir()}
            else:
                found.add(target[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("pdlib.")}
    return found


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PKG:
            continue
        mod = module_of(path)
        g.setdefault(mod, set()).update(imports(path) - {mod})
    return g


def test_every_module_has_a_floor():
    assert set(graph()) == set(floors()), "pdlib/__init__.py must list every module on a floor"


def test_imports_only_go_down():
    fl, bad = floors(), []
    for mod, deps in graph().items():
        bad += [f"{mod} (floor {fl[mod]}) imports {d} (floor {fl[d]})" for d in deps if fl[d] > fl[mod]]
    assert not bad, bad


def test_no_circles_and_the_core_never_imports_the_smoke_world():
    g = graph()
    assert not any("smoke" in deps for mod, deps in g.items() if mod != "smoke")
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            raise AssertionError(f"import circle: {' -> '.join(trail + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for d in sorted(g.get(node, ())):
            visit(d, trail + [node])
        state[node] = 2

    for mod in sorted(g):
        visit(mod, [])


def test_the_parser_finds_every_kind_of_import(tmp_path, monkeypatch):
    """Not vacuous: relative, absolute and function-local imports are all seen."""
    fake = PKG / "smoke" / "_probe_for_test.py"
    try:
        fake.write_text("import pdlib.figures\nfrom ..runner import main\n\ndef f():\n    from .. import tables\n")
        assert imports(fake) == {"figures", "runner", "tables"}
    finally:
        fake.unlink()
    assert {"paths", "atomic"} <= graph()["placing"] and "placing" in graph()["data"]

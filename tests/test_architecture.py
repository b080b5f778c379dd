"""The package's house rules (README, Development): read from the source, so a change that breaks
one fails here with the file and line to look at."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "expansion"
MAX_LINES = 600

#: Stages compute: arrays and tables in and out. Modules, or packages (every module under them).
STAGES = ("demand", "density", "suitability", "growth", "plan", "risk", "metrics", "validation", "hazard",
          "terrain")
#: Libraries that read or write files, or talk to a user: only inputs/, outputs/, pipeline/, cli/ and demo/.
EDGE_LIBRARIES = ("rasterio", "pyogrio", "fiona", "sqlite3", "folium", "branca", "click", "matplotlib")
#: The boxes of the package (README, Development) and what each may import besides itself.
VOCABULARY = ("config", "grid", "stack", "errors", "hazard", "terrain")
MAY_IMPORT = {
    "vocabulary": set(),
    "stage": {"vocabulary"},
    "inputs": {"vocabulary"},
    "outputs": {"vocabulary", "stage"},
    "demo": {"vocabulary", "outputs"},
    "pipeline": {"vocabulary", "stage", "inputs", "outputs", "demo"},
    "cli": {"vocabulary", "stage", "inputs", "outputs", "demo", "pipeline"},
}
#: Calls that write files.
WRITING_CALLS = ("write_text", "write_bytes", "to_file", "to_csv", "mkdir", "save", "savez", "tofile")


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports(name: str, path: Path) -> list[tuple[int, str, list[str]]]:
    """Every import in the file (module level or inside functions): (line, absolute module, names)."""
    package = name if _is_package(path) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def _is_stage(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and parts[1] in STAGES


def internal_targets(module: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """The package's modules an import statement loads (``from pkg import mod`` loads pkg.mod)."""
    out = []
    if module in known:
        out.append(module)
    out += [f"{module}.{n}" for n in names if f"{module}.{n}" in known]
    return out


def box(name: str) -> str | None:
    """The box of a module (None for the package itself)."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in VOCABULARY:
        return "vocabulary"
    if parts[1] == "__main__":
        return "cli"  # python -m expansion: the command line
    return "stage" if parts[1] in STAGES else parts[1]


def test_each_box_imports_only_the_boxes_below_it():
    known = modules()
    problems = []
    for name, path in known.items():
        mine = box(name)
        for line, module, names in imports(name, path):
            for target in internal_targets(module, names, known):
                theirs = box(target)
                if mine is None or theirs is None or theirs == mine or name.startswith(target + "."):
                    continue
                if theirs not in MAY_IMPORT.get(mine, set()):
                    problems.append(f"{path.name}:{line} ({mine}) imports {target} ({theirs})")
    assert not problems, "imports against the layering: " + "; ".join(sorted(set(problems)))


def test_no_module_is_too_long_to_read_at_a_sitting():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_stages_import_no_file_or_interface_library_and_write_no_file():
    problems = []
    for name, path in modules().items():
        if not _is_stage(name):
            continue
        for line, module, _ in imports(name, path):
            if module.split(".")[0] in EDGE_LIBRARIES:
                problems.append(f"{path.name}:{line} imports {module}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if called in WRITING_CALLS or (called == "open" and isinstance(f, ast.Name)):
                    problems.append(f"{path.name}:{node.lineno} calls {called}()")
    assert not problems, "stages must only compute: " + "; ".join(problems)


def test_no_private_name_is_used_across_modules():
    known = modules()
    problems = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound = {}  # local name -> internal module it stands for
        for line, module, names in imports(name, path):
            if not module.startswith("expansion"):
                continue
            for n in names:
                if f"{module}.{n}" in known:
                    bound[n] = f"{module}.{n}"
                elif n.startswith("_") and not n.startswith("__"):
                    problems.append(f"{path.name}:{line} imports {n} from {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in known and a.asname:
                        bound[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                problems.append(f"{path.name}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    assert not problems, "private names used across modules: " + "; ".join(sorted(set(problems)))


def test_no_import_cycle():
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        for _, module, names in imports(name, path):
            for target in internal_targets(module, names, known):
                # importing a package's submodule runs the package's __init__ first: that is no edge of ours
                if target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(cycles)


PLANTED = {
    "cycle": ({"a.py": "from . import b\n", "b.py": "from .a import x\n"},
              test_no_import_cycle, "expansion.a -> expansion.b -> expansion.a"),
    "private": ({"a.py": "_x = 1\n", "b.py": "from .a import _x\n"},
                test_no_private_name_is_used_across_modules, "imports _x from expansion.a"),
    "stage io": ({"risk.py": "import rasterio\n\ndef f(p):\n    p.write_text('x')\n"},
                 test_stages_import_no_file_or_interface_library_and_write_no_file, "write_text"),
    "long": ({"a.py": "x = 1\n" * (MAX_LINES + 1)}, test_no_module_is_too_long_to_read_at_a_sitting, "a"),
    "layering": ({"grid.py": "from .pipeline import run\n", "pipeline.py": "run = 1\n"},
                 test_each_box_imports_only_the_boxes_below_it, "grid.py:1 \\(vocabulary\\) imports"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_each_rule_finds_a_planted_breach(case, tmp_path, monkeypatch):
    """The rules can fail: a small package with one breach planted fails the rule it breaks."""
    files, rule, message = PLANTED[case]
    pkg = tmp_path / "expansion"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    with pytest.raises(AssertionError, match=message):
        rule()

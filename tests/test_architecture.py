"""The house rules of docs/ARCHITECTURE.md, checked on the source.

* the import graph has no cycle and follows the written layer rule (the
  contracts in pyproject.toml, checked with import-linter's engine);
* no module reads another module's private attributes or imports its
  private names;
* no module is over 600 lines.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "memlab"
MAX_LINES = 600


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_import_graph_has_no_cycle():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("memlab")
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            strongconnect(module)
    assert not cycles, f"import cycles: {cycles}"


def test_layer_contracts_are_kept():
    pytest.importorskip("importlinter")
    lint_imports = pathlib.Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.split("Contracts:")[-1].replace("0 broken", "")


def _own_names(tree):
    """Attributes a module's classes set on self/cls, and the names it defines."""
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
            and isinstance(node.ctx, ast.Store)
        ):
            names.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def private_access(path):
    """``(line, name)`` of every private name ``path`` reads from another module."""
    tree = ast.parse(path.read_text())
    own = _own_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr not in own:
                found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("_") and a.name != "__version__"]
    return sorted(found)


def test_no_module_reads_another_modules_private_names():
    offenders = {str(p.relative_to(PACKAGE.parent)): private_access(p) for p in _modules()}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_private_access_check_finds_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(zone):\n    return zone._mem\n\nfrom x import _secret\n")
    assert private_access(bad) == [(2, "_mem"), (4, "_secret")]


def test_modules_stay_readable_in_one_sitting():
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text().splitlines()) for p in _modules()}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_import_memlab_stays_light():
    # `import memlab` loads no plotting, widget, array or typing module: a student's first cell is quick
    import subprocess
    import sys

    heavy = ("matplotlib", "ipywidgets", "numpy", "typing")
    code = f"import sys, memlab; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", f"import memlab also imported {out}"

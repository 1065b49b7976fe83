"""The import graph of `src/ganforge`: no circles, and no arrow from a lower layer up to a higher one.

Read statically (every `import` in every module, those inside functions included, those under
`TYPE_CHECKING` left out), so a circle hidden behind a local import counts as a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# lowest first: a module may import from its own layer or below. A module's layer is that of its top-level
# name under ganforge (`engine.loop` -> engine).
LAYERS = [
    ("errors", "registry", "speed", "schedule", "latent", "outputs", "fileio"),
    ("config",),
    ("data", "models", "losses", "regularisers", "viz", "augment"),
    ("checks", "metrics"),
    ("engine", "plain_loop"),
    ("runner", "evaluation", "generate", "samplefiles", "bench", "ablation"),
    ("repro",),
    ("report", "api", "demo"),
    ("cli", "__main__"),
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in (SRC / "ganforge").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if package else parts)] = (path, package)
    return modules


def _imports(name: str, path: Path, package: bool, modules: dict) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree)
               if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
               for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = name.split(".") if package else name.split(".")[:-1]
            base = base[:len(base) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import x` names a module when x is one
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in modules else target)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, package, modules) for name, (path, package) in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYER.get(parts[1]) if len(parts) > 1 else None


def test_the_checker_finds_a_circle_and_an_arrow_up():
    """The two rules on a made-up graph, so a checker that found nothing could not pass unnoticed."""
    graph = {"ganforge.config": {"ganforge.models"}, "ganforge.models": {"ganforge.config"}, "ganforge.cli": set()}
    assert _cycles(graph) == [["ganforge.config", "ganforge.models"]]
    assert _layer("ganforge.config") < _layer("ganforge.models")


def test_every_package_module_has_a_layer():
    missing = sorted({m.split(".")[1] for m in _graph() if "." in m and _layer(m) is None})
    assert missing == [], f"add these to LAYERS: {missing}"


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_no_import_points_up():
    upward = [f"{source} -> {target}" for source, targets in _graph().items() for target in targets
              if _layer(source) is not None and _layer(target) is not None and _layer(target) > _layer(source)]
    assert upward == []


@pytest.mark.parametrize("module", ["ganforge.config", "ganforge.speed", "ganforge.models.family"])
def test_low_modules_import_nothing_of_the_parts_above_them(module):
    above = {"ganforge.models", "ganforge.losses", "ganforge.engine", "ganforge.checks"} - {module}
    reached = _graph()[module]
    assert not {m for m in reached if any(m == a or m.startswith(a + ".") for a in above)
                and not m.startswith(module)}

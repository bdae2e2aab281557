"""The package rules of docs/architecture.md, checked on the code's own imports (read with ast, nothing run)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ysv_graph"
# which of our packages each may import (besides itself and the top-level settings/__init__)
ALLOWED = {
    "rdf": set(),
    "pipeline": {"rdf"},
    "incremental": {"rdf", "pipeline"},
    "serve": {"rdf"},
    "publish": {"rdf", "serve"},
    "cli": {"rdf", "pipeline", "incremental", "serve", "publish"},
}
# the pipeline's stages in order: a stage may import only those before it
STAGES = ["schema", "load", "mapping", "reasoning", "describing", "validation", "writing", "build"]


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE).with_suffix("").parts): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """The modules of ours that this module imports (dotted, relative to ysv_graph), at any depth in the file."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
            elif (node.module or "").startswith("ysv_graph"):
                base, node_module = [], node.module[len("ysv_graph"):].lstrip(".")
                found.update({".".join(filter(None, [node_module, alias.name])) for alias in node.names})
                continue
            else:
                continue
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if module else alias.name)
        elif isinstance(node, ast.Import):
            found.update(alias.name[len("ysv_graph."):] for alias in node.names
                         if alias.name.startswith("ysv_graph."))
    modules = _modules()
    resolved = set()
    for item in found:  # "pipeline.load.Curated" -> "pipeline.load"; "pipeline" -> "pipeline.__init__"
        parts = item.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in modules:
                resolved.add(candidate)
                break
            if candidate + ".__init__" in modules:
                resolved.add(candidate + ".__init__")
                break
    return resolved - {name}


GRAPH = {name: _imports(name, path) for name, path in _modules().items()}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_the_architecture_allows(package):
    wrong = sorted(f"{name} -> {target}" for name, targets in GRAPH.items() if name.split(".")[0] == package
                   for target in targets
                   if "." in target and target.split(".")[0] not in ALLOWED[package] | {package})
    assert not wrong, wrong


def test_no_pipeline_stage_imports_a_later_stage():
    wrong = []
    for stage in STAGES:
        for target in GRAPH[f"pipeline.{stage}"]:
            if target.startswith("pipeline.") and target.split(".")[1] in STAGES and \
                    STAGES.index(target.split(".")[1]) >= STAGES.index(stage):
                wrong.append(f"pipeline.{stage} -> {target}")
    assert not wrong, wrong


def test_there_are_no_import_cycles():
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(GRAPH.get(node, ())):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_no_source_file_is_over_600_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 600}
    assert not long, long


def test_the_checks_see_the_imports():
    """The reader finds what is there (else every rule above would pass on nothing)."""
    assert "rdf.ntriples" in GRAPH["pipeline.build"] and "pipeline.build" in GRAPH["incremental.build"]
    assert "incremental.build" in GRAPH["cli.main"]

"""Stage 4: SHACL validation with pyshacl.

The asserted graph is validated on its own, without inference, so a consumer who loads only out/ysv.ttl has a
valid graph. The result is a report graph (written to out/validation.ttl) plus one line per violation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as pyshacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from .vocab import SH, Base

SHAPES_DIR = Path(__file__).resolve().parents[2] / "shapes"


@dataclass
class Violation:
    focus: str
    path: str
    shape: str
    component: str
    message: str

    def __str__(self) -> str:
        return f"{self.focus}: {self.path}: {self.message} [{self.shape}]"


@dataclass
class ValidationResult:
    conforms: bool
    report: Graph
    violations: list[Violation]


def load_shapes(base: Base, shapes_dir: Path = SHAPES_DIR) -> Graph:
    shapes = Graph()
    for path in sorted(Path(shapes_dir).glob("*.ttl")):
        shapes.parse(data=base.rebase(path.read_text(encoding="utf-8")), format="turtle")
    return shapes


def _name(node, graph: Graph) -> str:
    if node is None:
        return "-"
    if isinstance(node, URIRef):
        return str(node)
    try:
        return node.n3(graph.namespace_manager)
    except Exception:  # noqa: BLE001 - a path expression or literal
        return str(node)


def validate(data: Graph, shapes: Graph) -> ValidationResult:
    conforms, report, _text = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, abort_on_first=False,
        allow_warnings=False, meta_shacl=False,
    )
    violations = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        message = report.value(result, SH.resultMessage)
        violations.append(Violation(
            focus=_name(report.value(result, SH.focusNode), report),
            path=_name(report.value(result, SH.resultPath), report),
            shape=_name(report.value(result, SH.sourceShape), shapes),
            component=_name(report.value(result, SH.sourceConstraintComponent), report),
            message=str(message) if message is not None else "violates the shape",
        ))
    violations.sort(key=lambda v: (v.focus, v.path, v.shape, v.message))
    return ValidationResult(bool(conforms), report, violations)

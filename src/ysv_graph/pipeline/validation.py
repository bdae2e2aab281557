"""Stage 4: SHACL validation with pyshacl.

The asserted graph is validated on its own, without inference, so a consumer who loads only out/ysv.ttl has a
valid graph. pyshacl's report is the one published (out/validation.ttl), with one line per violation for people.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..rdf.terms import SH, Base
from ..settings import SETTINGS


SHAPES_DIR = SETTINGS.shapes_dir


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


def load_shapes(base: Base, shapes_dir: Path | None = None) -> Graph:
    shapes = Graph()
    for path in sorted(Path(shapes_dir or SHAPES_DIR).glob("*.ttl")):
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


class ShapesError(Exception):
    """The shapes themselves are broken (pyshacl refused them)."""


def as_graph(triples) -> Graph:
    if isinstance(triples, Graph):
        return triples
    graph = Graph()
    add = graph.store.add  # straight to the store: no event dispatch, no per-triple checks
    for triple in triples:
        add(triple, graph, quoted=False)
    return graph


def validate(data, shapes: Graph) -> ValidationResult:
    """Validate data (a graph, or any iterable of triples) against the shapes."""
    ours = not isinstance(data, Graph)
    data = as_graph(data)
    from pyshacl import validate as pyshacl_validate  # imported when first used: in the build, by a helper

    conforms, report, text = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, abort_on_first=False,
        inplace=ours,  # a graph made here need not be copied first (no rules or inference change it)
        allow_warnings=False, meta_shacl=False,
    )
    if not isinstance(report, Graph):
        raise ShapesError(f"the shapes in shapes/ cannot be used: {text.strip()}")
    return ValidationResult(bool(conforms), report, violations_of(report, shapes))


def violations_of(report: Graph, shapes: Graph) -> list[Violation]:
    """The results of a report in pyshacl's form, one line each for people, in a stable order."""
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
    return violations


def merge(results: list[ValidationResult]) -> ValidationResult:
    """One report from several: one sh:ValidationReport holding every result."""
    if len(results) == 1:
        return results[0]
    report = Graph()
    node = BNode("report")
    conforms = all(r.conforms for r in results)
    report.add((node, RDF.type, SH.ValidationReport))
    report.add((node, SH.conforms, Literal(conforms)))
    for result in results:
        for part in result.report.subjects(RDF.type, SH.ValidationReport):
            for value in result.report.objects(part, SH.result):
                report.add((node, SH.result, value))
        for triple in result.report:
            if triple[1] not in (SH.conforms, SH.result) and triple[2] != SH.ValidationReport:
                report.add(triple)
    violations = sorted((v for r in results for v in r.violations),
                        key=lambda v: (v.focus, v.path, v.shape, v.message))
    return ValidationResult(conforms, report, violations)

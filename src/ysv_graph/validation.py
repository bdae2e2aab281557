"""Stage 4: SHACL validation with pyshacl.

The asserted graph is validated on its own, without inference, so a consumer who loads only out/ysv.ttl has a
valid graph. The result is a report graph (written to out/validation.ttl) plus one line per violation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
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


TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def as_graph(triples) -> Graph:
    if isinstance(triples, Graph):
        return triples
    graph = Graph()
    add = graph.store.add  # straight to the store: no event dispatch, no per-triple checks
    for triple in triples:
        add(triple, graph, quoted=False)
    return graph


def validate(data, shapes: Graph, focus_nodes: list | None = None) -> ValidationResult:
    """Validate data (a graph, or any iterable of triples) against the shapes; with focus_nodes, only those
    nodes are validated (by every shape that targets them)."""
    data = as_graph(data)
    conforms, report, text = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, abort_on_first=False,
        allow_warnings=False, meta_shacl=False, focus_nodes=focus_nodes,
    )
    if not isinstance(report, Graph):
        raise ShapesError(f"the shapes in shapes/ cannot be used: {text.strip()}")
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


def partition(shapes: Graph, jobs: int) -> list[list[URIRef]]:
    """Split the targeted node shapes into `jobs` groups. Shapes with SPARQL constraints cost the most (one
    rdflib query each over the graph), so each gets a group of its own before the rest are shared out."""
    node_shapes = sorted({s for p in TARGETS for s in shapes.subjects(p, None) if isinstance(s, URIRef)}, key=str)
    heavy = [s for s in node_shapes if (s, SH.sparql, None) in shapes]
    light = [s for s in node_shapes if s not in heavy]
    jobs = max(1, jobs)
    groups: list[list[URIRef]] = [[] for _ in range(jobs)]
    weights = [0] * jobs
    for shape, weight in [(s, 10) for s in heavy] + [(s, 1) for s in light]:
        lightest = weights.index(min(weights))
        groups[lightest].append(shape)
        weights[lightest] += weight
    return [g for g in groups if g]


def only(shapes: Graph, group: list[URIRef]) -> Graph:
    """The shapes graph with the targets of every node shape outside `group` removed, so that only the group's
    shapes select focus nodes (their property and nested shapes stay whole)."""
    keep = set(group)
    out = Graph()
    for s, p, o in shapes:
        if p in TARGETS and s not in keep:
            continue
        out.add((s, p, o))
    return out


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


class Background:
    """Validation in forked child processes (the node shapes split into `jobs` groups) while the parent does
    other work (the build renders the output files meanwhile). Falls back to validating in the foreground where
    fork is unavailable or unsafe (other threads running), or when jobs is 0."""

    def __init__(self, data: Graph, shapes: Graph, jobs: int = 1):
        import multiprocessing as mp
        import threading

        self.data, self.shapes, self.children = data, shapes, []
        if jobs > 0 and "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
            ctx = mp.get_context("fork")
            for group in partition(shapes, jobs):
                conn, child = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_validate_child, args=(data, shapes, group, child), daemon=True)
                process.start()
                child.close()
                self.children.append((process, conn))

    def result(self) -> tuple[ValidationResult, float]:
        """The merged result, and the longest time one process spent validating."""
        import time

        if not self.children:
            start = time.perf_counter()
            return validate(self.data, self.shapes), time.perf_counter() - start
        results, seconds = [], 0.0
        for process, conn in self.children:
            try:
                message = conn.recv()
            except EOFError:
                raise RuntimeError("a validation process died") from None
            finally:
                process.join()
            if isinstance(message, BaseException):
                raise message
            conforms, report_nt, violations, took = message
            report = Graph()
            report.parse(data=report_nt, format="nt")
            results.append(ValidationResult(conforms, report, violations))
            seconds = max(seconds, took)
        return merge(results), seconds


def _validate_child(data: Graph, shapes: Graph, group: list[URIRef], conn) -> None:  # pragma: no cover
    import time

    start = time.perf_counter()
    try:
        result = validate(data, only(shapes, group))
        conn.send((result.conforms, result.report.serialize(format="nt"), result.violations,
                   time.perf_counter() - start))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        conn.send(ShapesError(str(exc)) if not isinstance(exc, ShapesError) else exc)
    conn.close()

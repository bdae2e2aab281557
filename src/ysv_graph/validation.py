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


class ShapesError(Exception):
    """The shapes themselves are broken (pyshacl refused them)."""


def validate(data: Graph, shapes: Graph) -> ValidationResult:
    conforms, report, text = pyshacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, abort_on_first=False,
        allow_warnings=False, meta_shacl=False,
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


class Background:
    """Validation running in a forked child process while the parent does other work (the build renders the
    output files meanwhile). Falls back to validating in the foreground where fork is unavailable or unsafe
    (other threads running)."""

    def __init__(self, data: Graph, shapes: Graph):
        import multiprocessing as mp
        import threading

        self.data, self.shapes, self.process, self.conn = data, shapes, None, None
        if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
            ctx = mp.get_context("fork")
            self.conn, child = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=_validate_child, args=(data, shapes, child), daemon=True)
            self.process.start()
            child.close()

    def result(self) -> tuple[ValidationResult, float]:
        import time

        if self.process is None:
            start = time.perf_counter()
            return validate(self.data, self.shapes), time.perf_counter() - start
        try:
            message = self.conn.recv()
        except EOFError:
            raise RuntimeError("the validation process died") from None
        finally:
            self.process.join()
        if isinstance(message, BaseException):
            raise message
        conforms, report_nt, violations, seconds = message
        report = Graph()
        report.parse(data=report_nt, format="nt")
        return ValidationResult(conforms, report, violations), seconds


def _validate_child(data: Graph, shapes: Graph, conn) -> None:  # pragma: no cover - child process
    import time

    start = time.perf_counter()
    try:
        result = validate(data, shapes)
        conn.send((result.conforms, result.report.serialize(format="nt"), result.violations,
                   time.perf_counter() - start))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        conn.send(ShapesError(str(exc)) if not isinstance(exc, ShapesError) else exc)
    conn.close()

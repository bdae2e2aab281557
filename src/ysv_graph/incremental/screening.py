"""The validation screen: checks of the whole asserted graph that narrow what pyshacl must look at.

Above a size (VALIDATE_WHOLE_BELOW asserted triples) pyshacl on the whole graph costs minutes, so the build checks
the whole graph once with a fast screen (Screen: shacl, a SHACL engine in Rust, in a process of its own) and the
graph-wide SPARQL rules (check_graph_wide, in pyoxigraph); pyshacl then validates, in batches of source documents
(batches.py), only where the screen found something, so its report is still the one published. Below that size
every build runs pyshacl on the whole graph and none of this runs. tests/test_validation_differential.py shows the
verdicts equal pyshacl's on the whole graph, case for case.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from . import caching
from ..pipeline.validation import ShapesError, ValidationResult, Violation, _name, validate
from ..rdf.terms import SH

# Below this many asserted triples, every build validates the whole graph with pyshacl (the real data has about
# 4,500: pyshacl takes under a second); above it the screen narrows pyshacl's work.
VALIDATE_WHOLE_BELOW = 250_000

# what the validation results kept in the cache were made by (a new version makes every kept one stale)
CACHE_VERSION = "3"


@dataclass(frozen=True)
class SparqlConstraint:
    shape: URIRef
    constraint: URIRef
    targets: tuple
    select: str
    message: str | None
    prefixes: dict = field(hash=False, compare=False)


def graph_wide_constraints(shapes: Graph) -> list[SparqlConstraint]:
    """The SPARQL constraints of node shapes (with their explicit sh:targetNode targets). The shapes are first
    put to pyshacl on an empty graph, so that constraints it would refuse are refused here too (ShapesError)."""
    validate(Graph(), shapes)
    out = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql)):
        targets = tuple(sorted(shapes.objects(shape, SH.targetNode)))
        if shapes.value(shape, SH.targetClass) is not None or shapes.value(shape, SH.path) is not None:
            raise ShapesError(f"{shape}: SPARQL constraints are supported on node shapes with sh:targetNode only")
        prefixes = {}
        for ontology in shapes.objects(constraint, SH.prefixes):
            for declaration in shapes.objects(ontology, SH.declare):
                prefixes[str(shapes.value(declaration, SH.prefix))] = str(shapes.value(declaration, SH.namespace))
        message = shapes.value(constraint, SH.message)
        out.append(SparqlConstraint(shape, constraint, targets, str(shapes.value(constraint, SH.select)),
                                    str(message) if message is not None else None, prefixes))
    return out


def document_shapes(shapes: Graph) -> Graph:
    """The shapes without their graph-wide SPARQL constraints."""
    out = Graph()
    for triple in shapes:
        if triple[1] != SH.sparql:
            out.add(triple)
    for prefix, namespace in shapes.namespaces():
        out.bind(prefix, namespace)
    return out


class Screen:
    """A fast first pass over each batch with `shacl`, a SHACL engine written in Rust (about 20x pyshacl here),
    run in a process of its own (see screen.py for why it is started fresh, not forked).

    pyshacl stays the validator whose word counts: a batch the screen finds no result about its own nodes in
    is taken as conforming (with an empty report); any other batch is validated by pyshacl, whose report and
    messages are the ones the build prints and writes. So the screen can make a build faster but can only
    change its outcome by missing a violation that pyshacl would report; tests/test_shapes.py runs every
    negative test of the shapes through this path and checks that it reports exactly what pyshacl reports.
    Whenever the screen cannot answer (not installed, shapes it cannot compile, an error, its process gone),
    pyshacl validates the batch.

    Known difference: `shacl` does not check the lexical form of xsd:gYear literals (pyshacl does only when
    OWL-RL's datatype conversions are loaded, as they are in the build). Our gYears come only from curated
    fields that the loader checks (four digits), so none can be ill-formed by the time they are validated."""

    def __init__(self, process):
        self.process = process

    @staticmethod
    def version() -> str:
        try:
            from importlib.metadata import version

            return f"shacl {version('shacl')}"
        except Exception:  # noqa: BLE001 - not installed: no screen
            return "no screen"

    @classmethod
    def start(cls, shapes: Graph) -> "Screen | None":
        """A screen for these shapes (the document shapes), or None when `shacl` is missing or cannot compile
        them (pyshacl then validates every batch)."""
        import subprocess
        import sys

        from ..incremental.screen import read_frame, write_frame

        if cls.version() == "no screen":
            return None
        process = subprocess.Popen([sys.executable, "-m", "ysv_graph.incremental.screen"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE)
        screen = cls(process)
        try:
            write_frame(process.stdin, shapes.serialize(format="nt", encoding="utf-8"))
            answer = read_frame(process.stdout)
        except OSError:
            answer = None
        if answer != b"ok\n":
            screen.close()
            return None
        return screen

    def focus_nodes(self, ntriples: bytes | Path) -> list[str] | None:
        """The nodes (N-Triples syntax) the screen finds results about in this data (N-Triples, or the path of
        an N-Triples file, which the screen reads itself); None if it cannot tell."""
        return self.answer() if self.ask(ntriples) else None

    def ask(self, ntriples: bytes | Path) -> bool:
        """Send the data (as focus_nodes) without waiting for the answer, which answer() then reads: the screen
        works in its own process meanwhile. False if it could not be sent."""
        from ..incremental.screen import FILE, write_frame

        if self.process is None:
            return False
        try:
            write_frame(self.process.stdin, ntriples if isinstance(ntriples, bytes)
                        else FILE + str(Path(ntriples).resolve()).encode("utf-8"))
        except OSError:
            self.close()
            return False
        return True

    def answer(self) -> list[str] | None:
        """The answer to the data last sent by ask()."""
        from ..incremental.screen import read_frame

        if self.process is None:
            return None
        try:
            answer = read_frame(self.process.stdout)
        except OSError:
            answer = None
        if answer is None:
            self.close()
            return None
        status, _, body = answer.partition(b"\n")
        if status != b"ok":
            return None
        return body.decode("utf-8").split("\n") if body else []

    def passes(self, ntriples: bytes, focus: set) -> bool:
        """True if the screen finds no result about the batch's own (focus) nodes. A result about a blank node
        or a literal counts, whatever node it is about (context is only ever IRIs)."""
        nodes = self.focus_nodes(ntriples)
        return nodes is not None and not _suspect(focus, nodes)

    def close(self) -> None:
        if self.process is None:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None


def check_graph_wide(store, constraints: list[SparqlConstraint], shapes: Graph, values: set[str] | None = None
                     ) -> ValidationResult:
    """Run the graph-wide SPARQL constraints over a pyoxigraph store (its default graph the union of the data),
    with $this pre-bound to each target node, as SHACL-SPARQL prescribes. Returns a result in pyshacl's form.
    values: if given, only the results whose ?value (in N-Triples syntax) is one of these, or that have none,
    are kept (rechecking.check runs the rules over the context of the nodes an edit affected)."""
    import pyoxigraph as ox

    report = Graph()
    violations: list[Violation] = []
    count = 0
    for c in constraints:
        for target in c.targets:
            rows = store.query(c.select, prefixes=c.prefixes, use_default_graph_as_union=True,
                               substitutions={ox.Variable("this"): ox.NamedNode(str(target))})
            names = [v.value for v in rows.variables]
            for row in rows:
                found = {name: row[name] for name in names if row[name] is not None}
                if values is not None and "value" in found and str(found["value"]) not in values:
                    continue
                message = c.message or "violates the SPARQL constraint"
                for name, value in found.items():
                    message = message.replace("{?" + name + "}", value.value).replace("{$" + name + "}",
                                                                                         value.value)
                count += 1
                node = BNode(f"graph-wide-{count}")
                report.add((node, RDF.type, SH.ValidationResult))
                report.add((node, SH.focusNode, target))
                report.add((node, SH.resultSeverity, SH.Violation))
                report.add((node, SH.sourceConstraint, c.constraint))
                report.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
                report.add((node, SH.sourceShape, c.shape))
                report.add((node, SH.resultMessage, Literal(message)))
                if "value" in found:
                    report.add((node, SH.value, _from_ox(found["value"])))
                if "path" in found:
                    report.add((node, SH.resultPath, _from_ox(found["path"])))
                violations.append(Violation(
                    focus=str(target), path=str(found["path"].value) if "path" in found else "-",
                    shape=_name(c.shape, shapes), component=str(SH.SPARQLConstraintComponent), message=message))
    return graph_wide_result(report, violations)


def graph_wide_result(report: Graph | None = None, violations: list[Violation] | None = None) -> ValidationResult:
    """The graph-wide rules' result in pyshacl's form, from their results (none: the data conforms)."""
    report = Graph() if report is None else report
    violations = violations or []
    head = BNode("graph-wide-report")
    report.add((head, RDF.type, SH.ValidationReport))
    report.add((head, SH.conforms, Literal(not violations)))
    for node in report.subjects(RDF.type, SH.ValidationResult):
        report.add((head, SH.result, node))
    return ValidationResult(not violations, report, violations)


def _from_ox(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


@dataclass
class Screened:
    """What the checks of the whole asserted graph found: the graph-wide rules' result, and the nodes (in
    N-Triples syntax) that the screen found results about (None: no screen ran, so every batch needs pyshacl)."""

    graph_wide: ValidationResult
    flagged: list[str] | None
    cached: bool = False
    seconds: float = 0.0  # how long the checks took


def _result_to(result: ValidationResult) -> tuple:
    """A result as the caches keep it (the report as N-Triples)."""
    return result.conforms, result.report.serialize(format="nt"), result.violations


def _result_from(kept) -> ValidationResult | None:
    """The result _result_to kept, or None for anything else (damaged, other code's)."""
    try:
        conforms, report_nt, violations = kept
        return ValidationResult(conforms, Graph().parse(data=report_nt, format="nt"), violations)
    except Exception:  # noqa: BLE001 - not what we keep: computed again
        return None


def screen_and_check(ntriples: bytes | Path | str, shapes: Graph, cache: Path | None = None) -> Screened:
    """The checks that look at the whole asserted graph (N-Triples, or the path of an N-Triples file): the
    graph-wide SPARQL rules, in pyoxigraph, and the screen (shacl) over every node at once. Both answers are
    cached together under a hash of the N-Triples and the shapes, so an unchanged graph is not checked again
    (the rules alone take some 8 CPU-seconds at a million triples). The build runs this in a helper process on
    the N-Triples it writes; validate_dataset runs it here."""
    import time

    start = time.perf_counter()
    data = ntriples if isinstance(ntriples, bytes) else Path(ntriples).read_bytes()
    key = hashlib.sha256(shapes_digest(shapes).encode() + b"\n" + data).hexdigest()
    del data
    folder = Path(cache) / "screen" if cache is not None else None
    kept = caching.read(folder / f"{key}.pickle") if folder is not None else None
    if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], list):
        graph_wide = _result_from(kept[1])
        if graph_wide is not None:
            return Screened(graph_wide, kept[0], cached=True, seconds=time.perf_counter() - start)
    graph_wide, flagged = screen_and_rules(ntriples, shapes)
    if folder is not None and flagged is not None:
        # one graph is built into a folder: only its answer is kept (and none of the JSON of older versions)
        caching.prune(folder, {key}, ("*.pickle", "*.json"))
        caching.write(folder / f"{key}.pickle", (flagged, _result_to(graph_wide)))
    return Screened(graph_wide, flagged, seconds=time.perf_counter() - start)


def warm_up() -> None:
    """Import what the graph-wide rules need (pyshacl, and rdflib's SPARQL parser, whose grammar takes a fifth of
    a second to build): a rebuild's checks helper does so while the build's main process loads, instead of
    when its check comes (then the processors are busiest)."""
    import pyshacl  # noqa: F401
    from rdflib.plugins.sparql import prepareQuery

    prepareQuery("ASK { ?s ?p ?o }")


def screen_and_rules(ntriples: bytes | Path | str, shapes: Graph, values: set[str] | None = None
                     ) -> tuple[ValidationResult, list[str] | None]:
    """The graph-wide rules' result over some N-Triples (bytes, or a file's path), and the nodes the screen found
    results about (None if it could not answer): the screen works in its own process while the rules run in this
    one. values: as check_graph_wide's."""
    screen = Screen.start(document_shapes(shapes))
    flagged = None
    try:
        asked = screen is not None and screen.ask(ntriples if isinstance(ntriples, bytes) else Path(ntriples))
        graph_wide = check_graph_wide_ntriples(ntriples, shapes, values)
        if asked:
            flagged = screen.answer()
    finally:
        if screen is not None:
            screen.close()
    return graph_wide, flagged


def check_graph_wide_ntriples(ntriples: bytes | Path | str, shapes: Graph, values: set[str] | None = None
                              ) -> ValidationResult:
    """The graph-wide rules over the asserted data given as N-Triples, or the path of an N-Triples file (the
    build hands over what becomes out/ysv.nt)."""
    import pyoxigraph as ox

    if (None, SH.sparql, None) not in shapes:  # no rules: nothing to load them for
        return graph_wide_result()
    store = ox.Store()
    if isinstance(ntriples, bytes):
        store.bulk_load(ntriples, format=ox.RdfFormat.N_TRIPLES)
    else:
        store.bulk_load(path=str(ntriples), format=ox.RdfFormat.N_TRIPLES)
    return check_graph_wide(store, graph_wide_constraints(shapes), shapes, values)


def _suspect(focus: set, flagged) -> bool:
    """Does a batch with these focus nodes hold a node in flagged (N-Triples syntax)? A flagged blank node or
    literal could be anywhere, so it makes every batch suspect."""
    for node in flagged:
        if not (node.startswith("<") and node.endswith(">")) or URIRef(node[1:-1]) in focus:
            return True
    return False


def _pyshacl_version() -> str:
    """pyshacl's version, from its metadata: importing it (a fifth of a second) is left to the builds that run it."""
    from importlib.metadata import version

    return version("pyshacl")


def shapes_digest(shapes: Graph) -> str:
    import pyoxigraph

    from ..rdf.turtle import canonical_turtle

    digest = hashlib.sha256(canonical_turtle(shapes, {}))  # blank nodes (lists, declarations) named canonically
    digest.update(f"pyshacl {_pyshacl_version()} {Screen.version()} pyoxigraph {pyoxigraph.__version__} "
                  f"cache {CACHE_VERSION}".encode())  # the graph-wide rules run in pyoxigraph
    return digest.hexdigest()


def validate_whole(ntriples: bytes | Path | str, shapes: Graph) -> Screened:
    """pyshacl on the whole asserted graph (N-Triples, or an N-Triples file's path), as the plain pipeline does:
    the build below VALIDATE_WHOLE_BELOW triples runs this in a helper while it writes, and publishes the report.
    Returned as the screen's answer that flagged nothing, so confirm() takes its result as it is."""
    import time

    start = time.perf_counter()
    data = ntriples if isinstance(ntriples, bytes) else Path(ntriples).read_bytes()
    from ..rdf.ntriples import materialise, split

    result = validate(materialise(split(data)), shapes)
    return Screened(result, [], seconds=time.perf_counter() - start)

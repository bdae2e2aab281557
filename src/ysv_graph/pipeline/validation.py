"""Stage 4: SHACL validation with pyshacl.

The asserted graph is validated on its own, without inference, so a consumer who loads only out/ysv.ttl has a
valid graph. The result is a report graph (written to out/validation.ttl) plus one line per violation.

At scale (see "validation at scale" below) the build checks the whole asserted graph once with a fast screen
(shacl, a SHACL engine in Rust) and the graph-wide rules (in pyoxigraph); pyshacl then validates, in batches of
source documents, only where the screen found something, so its report is the one published. Results are cached
under hashes of the content and the shapes.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..incremental import caching
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


# --- validation at scale: per document, cached, graph-wide rules apart ------------------------------------------
#
# The node shapes with SPARQL constraints hold the graph-wide rules (every fact has a source, counts across
# documents). Everything else looks only at a focus node's own triples and the types of the nodes it points to.
# So the data is validated a batch of source documents at a time: each batch holds the triples of the nodes it is
# home to (all of them, from whichever document states them), the rdf:type triples of every node those point to,
# and, for sh:targetObjectsOf, the triples that point at its nodes. A node pointed to is validated in its own home
# batch; results about it from a batch it is only context in are dropped. The graph-wide SPARQL constraints run
# once over the whole graph, in pyoxigraph. tests/test_shapes.py checks that this reports exactly what pyshacl
# reports on the whole graph, for every constraint's negative test.
#
# In front of the batches stands the screen (Screen, screen_and_check): shacl, about 20 times faster than
# pyshacl, checks every node of the whole graph at once. Where it finds nothing the data conforms and no batch is
# made; otherwise only the batches home to the nodes it found results about go to pyshacl (confirm), whose report
# is the one the build prints and writes.


# source documents a batch (about 12,000 triples in the synthetic corpus): each pyshacl call has a fixed cost
# and each batch repeats the types of what it points to, while an edit revalidates a whole batch
BATCH_DOCUMENTS = 48
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
        process = subprocess.Popen([sys.executable, "-m", "ysv_graph.screen"], stdin=subprocess.PIPE,
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
class Batch:
    documents: list  # the named graphs whose nodes it is home to
    triples: set
    focus: set
    key: str = ""


def plan(graphs: dict, shapes: Graph, documents_per_batch: int = BATCH_DOCUMENTS, alone: tuple = (),
         only: set | None = None, subjects_per_alone_batch: int = 2000) -> list[Batch]:
    """Split the data (named graph -> triples) into batches of whole documents, each with its context.

    Graphs named in `alone` (the dataset description, which changes with every edit) are not grouped with
    others: their nodes are cut, in IRI order, into batches of `subjects_per_alone_batch`, so that an edit
    revalidates the few that changed. With `only`, just the batches of the graphs named in it are made (the
    context still comes from all the graphs)."""
    objects_of = set(shapes.objects(None, SH.targetObjectsOf))
    rdf_type = RDF.type
    home: dict = {}
    about: dict = defaultdict(list)  # node -> every triple with it as subject
    types: dict = defaultdict(list)  # node -> its rdf:type triples
    incoming: dict = defaultdict(list)  # node -> triples pointing at it with a sh:targetObjectsOf predicate
    names = sorted(graphs, key=str)
    for name in names:
        for triple in graphs[name]:
            s, p, o = triple
            home.setdefault(s, name)
            about[s].append(triple)
            if p == rdf_type:
                types[s].append(triple)
            elif p in objects_of:
                home.setdefault(o, name)
                incoming[o].append(triple)
    nodes_of: dict = defaultdict(list)
    for node, name in home.items():
        nodes_of[name].append(node)
    groups: list[tuple[list, list]] = []  # (documents, nodes)
    for name in names:
        if name in alone:
            nodes = sorted(nodes_of[name], key=str)
            groups += [([name], nodes[i:i + subjects_per_alone_batch])
                       for i in range(0, len(nodes), subjects_per_alone_batch)]
    rest = [name for name in names if name not in alone]
    for start in range(0, len(rest), documents_per_batch):
        documents = rest[start:start + documents_per_batch]
        groups.append((documents, [node for name in documents for node in nodes_of[name]]))
    batches = []
    for documents, nodes in groups:
        if only is not None and not set(documents) & only:
            continue
        triples: set = set()
        focus = set(nodes)
        for node in nodes:
            triples.update(about.get(node, ()))
            triples.update(incoming.get(node, ()))
        for _s, _p, o in list(triples):
            if isinstance(o, URIRef) and o in types:
                triples.update(types[o])
        batches.append(Batch(documents, triples, focus))
    return batches


def keep_focus(result: ValidationResult, focus: set) -> ValidationResult:
    """Drop the results about nodes that are only context in this batch (they are validated in their own).
    Context is only ever IRIs (the types of the IRIs a batch points to), so results on blank nodes are kept."""
    report = result.report
    kept = [r for r in report.subjects(RDF.type, SH.ValidationResult)
            if isinstance(report.value(r, SH.focusNode), BNode) or report.value(r, SH.focusNode) in focus]
    out = Graph()
    head = BNode()
    out.add((head, RDF.type, SH.ValidationReport))
    out.add((head, SH.conforms, Literal(not kept)))
    todo = list(kept)
    seen = set()
    while todo:  # each kept result with the blank nodes it reaches (paths, inline shapes)
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in report.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    for node in kept:
        out.add((head, SH.result, node))
    names = {str(f) if isinstance(f, URIRef) else None for f in focus}
    violations = [v for v in result.violations if v.focus in names or v.focus.startswith("_:")]
    return ValidationResult(not kept, out, violations)


def _pyshacl_version() -> str:
    """pyshacl's version, from its metadata: importing it (a fifth of a second) is left to the builds that run it."""
    from importlib.metadata import version

    return version("pyshacl")


def shapes_digest(shapes: Graph) -> str:
    import pyoxigraph

    from .writing import canonical_turtle

    digest = hashlib.sha256(canonical_turtle(shapes, {}))  # blank nodes (lists, declarations) named canonically
    digest.update(f"pyshacl {_pyshacl_version()} {Screen.version()} pyoxigraph {pyoxigraph.__version__} "
                  f"cache {CACHE_VERSION}".encode())  # the graph-wide rules run in pyoxigraph
    return digest.hexdigest()


def batch_key(batch: Batch, digest: str, ntriples: bytes) -> str:
    """The cache key of a batch: its sorted N-Triples, its focus nodes and the shapes."""
    h = hashlib.sha256(digest.encode())
    h.update(ntriples)
    h.update("\n".join(sorted(str(n) for n in batch.focus)).encode())
    return h.hexdigest()


class Cache:
    """Validation results of batches, by content hash (of the batch's triples, its focus nodes and the shapes)."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) / "validation" if folder is not None else None

    def get(self, key: str) -> ValidationResult | None:
        if self.folder is None:
            return None
        return _result_from(caching.read(self.folder / f"{key}.pickle"))

    def prune(self, keep: set[str]) -> int:
        """Delete the cached results of batches that are not in `keep` (no longer in the data); return how many."""
        return caching.prune(self.folder, keep) if self.folder is not None else 0

    def put(self, key: str, result: ValidationResult) -> None:
        if self.folder is not None:
            caching.write(self.folder / f"{key}.pickle", _result_to(result))


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


@dataclass
class Screened:
    """What the checks of the whole asserted graph found: the graph-wide rules' result, and the nodes (in
    N-Triples syntax) that the screen found results about (None: no screen ran, so every batch needs pyshacl)."""

    graph_wide: ValidationResult
    flagged: list[str] | None
    cached: bool = False
    seconds: float = 0.0  # how long the checks took


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


def _suspect(focus: set, flagged) -> bool:
    """Does a batch with these focus nodes hold a node in flagged (N-Triples syntax)? A flagged blank node or
    literal could be anywhere, so it makes every batch suspect."""
    for node in flagged:
        if not (node.startswith("<") and node.endswith(">")) or URIRef(node[1:-1]) in focus:
            return True
    return False


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


def _store(graphs: dict):
    import pyoxigraph as ox

    from .writing import to_ox

    store = ox.Store()  # streamed in, without a table of converted terms: this runs beside the build's memory
    store.bulk_extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(name)))
                      for name, graph in graphs.items() for s, p, o in graph)
    return store


def _work(batches: list[Batch], shapes: Graph, graphs: dict | None, constraints, full_shapes: Graph,
          cache: "Cache", digest: str) -> list:
    """What one process does: validate its batches, or take their results from the cache (and, if given the
    graphs, check the graph-wide constraints). Each batch not in the cache goes through the screen first; only a
    batch it finds a result in (or every batch, if there is no screen) is validated by pyshacl. Returns, a batch
    (and the graph-wide check) each, (cache key, how: False (cached), "screened" or "pyshacl", conforms, report
    as N-Triples, violations)."""
    from .writing import Converter

    converter = Converter()
    screen: list = []  # started on the first batch the cache does not hold
    try:
        out = _validate_batches(batches, shapes, cache, digest, converter, screen)
    finally:
        for started in screen:
            if started is not None:
                started.close()
    if graphs is not None:
        result = check_graph_wide(_store(graphs), constraints, full_shapes)
        out.append((None, None, result.conforms, result.report.serialize(format="nt"), result.violations))
    return out


def _validate_batches(batches: list[Batch], shapes: Graph, cache: "Cache", digest: str, converter,
                      screen: list) -> list:
    """Validate (or take from the cache) each batch. screen: an empty list, in which the screen is started
    when first needed (None in it if it cannot be), for the caller to close."""
    from .writing import ntriples

    out = []
    for batch in batches:
        batch_nt = ntriples(batch.triples, converter)
        key = batch_key(batch, digest, batch_nt)
        hit = cache.get(key)
        if hit is not None:
            out.append((key, False, hit.conforms, hit.report.serialize(format="nt"), hit.violations))
            continue
        if not screen:
            screen.append(Screen.start(shapes))
        if screen[0] is not None and screen[0].passes(batch_nt, batch.focus):
            result = ValidationResult(True, _empty_report(), [])
            how = "screened"
        else:  # a violation, or no screen: pyshacl says exactly what is wrong
            result = keep_focus(validate(batch.triples, shapes), batch.focus)
            how = "pyshacl"
        cache.put(key, result)
        out.append((key, how, result.conforms, result.report.serialize(format="nt"), result.violations))
    return out


class Background:
    """Validation in forked child processes while the parent does other work: batches of documents split
    across `jobs` processes, each taking from the cache the batches unchanged since the last build; one of them
    also runs the graph-wide rules (graph_wide=True). Falls back to validating in the foreground (when result()
    is called) where fork is unavailable or unsafe (other threads running), or when jobs is 0.

    The build (through confirm) makes one for the batches home to the nodes the whole-graph screen found results
    about (flagged=those nodes, graph_wide=False: a helper process has checked the graph-wide rules). Given no
    flagged nodes, it validates every batch, each through a screen of its own first."""

    def __init__(self, graphs: dict, shapes: Graph, jobs: int = 1, cache: Path | None = None,
                 documents_per_batch: int = BATCH_DOCUMENTS, alone: tuple = (), only: set | None = None,
                 graph_wide: bool = True, flagged: set | None = None):
        import multiprocessing as mp
        import threading

        self.cache = Cache(cache)
        self.shapes = shapes
        self.constraints = graph_wide_constraints(shapes)
        self.document_shapes = document_shapes(shapes)
        self.batches = plan(graphs, self.document_shapes, documents_per_batch, alone, only)
        if flagged is not None:  # only the batches home to a node the whole-graph screen found results about
            self.batches = [b for b in self.batches if _suspect(b.focus, flagged)]
        self.digest = shapes_digest(shapes)
        self.validated = 0  # batches validated rather than taken from the cache: known after result()
        self.by_pyshacl = 0  # of those, the batches pyshacl validated (the screen found a result, or none ran)
        self.keys: set[str] = set()  # the cache keys of the batches: known after result()
        self.graphs = graphs if graph_wide else None
        self.children: list = []
        if jobs > 0 and "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
            ctx = mp.get_context("fork")
            shares: list[list[Batch]] = [[] for _ in range(jobs)]
            weights = [0] * jobs
            if graph_wide:  # the graph-wide check goes to process 0
                weights[0] = sum(len(g) for g in graphs.values()) // 20
            for batch in sorted(self.batches, key=lambda b: -len(b.triples)):
                lightest = weights.index(min(weights))
                shares[lightest].append(batch)
                weights[lightest] += len(batch.triples)
            for number, share in enumerate(shares):
                if not share and not (number == 0 and graph_wide):
                    continue
                conn, child = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, daemon=True, args=(
                    share, self.document_shapes, self.graphs if number == 0 else None, self.constraints, shapes,
                    self.cache, self.digest, child))
                process.start()
                child.close()
                self.children.append((process, conn))

    def result(self) -> tuple[ValidationResult, float]:
        """The merged result, and the longest time one process spent validating."""
        import time

        if not self.children:
            start = time.perf_counter()
            messages = [_work(self.batches, self.document_shapes, self.graphs, self.constraints, self.shapes,
                              self.cache, self.digest)]
            seconds = time.perf_counter() - start
        else:
            messages, seconds = [], 0.0
            for process, conn in self.children:
                try:
                    message = conn.recv()
                except EOFError:
                    raise RuntimeError("a validation process died") from None
                finally:
                    process.join()
                if isinstance(message, BaseException):
                    raise message
                batch_results, took = message
                messages.append(batch_results)
                seconds = max(seconds, took)
        results = []
        for batch_results in messages:
            for key, validated, conforms, report_nt, violations in batch_results:
                self.validated += validated in ("screened", "pyshacl")
                self.by_pyshacl += validated == "pyshacl"
                if key is not None:
                    self.keys.add(key)
                results.append(ValidationResult(conforms, Graph().parse(data=report_nt, format="nt"), violations))
        if not results:
            results.append(ValidationResult(True, _empty_report(), []))
        return merge(results), seconds


def _empty_report() -> Graph:
    report = Graph()
    head = BNode()
    report.add((head, RDF.type, SH.ValidationReport))
    report.add((head, SH.conforms, Literal(True)))
    return report


def _child(batches, shapes, graphs, constraints, full_shapes, cache, digest, conn) -> None:  # pragma: no cover
    import gc
    import time

    # What the build made is frozen out of the collector's sight; what pyshacl makes (graphs full of reference
    # cycles, a batch at a time) is collected as usual, so the process does not grow batch after batch.
    gc.freeze()
    gc.enable()
    start = time.perf_counter()
    try:
        conn.send((_work(batches, shapes, graphs, constraints, full_shapes, cache, digest),
                   time.perf_counter() - start))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        conn.send(ShapesError(str(exc)) if not isinstance(exc, ShapesError) else exc)
    conn.close()


def validate_dataset(graphs: dict, shapes: Graph, jobs: int = 0, cache: Path | None = None,
                     documents_per_batch: int = BATCH_DOCUMENTS, alone: tuple = ()) -> ValidationResult:
    """Validate named graphs the way the build does: the whole graph through the graph-wide rules and the
    screen (screen_and_check), then pyshacl on the batches home to the nodes the screen found results about."""
    from .writing import ntriples

    screened = screen_and_check(ntriples({t for graph in graphs.values() for t in graph}), shapes, cache)
    return confirm(graphs, shapes, screened, jobs, cache, documents_per_batch, alone).result


@dataclass
class Confirmed:
    result: ValidationResult
    batches: int = 0  # batches pyshacl was given
    validated: int = 0  # of those, not taken from the cache
    keys: set = field(default_factory=set)  # their cache keys


def confirm(graphs: dict, shapes: Graph, screened: Screened, jobs: int = 0, cache: Path | None = None,
            documents_per_batch: int = BATCH_DOCUMENTS, alone: tuple = ()) -> Confirmed:
    """The full result, from what the whole-graph checks found: if the screen found nothing, the graph-wide
    rules' result; otherwise pyshacl validates the batches home to the nodes it flagged (all of them if no
    screen ran), in `jobs` processes, with the cache, and says exactly what is wrong."""
    if screened.flagged is not None and not screened.flagged:
        return Confirmed(screened.graph_wide)
    flagged = set(screened.flagged) if screened.flagged is not None else None
    batches = Background(graphs, shapes, jobs, cache, documents_per_batch, alone, graph_wide=False,
                         flagged=flagged)
    documents, _seconds = batches.result()
    parts = [documents, screened.graph_wide]
    homed = set().union(*(b.focus for b in batches.batches)) if batches.batches else set()
    unhomed = {URIRef(n[1:-1]) for n in flagged or () if n.startswith("<") and URIRef(n[1:-1]) not in homed}
    if unhomed:  # flagged nodes no batch is home to (a sh:targetNode with no triples): the whole graph, for them
        whole = {t for graph in graphs.values() for t in graph}
        parts.append(keep_focus(validate(whole, document_shapes(shapes)), unhomed))
    return Confirmed(merge(parts), len(batches.batches), batches.validated, batches.keys)

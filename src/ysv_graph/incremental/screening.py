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
import re
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
CACHE_VERSION = "4"


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
    with $this pre-bound to each target node, as SHACL-SPARQL prescribes. Returns a result in pyshacl's form, with
    pyshacl's results: one for each distinct solution, its sh:value the focus node where ?value is unbound, its
    message filled in as pyshacl fills it in (the terms' lexical forms, a blank node's label).
    values: if given, only the results whose ?value (in N-Triples syntax) is one of these, or that have none,
    are kept (rechecking.check runs the rules over the context of the nodes an edit affected).

    Where pyoxigraph's SPARQL differs from rdflib's (which pyshacl runs), the data is what must give way: the
    store must hold the literals as rdflib makes them (load_rules_store; data with literals rdflib finds ill-typed
    go to graph_wide_by_pyshacl instead), and STR() of a blank node, an error in pyoxigraph that dropped the row,
    is rdflib's (the label) when the store holds blank nodes."""
    import pyoxigraph as ox

    report = Graph()
    violations: list[Violation] = []
    count = 0
    blank = bool(store.query("ASK { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }",
                             use_default_graph_as_union=True))
    functions = {ox.NamedNode(RDFLIB_STR): _rdflib_str} if blank else None
    for c in constraints:
        select = _with_rdflib_str(c.select) if blank else c.select
        severity = shapes.value(c.shape, SH.severity) or SH.Violation
        for target in c.targets:
            rows = store.query(select, prefixes=c.prefixes, use_default_graph_as_union=True,
                               substitutions={ox.Variable("this"): _to_ox(target)}, custom_functions=functions)
            names = [v.value for v in rows.variables]
            seen = set()
            for row in rows:
                found = {name: _from_ox(row[name]) for name in names if row[name] is not None}
                found.pop("failure", None)
                key = frozenset(found.items())
                if key in seen:  # pyshacl reports each distinct solution once
                    continue
                seen.add(key)
                value = found.get("value", target)  # pyshacl's sh:value where the query binds none
                if values is not None and "value" in found and _ntriples(value) not in values:
                    continue
                message = _message(c.message or "violates the SPARQL constraint", found)
                count += 1
                node = BNode(f"graph-wide-{count}")
                report.add((node, RDF.type, SH.ValidationResult))
                report.add((node, SH.focusNode, found.get("this", target)))
                report.add((node, SH.resultSeverity, severity))
                report.add((node, SH.sourceConstraint, c.constraint))
                report.add((node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
                report.add((node, SH.sourceShape, c.shape))
                report.add((node, SH.resultMessage, Literal(message)))
                report.add((node, SH.value, value))
                if "path" in found:
                    report.add((node, SH.resultPath, found["path"]))
                violations.append(Violation(
                    focus=_name(found.get("this", target), report), path=_name(found.get("path"), report),
                    shape=_name(c.shape, shapes), component=str(SH.SPARQLConstraintComponent), message=message))
    violations.sort(key=lambda v: (v.focus, v.path, v.shape, v.message))
    return graph_wide_result(report, violations)


# STR() as rdflib evaluates it (the lexical form of a literal, an IRI, the label of a blank node): pyoxigraph, as
# SPARQL says, fails on a blank node, and a failing FILTER drops the row that pyshacl reports
RDFLIB_STR = "urn:x-ysv-graph:rdflib-str"
_STR_CALL = re.compile(r"(?<![\w$?:])STR\s*\(", re.IGNORECASE)
_NOT_CODE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^\s<>"]*>|#[^\n]*')


def _with_rdflib_str(select: str) -> str:
    """The query with its STR() calls (outside strings, IRIs and comments) calling _rdflib_str instead."""
    out, at = [], 0
    for skipped in _NOT_CODE.finditer(select):
        out.append(_STR_CALL.sub(f"<{RDFLIB_STR}>(", select[at:skipped.start()]))
        out.append(skipped.group())
        at = skipped.end()
    out.append(_STR_CALL.sub(f"<{RDFLIB_STR}>(", select[at:]))
    return "".join(out)


def _rdflib_str(term):
    import pyoxigraph as ox

    return ox.Literal(term.value) if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)) else None


def _message(message: str, found: dict) -> str:
    """The message with {?name} and {$name} filled in as pyshacl does (its str() of each bound term), in its order:
    the other variables, then this, path and value."""
    order = [name for name in found if name not in ("this", "path", "value")] + [
        name for name in ("this", "path", "value") if name in found]
    for name in order:
        message = re.sub("{[?$]" + re.escape(name) + "}", lambda _m, text=str(found[name]): text, message)
    return message


def _to_ox(term):
    from ..rdf.ntriples import to_ox

    return to_ox(term)


def _ntriples(term) -> str:
    """A term (rdflib) in N-Triples syntax, as the screen and rechecking name nodes."""
    return str(_to_ox(term))


def graph_wide_by_pyshacl(triples, shapes: Graph, values: set[str] | None = None) -> ValidationResult:
    """The graph-wide rules run by pyshacl itself over the data (rdflib triples): what the rules' runner does when
    the data has literals that rdflib finds ill-typed, whose comparisons in rdflib's SPARQL and pyoxigraph's
    differ (pyoxigraph compares "-1"^^xsd:nonNegativeInteger as -1; rdflib does not). Slow on a big graph
    (some 25x the pyoxigraph runner), but data with ill-typed literals is rare. values: as check_graph_wide's."""
    result = validate(triples, rules_shapes(shapes))
    if values is None:
        return result
    report = result.report
    dropped = {r for r in report.subjects(RDF.type, SH.ValidationResult)
               if report.value(r, SH.value) is not None and _ntriples(report.value(r, SH.value)) not in values}
    if not dropped:
        return result
    kept = Graph()
    for s, p, o in report:
        if s not in dropped and o not in dropped:
            kept.add((s, p, o))
    for head in kept.subjects(RDF.type, SH.ValidationReport):
        kept.set((head, SH.conforms, Literal(not set(kept.subjects(RDF.type, SH.ValidationResult)))))
    return _from_report(kept, shapes)


def rules_shapes(shapes: Graph) -> Graph:
    """The shapes with only their graph-wide SPARQL constraints targeting anything: every other shape loses its
    targets, and the shapes holding the rules keep of their own parameters only their targets and rules."""
    holders = set(shapes.subjects(SH.sparql, None))
    keep = {RDF.type, SH.targetNode, SH.sparql, SH.severity, SH.deactivated, SH.message}
    out = Graph()
    for s, p, o in shapes:
        if s in holders and p not in keep:
            continue
        if s not in holders and p in _TARGETS:
            continue
        out.add((s, p, o))
    for prefix, namespace in shapes.namespaces():
        out.bind(prefix, namespace)
    return out


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf, SH.target)


def _from_report(report: Graph, shapes: Graph) -> ValidationResult:
    """A result from a report in pyshacl's form (its violations listed as validation.validate lists them)."""
    violations = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        message = report.value(result, SH.resultMessage)
        violations.append(Violation(
            focus=_name(report.value(result, SH.focusNode), report),
            path=_name(report.value(result, SH.resultPath), report),
            shape=_name(report.value(result, SH.sourceShape), shapes),
            component=_name(report.value(result, SH.sourceConstraintComponent), report),
            message=str(message) if message is not None else "violates the shape"))
    violations.sort(key=lambda v: (v.focus, v.path, v.shape, v.message))
    return ValidationResult(not violations, report, violations)


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
    from ..rdf.ntriples import to_rdflib

    return to_rdflib(term)


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
        return ValidationResult(conforms, report_graph(report_nt), violations)
    except Exception:  # noqa: BLE001 - not what we keep: computed again
        return None


def report_graph(report_nt: str | bytes) -> Graph:
    """A report kept as N-Triples, read back with its blank nodes' labels (rdflib's parser makes new ones, and a
    result about a blank node of the data must name it as the data does)."""
    import pyoxigraph as ox

    from ..rdf.ntriples import to_rdflib

    graph = Graph()
    add = graph.store.add
    data = report_nt.encode("utf-8") if isinstance(report_nt, str) else report_nt
    for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES):
        add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)), graph, quoted=False)
    return graph


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
    results about (None if it could not answer), with the nodes whose results a literal rdflib does not take as
    written can change (survey): the screen works in its own process while the rules run in this one. values: as
    check_graph_wide's."""
    data = ntriples if isinstance(ntriples, bytes) else Path(ntriples).read_bytes()
    found = survey(data, shapes)
    screen = Screen.start(document_shapes(shapes))
    flagged = None
    try:
        asked = screen is not None and screen.ask(ntriples if isinstance(ntriples, bytes) else Path(ntriples))
        graph_wide = check_graph_wide_ntriples(data, shapes, values, found)
        if asked:
            flagged = screen.answer()
    finally:
        if screen is not None:
            screen.close()
    if flagged is not None and found.flagged:
        flagged = sorted(set(flagged) | found.flagged)
    return graph_wide, flagged


def check_graph_wide_ntriples(ntriples: bytes | Path | str, shapes: Graph, values: set[str] | None = None,
                              found: "Survey | None" = None) -> ValidationResult:
    """The graph-wide rules over the asserted data given as N-Triples, or the path of an N-Triples file (the
    build hands over what becomes out/ysv.nt): in pyoxigraph, over the literals as rdflib takes them; by pyshacl
    if some are ill-typed (graph_wide_by_pyshacl). found: the data's survey, if the caller has made it."""
    if (None, SH.sparql, None) not in shapes:  # no rules: nothing to load them for
        return graph_wide_result()
    data = ntriples if isinstance(ntriples, bytes) else Path(ntriples).read_bytes()
    found = found if found is not None else survey(data, shapes)
    if found.ill_typed:
        from ..rdf.ntriples import materialise, split

        return graph_wide_by_pyshacl(materialise(split(data)), shapes, values)
    store = load_rules_store(found.canonical if found.canonical is not None else data)
    return check_graph_wide(store, graph_wide_constraints(shapes), shapes, values)


def load_rules_store(data: bytes):
    """A pyoxigraph store of N-Triples for the rules, its blank nodes keeping their labels (pyoxigraph's loaders
    name them afresh, and the rules' results name them as the data does): the lines with blank nodes are parsed and
    added as they are, the rest bulk-loaded."""
    import pyoxigraph as ox

    from ..rdf.ntriples import joined

    store = ox.Store()
    if b"_:" not in data:
        store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
        return store
    plain, blank = [], []
    for line in data.split(b"\n"):
        if line:
            (blank if _has_blank_node(line) else plain).append(line)
    store.bulk_load(joined(plain), format=ox.RdfFormat.N_TRIPLES)
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object)
                      for t in ox.parse(joined(blank), format=ox.RdfFormat.N_TRIPLES))
    return store


def _has_blank_node(line: bytes) -> bool:
    """Does an N-Triples line have a blank node as subject or object? (An object's last token holds no quote when
    it is a blank node; a literal's does.)"""
    if line.startswith(b"_:"):
        return True
    last = line[:-2].rstrip().rsplit(b" ", 1)[-1]
    return last.startswith(b"_:") and b'"' not in last


@dataclass
class Survey:
    """The typed literals of some N-Triples that rdflib, so pyshacl, does not take as written: non-canonical ones
    ("007"^^xsd:integer, "1"^^xsd:boolean), which it rewrites ("7", "true"), and ill-typed ones ("TRUE"^^xsd:boolean,
    "-1"^^xsd:nonNegativeInteger), which it also may rewrite, keeping a flag that N-Triples cannot show. The screen
    sees the N-Triples as written, pyshacl sees rdflib's terms: where they differ, only pyshacl can say."""

    flagged: set[str]  # the nodes whose results they can change: the subjects of their lines (and themselves, as
    #                    objects of a sh:targetObjectsOf predicate, as rdflib writes them), in N-Triples syntax
    canonical: bytes | None  # the N-Triples with the non-canonical ones as rdflib writes them (None: none to rewrite)
    ill_typed: bool  # some are ill-typed: rdflib's SPARQL compares them otherwise than pyoxigraph's


_TYPED = re.compile(rb'"((?:[^"\\]|\\.)*)"\^\^<([^<>"\s]*)>')
_ILL_TYPED = object()


def survey(data: bytes, shapes: Graph) -> Survey:
    """The Survey of some N-Triples (distinct lines, as the build writes them). Looks only at the lines with a typed
    literal, and at each distinct literal once."""
    objects_of = {str(p).encode() for p in shapes.objects(None, SH.targetObjectsOf)}
    verdicts: dict = {}
    flagged: set[str] = set()
    edits: list[tuple[int, int, bytes]] = []
    ill_typed = False
    at = data.find(b'"^^<')
    while at != -1:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end == -1 else end
        at = data.find(b'"^^<', end)
        line = data[start:end]
        subject, predicate, rest = line.split(b" ", 2)
        obj = rest[:-2].rstrip() if rest.endswith(b".") else rest
        verdict = verdicts.get(obj, False)
        if verdict is False:
            verdict = verdicts[obj] = _verdict(obj)
        if verdict is None:
            continue
        flagged.add(subject.decode("utf-8"))
        if verdict is _ILL_TYPED:
            ill_typed = True
            written = _as_rdflib_writes(obj)
        else:
            written = verdict
            edits.append((start, end, b"%s %s %s ." % (subject, predicate, verdict)))
        if predicate[1:-1] in objects_of:
            flagged.add(written.decode("utf-8"))
    canonical = None
    if edits:
        pieces, done = [], 0
        for start, end, line in edits:
            pieces += [data[done:start], line]
            done = end
        pieces.append(data[done:])
        canonical = b"".join(pieces)
    return Survey(flagged, canonical, ill_typed)


def _rdflib_literal(obj: bytes):
    """The rdflib Literal of a typed literal in N-Triples syntax, and its lexical form as written (None: not a
    typed literal, as when the mark found was inside a string)."""
    import pyoxigraph as ox

    match = _TYPED.fullmatch(obj)
    if match is None:
        return None, None
    if b"\\" in match.group(1):  # escapes: pyoxigraph reads them
        term = next(iter(ox.parse(b"<urn:x:s> <urn:x:p> " + obj + b" .", format=ox.RdfFormat.N_TRIPLES))).object
        lexical = term.value
    else:
        lexical = match.group(1).decode("utf-8")
    return Literal(lexical, datatype=URIRef(match.group(2).decode("utf-8"))), lexical


def _verdict(obj: bytes):
    """None if rdflib takes this typed literal as written; _ILL_TYPED if it finds it ill-typed; otherwise the
    literal as rdflib writes it (N-Triples)."""
    literal, lexical = _rdflib_literal(obj)
    if literal is None:
        return None
    if literal.ill_typed:
        return _ILL_TYPED
    if str(literal) == lexical:
        return None
    return _ntriples(literal).encode("utf-8")


def _as_rdflib_writes(obj: bytes) -> bytes:
    literal, _lexical = _rdflib_literal(obj)
    return _ntriples(literal).encode("utf-8")


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

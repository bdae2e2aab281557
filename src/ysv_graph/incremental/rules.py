"""The graph-wide SHACL-SPARQL rules, run over the whole asserted graph in pyoxigraph.

The node shapes with SPARQL constraints (every fact has a source, counts across documents) look at the whole
graph, so the fast path (screening.py) runs them once over all of it here, with $this pre-bound to each target
node as SHACL-SPARQL prescribes, and reports in pyshacl's form. pyshacl on rdflib takes some 25 times longer at
200,000 triples (measured), so this runner stays; where the data holds a literal rdflib would not keep as written,
pyshacl runs the rules itself (graph_wide_by_pyshacl). tests/test_validation_differential.py shows the results
equal pyshacl's on the whole graph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..pipeline.validation import ShapesError, ValidationResult, Violation, _name, validate, violations_of
from ..rdf.terms import SH


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


def check_graph_wide(store, constraints: list[SparqlConstraint], shapes: Graph, values: set[str] | None = None,
                     blank: bool | None = None) -> ValidationResult:
    """Run the graph-wide SPARQL constraints over a pyoxigraph store (its default graph the union of the data),
    with $this pre-bound to each target node, as SHACL-SPARQL prescribes. Returns a result in pyshacl's form, with
    pyshacl's results: one for each distinct solution, its sh:value the focus node where ?value is unbound, its
    message filled in as pyshacl fills it in (the terms' lexical forms, a blank node's label).
    values: if given, only the results whose ?value (in N-Triples syntax) is one of these, or that have none,
    are kept (rechecking.check runs the rules over the context of the nodes an edit affected).

    Where pyoxigraph's SPARQL differs from rdflib's (which pyshacl runs), the data is what must give way: the
    store must hold the literals as rdflib makes them (load_rules_store; data with literals rdflib finds ill-typed
    go to graph_wide_by_pyshacl instead), and STR() of a blank node, an error in pyoxigraph that dropped the row,
    is rdflib's (the label) when the store holds blank nodes (blank: whether it may; None: the store is asked)."""
    import pyoxigraph as ox

    report = Graph()
    violations: list[Violation] = []
    count = 0
    if blank is None:
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
    violations = violations_of(report, shapes)
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

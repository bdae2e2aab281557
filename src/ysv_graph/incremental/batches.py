"""pyshacl in batches of source documents, for what the screen flagged (screening.py), with results cached.

The node shapes with SPARQL constraints hold the graph-wide rules (every fact has a source, counts across
documents). Everything else looks only at a focus node's own triples and the types of the nodes it points to. So
the data is validated a batch of source documents at a time: each batch holds the triples of the nodes it is home
to (all of them, from whichever document states them), the rdf:type triples of every node (IRI or blank node)
those point to, for sh:targetObjectsOf the triples that point at its nodes, and every rdfs:subClassOf triple of
the data (pyshacl follows them for sh:targetClass and sh:class). A node pointed to is validated in its own home
batch; results about it from a batch it is only context in are dropped. The graph-wide SPARQL constraints run once
over the whole graph, in pyoxigraph (screening.check_graph_wide).

The screen sees N-Triples, pyshacl rdflib's terms, and they can differ: rdflib rewrites a non-canonical literal
and keeps a flag, which N-Triples cannot show, on an ill-typed one ("TRUE"^^xsd:boolean becomes an ill-typed
"true"). So a batch home to a node the whole-graph screen flagged goes to pyshacl without being screened again,
and a batch holding an ill-typed literal is never screened. tests/test_validation_differential.py compares the
whole path with pyshacl on the whole graph.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from . import caching
from .. import workers
from .rules import _ntriples, check_graph_wide, graph_wide_by_pyshacl, graph_wide_constraints
from .screening import (Screen, Screened, _result_from, _result_to, document_shapes, report_graph,
                        screen_and_check, shapes_digest)
from ..pipeline.validation import ShapesError, ValidationResult, _name, merge, validate
from ..rdf.terms import SH


# source documents a batch (about 12,000 triples in the synthetic corpus): each pyshacl call has a fixed cost
# and each batch repeats the types of what it points to, while an edit revalidates a whole batch
BATCH_DOCUMENTS = 48




@dataclass
class Batch:
    documents: list  # the named graphs whose nodes it is home to
    triples: set
    focus: set
    key: str = ""
    screen: bool = True  # put to the screen first (False: the whole-graph screen found a result about its nodes)


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
    hierarchy: set = set()  # every rdfs:subClassOf triple: pyshacl follows them for sh:targetClass and sh:class
    incoming: dict = defaultdict(list)  # node -> triples pointing at it with a sh:targetObjectsOf predicate
    names = sorted(graphs, key=str)
    for name in names:
        for triple in graphs[name]:
            s, p, o = triple
            home.setdefault(s, name)
            about[s].append(triple)
            if p == rdf_type:
                types[s].append(triple)
            elif p == RDFS.subClassOf:
                hierarchy.add(triple)
            if p in objects_of:
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
        triples: set = set(hierarchy)
        focus = set(nodes)
        for node in nodes:
            triples.update(about.get(node, ()))
            triples.update(incoming.get(node, ()))
        for _s, _p, o in list(triples):
            if not isinstance(o, Literal) and o in types:
                triples.update(types[o])
        batches.append(Batch(documents, triples, focus))
    return batches


def keep_focus(result: ValidationResult, focus: set) -> ValidationResult:
    """Drop the results about nodes that are only context in this batch (they are validated in their own): the
    nodes it points to, IRIs or blank nodes, with their types, and those a sh:targetObjectsOf triple of one of
    its nodes points to. Results about its own nodes are kept, whatever kind of node (a literal too, as the object
    of a sh:targetObjectsOf predicate)."""
    report = result.report
    kept = [r for r in report.subjects(RDF.type, SH.ValidationResult) if report.value(r, SH.focusNode) in focus]
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
    names = {_name(report.value(r, SH.focusNode), report) for r in kept}  # as validate names them
    violations = [v for v in result.violations if v.focus in names]
    return ValidationResult(not kept, out, violations)


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


def _store(graphs: dict):
    import pyoxigraph as ox

    from ..rdf.ntriples import to_ox

    store = ox.Store()  # streamed in, without a table of converted terms: this runs beside the build's memory
    store.bulk_extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(name)))
                      for name, graph in graphs.items() for s, p, o in graph)
    return store


def _graph_wide(graphs: dict, constraints, shapes: Graph) -> ValidationResult:
    """The graph-wide rules over the graphs (rdflib terms): in pyoxigraph, but by pyshacl if a literal is ill-typed
    (its N-Triples cannot show it: screening.graph_wide_by_pyshacl)."""
    if any(_ill_typed(graph) for graph in graphs.values()):
        return graph_wide_by_pyshacl({t for graph in graphs.values() for t in graph}, shapes)
    return check_graph_wide(_store(graphs), constraints, shapes)


def _ill_typed(triples) -> bool:
    """Does one of the triples have an ill-typed literal (rdflib's flag, which its N-Triples do not carry: "TRUE"
    ^^xsd:boolean is written "true")?"""
    return any(isinstance(o, Literal) and o.ill_typed for _s, _p, o in triples)


def _work(batches: list[Batch], shapes: Graph, graphs: dict | None, constraints, full_shapes: Graph,
          cache: "Cache", digest: str) -> list:
    """What one process does: validate its batches, or take their results from the cache (and, if given the
    graphs, check the graph-wide constraints). Each batch not in the cache goes through the screen first; only a
    batch it finds a result in (or every batch, if there is no screen) is validated by pyshacl. Returns, a batch
    (and the graph-wide check) each, (cache key, how: False (cached), "screened" or "pyshacl", conforms, report
    as N-Triples, violations)."""
    from ..rdf.ntriples import Converter

    converter = Converter()
    screen: list = []  # started on the first batch the cache does not hold
    try:
        out = _validate_batches(batches, shapes, cache, digest, converter, screen)
    finally:
        for started in screen:
            if started is not None:
                started.close()
    if graphs is not None:
        result = _graph_wide(graphs, constraints, full_shapes)
        out.append((None, None, result.conforms, result.report.serialize(format="nt"), result.violations))
    return out


def _validate_batches(batches: list[Batch], shapes: Graph, cache: "Cache", digest: str, converter,
                      screen: list) -> list:
    """Validate (or take from the cache) each batch. screen: an empty list, in which the screen is started
    when first needed (None in it if it cannot be), for the caller to close."""
    from ..rdf.turtle import ntriples

    out = []
    for batch in batches:
        batch_nt = ntriples(batch.triples, converter)
        key = batch_key(batch, digest, batch_nt)
        hit = cache.get(key)
        if hit is not None:
            out.append((key, False, hit.conforms, hit.report.serialize(format="nt"), hit.violations))
            continue
        # the screen reads the batch's N-Triples, which do not show that a literal is ill-typed: such a batch, and
        # one the whole-graph screen found a result in, goes to pyshacl straight away
        trusted = batch.screen and not _ill_typed(batch.triples)
        if trusted and not screen:
            screen.append(Screen.start(shapes))
        if trusted and screen[0] is not None and screen[0].passes(batch_nt, batch.focus):
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
        self.cache = Cache(cache)
        self.shapes = shapes
        self.constraints = graph_wide_constraints(shapes)
        self.document_shapes = document_shapes(shapes)
        self.batches = plan(graphs, self.document_shapes, documents_per_batch, alone, only)
        self.unplaced: set = set()  # flagged IRIs and literals no batch is home to (confirm: pyshacl looks at them)
        self.unplaced_blank = False  # a flagged blank node may be home to no batch (likewise)
        if flagged is not None:  # only the batches home to a node the whole-graph screen found results about
            self.batches, self.unplaced, self.unplaced_blank = _flagged_batches(self.batches, flagged)
        self.digest = shapes_digest(shapes)
        self.validated = 0  # batches validated rather than taken from the cache: known after result()
        self.by_pyshacl = 0  # of those, the batches pyshacl validated (the screen found a result, or none ran)
        self.keys: set[str] = set()  # the cache keys of the batches: known after result()
        self.graphs = graphs if graph_wide else None
        self.children: list = []
        if jobs > 0 and workers.can_fork():
            shares: list[list[Batch]] = [[] for _ in range(jobs)]
            weights = [0] * jobs
            if graph_wide:  # the graph-wide check goes to process 0
                weights[0] = sum(len(g) for g in graphs.values()) // 20
            for batch in sorted(self.batches, key=lambda b: -len(b.triples)):
                lightest = weights.index(min(weights))
                shares[lightest].append(batch)
                weights[lightest] += len(batch.triples)
            try:
                for number, share in enumerate(shares):
                    if not share and not (number == 0 and graph_wide):
                        continue
                    # what the helper validates, inherited as it forks (not sent through its pipe)
                    _SHARES[number] = (share, self.document_shapes, self.graphs if number == 0 else None,
                                       self.constraints, shapes, self.cache, self.digest)
                    self.children.append(workers.Helper().submit(_validate_share, number))
            finally:
                _SHARES.clear()

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
            for helper in self.children:
                try:
                    batch_results, took = helper.result()  # raises what the helper raised
                finally:
                    helper.close()
                messages.append(batch_results)
                seconds = max(seconds, took)
        results = []
        for batch_results in messages:
            for key, validated, conforms, report_nt, violations in batch_results:
                self.validated += validated in ("screened", "pyshacl")
                self.by_pyshacl += validated == "pyshacl"
                if key is not None:
                    self.keys.add(key)
                results.append(ValidationResult(conforms, report_graph(report_nt), violations))
        if not results:
            results.append(ValidationResult(True, _empty_report(), []))
        return merge(results), seconds


def _flagged_batches(batches: list[Batch], flagged) -> tuple[list[Batch], set, bool]:
    """The batches home to the flagged nodes (N-Triples syntax), the flagged IRIs and literals none is home to, and
    whether a flagged blank node may be home to none. A batch home to a flagged IRI or literal goes to pyshacl
    straight away. The screen names blank nodes afresh, so a flagged blank node could be any: the batches home to
    blank nodes are screened again, each, first (and if none is, the blank node is not home to any)."""
    import pyoxigraph as ox

    from ..rdf.ntriples import to_rdflib

    placed, blank = set(), False
    for node in flagged:
        if node.startswith("<") and node.endswith(">"):
            placed.add(URIRef(node[1:-1]))
        elif node.startswith("_:"):
            blank = True
        else:  # a literal (the object of a sh:targetObjectsOf predicate), as rdflib makes it from N-Triples
            triple = next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {node} .".encode("utf-8"),
                                        format=ox.RdfFormat.N_TRIPLES)))
            placed.add(to_rdflib(triple.object))
    chosen = []
    homed: set = set()
    blank_homed = False
    for batch in batches:
        here = placed & batch.focus
        homed |= here
        has_blank = blank and any(isinstance(node, BNode) for node in batch.focus)
        blank_homed = blank_homed or has_blank
        if here:
            batch.screen = False
            chosen.append(batch)
        elif has_blank:
            chosen.append(batch)
    return chosen, placed - homed, blank and not blank_homed


def _empty_report() -> Graph:
    report = Graph()
    head = BNode()
    report.add((head, RDF.type, SH.ValidationReport))
    report.add((head, SH.conforms, Literal(True)))
    return report


_SHARES: dict = {}  # a helper's share of the batches, set just before it is forked (see Background)


def _validate_share(number: int) -> tuple[list, float]:  # pragma: no cover - runs in a helper
    import gc
    import time

    # What the build made is frozen out of the collector's sight; what pyshacl makes (graphs full of reference
    # cycles, a batch at a time) is collected as usual, so the process does not grow batch after batch.
    gc.freeze()
    gc.enable()
    start = time.perf_counter()
    try:
        return _work(*_SHARES[number]), time.perf_counter() - start
    except ShapesError:
        raise
    except Exception as exc:  # handed to the parent as what it is about: the shapes could not be used
        raise ShapesError(str(exc)) from None


def validate_dataset(graphs: dict, shapes: Graph, jobs: int = 0, cache: Path | None = None,
                     documents_per_batch: int = BATCH_DOCUMENTS, alone: tuple = ()) -> ValidationResult:
    """Validate named graphs the way the build does: the whole graph through the graph-wide rules and the
    screen (screen_and_check), then pyshacl on the batches home to the nodes the screen found results about."""
    from ..rdf.turtle import ntriples

    triples = {t for graph in graphs.values() for t in graph}
    screened = screen_and_check(ntriples(triples), shapes, cache)
    ill_typed = [t for t in triples if isinstance(t[2], Literal) and t[2].ill_typed]
    if ill_typed:  # their N-Triples may look well typed ("TRUE"^^xsd:boolean is written "true"): pyshacl decides
        objects_of = set(shapes.objects(None, SH.targetObjectsOf))
        nodes = {_ntriples(s) for s, _p, _o in ill_typed} | {_ntriples(o) for _s, p, o in ill_typed if p in objects_of}
        flagged = None if screened.flagged is None else sorted(set(screened.flagged) | nodes)
        screened = Screened(graph_wide_by_pyshacl(triples, shapes), flagged)
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
    if batches.unplaced or batches.unplaced_blank:  # flagged nodes no batch is home to (a sh:targetNode with no
        # triples; a blank node when no batch is home to one): pyshacl on the whole graph, for them
        whole = {t for graph in graphs.values() for t in graph}
        focus = set(batches.unplaced)
        if batches.unplaced_blank:
            focus |= {node for t in whole for node in (t[0], t[2]) if isinstance(node, BNode)}
        parts.append(keep_focus(validate(whole, document_shapes(shapes)), focus))
    return Confirmed(merge(parts), len(batches.batches), batches.validated, batches.keys)

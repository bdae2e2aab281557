"""The validation screen: checks of the whole asserted graph that narrow what pyshacl must look at.

Above a size (VALIDATE_WHOLE_BELOW asserted triples) pyshacl on the whole graph costs minutes, so the build checks
the whole graph once with a fast screen (Screen: shacl, a SHACL engine in Rust, in a process of its own) and the
graph-wide SPARQL rules (check_graph_wide, in pyoxigraph); pyshacl then validates, in batches of source documents
(batches.py), only where the screen found something, so its report is still the one published. Below that size
every build runs pyshacl on the whole graph and none of this runs. tests/test_validation_differential.py shows the
verdicts equal pyshacl's on the whole graph, case for case.

Where the engines differ from pyshacl (rdflib's terms, rdflib's SPARQL), the data is made to look as pyshacl sees
it, or pyshacl decides: the literals rdflib would rewrite are rewritten for the rules and their nodes flagged for
pyshacl (survey); blank nodes keep their labels and STR() of them is rdflib's (check_graph_wide); with a literal
rdflib finds ill-typed, pyshacl runs the rules itself (graph_wide_by_pyshacl).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from . import caching
from .rules import (_ntriples, check_graph_wide, graph_wide_by_pyshacl, graph_wide_constraints, graph_wide_result,
                    load_rules_store)
from ..pipeline.validation import ValidationResult, validate
from ..rdf.terms import SH

# Below this many asserted triples, every build validates the whole graph with pyshacl (the real data has about
# 4,500: pyshacl takes under a second); above it the screen narrows pyshacl's work.
VALIDATE_WHOLE_BELOW = 250_000

# what the validation results kept in the cache were made by (a new version makes every kept one stale)
CACHE_VERSION = "4"


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

    The screen reads N-Triples as written, pyshacl rdflib's terms: where rdflib does not take a typed literal as
    written (survey: "007"^^xsd:integer, "TRUE"^^xsd:boolean; an ill-formed xsd:gYear when OWL-RL's datatype
    conversions are loaded, as they are in the build, which `shacl` does not check), the nodes it can change the
    results of are flagged whatever the screen says, for pyshacl to decide."""

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
        import os
        import threading

        # the screen ends with this process, even one killed (screen.py: workers.Helper.die_with_parent)
        on_death = int(threading.current_thread() is threading.main_thread())
        process = subprocess.Popen([sys.executable, "-m", "ysv_graph.incremental.screen", str(os.getpid()),
                                    str(on_death)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
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
    return check_graph_wide(store, graph_wide_constraints(shapes), shapes, values, blank=b"_:" in data)

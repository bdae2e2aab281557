"""A rebuild's validation of what changed: the whole-graph checks run again only about the nodes an edit can
have affected, against the graphs last found to conform (kept in <cache>/recheck/state.pickle).

screening.screen_and_check screens every node of the asserted graph with shacl and runs the graph-wide SPARQL
rules over all of it: some 15 CPU-seconds at a million triples. After a build that conformed, an edit can only
change the results about the nodes whose view of the data changed, and our shapes and rules look only at
 - a node's own triples (those with it as subject),
 - the triples pointing at it (sh:targetObjectsOf targets; the rules count incoming ysv:reportedIn), and
 - the rdf:type of the nodes at either end of those triples (sh:class; the rules' "a ysv:Recommendation"),
 - the triples of the statement nodes whose rdf:subject it is (the rule that figures, dates and counts are backed
   by a statement node reads their rdf:predicate, rdf:object and dct:source),
which is the context batches.plan gives each batch, and tests/test_shapes.py proves sufficient for every
constraint. So with D the lines that differ between the graphs then and now (added or removed), the affected
nodes are the subjects and objects of D, and, for a node whose rdf:type lines are in D, the nodes at the other
end of its triples. Their context is taken from the documents' lines, skipping every document whose summary
(describing.Summary: its subjects and objects) shares no node with them, and checked alone: the screen's
flagged nodes and the rules' values are kept only where they are affected nodes, and the earlier graphs had
none. tests/test_rechecking.py compares this with a full check after edits of every kind.

It falls back to the full check (returns None from plan) when there is no state, when the shapes, the
validation code or the libraries changed, when the previous version of a changed graph is not the one the
state names (a build that failed kept newer documents), or when blank nodes are involved.
"""
from __future__ import annotations

import bisect
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph

from . import caching
from ..rdf import ntriples
from ..pipeline import validation
from . import screening

TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
STATEMENT_SUBJECT = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#subject>"


@dataclass
class State:
    """The asserted graphs last found to conform: each graph's digest (named graph IRI -> digest of its lines),
    the source document of each document's graph, and the lines of the graphs that are not documents."""

    key: str  # shapes, validation code, libraries
    digests: dict[str, str]
    sources: dict[str, str]  # graph IRI -> source id
    lines: dict[str, list[bytes]] = field(default_factory=dict)  # graph IRI -> lines, for non-document graphs


@dataclass
class Recheck:
    """What a rebuild checks: the context of the affected nodes, as sorted N-Triples, and those nodes."""

    context: bytes
    nodes: set[bytes]
    changed: list[str]  # the graphs that changed


def state_key(shapes: Graph) -> str:
    import sys

    from . import screen
    from .fingerprint import fingerprint

    return fingerprint(sys.modules[__name__], validation, screen, extra=screening.shapes_digest(shapes)).hex()


def digest(lines: list[bytes]) -> str:
    """Of sorted N-Triples lines: the SHA-256 of them joined (ntriples.joined)."""
    return digest_of(ntriples.joined(lines))


def digest_of(joined: bytes) -> str:
    """digest() of lines already joined."""
    return hashlib.sha256(joined).hexdigest()


def read_state(cache: Path | None) -> State | None:
    if cache is None:
        return None
    state = caching.read(Path(cache) / "recheck" / "state.pickle")
    if not (isinstance(state, State) and all(isinstance(data, bytes) for data in state.lines.values())):
        return None
    return State(state.key, state.digests, state.sources,
                 {name: ntriples.split(data) for name, data in state.lines.items()})


def save_state(cache: Path | None, state: State) -> None:
    """Keep the state (its lines joined: a list of 150,000 lines pickles at a third of the speed)."""
    if cache is not None:
        caching.write(Path(cache) / "recheck" / "state.pickle", State(
            state.key, state.digests, state.sources,
            {name: ntriples.joined(lines) for name, lines in state.lines.items()}))


def _parts(line: bytes) -> tuple[bytes, bytes, bytes]:
    s, p, o = line.split(b" ", 2)
    return s, p, o[:-2]


def token(digests: dict[str, str]) -> bytes:
    """A name for the asserted data made of graphs with these digests (graph IRI -> digest): the N-Triples are
    their distinct lines, so equal tokens mean equal N-Triples (writing.Changes)."""
    return hashlib.sha256("\n".join(f"{name} {value}" for name, value in sorted(digests.items())).encode()).digest()


def differing(state: State | None, digests: dict[str, str], lines: dict[str, list[bytes]],
              previous: dict[str, list[bytes] | None]) -> tuple[list[str], set[bytes]] | None:
    """The graphs that changed since the state, and the lines added to them or removed from them (a superset of
    the lines added to or removed from their union), or None if that cannot be known: no state, or the previous
    version of a changed graph is not the one the state names. The arguments are plan's."""
    if state is None:
        return None
    changed = sorted(name for name in set(digests) | set(state.digests)
                     if digests.get(name) != state.digests.get(name))
    delta: set[bytes] = set()
    for name in changed:
        old = state.lines[name] if name in state.lines else previous.get(name)
        if old is None and name in state.digests:
            return None
        new = lines.get(name, [])
        delta.update(set(old or ()).symmetric_difference(new))
    return changed, delta


def plan(state: State | None, key: str, digests: dict[str, str], lines: dict[str, list[bytes]],
         previous: dict[str, list[bytes] | None], summaries: dict,
         found: tuple[list[str], set[bytes]] | None = None) -> Recheck | None:
    """What to check again, or None for the full check.

    digests: every asserted graph's digest now; lines: every asserted graph's sorted lines now; previous: for
    each document graph that changed or is gone, its lines as validated last (None if the kept document is not
    the one whose digest the state names: the build checks that); the graphs that are not documents have theirs
    in the state; summaries: graph -> describing.Summary of its lines (a graph without one is scanned). found:
    what differing() gave for these arguments, if the caller has it."""
    if state is None or state.key != key:
        return None
    found = found if found is not None else differing(state, digests, lines, previous)
    if found is None:
        return None
    changed, delta = found
    if not delta:
        return Recheck(b"", set(), changed)
    if any(b"_:" in line.split(b'"', 1)[0] for line in delta):
        return None
    nodes: set[bytes] = set()
    retyped: set[bytes] = set()
    for line in delta:
        s, p, o = _parts(line)
        nodes.add(s)
        if o[:1] == b"<":
            nodes.add(o)
        if p == TYPE:
            retyped.add(s)
    if retyped:  # the nodes at the other end of a retyped node's triples see its type
        about, incoming = _touching(retyped, lines, summaries)
        nodes.update(o for _s, _p, o in map(_parts, about) if o[:1] == b"<")
        nodes.update(s for s, _p, _o in map(_parts, incoming))
    about, incoming = _touching(nodes, lines, summaries)
    context = set(about) | set(incoming)
    statements = {s for s, p, _o in map(_parts, incoming) if p == STATEMENT_SUBJECT}
    if statements:
        context.update(_touching(statements, lines, summaries, objects=False)[0])
    ends = {o for _s, _p, o in map(_parts, about) if o[:1] == b"<"} | {s for s, _p, _o in map(_parts, incoming)}
    types, _ = _touching(ends - nodes, lines, summaries, objects=False)
    context.update(line for line in types if _parts(line)[1] == TYPE)
    return Recheck(ntriples.joined(sorted(context)), nodes, changed)


def _touching(nodes: set[bytes], lines: dict[str, list[bytes]], summaries: dict, objects: bool = True
              ) -> tuple[list[bytes], list[bytes]]:
    """The lines (of every graph) with one of nodes as subject, and those with one as object. A graph's lines are
    sorted, so a node's lines as subject are found by bisection; its lines as object end with " <node> .", found
    by searching the graph's joined lines (the metadata graph has no summary and 150,000 lines: splitting each
    took half a second a pass)."""
    about: list[bytes] = []
    incoming: list[bytes] = []
    ordered = sorted(nodes)
    for name in lines:  # a graph's lines are asked for only if it may hold a node (they may be split on asking)
        summary = summaries.get(name)
        if summary is not None and summary.subjects.isdisjoint(nodes) and (
                not objects or summary.objects.isdisjoint(nodes)):
            continue
        graph = lines[name]
        for node in ordered:
            start = bisect.bisect_left(graph, node + b" ")
            about.extend(graph[start:bisect.bisect_left(graph, node + b"!", start)])
        if objects:
            data = ntriples.joined(graph)
            for node in ordered:
                ending = b" " + node + b" .\n"  # the space: not a literal's datatype (^^<...>)
                at = data.find(ending)
                while at != -1:
                    incoming.append(data[data.rfind(b"\n", 0, at) + 1:at + len(ending) - 1])
                    at = data.find(ending, at + len(ending))
    return about, incoming


def check(recheck: Recheck, shapes: Graph) -> screening.Screened:
    """Screen the context and run the graph-wide rules over it, keeping only what is about the affected nodes.
    Runs in a helper process (the build's third)."""
    start = time.perf_counter()
    if not recheck.nodes:
        return screening.Screened(screening.graph_wide_result(), [], cached=True,
                                   seconds=time.perf_counter() - start)
    wanted = {node.decode("utf-8") for node in recheck.nodes}
    graph_wide, flagged = screening.screen_and_rules(recheck.context, shapes, values=wanted)
    if flagged is not None:
        flagged = [node for node in flagged if node in wanted]
    return screening.Screened(graph_wide, flagged, seconds=time.perf_counter() - start)

"""What differs between two releases: the quads added and removed, per named graph.

Quads are compared as pyoxigraph terms, so two files that write the same quad differently (escapes, order) do
not differ. Blank nodes are compared by their labels in the files (our data has none in its graphs); `blank`
says whether any change holds one. Three renderings: for people (one line a change, with kinds, ids and labels),
RDF Patch (https://afs.github.io/rdf-patch/) and N-Quads.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyoxigraph as ox

RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PLAIN = {"http://www.w3.org/2001/XMLSchema#string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
# the kinds of named graph (graph_kind); `--graphs` chooses among them
GRAPH_SELECTIONS = {"all": {"source", "metadata", "entailments", "ontology", "other"},
                    "asserted": {"source", "metadata"}, "source": {"source"}}


def read_nquads(data: bytes) -> set[ox.Quad]:
    """The quads of an N-Quads file's bytes (gzipped or not). ValueError (pyoxigraph's SyntaxError included) if
    they are not N-Quads."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"not a whole gzip file: {exc}") from None
    try:
        return set(ox.parse(data, format=ox.RdfFormat.N_QUADS))
    except SyntaxError as exc:
        raise ValueError(f"not N-Quads: {exc}") from None


def quads_of_graphs(graphs: Mapping[str, bytes]) -> set[ox.Quad]:
    """The quads of named graphs given as N-Triples (graph IRI -> its lines' bytes)."""
    out: set[ox.Quad] = set()
    for name, data in graphs.items():
        graph = ox.NamedNode(name)
        out.update(ox.Quad(t.subject, t.predicate, t.object, graph)
                   for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    return out


def graph_kind(graph: str, base: str) -> str:
    """source, metadata, entailments, ontology or other: what a named graph of ours holds, from its IRI."""
    if not graph.startswith(base + "graph/"):
        return "other"
    rest = graph[len(base) + len("graph/"):]
    if rest.startswith("source/"):
        return "source"
    return rest if rest in ("metadata", "entailments", "ontology") else "other"


@dataclass
class Change:
    """One named graph's difference: its quads only in the old release, and only in the new, sorted."""

    graph: str
    removed: list[ox.Quad] = field(default_factory=list)
    added: list[ox.Quad] = field(default_factory=list)


@dataclass
class Difference:
    changes: list[Change]  # the graphs that differ, by IRI
    graphs_compared: int

    @property
    def added(self) -> int:
        return sum(len(c.added) for c in self.changes)

    @property
    def removed(self) -> int:
        return sum(len(c.removed) for c in self.changes)

    @property
    def blank(self) -> bool:
        """Whether a changed quad holds a blank node (compared by its label, not by the graph's structure)."""
        return any(isinstance(term, ox.BlankNode) for c in self.changes for q in c.removed + c.added
                   for term in (q.subject, q.object))


def _key(quad: ox.Quad) -> str:
    return str(quad)


def compare(old: Iterable[ox.Quad], new: Iterable[ox.Quad], base: str, kinds: set[str] | None = None
            ) -> Difference:
    """The quads of new not in old and of old not in new, per named graph; kinds: only the graphs of these kinds
    (graph_kind; None: all). Quads of the default graph count as a graph named ''."""
    def by_graph(quads: Iterable[ox.Quad]) -> dict[str, set[ox.Quad]]:
        out: dict[str, set[ox.Quad]] = {}
        for quad in quads:
            name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
            if kinds is None or graph_kind(name, base) in kinds:
                out.setdefault(name, set()).add(quad)
        return out

    before, after = by_graph(old), by_graph(new)
    changes = []
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name, set()), after.get(name, set())
        if was != now:
            changes.append(Change(name, sorted(was - now, key=_key), sorted(now - was, key=_key)))
    return Difference(changes, len(set(before) | set(after)))


def labels_of(quads: Iterable[ox.Quad], base: str) -> dict[str, str]:
    """IRI -> its rdfs:label in the ontology graph (English first), to name predicates and classes."""
    ontology = base + "graph/ontology"
    found: dict[str, tuple[int, str]] = {}
    for q in quads:
        if (q.predicate == RDFS_LABEL and isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value == ontology
                and isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.Literal)):
            rank = 0 if q.object.language == "en" else 1
            if q.subject.value not in found or (rank, q.object.value) < found[q.subject.value]:
                found[q.subject.value] = (rank, q.object.value)
    return {iri: text for iri, (_rank, text) in found.items()}


def _local(iri: str) -> str:
    return iri.rstrip("/#").replace("#", "/").rsplit("/", 1)[-1] or iri


def _thing(term, base: str, labels: Mapping[str, str], short: bool = False) -> str:
    """A subject or object in words: `kind id` for ours, a label, the value of a literal, or the IRI."""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        if term.datatype.value in PLAIN:
            text = json.dumps(term.value, ensure_ascii=False)
            return text + (f"@{term.language}" if term.language and term.language != "en" else "")
        return term.value
    iri = term.value
    if iri.startswith(base + "id/") and "/" in iri[len(base) + 3:]:
        kind, key = iri[len(base) + 3:].split("/", 1)
        return f"{kind} {key}"
    if iri in labels:
        return labels[iri]
    return _local(iri) if short else f"<{iri}>"


def as_text(difference: Difference, base: str, labels: Mapping[str, str]) -> str:
    """For people: per graph a heading with its counts, then one line a change (`+ recommendation rec-x
    deadline 2024-03-31`), a quad removed (-) before one added (+) of the same subject and predicate."""
    lines = []
    for change in difference.changes:
        name = change.graph[len(base) + len("graph/"):] if change.graph.startswith(base + "graph/") else \
            (f"<{change.graph}>" if change.graph else "the default graph")
        lines.append(f"graph {name}: {len(change.added)} added, {len(change.removed)} removed")
        rows = []
        for sign, quads in (("-", change.removed), ("+", change.added)):
            for q in quads:
                subject = _thing(q.subject, base, labels)
                predicate = labels.get(q.predicate.value) or _local(q.predicate.value)
                value = _thing(q.object, base, labels, short=q.predicate == RDF_TYPE)
                rows.append(((subject, predicate, sign == "+", value), f"{sign} {subject} {predicate} {value}"))
        lines.extend(text for _key, text in sorted(rows))
    lines.append(f"{difference.added} added, {difference.removed} removed in {len(difference.changes)} of "
                 f"{difference.graphs_compared} graphs compared")
    if difference.blank:
        lines.append("note: blank nodes are compared by their labels in the files, not by the graphs' structure")
    return "\n".join(lines) + "\n"


def _nquad(quad: ox.Quad) -> str:
    return f"{quad} ."


def as_patch(difference: Difference) -> str:
    """RDF Patch: one transaction (TX ... TC), every quad removed (D), then every quad added (A)."""
    lines = ["TX ."]
    lines += ["D " + _nquad(q) for c in difference.changes for q in c.removed]
    lines += ["A " + _nquad(q) for c in difference.changes for q in c.added]
    lines.append("TC .")
    return "\n".join(lines) + "\n"


def as_nquads(quads: Iterable[ox.Quad]) -> str:
    """Quads as N-Quads, sorted."""
    return "".join(_nquad(q) + "\n" for q in sorted(quads, key=_key))

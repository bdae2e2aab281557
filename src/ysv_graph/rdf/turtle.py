"""Turtle, written by pyoxigraph in a stable order: subjects in IRI order, each with its rdf:type first.

The Turtle of a graph is written run by run of subjects (ntriples.subject_runs): pyoxigraph ends each subject's
block with " ." and starts the next afresh, so the runs put together are what it writes for the whole (tested),
and the gzip's chunks can end between runs (gzip.gzip_chunks).
"""
from __future__ import annotations

import bisect

import pyoxigraph as ox
from rdflib import Literal, URIRef

from .gzip import gzip_chunks
from .ntriples import Converter, first_subject, iris as ntriples_iris, joined as _joined, subject_runs
from .ntriples import terms as _terms_of, to_ox


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _term_key(term) -> str:
    return term.value if isinstance(term, (ox.NamedNode, ox.BlankNode)) else str(term)


def sorted_for_turtle(triples: list) -> list:
    """Subjects in IRI order; within one, rdf:type first, then predicates and objects in order."""
    return sorted(triples, key=lambda t: (_term_key(t.subject), t.predicate.value != RDF_TYPE, t.predicate.value,
                                          str(t.object)))


def turtle(graph, prefixes: dict[str, str]) -> bytes:
    converter = Converter()
    triples = converter.triples(graph)
    used = namespaces_used(ox_iris(converter.terms.values()), prefixes)  # from the distinct terms, seen once each
    return ox.serialize(sorted_for_turtle(triples), format=ox.RdfFormat.TURTLE, prefixes=used)


def turtle_of_lines(lines: list[bytes], prefixes: dict[str, str]) -> bytes:
    """What turtle() writes for the triples of these (distinct) N-Triples lines."""
    used = namespaces_used(ntriples_iris(_terms_of(lines)), prefixes)
    triples = list(ox.parse(_joined(lines), format=ox.RdfFormat.N_TRIPLES))
    return ox.serialize(sorted_for_turtle(triples), format=ox.RdfFormat.TURTLE, prefixes=used)


def turtle_document(ntriples: bytes, prefixes: dict[str, str]) -> tuple[bytes, bytes]:
    """The Turtle of sorted, distinct N-Triples (bytes), and its gzip: written run by run of subjects
    (turtle_cut), each run's body after the prefix lines, the gzip's chunks ending between runs."""
    runs = turtle_cut(ntriples)
    head = turtle_head(prefixes) if runs else b""  # none for no triples
    bodies = [turtle_body(run.replace(TYPE_MARKER, TYPE_PREDICATE), prefixes, head) for run in runs]
    parts = [(b"", head)] + [(first_subject(run), body) for run, body in zip(runs, bodies)]
    return head + b"".join(bodies), gzip_chunks(parts)


_TYPE_IRI = b"<" + RDF_TYPE.encode() + b">"


def turtle_order(line: bytes) -> tuple:
    """sorted_for_turtle's order, from an N-Triples line: subjects by IRI (or blank node label), rdf:type
    first, then predicates by IRI and objects in their N-Triples form."""
    s, p, o = line.split(b" ", 2)
    return (s[1:-1] if s[:1] == b"<" else s[2:], p != _TYPE_IRI, p[1:-1], o[:-2])


def turtle_head(prefixes: dict[str, str]) -> bytes:
    """The prefix lines pyoxigraph starts every Turtle document with (it writes all it is given)."""
    dummy = ox.NamedNode("urn:ysv-graph:dummy")
    head = ox.serialize([ox.Triple(dummy, dummy, dummy)], format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    return head[:head.index(b"<urn:ysv-graph:dummy>")]


def turtle_body(run: bytes, prefixes: dict[str, str], head: bytes) -> bytes:
    """A run of N-Triples (in the order wanted) as Turtle, without the prefix lines."""
    text = ox.serialize(ox.parse(run, format=ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    if not text.startswith(head):
        raise RuntimeError("pyoxigraph's Turtle no longer starts with the prefixes alone")
    return text[len(head):]


def ntriples(graph, converter: Converter | None = None) -> bytes:
    """The triples as N-Triples, lines sorted and distinct."""
    term = (converter or Converter()).ntriples
    return _joined(sorted({b"%s %s %s ." % (term(s), term(p), term(o)) for s, p, o in graph}))


def canonical_turtle(graph, prefixes: dict[str, str]) -> bytes:
    """Turtle for a graph with blank nodes (the SHACL report): blank nodes renamed canonically first."""
    dataset = ox.Dataset(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o in graph)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    triples = sorted((q.triple for q in dataset), key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)


def ox_iris(terms) -> set[str]:
    """The IRIs among pyoxigraph terms, and the datatypes of the literals."""
    iris = set()
    for term in terms:
        if isinstance(term, ox.NamedNode):
            iris.add(term.value)
        elif isinstance(term, ox.Literal):
            iris.add(term.datatype.value)
    return iris


def namespaces_used(iris: set | list, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose namespace begins one of the IRIs (a set, or a list already sorted). In the sorted IRIs,
    those that begin with a namespace come together, first among those not less than it, so one bisection a
    prefix finds them."""
    ordered = iris if isinstance(iris, list) else sorted(iris)
    used = {}
    for name, namespace in prefixes.items():
        i = bisect.bisect_left(ordered, namespace)
        if i < len(ordered) and ordered[i].startswith(namespace):
            used[name] = namespace
    return used


def used_prefixes(graph, prefixes: dict[str, str]) -> dict[str, str]:
    iris = set()
    for triple in graph:
        for t in triple:
            if isinstance(t, URIRef):
                iris.add(str(t))
            elif isinstance(t, Literal) and t.datatype:
                iris.add(str(t.datatype))
    return namespaces_used(iris, prefixes)


TYPE_PREDICATE = b" <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "


TYPE_MARKER = b" \x01 "  # sorts before any IRI; N-Triples escapes control characters, so it never occurs


def turtle_cut(data: bytes) -> list[bytes]:
    """Sorted N-Triples as the Turtle writer's runs: each subject's rdf:type lines first (see TYPE_MARKER)."""
    lines = data.replace(TYPE_PREDICATE, TYPE_MARKER).splitlines()
    lines.sort()  # nearly sorted already: only the rdf:type lines move, to the front of their subject
    return subject_runs(lines)

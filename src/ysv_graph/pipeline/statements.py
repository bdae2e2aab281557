"""Statement-level provenance: which source documents back each triple a record's fields make.

While a record is mapped, its graph is a Facts, whose add() notes which of the record's fields made each triple.
For every triple whose fields all name their sources (field_sources, see backing.py), add_statements writes an RDF
1.1 reification into the record's own graph: a node with rdf:subject, rdf:predicate, rdf:object and one dct:source
per document that backs it (not typed rdf:Statement: the type added a tenth to the asserted triples and to
pyshacl's time, and rdf:subject says as much) (the documents every one of those fields names). A triple made by
fields that name no sources gets nothing extra: the record's own dct:source documents stand for it.

A statement node's IRI is a hash IRI on the record, <record>#fact-<fields>-<property>, with a short digest of the
triple when the record has several such triples (a many-valued field); records with an IRI outside our base (ONS
areas, legislation) get theirs under {base}id/area/... and {base}id/legislation/.... Hash IRIs get no page.
"""
from __future__ import annotations

import hashlib
from collections import Counter

from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF

from .load import Record

SUBJECT, PREDICATE, OBJECT, SOURCE = RDF.subject, RDF.predicate, RDF.object, DCTERMS.source


class Facts:
    """A source document's graph (a set of triples) while one record is mapped; add(triple, *fields) adds the
    triple and notes the record's fields that made it."""

    __slots__ = ("triples", "made")

    def __init__(self, triples: set) -> None:
        self.triples = triples
        self.made: dict[tuple, set[str]] = {}

    def add(self, triple: tuple, *fields: str) -> None:
        self.triples.add(triple)
        if fields:
            self.made.setdefault(triple, set()).update(fields)


def backing(record: Record, fields: set[str]) -> list[str]:
    """The documents that back a triple made by these fields: those every one of them names ([] if one names
    none), in the order the first field lists them."""
    named = [record.field_sources(name) for name in sorted(fields)]
    if not all(named):
        return []
    common = set(named[0]).intersection(*named[1:])
    return [source for source in named[0] if source in common]


def _local(iri: str) -> str:
    return iri.rstrip("/#").replace("#", "/").rsplit("/", 1)[-1]


def add_statements(facts: Facts, anchor: str, record: Record, source_iri) -> None:
    """The statement nodes of the record's sourced triples, into facts.triples. anchor: the IRI the nodes' hash
    IRIs hang from (the record's own, under our base); source_iri: source id -> the document's IRI."""
    backed = []
    for triple, fields in facts.made.items():
        sources = backing(record, fields)
        if sources:
            backed.append((triple, f"fact-{'-'.join(sorted(fields))}-{_local(str(triple[1]))}", sources))
    names = Counter(name for _t, name, _s in backed)
    add = facts.triples.add
    for triple, name, sources in backed:
        if names[name] > 1:
            s, p, o = triple
            name += "-" + hashlib.sha1(f"{s} {p} {o.n3()}".encode()).hexdigest()[:8]
        node = URIRef(f"{anchor}#{name}")
        add((node, SUBJECT, triple[0]))
        add((node, PREDICATE, triple[1]))
        add((node, OBJECT, triple[2]))
        for source_id in sources:
            add((node, SOURCE, source_iri(source_id)))

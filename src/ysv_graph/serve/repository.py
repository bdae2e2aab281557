"""One storage interface over the published dataset, backed by an in-memory pyoxigraph store.

The server, the static-site writer and the query command all read the dataset through this class. It knows which
named graphs hold asserted data (one per source document, and the metadata), entailments and the ontology.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from ..rdf.terms import Base

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABELS = (
    ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
    ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
    ox.NamedNode("http://purl.org/dc/terms/title"),
    ox.NamedNode("http://xmlns.com/foaf/0.1/name"),
)
SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
STATEMENT_PARTS = tuple(ox.NamedNode(_RDF + name) for name in ("subject", "predicate", "object"))


class Repository:
    def __init__(self, store: ox.Store, base: Base = Base()):
        self.store, self.base = store, base
        self.ontology_graph = ox.NamedNode(base.iri + "graph/ontology")
        self.entailments_graph = ox.NamedNode(base.iri + "graph/entailments")
        self.metadata_graph = ox.NamedNode(base.iri + "graph/metadata")

    @classmethod
    def from_nquads(cls, path: Path, base: Base = Base()) -> "Repository":
        store = ox.Store()
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
        return cls(store, base)

    @classmethod
    def from_quads(cls, quads, base: Base = Base()) -> "Repository":
        store = ox.Store()
        store.bulk_extend(quads)
        return cls(store, base)

    # --- graphs ---------------------------------------------------------------------------------------------
    @cached_property
    def graph_names(self) -> list[ox.NamedNode]:
        return sorted(self.store.named_graphs(), key=lambda g: g.value)

    @cached_property
    def data_graphs(self) -> list[ox.NamedNode]:
        """Asserted data: the source graphs and the metadata graph."""
        return [g for g in self.graph_names if g not in (self.ontology_graph, self.entailments_graph)]

    def source_of_graph(self, graph: ox.NamedNode) -> ox.NamedNode | None:
        prefix = self.base.iri + "graph/source/"
        if graph.value.startswith(prefix):
            return ox.NamedNode(self.base.iri + "id/source/" + graph.value[len(prefix):])
        return None

    # --- statement-level provenance (pipeline/statements.py) -----------------------------------------------
    @cached_property
    def _statements(self) -> tuple[dict, frozenset]:
        """(s, p, o) -> the documents its statement nodes cite (dct:source), and the statement nodes; only a node
        with all of rdf:subject, rdf:predicate and rdf:object in asserted data counts."""
        backed: dict[tuple, set] = {}
        nodes = set()
        subject, predicate, object_ = STATEMENT_PARTS
        for quad in self.store.quads_for_pattern(None, subject, None, None):
            node = quad.subject
            if not self._in_data(quad):
                continue
            p, o = self.value(node, predicate.value), self.value(node, object_.value)
            if p is None or o is None:
                continue
            nodes.add(node)
            sources = {q.object for q in self.store.quads_for_pattern(node, SOURCE, None, None) if self._in_data(q)}
            backed.setdefault((quad.object, p, o), set()).update(sources)
        return backed, frozenset(nodes)

    def backing(self, subject, predicate, object_) -> list[ox.NamedNode]:
        """The documents that statement nodes cite for this exact triple (none: only the record's sources)."""
        return sorted(self._statements[0].get((subject, predicate, object_), ()), key=lambda n: n.value)

    def is_statement(self, node) -> bool:
        return node in self._statements[1]

    # --- lookups --------------------------------------------------------------------------------------------
    def _in_data(self, quad: ox.Quad) -> bool:
        return isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name not in (
            self.ontology_graph, self.entailments_graph)

    def outgoing(self, iri: ox.NamedNode, graphs=None) -> list[ox.Quad]:
        """One lookup over all graphs, filtered (a lookup per graph would cost O(graphs) for each resource)."""
        if graphs is None:
            quads = [q for q in self.store.quads_for_pattern(iri, None, None, None) if self._in_data(q)]
        else:
            quads = [q for graph in graphs for q in self.store.quads_for_pattern(iri, None, None, graph)]
        return sorted(quads, key=_quad_key)

    def incoming(self, iri: ox.NamedNode) -> list[ox.Quad]:
        return sorted((q for q in self.store.quads_for_pattern(None, None, iri, None) if self._in_data(q)),
                      key=_quad_key)

    def entailed(self, iri: ox.NamedNode) -> list[ox.Quad]:
        return sorted(self.store.quads_for_pattern(iri, None, None, self.entailments_graph), key=_quad_key)

    def graph(self, name: ox.NamedNode) -> list[ox.Triple]:
        return sorted((q.triple for q in self.store.quads_for_pattern(None, None, None, name)), key=_triple_key)

    def is_described(self, iri: ox.NamedNode) -> bool:
        known = self._described.get(iri.value)
        if known is None:
            known = any(q.graph_name != self.entailments_graph and isinstance(q.graph_name, ox.NamedNode)
                        for q in self.store.quads_for_pattern(iri, None, None, None))
            self._described[iri.value] = known
        return known

    @cached_property
    def _described(self) -> dict[str, bool]:
        return {}

    @cached_property
    def _prefixes(self) -> list[tuple[str, str]]:
        return sorted(self.base.prefixes(per_kind=True).items(), key=lambda kv: -len(kv[1]))

    def is_ontology_term(self, iri: ox.NamedNode) -> bool:
        for _ in self.store.quads_for_pattern(iri, None, None, self.ontology_graph):
            return True
        return False

    @cached_property
    def labels(self) -> dict[str, str]:
        """Preferred label of every labelled IRI (skos:prefLabel, then rdfs:label, dct:title, foaf:name)."""
        out: dict[str, str] = {}
        for predicate in reversed(LABELS):
            for quad in self.store.quads_for_pattern(None, predicate, None, None):
                if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, ox.Literal):
                    if quad.object.language in (None, "en"):
                        out[quad.subject.value] = quad.object.value
        return out

    def label(self, term) -> str:
        if isinstance(term, ox.NamedNode):
            return self.labels.get(term.value) or self.short(term.value)
        if isinstance(term, ox.Literal):
            return term.value
        return str(term)

    def short(self, iri: str) -> str:
        for prefix, namespace in self._prefixes:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                return f"{prefix}:{iri[len(namespace):]}"
        return iri

    def instances(self, cls: ox.NamedNode) -> list[ox.NamedNode]:
        found = set()
        for quad in self.store.quads_for_pattern(None, RDF_TYPE, cls, None):
            if quad.graph_name != self.ontology_graph and isinstance(quad.subject, ox.NamedNode):
                found.add(quad.subject)
        return sorted(found, key=lambda n: (self.label(n).lower(), n.value))

    def value(self, subject: ox.NamedNode, predicate: str):
        for quad in self.store.quads_for_pattern(subject, ox.NamedNode(predicate), None, None):
            return quad.object
        return None

    def describe(self, iri: ox.NamedNode) -> list[ox.Triple]:
        """RDF about a thing: its outgoing triples (asserted; for ontology terms, the ontology's), plus the
        labels of everything they point to."""
        quads = self.outgoing(iri)
        if not quads:
            quads = self.outgoing(iri, [self.ontology_graph])
        triples = {q.triple for q in quads}
        label_predicate = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        for quad in quads:
            if isinstance(quad.object, ox.NamedNode) and quad.object.value in self.labels:
                triples.add(ox.Triple(quad.object, label_predicate,
                                      ox.Literal(self.labels[quad.object.value], language="en")))
        return sorted(triples, key=_triple_key)


def _quad_key(q: ox.Quad):
    return (q.subject.value, q.predicate.value, str(q.object), q.graph_name.value
            if isinstance(q.graph_name, ox.NamedNode) else "")


def _triple_key(t: ox.Triple):
    return (str(t.subject), t.predicate.value, str(t.object))

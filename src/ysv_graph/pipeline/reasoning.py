"""Stage 3: OWL 2 RL entailments, kept apart from the assertions.

owlrl is the reference reasoner. Running its full closure over ontology + data is slow (it recomputes the
axiomatic triples and every rule over every triple), so we close the *ontology* once with owlrl and then apply
what that closure implies to the data in one pass to a fixpoint:

  cax-sco (types up the class hierarchy)      prp-spo1 (values up the property hierarchy)
  prp-dom / prp-rng (domain and range)        prp-inv1/2 (inverse properties)
  prp-symp (symmetric)                        prp-trp (transitive)

Equivalent classes and properties arrive as subclass/subproperty pairs both ways in the closed ontology.
Any other OWL construct in the ontology (restrictions, sameAs, keys, chains, functional properties, disjointness
...) is refused with UnsupportedOntology, because the fast path would silently miss what it entails.
tests/test_reasoning.py proves the result equals what owlrl's full closure adds about the data.
"""
from __future__ import annotations

from collections import defaultdict

import owlrl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD


SUPPORTED_PREDICATES = {
    RDF.type, RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf,
    OWL.equivalentClass, OWL.equivalentProperty,
}
SUPPORTED_TYPES = {
    OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property,
    OWL.SymmetricProperty, OWL.TransitiveProperty, OWL.Ontology, OWL.NamedIndividual,
}
# OWL terms whose presence means a rule the fast path does not implement.
OWL_NAMESPACES = (str(OWL), str(RDFS), str(RDF))
TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
AXIOMATIC_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))


class UnsupportedOntology(Exception):
    pass


_CLOSURES: dict[frozenset, Graph] = {}


def close_ontology(ontology: Graph) -> Graph:
    """The ontology's OWL 2 RL closure, computed by owlrl once per ontology and kept in this process (the
    incremental build also keeps it between builds: incremental.closure)."""
    key = frozenset(ontology)
    if key not in _CLOSURES:
        _CLOSURES.clear()
        _CLOSURES[key] = _close(ontology)
    return _CLOSURES[key]


def _close(ontology: Graph) -> Graph:
    closed = Graph()
    for triple in ontology:
        closed.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(closed)
    return closed


def check_supported(ontology: Graph) -> None:
    """Refuse an ontology that uses OWL constructs the data reasoner does not implement."""
    problems = []
    for s, p, o in ontology:
        if str(p).startswith(OWL_NAMESPACES) and p not in SUPPORTED_PREDICATES and p not in (
                RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.versionInfo, OWL.versionIRI,
                OWL.imports):
            problems.append(f"{p.n3()} on {s.n3()}")
        if p == RDF.type and str(o).startswith(str(OWL)) and o not in SUPPORTED_TYPES:
            problems.append(f"{s.n3()} a {o.n3()}")
        if p in (OWL.equivalentClass, RDFS.subClassOf) and isinstance(o, BNode):
            problems.append(f"class expression (restriction or boolean) on {s.n3()}")
    if problems:
        raise UnsupportedOntology("the ontology uses OWL constructs the data reasoner does not support: "
                                  + "; ".join(sorted(set(problems))))


class Rules:
    """What the closed ontology implies for data."""

    def __init__(self, closed: Graph):
        self.superclasses: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.superproperties: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.domains: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.ranges: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.inverses: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.symmetric: set[URIRef] = set()
        self.transitive: set[URIRef] = set()
        for s, o in closed.subject_objects(RDFS.subClassOf):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and s != o:
                self.superclasses[s].add(o)
        for s, o in closed.subject_objects(RDFS.subPropertyOf):
            if isinstance(s, URIRef) and isinstance(o, URIRef) and s != o:
                self.superproperties[s].add(o)
        for s, o in closed.subject_objects(RDFS.domain):
            if isinstance(o, URIRef):
                self.domains[s].add(o)
        for s, o in closed.subject_objects(RDFS.range):
            if isinstance(o, URIRef):
                self.ranges[s].add(o)
        for s, o in closed.subject_objects(OWL.inverseOf):
            self.inverses[s].add(o)
            self.inverses[o].add(s)
        self.symmetric = set(closed.subjects(RDF.type, OWL.SymmetricProperty))
        self.transitive = set(closed.subjects(RDF.type, OWL.TransitiveProperty))


def entail(data, rules: Rules, closed_ontology=None) -> set:
    """Apply the rules to the data (any iterable of triples) until nothing new follows; return only the new,
    informative triples (what the ontology already says, e.g. the type of one of its own individuals, is not
    repeated). Linear in the data, but for chains of transitive properties, which are indexed both ways."""
    known: set[tuple] = set(data)
    new: set[tuple] = set()
    todo = list(known)

    def add(triple: tuple) -> None:
        if triple not in known:
            known.add(triple)
            new.add(triple)
            todo.append(triple)

    # for each transitive property: subject -> objects and object -> subjects, over what is known so far
    forward: dict[URIRef, dict] = {p: defaultdict(set) for p in rules.transitive}
    backward: dict[URIRef, dict] = {p: defaultdict(set) for p in rules.transitive}
    superclasses = rules.superclasses
    rdf_type = RDF.type
    # what each predicate implies, worked out once a predicate rather than looked up rule by rule a triple
    # (hashing an rdflib term is not cheap): (superproperties, domains, ranges, inverses, symmetric?, transitive?)
    by_predicate: dict = {}

    def rules_for(p) -> tuple:
        return (tuple(rules.superproperties.get(p, ())), tuple(rules.domains.get(p, ())),
                tuple(rules.ranges.get(p, ())), tuple(rules.inverses.get(p, ())), p in rules.symmetric,
                p in forward)

    type_iri = str(rdf_type)
    while todo:
        s, p, o = todo.pop()
        if str.__eq__(p, type_iri):
            for c in superclasses.get(o, ()):
                add((s, rdf_type, c))
            continue
        implied = by_predicate.get(p)
        if implied is None:
            implied = by_predicate[p] = rules_for(p)
        superproperties, domains, ranges, inverses, symmetric, transitive = implied
        for q in superproperties:
            add((s, q, o))
        for c in domains:
            add((s, rdf_type, c))
        if isinstance(o, Literal):
            continue  # range of a datatype property: types of literals are not published
        for c in ranges:
            add((o, rdf_type, c))
        for q in inverses:
            add((o, q, s))
        if symmetric:
            add((o, p, s))
        if transitive:
            after, before = forward[p], backward[p]
            after[s].add(o)
            before[o].add(s)
            for a in list(before.get(s, ())):  # a p s, s p o => a p o
                add((a, p, o))
            for b in list(after.get(o, ())):  # s p o, o p b => s p b
                add((s, p, b))
    return {t for t in new if informative(t) and (closed_ontology is None or t not in closed_ontology)}


# IRIs as plain strings: comparing rdflib terms with == runs Python code, comparing str runs C
_SAME_AS, _TYPE = str(OWL.sameAs), str(RDF.type)
_TRIVIAL = frozenset(str(t) for t in TRIVIAL_TYPES)


def informative(triple: tuple) -> bool:
    """False for entailments that say nothing: reflexive sameAs, owl:Thing/rdfs:Resource typing, axioms."""
    s, p, o = triple
    if isinstance(s, Literal):
        return False
    if str.__eq__(p, _SAME_AS) and s == o:
        return False
    if str.__eq__(p, _TYPE) and isinstance(o, URIRef) and str.__str__(o) in _TRIVIAL:
        return False
    if isinstance(s, URIRef) and str.startswith(s, AXIOMATIC_NAMESPACES):
        return False
    return True


class Reasoner:
    """The data reasoner for one ontology: refuses what it does not support, closes the ontology (owlrl; see
    close_ontology for the cache), and then entails any data with what the closure implies."""

    def __init__(self, ontology: Graph, close=close_ontology):
        check_supported(ontology)
        self.closed = close(ontology)
        self.rules = Rules(self.closed)
        self.closed_set = _closed_set(self.closed)

    @property
    def distributes(self) -> bool:
        """Whether the entailments of a union of graphs are the union of each graph's entailments (less what
        the union asserts). So they are when every rule takes one data triple; prp-trp joins two, so not when
        the ontology declares a transitive property."""
        return not self.rules.transitive

    def entail(self, data) -> set:
        """What the ontology lets us conclude about the data, minus what the data asserts."""
        return entail(data, self.rules, self.closed_set)


def reason(ontology: Graph, data) -> set:
    """The data entailments: what the ontology lets us conclude about the data, minus what is asserted."""
    return Reasoner(ontology).entail(data)


def _closed_set(closed: Graph) -> frozenset:
    if getattr(closed, "_ysv_set", None) is None:
        closed._ysv_set = frozenset(closed)  # type: ignore[attr-defined]
    return closed._ysv_set  # type: ignore[attr-defined]


def owlrl_data_entailments(ontology: Graph, data) -> set:
    """Reference: owlrl's full closure of ontology + data, minus the ontology's own closure, the assertions and
    the uninformative triples. Slow; used by the differential tests and the benchmark."""
    full = Graph()
    for triple in ontology:
        full.add(triple)
    for triple in data:
        full.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(full)
    closed_ontology = close_ontology(ontology)
    data = data if isinstance(data, (set, frozenset, Graph)) else set(data)
    return {t for t in full if t not in data and t not in closed_ontology and informative(t)}

"""The ontology: every own term is declared, labelled and defined, and every ysv: term the data uses exists."""
from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ysv_graph.incremental import build
from ysv_graph.pipeline import validation
from ysv_graph.rdf.terms import Base

YSV = "https://w3id.org/ysv/def/"


def test_ontology_metadata():
    ontology = build.load_ontology(Base())
    node = URIRef(YSV)
    assert (node, RDF.type, OWL.Ontology) in ontology
    for predicate in ("http://www.w3.org/2002/07/owl#versionInfo", "http://www.w3.org/2002/07/owl#versionIRI",
                      "http://purl.org/dc/terms/license", "http://purl.org/dc/terms/creator",
                      "http://purl.org/dc/terms/created", "http://purl.org/dc/terms/modified"):
        assert ontology.value(node, URIRef(predicate)) is not None, predicate


def test_every_own_term_has_a_label_and_a_definition():
    ontology = build.load_ontology(Base())
    terms = {s for s in ontology.subjects() if isinstance(s, URIRef) and str(s).startswith(YSV) and str(s) != YSV}
    assert len(terms) > 60
    missing = sorted(str(t) for t in terms
                     if ontology.value(t, RDFS.label) is None or ontology.value(t, SKOS.definition) is None)
    assert not missing, missing


def test_every_ysv_term_used_by_the_data_and_shapes_is_defined(built):
    ontology = build.load_ontology(Base())
    defined = {s for s in ontology.subjects() if isinstance(s, URIRef)}
    used = set()
    for s, p, o in built.asserted:
        used |= {t for t in (p, o) if isinstance(t, URIRef) and str(t).startswith(YSV)}
        if p == RDF.type:
            used.add(o)
    shapes = validation.load_shapes(Base())
    used |= {t for triple in shapes for t in triple
             if isinstance(t, URIRef) and str(t).startswith(YSV) and not str(t).startswith(YSV + "shapes/")}
    undefined = sorted(str(t) for t in used if str(t).startswith(YSV) and t not in defined)
    assert not undefined, undefined

"""The fast data reasoner gives exactly what owlrl's full OWL 2 RL closure adds about the data."""
from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ysv_graph.incremental import build
from ysv_graph.incremental import closure
from ysv_graph.pipeline import reasoning
from ysv_graph.rdf.terms import Base

from conftest import corpus_module

YSV = "https://w3id.org/ysv/def/"
ID = "https://w3id.org/ysv/id/"


@pytest.fixture(scope="module")
def ontology():
    return build.load_ontology(Base())


def test_equal_to_owlrl_on_the_real_data(built, ontology):
    ours = reasoning.reason(ontology, built.asserted)
    reference = reasoning.owlrl_data_entailments(ontology, built.asserted)
    assert len(ours) > 100
    assert set(ours) == set(reference)


TOY_ONTOLOGY = """
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:A rdfs:subClassOf :B . :B rdfs:subClassOf :C . :C owl:equivalentClass :D .
:p rdfs:subPropertyOf :q . :q rdfs:subPropertyOf :r . :q owl:equivalentProperty :q2 .
:r rdfs:domain :A ; rdfs:range :C .
:parent owl:inverseOf :child .
:sibling a owl:SymmetricProperty .
:ancestor a owl:TransitiveProperty .
"""
TOY_DATA = """
@prefix : <http://example.org/> .
:x a :A ; :p :y ; :parent :z ; :sibling :w ; :ancestor :a1 ; :label "literal" .
:a1 :ancestor :a2 . :a2 :ancestor :a3 .
:z :p "a literal is never given a type" .
"""


def test_equal_to_owlrl_on_every_supported_rule():
    ontology = Graph().parse(data=TOY_ONTOLOGY, format="turtle")
    data = Graph().parse(data=TOY_DATA, format="turtle")
    ours = set(reasoning.reason(ontology, data))
    assert ours == set(reasoning.owlrl_data_entailments(ontology, data))
    ex = "http://example.org/"
    for triple in [("x", RDF.type, "D"), ("x", "q2", "y"), ("y", RDF.type, "C"), ("z", "child", "x"),
                   ("w", "sibling", "x"), ("x", "ancestor", "a3"), ("z", RDF.type, "A")]:
        s, p, o = (t if isinstance(t, URIRef) else URIRef(ex + t) for t in triple)
        assert (s, p, o) in ours, triple


@pytest.mark.parametrize("axiom", [
    ":A rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :p ; owl:someValuesFrom :B ] .",
    ":x owl:sameAs :y .",
    ":p a owl:FunctionalProperty .",
    ":p owl:propertyChainAxiom ( :q :r ) .",
    ":A owl:disjointWith :B .",
    ":A owl:unionOf ( :B :C ) .",
    ":k owl:hasKey ( :p ) .",
])
def test_unsupported_constructs_are_refused(axiom):
    ontology = Graph().parse(data="@prefix : <http://example.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> ."
                                  " @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . " + axiom,
                             format="turtle")
    with pytest.raises(reasoning.UnsupportedOntology):
        reasoning.reason(ontology, Graph())


def test_uninformative_entailments_are_dropped(built):
    entailed = built.graphs[URIRef("https://w3id.org/ysv/graph/entailments")]
    assert entailed
    assert not [t for t in entailed if t[1] == RDF.type and t[2] in (OWL.Thing, RDFS.Resource)]
    assert not [t for t in entailed if t[1] == OWL.sameAs and t[0] == t[2]]
    assert not [s for s, _p, _o in entailed if str(s).startswith(str(OWL)) or str(s).startswith(str(RDFS))]


def test_entailments_that_queries_rely_on(built):
    entailed = built.graphs[URIRef("https://w3id.org/ysv/graph/entailments")]
    headline = URIRef(ID + "finding/finding-vru-early-evidence")
    assert (headline, RDF.type, URIRef(YSV + "Finding")) not in entailed  # asserted, so not repeated
    assert (headline, RDF.type, URIRef("https://schema.org/Claim")) in entailed
    # skos:narrower from skos:broader, and inverse properties of our own
    narrower = [t for t in entailed if t[0] == URIRef(ID + "theme/theme-police-powers") and t[1] == SKOS.narrower]
    assert narrower
    assert [t for t in entailed if t[1] == URIRef(YSV + "hasStatement")]
    assert [t for t in entailed if t[1] == URIRef(YSV + "answeredBy")]
    # the companion relation is symmetric
    assert (URIRef(ID + "report/syv-inspection-report"), URIRef(YSV + "companionOf"),
            URIRef(ID + "report/user-voice-report")) in entailed


@pytest.mark.slow
@pytest.mark.parametrize("reports", [1, 10])
def test_equal_to_owlrl_on_synthetic_corpora(tmp_path, ontology, reports):
    from pathlib import Path

    from ysv_graph.pipeline import load as loading
    from ysv_graph.pipeline import mapping

    corpus = tmp_path / f"corpus-{reports}"
    corpus_module().generate(reports, corpus, seed=0)
    data = mapping.map_records(loading.load(Path(corpus)), Base()).union()
    ours = reasoning.reason(ontology, data)
    reference = reasoning.owlrl_data_entailments(ontology, data)
    assert len(ours) > 200 * reports  # about 240 entailments a synthetic report
    assert set(ours) == set(reference)


@pytest.mark.slow
def test_the_ontology_closure_kept_in_the_cache_is_owlrls(tmp_path, ontology):
    """build keeps owlrl's closure of the ontology in its cache folder; read back in a later build it must be the
    same closure, and a changed ontology must be closed again (and replace the old file)."""
    first = closure._read_or_close(ontology, tmp_path)
    assert set(first) == set(reasoning._close(ontology))
    files = list((tmp_path / "ontology").glob("*.pickle"))
    assert len(files) == 1
    again = closure._read_or_close(ontology, tmp_path)  # from the file this time
    assert set(again) == set(first) and list((tmp_path / "ontology").glob("*.pickle")) == files
    changed = Graph()
    for triple in ontology:
        changed.add(triple)
    extra = URIRef("https://example.org/def/Extra")
    changed.add((extra, RDFS.subClassOf, next(iter(ontology.subjects(RDF.type, OWL.Class)))))
    closed = closure._read_or_close(changed, tmp_path)
    assert set(closed) == set(reasoning._close(changed)) and set(closed) != set(first)
    assert len(list((tmp_path / "ontology").glob("*.pickle"))) == 1
    assert list((tmp_path / "ontology").glob("*.pickle")) != files
    for path in (tmp_path / "ontology").glob("*.pickle"):  # a damaged file is closed again, not trusted
        path.write_bytes(b"not a pickle")
    assert set(closure._read_or_close(changed, tmp_path)) == set(closed)

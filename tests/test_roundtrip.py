"""Every published serialisation, read back by independent parsers, is the graph we built."""
from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph

from ysv_graph.rdf import ntriples
from ysv_graph.rdf import turtle
from ysv_graph.rdf.ntriples import to_ox


def _ox_triples(graph: Graph) -> set:
    return {ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in graph}


def _ox_quads(graphs) -> set:
    return {ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.NamedNode(str(name)))
            for name, graph in graphs.items() for s, p, o in graph}


@pytest.fixture(scope="module")
def expected(built):
    return _ox_triples(built.asserted)


def test_the_asserted_graph_has_no_blank_nodes(built):
    # without blank nodes, isomorphism is set equality, and output stays diff-friendly
    assert not [t for t in built.asserted if any(type(x).__name__ == "BNode" for x in t)]


@pytest.mark.parametrize("name,fmt", [("ysv.ttl", ox.RdfFormat.TURTLE), ("ysv.nt", ox.RdfFormat.N_TRIPLES),
                                      ("ysv.jsonld", ox.RdfFormat.JSON_LD)])
def test_pyoxigraph_reads_back_the_same_triples(built_out, expected, name, fmt):
    parsed = {quad.triple for quad in ox.parse(path=str(built_out / name), format=fmt)}
    assert parsed == expected


@pytest.mark.parametrize("name,fmt", [("ysv.ttl", "turtle"), ("ysv.nt", "nt"), ("ysv.jsonld", "json-ld")])
def test_rdflib_reads_back_the_same_triples(built_out, built, name, fmt):
    parsed = Graph().parse(built_out / name, format=fmt)
    assert set(parsed) == set(built.asserted)


def test_pyld_reads_back_the_same_triples(built_out, built):
    document = json.loads((built_out / "ysv.jsonld").read_text(encoding="utf-8"))
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    parsed = Graph().parse(data=nquads, format="nt")
    assert set(parsed) == set(built.asserted)


def test_context_file_is_the_context_of_the_document(built_out):
    document = json.loads((built_out / "ysv.jsonld").read_text(encoding="utf-8"))
    context = json.loads((built_out / "context.jsonld").read_text(encoding="utf-8"))
    assert document["@context"] == context["@context"]
    # human-readable keys: local names, not IRIs
    nodes = {node["id"]: node for node in document["@graph"]}
    report = nodes["ysvid:report/syv-inspection-report"]
    assert report["title"] == "An inspection of how well the police tackle serious youth violence"
    assert report["issued"] == "2023-03-08"
    assert "InspectionReport" in report["type"]


def test_nquads_hold_every_named_graph(built_out, built):
    parsed = set(ox.parse(path=str(built_out / "ysv.nq"), format=ox.RdfFormat.N_QUADS))
    assert parsed == _ox_quads(built.graphs)
    rdflib_ds = Dataset()
    rdflib_ds.parse(built_out / "ysv.nq", format="nquads")
    names = {str(g.identifier) for g in rdflib_ds.graphs() if len(g)}
    assert names == {str(n) for n in built.graphs}


def test_named_graphs_are_one_per_source_plus_entailments_ontology_metadata(built):
    names = sorted(str(n) for n in built.graphs)
    base = "https://w3id.org/ysv/graph/"
    assert base + "entailments" in names and base + "ontology" in names and base + "metadata" in names
    sources = [n for n in names if n.startswith(base + "source/")]
    assert len(sources) == built.counts["sources"]
    # the entailments are apart from the assertions: none of them is asserted
    entailed = built.graphs[next(n for n in built.graphs if str(n) == base + "entailments")]
    assert len(entailed) > 0
    assert not set(entailed) & set(built.asserted)


def test_ntriples_are_sorted_and_nquads_sorted_graph_by_graph(built_out):
    lines = (built_out / "ysv.nt").read_bytes().splitlines()
    assert lines == sorted(lines) and len(lines) == len(set(lines))
    quads = (built_out / "ysv.nq").read_bytes().splitlines()
    graph_of = [q.rsplit(b" ", 2)[-2] for q in quads]  # "<s> <p> <o> <g> ." -> <g>
    runs = [g for i, g in enumerate(graph_of) if i == 0 or g != graph_of[i - 1]]
    assert runs == sorted(set(graph_of), key=lambda g: g[1:-1])  # one run a graph, graphs in IRI order
    for graph in set(graph_of):
        chunk = [q for q, g in zip(quads, graph_of) if g == graph]
        assert chunk == sorted(chunk)


def _unordered(value):
    """JSON with arrays as sorted lists of their items' JSON, so that only order may differ."""
    if isinstance(value, dict):
        return {k: _unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted(json.dumps(_unordered(v), sort_keys=True) for v in value)
    return value


def test_our_compaction_is_what_pyld_compaction_gives(built):
    """The build compacts JSON-LD directly (pyld takes ~10x longer); pyld's own compaction with the same context
    must give the same document, up to the order of keys and array items."""
    from ysv_graph.rdf import jsonld as ysv_jsonld
    from ysv_graph.rdf.turtle import used_prefixes
    from ysv_graph.rdf.terms import Base

    ntriples = ysv_jsonld.sorted_ntriples(built.asserted)
    context = ysv_jsonld.build_context(ysv_jsonld.read(ntriples), used_prefixes(built.asserted, Base().prefixes()))
    ours = ysv_jsonld.compact(ntriples, context)
    assert ysv_jsonld.dumps(ntriples, context) == (json.dumps(ours, indent=2, ensure_ascii=False) + "\n").encode()
    reference = ysv_jsonld.compact_with_pyld(built.asserted, context)
    by_id = lambda doc: {node["id"]: _unordered(node) for node in doc["@graph"]}  # noqa: E731
    assert by_id(ours) == by_id(reference)


def test_our_ntriples_lines_are_what_pyoxigraph_writes(built):
    """ntriples.sorted_lines puts each line together from the N-Triples form of its terms; it must be
    byte for byte what pyoxigraph's serialiser writes, for the real data and for literals that need escaping."""
    import pyoxigraph as ox
    from rdflib import Literal, URIRef
    from rdflib.namespace import XSD

    from ysv_graph.pipeline import writing

    awkward = ['a"b', "back\\slash", "new\nline", "cr\rx", "tab\tx", "bell\x07x", "nul\x00x", "é ☃ 𝄞", "\u2028",
               "del\x7f", ""]
    s, p = URIRef("https://example.org/s"), URIRef("https://example.org/p")
    extra = {(s, p, Literal(v)) for v in awkward} | {(s, p, Literal(v, lang="en-GB")) for v in awkward}
    extra |= {(s, p, Literal(v, datatype=XSD.date)) for v in awkward}
    extra |= {(s, p, URIRef("https://example.org/é?a=b&c#d")), (s, p, Literal(3)), (s, p, Literal(True))}
    for graph in (built.asserted, extra):
        converter = ntriples.Converter()
        ours = ntriples.sorted_lines(converter, graph)
        theirs = sorted(ox.serialize(ntriples.Converter().triples(graph), format=ox.RdfFormat.N_TRIPLES).splitlines())
        assert ours == theirs


def test_our_json_writer_writes_what_json_dumps_writes():
    """jsonld._indented stands in for json.dumps(indent=2, ensure_ascii=False) (its pure-Python encoder is slow);
    for every kind of value, including ones compact_nodes does not make today."""
    from ysv_graph.rdf import jsonld as ysv_jsonld

    values = [{}, [], "", {"a": []}, {"a": {}}, {"a": [1, True, None, 2.5, "x\"\u2028\n\\"]}, ["é", {"b": "c"}],
              {"id": "x", "type": ["A", "B"], "p": {"@value": "1", "type": "xsd:date"}}, [[["deep"]]], 7]
    for value in values:
        parts: list = []
        ysv_jsonld._indented(value, "    ", parts)
        assert "".join(parts) == json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n    ")


def test_namespaces_used_are_those_that_begin_an_iri():
    """turtle.namespaces_used finds prefixes by bisection in the sorted IRIs; checked against the plain
    definition on awkward cases: a namespace that is itself an IRI, namespaces that begin one another, one
    that sorts between IRIs without beginning any, and one past them all."""
    from ysv_graph.rdf.turtle import namespaces_used

    iris = {"http://a.example/ns#", "http://a.example/ns#x", "http://a.example/other/y", "http://b.example/z"}
    prefixes = {"ns": "http://a.example/ns#", "a": "http://a.example/", "o": "http://a.example/other/",
                "gap": "http://a.example/p", "none": "http://c.example/", "zz": "http://b.example/z/",
                "b": "http://b.example/"}
    plain = {k: v for k, v in prefixes.items() if any(i.startswith(v) for i in iris)}
    assert namespaces_used(iris, prefixes) == plain
    assert list(plain) == ["ns", "a", "o", "b"]  # in the order given
    assert namespaces_used(set(), prefixes) == {}

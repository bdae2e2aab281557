"""One negative test per shape constraint.

For every constraint in shapes/ (a named shape and one of its constraint parameters, or a SPARQL constraint),
a copy of the real asserted graph is mutated so that exactly that rule is broken, and validation must report a
violation from that shape, with that constraint component, at the mutated focus node and path.

Property constraints are mutated by a rule chosen from their component (minCount: remove the values; class: point
at something of no class; ...). Node-level and SPARQL constraints have hand-written mutations. A constraint added
to shapes/ without a way to break it here fails test_every_constraint_has_a_negative_test.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ysv_graph.rdf import ntriples
from ysv_graph.incremental import rechecking
from ysv_graph.pipeline import validation
from ysv_graph.incremental import screening
from ysv_graph.incremental import batches as validation_batches
from ysv_graph.rdf.terms import SH, Base

SHAPES_NS = "https://w3id.org/ysv/def/shapes/"
YSV = "https://w3id.org/ysv/def/"
ID = "https://w3id.org/ysv/id/"
EX = "http://example.org/not-in-the-graph/"
PARAMETERS = {
    "minCount", "maxCount", "datatype", "languageIn", "uniqueLang", "class", "in", "pattern", "nodeKind", "or",
    "minInclusive", "lessThanOrEquals", "xone", "not",
}
COMPONENT = {name: SH[name[0].upper() + name[1:] + "ConstraintComponent"] for name in PARAMETERS}
COMPONENT["sparql"] = SH.SPARQLConstraintComponent


@pytest.fixture(scope="module")
def shapes():
    return validation.load_shapes(Base())


def constraints(shapes: Graph) -> list[tuple[str, str]]:
    """Every (shape, parameter) pair in shapes/, and every SPARQL constraint as (constraint, 'sparql')."""
    out = set()
    for shape in set(shapes.subjects()):
        if not (isinstance(shape, URIRef) and str(shape).startswith(SHAPES_NS)):
            continue
        for p, o in shapes.predicate_objects(shape):
            name = str(p).rsplit("#", 1)[-1]
            if name in PARAMETERS:
                out.add((str(shape)[len(SHAPES_NS):], name))
            elif p == SH.sparql:
                out.add((str(o)[len(SHAPES_NS):], "sparql"))
    return sorted(out)


# --- mutations ----------------------------------------------------------------------------------------------------

@dataclass
class Expect:
    shape: str  # the sh:sourceShape, local name
    focus: URIRef
    path: URIRef | None


def _node_shape_of(shapes: Graph, prop_shape: URIRef) -> URIRef:
    return next(shapes.subjects(SH.property, prop_shape))


def _targets(shapes: Graph, node_shape: URIRef, data: Graph) -> list[URIRef]:
    nodes = set()
    for cls in shapes.objects(node_shape, SH.targetClass):
        nodes |= set(data.subjects(RDF.type, cls))
    nodes |= set(shapes.objects(node_shape, SH.targetNode))
    for prop in shapes.objects(node_shape, SH.targetObjectsOf):
        nodes |= {o for o in data.objects(None, prop) if isinstance(o, URIRef)}
    return sorted(nodes, key=str)


def _focus(shapes, node_shape, data, path, need_value: bool) -> URIRef:
    candidates = _targets(shapes, node_shape, data)
    assert candidates, f"no data targeted by {node_shape}"
    if need_value:
        with_value = [n for n in candidates if (n, path, None) in data]
        assert with_value, f"no focus node of {node_shape} has {path}"
        return with_value[0]
    return candidates[0]


def _replace(data: Graph, focus, path, value) -> None:
    data.remove((focus, path, None))
    data.add((focus, path, value))


def _sample(data: Graph, path) -> object | None:
    return next(iter(sorted(data.objects(None, path), key=str)), None)


def mutate_property(shapes: Graph, data: Graph, shape_name: str, parameter: str) -> Expect:
    prop = URIRef(SHAPES_NS + shape_name)
    node_shape = _node_shape_of(shapes, prop)
    path = shapes.value(prop, SH.path)
    needs_value = parameter in ("minCount", "datatype", "languageIn", "uniqueLang", "lessThanOrEquals",
                                "minInclusive", "pattern")
    if parameter == "pattern" and _sample(data, path) is None:
        needs_value = False
    focus = _focus(shapes, node_shape, data, path, needs_value)
    existing = sorted(data.objects(focus, path), key=str)
    sample = existing[0] if existing else _sample(data, path)

    if parameter == "minCount":
        data.remove((focus, path, None))
    elif parameter == "maxCount":
        if isinstance(sample, Literal) and sample.datatype == XSD.boolean:
            extra = [Literal(True), Literal(False)]
            existing = [True]  # both added: no third value needed
        elif isinstance(sample, Literal):
            extra = [Literal(f"{sample} (another)", lang=sample.language) if sample.language
                     else Literal("1999-01-01", datatype=sample.datatype) if sample.datatype == XSD.date
                     else Literal(f"{sample}9", datatype=sample.datatype)]
        else:
            extra = [URIRef(EX + "extra-1")]
        if not existing:
            extra.append(URIRef(EX + "extra-2") if not isinstance(sample, Literal) else
                         Literal(f"{extra[0]}8", datatype=extra[0].datatype, lang=extra[0].language))
        for value in extra:
            data.add((focus, path, value))
    elif parameter == "datatype" or parameter == "or" and shape_name == "Figure-value":
        _replace(data, focus, path, Literal("not of the right datatype", datatype=XSD.token))
    elif parameter == "languageIn":
        _replace(data, focus, path, Literal(str(sample), lang="fr"))
    elif parameter == "uniqueLang":
        data.add((focus, path, Literal("a second English value", lang="en")))
    elif parameter in ("class", "in", "or"):
        _replace(data, focus, path, URIRef(EX + "thing-of-no-class"))
    elif parameter == "nodeKind":
        _replace(data, focus, path, Literal("not an IRI"))
    elif parameter == "pattern":
        if isinstance(sample, URIRef) or sample is None:
            _replace(data, focus, path, URIRef("urn:example:does-not-match"))
        else:
            _replace(data, focus, path, Literal("does not match!", datatype=sample.datatype, lang=sample.language))
    elif parameter == "minInclusive":
        _replace(data, focus, path, Literal(int(shapes.value(prop, SH.minInclusive)) - 1, datatype=XSD.integer))
    elif parameter == "lessThanOrEquals":
        other = shapes.value(prop, SH.lessThanOrEquals)
        later = Literal("2100-01-01", datatype=XSD.date) if sample.datatype == XSD.date \
            else Literal(999, datatype=sample.datatype)
        _replace(data, focus, path, later)
        assert (focus, other, None) in data
    else:
        raise AssertionError(f"no mutation for {parameter}")
    return Expect(shape_name, focus, path)


def _ysv(name):
    return URIRef(YSV + name)


def _first(data, cls):
    return sorted(data.subjects(RDF.type, _ysv(cls)), key=str)[0]


def node_mutations():
    """Hand-written mutations for node-level and SPARQL constraints: (key) -> function(data) -> Expect."""
    inspection = URIRef(ID + "inspection/syv-inspection")
    report = URIRef(ID + "report/syv-inspection-report")
    dataset = URIRef(ID + "dataset/ysv")
    area = URIRef("http://statistics.data.gov.uk/id/statistical-geography/E23000001")

    def area_pattern(data):
        bad = URIRef("http://example.org/area/X1")
        data.add((bad, RDF.type, _ysv("PoliceForceArea")))
        return Expect("PoliceForceArea", bad, None)

    def area_node_kind(data):
        bad = BNode("somewhere")
        data.add((bad, RDF.type, _ysv("PoliceForceArea")))
        return Expect("PoliceForceArea", bad, None)

    def legislation_pattern(data):
        bad = URIRef("https://www.legislation.gov.uk/ukpga/1984/60/section/1")  # a document URI, not /id/
        data.add((bad, RDF.type, URIRef("https://schema.org/Legislation")))
        return Expect("Legislation", bad, None)

    def legislation_node_kind(data):
        bad = BNode("an-act")
        data.add((bad, RDF.type, URIRef("https://schema.org/Legislation")))
        return Expect("Legislation", bad, None)

    def vru_xone(data):
        vru = sorted((s for s in data.subjects(RDF.type, _ysv("ViolenceReductionUnit"))
                      if (s, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"), None) in data), key=str)[0]
        data.add((vru, _ysv("nameKnown"), Literal(False)))
        return Expect("ViolenceReductionUnit", vru, None)

    def figure_not(data):
        figure = _first(data, "Figure")
        data.add((figure, URIRef("http://purl.org/linked-data/sdmx/2009/dimension#refArea"), area))
        data.add((figure, _ysv("areaDescription"), Literal("and also some words", lang="en")))
        return Expect("Figure", figure, None)

    def every_fact_has_a_source(data):
        data.add((URIRef(EX + "orphan"), RDFS.label, Literal("a fact with no source", lang="en")))
        return Expect("Dataset", dataset, None)

    def area_code_matches(data):
        data.remove((area, URIRef("http://www.w3.org/2004/02/skos/core#notation"), None))
        data.add((area, URIRef("http://www.w3.org/2004/02/skos/core#notation"), Literal("E23000002")))
        return Expect("Dataset", dataset, None)

    def named_within_stated(data):
        areas = sorted(data.subjects(RDF.type, _ysv("PoliceForceArea")), key=str)[:13]
        for a in areas:
            data.add((inspection, _ysv("inspectedArea"), a))
        return Expect("Dataset", dataset, None)

    def status_matches_names(data):
        data.add((inspection, _ysv("inspectedArea"), area))  # one named while the list is 'unknown'
        return Expect("Dataset", dataset, None)

    def split_adds_up(data):
        _replace(data, inspection, _ysv("areasInspectedWithVRU"), Literal(11, datatype=XSD.nonNegativeInteger))
        return Expect("Dataset", dataset, None)

    def recommendations_within_count(data):
        _replace(data, report, _ysv("statedRecommendationCount"), Literal(1, datatype=XSD.nonNegativeInteger))
        return Expect("Dataset", dataset, None)

    def figures_dates_counts_backed(data):
        statement = URIRef(ID + "inspection/syv-inspection#fact-areas_inspected-areasInspected")
        assert (statement, RDF.subject, inspection) in data
        data.remove((statement, None, None))
        return Expect("Dataset", dataset, None)

    def described_has_text(data):
        rec = URIRef(ID + "recommendation/rec-outcome-22-training")
        data.remove((rec, URIRef("http://purl.org/dc/terms/description"), None))
        return Expect("Recommendation", rec, None)

    return {
        ("PoliceForceArea", "pattern"): area_pattern,
        ("PoliceForceArea", "nodeKind"): area_node_kind,
        ("Legislation", "pattern"): legislation_pattern,
        ("Legislation", "nodeKind"): legislation_node_kind,
        ("ViolenceReductionUnit", "xone"): vru_xone,
        ("Figure", "not"): figure_not,
        ("Dataset-everyFactHasASource", "sparql"): every_fact_has_a_source,
        ("Dataset-areaCodeMatchesIRI", "sparql"): area_code_matches,
        ("Inspection-namedWithinStated", "sparql"): named_within_stated,
        ("Inspection-statusMatchesNames", "sparql"): status_matches_names,
        ("Inspection-splitAddsUp", "sparql"): split_adds_up,
        ("InspectionReport-recommendationsWithinCount", "sparql"): recommendations_within_count,
        ("Dataset-figuresDatesCountsBackedByStatements", "sparql"): figures_dates_counts_backed,
        ("Recommendation", "xone"): described_has_text,
    }


def _only(shapes: Graph, node_shape: URIRef) -> Graph:
    """The shapes graph with every other node shape's targets removed, so only this shape is evaluated."""
    out = Graph()
    for s, p, o in shapes:
        if p in (SH.targetClass, SH.targetNode) and s != node_shape:
            continue
        out.add((s, p, o))
    return out


def _is_property_shape(shapes, name):
    return (URIRef(SHAPES_NS + name), SH.path, None) in shapes


def _owner(shapes: Graph, key: tuple[str, str]) -> URIRef:
    name, parameter = key
    iri = URIRef(SHAPES_NS + name)
    if parameter == "sparql":
        return next(shapes.subjects(SH.sparql, iri))
    if _is_property_shape(shapes, name):
        return _node_shape_of(shapes, iri)
    return iri


def test_every_constraint_has_a_negative_test(shapes):
    handwritten = node_mutations()
    missing = [key for key in constraints(shapes)
               if key not in handwritten and not _is_property_shape(shapes, key[0])]
    assert not missing, f"constraints with no way to break them in this test: {missing}"
    assert len(constraints(shapes)) >= 150


def _all_constraints():
    return constraints(validation.load_shapes(Base()))


@pytest.fixture(scope="module")
def lines_before(built):
    """The real data's asserted graphs as N-Triples lines: what the recheck below compares each mutation with."""
    return _lines(_as_documents(built.asserted, built))


@pytest.mark.slow  # ~280 cases, a third of a second each
@pytest.mark.parametrize("key", _all_constraints(), ids=lambda k: f"{k[0]}:{k[1]}")
def test_breaking_the_constraint_is_reported(key, built, shapes, lines_before):
    data = validation.as_graph(built.asserted)  # a fresh graph (filled straight into its store)
    handwritten = node_mutations()
    if key in handwritten:
        expect = handwritten[key](data)
    else:
        expect = mutate_property(shapes, data, *key)
    only_this = _only(shapes, _owner(shapes, key))
    result = validation.validate(data, only_this)
    assert not result.conforms
    # the build's way (documents in batches with their context, graph-wide rules in pyoxigraph) reports exactly
    # what pyshacl reports on the whole graph
    documents = _as_documents(data, built)
    split = validation_batches.validate_dataset(documents, only_this, jobs=0, documents_per_batch=20)
    assert _summary(split.violations) == _summary(result.violations)
    assert len(list(split.report.subjects(RDF.type, SH.ValidationResult))) == len(result.violations)
    # a rebuild's recheck (rechecking: only the context of the nodes the edit affected, after a build that
    # conformed) flags exactly the nodes pyshacl reports on, for pyshacl to validate (confirm, as above), and its
    # graph-wide rules report exactly pyshacl's SPARQL results
    before, after = lines_before, _lines(documents)
    state = rechecking.State("k", {n: rechecking.digest(lines) for n, lines in before.items()}, {}, before)
    recheck = rechecking.plan(state, "k", {n: rechecking.digest(lines) for n, lines in after.items()}, after, {}, {})
    if recheck is None:  # the documented fallback to the whole graph: the edit involves blank nodes
        assert any(b"_:" in line for lines in after.values() for line in lines)
    else:
        assert recheck.nodes
        rechecked = rechecking.check(recheck, only_this)
        sparql = [v for v in result.violations if v.component == str(SH.SPARQLConstraintComponent)]
        assert _summary(rechecked.graph_wide.violations) == _summary(sparql)
        assert set(rechecked.flagged) == {f"<{v.focus}>" for v in result.violations if v not in sparql}
    wanted_component = str(COMPONENT[key[1]])
    matches = [v for v in result.violations
               if v.shape == SHAPES_NS + expect.shape and v.component == wanted_component
               and v.focus == (str(expect.focus) if isinstance(expect.focus, URIRef) else expect.focus.n3())
               and (expect.path is None or v.path == str(expect.path))]
    assert matches, f"expected {expect} / {wanted_component}; got:\n" + "\n".join(
        f"{v.focus} {v.path} {v.shape} {v.component}" for v in result.violations)


def _as_documents(data: Graph, built) -> dict:
    """The (mutated) graph split back into the build's named graphs: each triple goes to the graph where its
    subject is first stated; triples about new nodes to a graph of their own."""
    from collections import defaultdict

    where = {}
    for name in sorted(built.graphs, key=str):
        if "/graph/source/" in name or name.endswith("/graph/metadata"):
            for s, _p, _o in built.graphs[name]:
                where.setdefault(s, name)
    documents = defaultdict(set)
    for triple in data:
        documents[where.get(triple[0], URIRef("urn:x-test:new-nodes"))].add(triple)
    return dict(documents)


def _lines(graphs: dict) -> dict:
    converter = ntriples.Converter()
    return {str(name): ntriples.sorted_lines(converter, graph) for name, graph in graphs.items()}


def _summary(violations) -> list:
    return sorted((v.focus, v.path, v.shape, v.component, v.message) for v in violations)


def test_the_real_data_conforms(built):
    assert built.validation.conforms
    assert built.validation.violations == []


@pytest.mark.slow
def test_parallel_validation_reports_exactly_what_one_process_does(data_copy, tmp_path):
    """build --jobs N splits the node shapes across N - 1 validating processes; the violations reported must be
    the same as with one process. Run as real commands (a fresh process forks safely: no other threads)."""
    import subprocess
    import sys

    (data_copy / "hmicfrs-report" / "zz-broken.yaml").write_text(
        "sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n    number: one\n    title: T\n"
        "    order: 8\n  - id: sec-bad-2\n    report: syv-inspection-report\n    number: two\n    title: U\n"
        "    order: 0\n", encoding="utf-8")
    outputs = {}
    for jobs in (1, 2, 3, 5):
        run = subprocess.run([sys.executable, "-m", "ysv_graph", "build", "--data", str(data_copy), "--out",
                              str(tmp_path / "out"), "--jobs", str(jobs)], capture_output=True, text=True)
        assert run.returncode == 1, run.stderr
        outputs[jobs] = [line for line in run.stderr.splitlines() if line.startswith("violation:")]
    assert len(outputs[1]) == 3  # two bad numbers, one position below 1
    assert outputs[2] == outputs[1] and outputs[3] == outputs[1] and outputs[5] == outputs[1]


def test_batches_cover_every_node_once_with_the_types_of_what_it_points_to(built, shapes):
    graphs = {n: g for n, g in built.graphs.items() if "/graph/source/" in n or n.endswith("/graph/metadata")}
    batches = validation_batches.plan(graphs, screening.document_shapes(shapes), documents_per_batch=7)
    assert len(batches) == -(-len(graphs) // 7)
    focus = [node for batch in batches for node in batch.focus]
    assert len(focus) == len(set(focus))  # every node is validated in one batch only
    assert set(focus) == {s for g in graphs.values() for s, _p, _o in g}
    for batch in batches:
        assert {t for t in built.asserted if t[0] in batch.focus} <= batch.triples  # all of a node's triples
        for _s, _p, o in [t for t in batch.triples if t[0] in batch.focus]:
            if isinstance(o, URIRef):
                assert {t for t in built.asserted if t[0] == o and t[1] == RDF.type} <= batch.triples


def test_graph_wide_rules_are_not_left_to_the_batches(shapes):
    constraints = screening.graph_wide_constraints(shapes)
    assert len(constraints) == 7
    assert not list(screening.document_shapes(shapes).triples((None, SH.sparql, None)))


def test_cached_results_are_reused_and_a_change_is_validated_again(built, shapes, tmp_path):
    graphs = {n: set(g) for n, g in built.graphs.items() if "/graph/source/" in n or n.endswith("/graph/metadata")}
    first = validation_batches.Background(graphs, shapes, 0, tmp_path, documents_per_batch=10)
    assert first.result()[0].conforms and first.validated == len(first.batches)
    again = validation_batches.Background(graphs, shapes, 0, tmp_path, documents_per_batch=10)
    assert again.result()[0].conforms and again.validated == 0
    # break one document: only its batch is validated again, and the cached batches do not hide the violation
    name = sorted((n for n in graphs if "/graph/source/" in n), key=str)[-1]
    subject = sorted(s for s, _p, _o in graphs[name])[0]
    graphs[name] = {t for t in graphs[name] if not (t[0] == subject and t[1] == RDFS.label)}
    broken = validation_batches.Background(graphs, shapes, 0, tmp_path, documents_per_batch=10)
    result = broken.result()[0]
    assert broken.validated == 1
    assert not result.conforms and {v.focus for v in result.violations} == {str(subject)}
    # and a second run with the same broken data fails the same way from the cache
    cached = validation_batches.Background(graphs, shapes, 0, tmp_path, documents_per_batch=10)
    assert _summary(cached.result()[0].violations) == _summary(result.violations)
    assert cached.validated == 0


# --- the screen (screening.Screen): shacl, in a process of its own, in front of pyshacl ---------------------------


def _document_graphs(built) -> dict:
    return {n: set(g) for n, g in built.graphs.items() if "/graph/source/" in n or n.endswith("/graph/metadata")}


def test_the_screen_passes_conforming_batches_and_hands_broken_ones_to_pyshacl(built, shapes):
    graphs = _document_graphs(built)
    clean = validation_batches.Background(graphs, shapes, 0, None, documents_per_batch=10)
    assert clean.result()[0].conforms
    assert clean.validated == len(clean.batches) and clean.by_pyshacl == 0  # the screen decided every batch
    name = sorted((n for n in graphs if "/graph/source/" in n), key=str)[-1]
    subject = sorted(s for s, _p, _o in graphs[name])[0]
    graphs[name] = {t for t in graphs[name] if not (t[0] == subject and t[1] == RDFS.label)}
    broken = validation_batches.Background(graphs, shapes, 0, None, documents_per_batch=10)
    result = broken.result()[0]
    assert broken.by_pyshacl == 1  # only the batch holding the broken node went to pyshacl
    assert not result.conforms and {v.focus for v in result.violations} == {str(subject)}
    assert {v.message for v in result.violations} == {v.message for v in validation.validate(
        {t for g in graphs.values() for t in g}, screening.document_shapes(shapes)).violations}


def test_the_screen_ignores_results_about_nodes_that_are_only_context(built, shapes):
    """A batch holds only the rdf:type triples of the nodes it points to, so those nodes break minCounts in it;
    they are validated in their own batch, and must not send this one to pyshacl."""
    from ysv_graph.rdf.ntriples import Converter
    from ysv_graph.rdf.turtle import ntriples

    document_shapes = screening.document_shapes(shapes)
    batch = validation_batches.plan(_document_graphs(built), document_shapes, documents_per_batch=5)[0]
    screen = screening.Screen.start(document_shapes)
    assert screen is not None, "shacl is a dependency: the screen must start"
    try:
        data = ntriples(batch.triples, Converter())
        about = screen.focus_nodes(data)
        assert about, "the context nodes of the batch break their shapes in it"
        assert all(node[1:-1] not in {str(f) for f in batch.focus} for node in about)
        assert screen.passes(data, batch.focus)
    finally:
        screen.close()


def test_without_the_screen_pyshacl_validates_every_batch(built, shapes, monkeypatch):
    graphs = _document_graphs(built)
    monkeypatch.setattr(screening.Screen, "start", classmethod(lambda cls, shapes: None))
    alone = validation_batches.Background(graphs, shapes, 0, None, documents_per_batch=10)
    assert alone.result()[0].conforms and alone.by_pyshacl == alone.validated == len(alone.batches)


def test_a_screen_whose_process_is_gone_passes_nothing(shapes):
    screen = screening.Screen.start(screening.document_shapes(shapes))
    assert screen is not None
    screen.process.kill()
    screen.process.wait()
    assert screen.focus_nodes(b"<urn:x:a> <urn:x:p> <urn:x:b> .\n") is None
    assert not screen.passes(b"<urn:x:a> <urn:x:p> <urn:x:b> .\n", set())


@pytest.mark.slow
def test_the_screen_still_answers_in_processes_forked_after_it_was_used(tmp_path):
    """Regression: shacl runs on rayon's thread pool, and a process forked after the pool started waited forever
    in its first validation. The screen now runs in a process started fresh; this uses it, then forks
    validating processes that use it too, in a subprocess that must finish (not hang)."""
    import subprocess
    import sys

    script = (
        "from ysv_graph.pipeline import validation\n"
        "from ysv_graph.incremental import screening, batches\n"
        "from ysv_graph.rdf.terms import Base\n"
        "from rdflib import URIRef, Literal\n"
        "from rdflib.namespace import RDF, RDFS\n"
        "shapes = validation.load_shapes(Base())\n"
        "screen = screening.Screen.start(screening.document_shapes(shapes))\n"
        "print(screen.focus_nodes(b'<urn:x:a> <urn:x:p> <urn:x:b> .\\n'))\n"
        "screen.close()\n"
        "graphs = {URIRef(f'urn:x:graph/{i}'): {(URIRef(f'urn:x:n{i}'), RDFS.seeAlso, URIRef('urn:x:b'))}\n"
        "          for i in range(4)}\n"
        "background = batches.Background(graphs, shapes, 2, None, documents_per_batch=1, graph_wide=False)\n"
        "print('conforms', background.result()[0].conforms, background.validated)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "conforms True 4"


def test_whole_graph_checks_are_cached_with_their_answers(built, shapes, tmp_path, monkeypatch):
    """screen_and_check keeps the graph-wide rules' result and the screen's answer together, under a hash of
    the N-Triples and the shapes: the same graph again is not checked again and gets the same answers, failing
    ones included; another graph is checked afresh."""
    from ysv_graph.rdf.ntriples import Converter
    from ysv_graph.rdf.turtle import ntriples

    data = ntriples(built.asserted, Converter())
    # a subject with no dct:source breaks a graph-wide rule
    orphan = b'<https://w3id.org/ysv/id/finding/orphan> <http://www.w3.org/2000/01/rdf-schema#label> "x"@en .\n'
    broken = data + orphan
    answers = {}
    for name, graph in (("clean", data), ("broken", broken)):
        answers[name] = screening.screen_and_check(graph, shapes, tmp_path)
        assert not answers[name].cached
    assert answers["clean"].graph_wide.conforms and answers["clean"].flagged == []
    assert not answers["broken"].graph_wide.conforms
    assert any("finding/orphan" in v.message for v in answers["broken"].graph_wide.violations)
    assert len(list((tmp_path / "screen").glob("*.pickle"))) == 1  # one graph's answer is kept

    def not_again(*args):
        raise AssertionError("the checks ran again on a graph whose answer is cached")

    monkeypatch.setattr(screening, "check_graph_wide_ntriples", not_again)
    monkeypatch.setattr(screening.Screen, "start", classmethod(not_again))
    again = screening.screen_and_check(broken, shapes, tmp_path)
    assert again.cached and again.flagged == answers["broken"].flagged
    assert again.graph_wide.conforms is False
    assert again.graph_wide.violations == answers["broken"].graph_wide.violations
    assert len(again.graph_wide.report) == len(answers["broken"].graph_wide.report)
    with pytest.raises(AssertionError, match="ran again"):
        screening.screen_and_check(data, shapes, tmp_path)  # the clean graph's answer was replaced


def test_cached_validation_answers_are_keyed_by_the_engines_versions(shapes, monkeypatch):
    """The whole-graph checks' cache and the batches' cache are keyed by shapes_digest: a new pyshacl, shacl or
    pyoxigraph (which runs the graph-wide rules) must not reuse answers another version gave."""
    import pyoxigraph
    import pyshacl

    before = screening.shapes_digest(shapes)
    assert screening.shapes_digest(shapes) == before
    assert screening._pyshacl_version() == pyshacl.__version__  # (read from its metadata, without importing it)
    with monkeypatch.context() as patched:
        patched.setattr(pyoxigraph, "__version__", "0.0.0-other")
        assert screening.shapes_digest(shapes) != before
    with monkeypatch.context() as patched:
        patched.setattr(screening, "_pyshacl_version", lambda: "0.0.0-other")
        assert screening.shapes_digest(shapes) != before
    monkeypatch.setattr(screening.Screen, "version", staticmethod(lambda: "shacl 0.0.0-other"))
    assert screening.shapes_digest(shapes) != before

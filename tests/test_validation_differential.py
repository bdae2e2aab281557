"""The fast validation path against pyshacl on the whole graph, case for case.

Above screening.VALIDATE_WHOLE_BELOW asserted triples the build does not run pyshacl on the whole graph: it screens
every node with `shacl` and runs the graph-wide SHACL-SPARQL rules in pyoxigraph (screening.screen_and_check), then
has pyshacl validate only the batches of documents home to what the screen flagged (batches.confirm). Its verdict
must be pyshacl's. Each case here takes the real asserted graph (out/ysv.nq less the derived graphs), makes one
small change, and checks that the fast path reports exactly what pyshacl on the whole graph reports: the same
conformance and, result for result, the same focus node, path, source shape, constraint component, value and
message (as multisets: nothing lost, nothing doubled).

The data is mutated as pyoxigraph terms, so a literal can be written as the build could receive it ("TRUE", "007");
the N-Triples of the mutated union are what screen_and_check is given, and the named graphs are those lines
materialised into rdflib terms, as the build materialises its documents for confirm. The reference is pyshacl on
the union materialised the same way: what the build runs below VALIDATE_WHOLE_BELOW (screening.validate_whole).

Every constraint component used in shapes/ is broken by at least one case whose reference report holds it
(test_every_constraint_component_in_the_shapes_is_covered): a component added to the shapes fails that test until a
case breaks it. Most cases are marked slow; the unmutated graph and the known defects of the fast path run in the
quick loop too.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from ysv_graph.incremental import batches, screening
from ysv_graph.pipeline import validation
from ysv_graph.rdf import ntriples
from ysv_graph.rdf.terms import SH, Base

NQ = Path(__file__).resolve().parents[1] / "out" / "ysv.nq"
GRAPH = "https://w3id.org/ysv/graph/"
DERIVED = {GRAPH + "entailments", GRAPH + "ontology"}
METADATA = GRAPH + "metadata"
ID = "https://w3id.org/ysv/id/"
YSV_NS = "https://w3id.org/ysv/def/"
EX = "http://example.org/not-in-the-graph/"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
DOCUMENTS_PER_BATCH = 4  # small batches (some 14 here), so that context across batches matters

# the predicates of the SHACL vocabulary that are not constraint parameters (targets, structure, declarations);
# any other sh: predicate in the shapes is a constraint parameter, whose component must be covered by a case
NOT_PARAMETERS = {SH[name] for name in (
    "targetClass", "targetNode", "targetObjectsOf", "targetSubjectsOf", "target", "property", "path", "message",
    "name", "description", "prefixes", "declare", "prefix", "namespace", "select", "ask", "severity",
    "deactivated", "order", "group", "defaultValue", "labelTemplate", "shapesGraph", "entailment")}


def _term(name: str):
    return ox.NamedNode(name)


def ysv(local: str) -> ox.NamedNode:
    return ox.NamedNode(YSV_NS + local)


def ns(prefix: str, local: str) -> ox.NamedNode:
    return ox.NamedNode({
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "dct": "http://purl.org/dc/terms/", "skos": "http://www.w3.org/2004/02/skos/core#",
        "schema": "https://schema.org/", "prov": "http://www.w3.org/ns/prov#", "void": "http://rdfs.org/ns/void#",
        "dcat": "http://www.w3.org/ns/dcat#", "foaf": "http://xmlns.com/foaf/0.1/", "org": "http://www.w3.org/ns/org#",
        "sdmx-dimension": "http://purl.org/linked-data/sdmx/2009/dimension#",
    }[prefix] + local)


def typed(lexical: str, datatype: str) -> ox.Literal:
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD_NS + datatype))


def en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


TYPE = ns("rdf", "type")
LABEL = ns("rdfs", "label")
SOURCE = ns("dct", "source")
DESCRIPTION = ns("dct", "description")


class Data:
    """The asserted graphs (graph name -> set of (s, p, o) pyoxigraph terms), to mutate."""

    def __init__(self, graphs: dict):
        self.graphs = {name: set(triples) for name, triples in graphs.items()}

    def triples(self, s=None, p=None, o=None):
        for name in sorted(self.graphs):
            for triple in sorted(self.graphs[name], key=str):
                if (s is None or triple[0] == s) and (p is None or triple[1] == p) and (o is None or triple[2] == o):
                    yield name, triple

    def instances(self, cls, having=None, lacking=None) -> list:
        """The nodes typed cls (with a value for `having`, without one for `lacking`), in IRI order."""
        nodes = {t[0] for _n, t in self.triples(None, TYPE, cls)}
        if having is not None:
            nodes = {n for n in nodes if self.values(n, having)}
        if lacking is not None:
            nodes = {n for n in nodes if not self.values(n, lacking)}
        assert nodes, f"no {cls} to mutate"
        return sorted(nodes, key=str)

    def first(self, cls, having=None, lacking=None):
        return self.instances(cls, having, lacking)[0]

    def values(self, s, p) -> list:
        return sorted({t[2] for _n, t in self.triples(s, p)}, key=str)

    def home(self, s) -> str:
        """The first graph (by name) that states something about s."""
        return next(name for name, _t in self.triples(s))

    def other_graph(self, *than) -> str:
        """A source document's graph other than these."""
        return next(name for name in sorted(self.graphs, reverse=True)
                    if name not in than and name != METADATA)

    def add(self, s, p, o, graph: str | None = None) -> None:
        self.graphs.setdefault(graph or self.home(s), set()).add((s, p, o))

    def remove(self, s=None, p=None, o=None) -> int:
        found = list(self.triples(s, p, o))
        assert found, f"nothing to remove: {s} {p} {o}"
        for name, triple in found:
            self.graphs[name].discard(triple)
        return len(found)

    def replace(self, s, p, o) -> None:
        """s's values of p become o alone, stated where the first of them was; a statement node that backed one of
        them backs o instead (as when a curator edits a value that names its sources)."""
        graph = next(name for name, _t in self.triples(s, p))
        for old in self.values(s, p):
            for _name, (statement, _p, _o) in list(self.triples(None, ns("rdf", "subject"), s)):
                if self.values(statement, ns("rdf", "predicate")) == [p] and \
                        self.values(statement, ns("rdf", "object")) == [old]:
                    self.replace(statement, ns("rdf", "object"), o)
        self.remove(s, p)
        self.add(s, p, o, graph)

    def copy(self, source, to, graph: str | None = None, without=()) -> None:
        """Every triple about source, stated again about `to` (in graph, or where it was), but those of `without`."""
        found = list(self.triples(source))
        assert found, f"nothing to copy: {source}"
        for name, (_s, p, o) in found:
            if p not in without:
                self.add(to, p, o, graph or name)

    def lines(self, triples) -> list[bytes]:
        return sorted({f"{s} {p} {o} .".encode() for s, p, o in triples})

    def ntriples(self) -> bytes:
        """The asserted union as the build writes it (ysv.nt): distinct sorted lines."""
        return ntriples.joined(self.lines(t for graph in self.graphs.values() for t in graph))

    def rdflib_graphs(self) -> dict:
        """The named graphs as the build hands them to confirm: their lines materialised into rdflib triples."""
        return {URIRef(name): ntriples.materialise(self.lines(graph)) for name, graph in self.graphs.items() if graph}


# --- cases -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Callable[[Data], None]
    components: frozenset  # local names of the components the reference must report (or reach, when nested)
    quick: bool = False  # run in the quick loop too (not marked slow)
    dataset: bool = False  # also through batches.validate_dataset, which starts from rdflib terms


CASES: list[Case] = []


def case(case_id: str, *components: str, quick: bool = False, dataset: bool = False):
    def register(mutate):
        CASES.append(Case(case_id, mutate, frozenset(components), quick, dataset))
        return mutate
    return register


INSPECTION = _term(ID + "inspection/syv-inspection")
DATASET = _term(ID + "dataset/ysv")
# the build of the release in data/dataset.yaml (the version read as the loader reads it)
BUILD = _term(ID + "dataset/ysv/build/" + yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "dataset.yaml").read_text(encoding="utf-8"))["dataset"]["version"])
AREA = _term("http://statistics.data.gov.uk/id/statistical-geography/E23000001")


def _source_of(data: Data, node):
    return data.values(node, SOURCE)[0]


def _finding_with_theme(data: Data):
    return data.first(ysv("Finding"), having=ysv("theme"))


def _vru_without_name(data: Data):
    return data.first(ysv("ViolenceReductionUnit"), having=ysv("nameKnown"))


# the graph as it is, and the two defects a reviewer reported

@case("unmutated-conforms", quick=True, dataset=True)
def _unmutated(data):
    pass


@case("blank-node-labelled-without-source", "SPARQL", quick=True, dataset=True)
def _blank_labelled(data):
    data.add(ox.BlankNode("orphan"), LABEL, en("a fact about nothing with no source"),
             data.home(_finding_with_theme(data)))


@case("boolean-TRUE-is-ill-typed", "Datatype", quick=True, dataset=True)
def _boolean_upper(data):
    data.replace(_vru_without_name(data), ysv("nameKnown"), typed("TRUE", "boolean"))


@case("boolean-1-is-true", "Xone", quick=True, dataset=True)
def _boolean_one(data):
    data.replace(_vru_without_name(data), ysv("nameKnown"), typed("1", "boolean"))


@case("boolean-0-is-false-conforms", dataset=True)
def _boolean_zero(data):
    data.replace(_vru_without_name(data), ysv("nameKnown"), typed("0", "boolean"))


# one or more per constraint component used in shapes/

@case("minCount-finding-description", "MinCount")
def _min_count(data):
    data.remove(_finding_with_theme(data), DESCRIPTION)


@case("maxCount-second-publication-title", "MaxCount")
def _max_count(data):
    publication = data.first(ysv("Publication"))
    data.add(publication, ns("dct", "title"), en("A second title"))


@case("datatype-section-position-as-string", "Datatype")
def _datatype(data):
    section = data.first(ysv("ReportSection"))
    data.replace(section, ns("schema", "position"), ox.Literal("3"))


@case("languageIn-finding-description-in-french", "LanguageIn")
def _language_in(data):
    finding = _finding_with_theme(data)
    data.replace(finding, DESCRIPTION, ox.Literal("une constatation", language="fr"))


@case("uniqueLang-second-english-prefLabel", "UniqueLang")
def _unique_lang(data):
    theme = data.first(ysv("Theme"))
    data.add(theme, ns("skos", "prefLabel"), en("Another English name"))


@case("class-theme-of-no-class", "Class")
def _class(data):
    data.replace(_finding_with_theme(data), ysv("theme"), _term(EX + "no-class"))


@case("in-unknown-membership-status", "In")
def _in(data):
    data.replace(INSPECTION, ysv("inspectedAreasStatus"), ysv("MembershipSomewhat"))


@case("pattern-police-uk-id", "Pattern")
def _pattern(data):
    force = data.first(ysv("PoliceForce"))
    data.replace(force, ysv("policeUkId"), ox.Literal("Not An Id"))


@case("nodeKind-url-as-literal", "NodeKind")
def _node_kind(data):
    publication = data.first(ysv("Publication"))
    data.replace(publication, ns("schema", "url"), ox.Literal("https://example.org/as-a-string"))


@case("or-concerns-something-of-no-class", "Or")
def _or(data):
    finding = data.first(ysv("Finding"), having=ysv("concerns"))
    data.replace(finding, ysv("concerns"), _term(EX + "nobody"))


@case("xone-described-recommendation-without-text", "Xone")
def _xone(data):
    recommendation = data.first(ysv("Recommendation"), having=DESCRIPTION)
    data.remove(recommendation, DESCRIPTION)


@case("not-figure-with-both-kinds-of-area", "Not")
def _not(data):
    figure = data.first(ysv("Figure"), lacking=ns("sdmx-dimension", "refArea"))
    data.add(figure, ns("sdmx-dimension", "refArea"), AREA)
    data.add(figure, ysv("areaDescription"), en("and some words about an area"))


@case("minInclusive-section-position-zero", "MinInclusive")
def _min_inclusive(data):
    data.replace(data.first(ysv("ReportSection")), ns("schema", "position"), typed("0", "integer"))


@case("minInclusive-dataset-triples-zero-in-metadata", "MinInclusive")
def _min_inclusive_metadata(data):
    data.replace(DATASET, ns("void", "triples"), typed("0", "integer"))


@case("lessThanOrEquals-period-starts-after-it-ends", "LessThanOrEquals")
def _less_than(data):
    period = data.first(ns("dct", "PeriodOfTime"), having=ns("dcat", "startDate"))
    data.replace(period, ns("dcat", "startDate"), typed("2100-01-01", "date"))


@case("hasValue-unnamed-vru-with-name-known", "Xone", "HasValue")
def _has_value(data):
    data.replace(_vru_without_name(data), ysv("nameKnown"), typed("true", "boolean"))


@case("sparql-every-fact-has-a-source", "SPARQL")
def _every_fact(data):
    data.add(_term(EX + "orphan"), LABEL, en("a fact with no source"), data.home(INSPECTION))


@case("sparql-funding-year-without-statement-node", "SPARQL")
def _unbacked_year(data):
    vru = _term(ID + "vru/vru-cleveland")
    data.remove(_term(ID + "vru/vru-cleveland#fact-funded_from-fundingStartYear"))
    assert data.values(vru, ysv("fundingStartYear"))


@case("sparql-area-code-matches-iri", "SPARQL")
def _area_code(data):
    data.replace(AREA, ns("skos", "notation"), ox.Literal("E23000002"))


@case("sparql-named-within-stated", "SPARQL")
def _named_within(data):
    for area in data.instances(ysv("PoliceForceArea"))[:13]:
        data.add(INSPECTION, ysv("inspectedArea"), area)


@case("sparql-status-matches-names", "SPARQL")
def _status_matches(data):
    data.add(INSPECTION, ysv("inspectedArea"), AREA)


@case("sparql-split-adds-up", "SPARQL")
def _split(data):
    data.replace(INSPECTION, ysv("areasInspectedWithVRU"), typed("11", "nonNegativeInteger"))


@case("sparql-recommendations-within-count", "SPARQL")
def _recommendations(data):
    report = data.first(ysv("InspectionReport"), having=ysv("statedRecommendationCount"))
    data.replace(report, ysv("statedRecommendationCount"), typed("1", "nonNegativeInteger"))


# blank nodes

@case("blank-node-unlabelled-without-source", "SPARQL", dataset=True)
def _blank_unlabelled(data):
    data.add(ox.BlankNode("note"), ns("skos", "editorialNote"), en("a remark about nothing"),
             data.home(INSPECTION))


@case("blank-node-area-with-code", "NodeKind", "SPARQL", dataset=True)
def _blank_area(data):
    area = ox.BlankNode("area")
    data.copy(AREA, area, graph=data.home(INSPECTION))


@case("blank-node-object-of-no-class", "Class", dataset=True)
def _blank_object(data):
    data.replace(_finding_with_theme(data), ysv("theme"), ox.BlankNode("theme"))


@case("blank-node-focus-breaking-its-shape", "MinCount", dataset=True)
def _blank_focus(data):
    theme = data.first(ysv("Theme"))
    data.copy(theme, ox.BlankNode("theme"), without={ns("skos", "prefLabel")})


@case("blank-node-typed-in-another-document-beside-a-violation", "MinCount", dataset=True)
def _blank_object_elsewhere(data):
    finding = _finding_with_theme(data)
    theme = ox.BlankNode("theme")
    data.copy(data.values(finding, ysv("theme"))[0], theme, graph=data.other_graph(data.home(finding)))
    data.replace(finding, ysv("theme"), theme)
    data.remove(finding, DESCRIPTION)  # so that the finding's batch goes to pyshacl, with the theme as context


@case("blank-node-activity-in-another-document-beside-a-violation", "MinCount", dataset=True)
def _blank_activity(data):
    activity = ox.BlankNode("build")
    data.copy(BUILD, activity, graph=data.other_graph())
    data.add(activity, SOURCE, _source_of(data, INSPECTION))
    data.replace(DATASET, ns("prov", "wasGeneratedBy"), activity)
    data.remove(DATASET, ns("dcat", "contactPoint"))  # so that the dataset's batch goes to pyshacl


@case("blank-node-activity-home-elsewhere-beside-a-violation", "MinCount", dataset=True)
def _blank_activity_elsewhere(data):
    finding = _finding_with_theme(data)
    activity = ox.BlankNode("making")
    data.copy(BUILD, activity, graph=METADATA)  # its home: the first graph by name
    data.add(activity, SOURCE, _source_of(data, finding), METADATA)
    data.add(finding, ns("prov", "wasGeneratedBy"), activity)  # a sh:targetObjectsOf triple in another batch
    data.remove(finding, DESCRIPTION)  # so that the finding's batch goes to pyshacl


@case("blank-node-split-across-graphs-conforms", dataset=True)
def _blank_split(data):
    person = ox.BlankNode("person")
    data.add(person, TYPE, ns("foaf", "Person"), data.home(INSPECTION))
    data.add(person, LABEL, en("Someone"), data.home(INSPECTION))
    other = data.other_graph(data.home(INSPECTION))
    data.add(person, ns("foaf", "name"), ox.Literal("Someone"), other)
    data.add(person, SOURCE, _source_of(data, INSPECTION), other)


# non-canonical and ill-typed literals

@case("integer-with-leading-zeros-conforms", dataset=True)
def _integer_zeros(data):
    data.replace(data.first(ysv("ReportSection")), ns("schema", "position"), typed("007", "integer"))


@case("integer-with-plus-sign-conforms", dataset=True)
def _integer_plus(data):
    data.replace(data.first(ysv("ReportSection")), ns("schema", "position"), typed("+3", "integer"))


@case("non-negative-integer-with-leading-zero-in-graph-wide-rules-conforms", dataset=True)
def _areas_zero(data):
    data.replace(INSPECTION, ysv("areasInspected"), typed("012", "nonNegativeInteger"))


@case("non-negative-integer-negative", "Datatype", dataset=True)
def _negative(data):
    report = data.first(ysv("InspectionReport"), having=ysv("statedRecommendationCount"))
    data.replace(report, ysv("statedRecommendationCount"), typed("-1", "nonNegativeInteger"))


@case("non-negative-integer-not-a-number", "Datatype", dataset=True)
def _not_a_number(data):
    report = data.first(ysv("InspectionReport"), having=ysv("statedRecommendationCount"))
    data.replace(report, ysv("statedRecommendationCount"), typed("four", "nonNegativeInteger"))


@case("count-as-a-string-in-graph-wide-rules", "Datatype", dataset=True)
def _count_string(data):
    data.replace(INSPECTION, ysv("areasInspected"), ox.Literal("12"))


@case("date-ill-formed", "Datatype", dataset=True)
def _date_ill_formed(data):
    instrument = data.first(ysv("PowerOrInstrument"), having=ysv("inUseFrom"))
    data.replace(instrument, ysv("inUseFrom"), typed("2023-7-4", "date"))


@case("date-with-timezone-conforms", dataset=True)
def _date_zone(data):
    instrument = data.first(ysv("PowerOrInstrument"), having=ysv("inUseFrom"))
    data.replace(instrument, ysv("inUseFrom"), typed("2023-07-04Z", "date"))


@case("date-time-non-canonical-in-metadata-conforms", dataset=True)
def _datetime(data):
    data.replace(DATASET, ns("dct", "modified"), typed("2026-11-28T00:00:00.000Z", "dateTime"))


@case("decimal-with-leading-zero-conforms", dataset=True)
def _decimal(data):
    data.replace(data.first(ysv("Figure")), ysv("value"), typed("012.50", "decimal"))


@case("boolean-FALSE-is-ill-typed", "Datatype", quick=True, dataset=True)
def _boolean_false_upper(data):
    data.replace(_vru_without_name(data), ysv("nameKnown"), typed("FALSE", "boolean"))


@case("two-spellings-of-one-integer-are-one-value-conforms", dataset=True)
def _two_spellings(data):
    section = data.first(ysv("ReportSection"))
    position = data.values(section, ns("schema", "position"))[0]
    data.add(section, ns("schema", "position"), typed("0" + position.value, "integer"))


@case("gYear-ill-formed", "Pattern", dataset=True)
def _gyear(data):
    vru = data.first(ysv("ViolenceReductionUnit"), having=ysv("fundingStartYear"))
    data.replace(vru, ysv("fundingStartYear"), typed("20x9", "gYear"))


# wrong datatypes

@case("label-without-language", "Datatype", "LanguageIn")
def _plain_label(data):
    data.replace(_finding_with_theme(data), LABEL, ox.Literal("no language"))


@case("dataset-triples-as-xsd-long", "Datatype")
def _long(data):
    data.replace(DATASET, ns("void", "triples"), typed("2793", "long"))


@case("area-code-as-integer", "Datatype", "Pattern", "SPARQL")
def _code_integer(data):
    data.replace(AREA, ns("skos", "notation"), typed("023000001", "integer"))


@case("start-date-as-date-time", "Datatype")
def _start_datetime(data):
    period = data.first(ns("dct", "PeriodOfTime"), having=ns("dcat", "startDate"))
    data.replace(period, ns("dcat", "startDate"), typed("2020-04-01T00:00:00", "dateTime"))


# missing and wrong sources

@case("finding-without-source", "MinCount", "SPARQL")
def _no_source(data):
    data.remove(_finding_with_theme(data), SOURCE)


@case("source-that-is-not-a-source-document", "Class")
def _source_not_document(data):
    finding = _finding_with_theme(data)
    data.replace(finding, SOURCE, data.first(ysv("Theme")))


@case("source-document-untyped", "Class", "SPARQL")
def _source_untyped(data):
    data.remove(_source_of(data, INSPECTION), TYPE, ysv("SourceDocument"))


# removed types

@case("theme-untyped", "Class")
def _theme_untyped(data):
    data.remove(data.values(_finding_with_theme(data), ysv("theme"))[0], TYPE, ysv("Theme"))


@case("recommendation-untyped", "Class")
def _recommendation_untyped(data):
    statement = data.first(ysv("ResponseStatement"), having=ysv("addressesRecommendation"))
    data.remove(data.values(statement, ysv("addressesRecommendation"))[0], TYPE, ysv("Recommendation"))


@case("area-untyped", "Class")
def _area_untyped(data):
    data.remove(AREA, TYPE)


@case("theme-removed-entirely", "Class")
def _theme_removed(data):
    data.remove(data.values(_finding_with_theme(data), ysv("theme"))[0])


@case("dataset-description-removed", "Class")
def _dataset_removed(data):
    data.remove(DATASET)


# the structure the batches rely on

@case("subclass-instance-is-targeted", "MinCount")
def _subclass_target(data):
    special = _term(EX + "SpecialFinding")
    data.add(special, ns("rdfs", "subClassOf"), ysv("Finding"), data.home(INSPECTION))
    node = _term(EX + "special-finding")
    graph = data.other_graph(data.home(INSPECTION))
    data.add(node, TYPE, special, graph)
    data.add(node, LABEL, en("A finding of a special kind"), graph)
    data.add(node, SOURCE, _source_of(data, INSPECTION), graph)


@case("subclass-satisfies-class-beside-a-violation", "MinCount")
def _subclass_class(data):
    finding = _finding_with_theme(data)
    theme = data.values(finding, ysv("theme"))[0]
    sub = _term(EX + "SubTheme")
    data.add(sub, ns("rdfs", "subClassOf"), ysv("Theme"), data.other_graph(data.home(finding), data.home(theme)))
    data.remove(theme, TYPE, ysv("Theme"))
    data.add(theme, TYPE, sub)
    data.remove(finding, DESCRIPTION)  # so that the finding's batch goes to pyshacl


@case("literal-as-build-activity", "MinCount", "Class", dataset=True)
def _literal_activity(data):
    data.replace(DATASET, ns("prov", "wasGeneratedBy"), ox.Literal("a build"))


@case("second-description-in-another-document", "MaxCount")
def _second_description(data):
    finding = _finding_with_theme(data)
    data.add(finding, DESCRIPTION, en("said again elsewhere"), data.other_graph(data.home(finding)))


@case("build-activity-without-software", "MinCount")
def _build_software(data):
    data.remove(BUILD, ns("prov", "wasAssociatedWith"))


@case("distribution-media-type-pattern-in-metadata", "Pattern")
def _media_type(data):
    distribution = data.first(ns("dcat", "Distribution"), having=ns("dcat", "mediaType"))
    data.replace(distribution, ns("dcat", "mediaType"), _term("http://example.org/text/plain"))


# --- running the two paths --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return validation.load_shapes(Base())


@pytest.fixture(scope="module")
def asserted() -> dict:
    """The real asserted graphs, read once: graph name -> frozenset of (s, p, o) pyoxigraph terms."""
    graphs: dict = {}
    for quad in ox.parse(path=str(NQ), format=ox.RdfFormat.N_QUADS):
        name = quad.graph_name.value
        if name not in DERIVED:
            graphs.setdefault(name, set()).add((quad.subject, quad.predicate, quad.object))
    assert METADATA in graphs and len(graphs) > 20
    return {name: frozenset(triples) for name, triples in graphs.items()}


def _n3(term) -> str:
    return "-" if term is None else term.n3()


def results(result: validation.ValidationResult) -> tuple[Counter, Counter]:
    """What a result says, as multisets: its violations (focus, path, shape, component, message) and its report's
    results (focus, path, source shape, component, value)."""
    report = result.report
    said = Counter((_n3(report.value(r, SH.focusNode)), _n3(report.value(r, SH.resultPath)),
                    _n3(report.value(r, SH.sourceShape)), _n3(report.value(r, SH.sourceConstraintComponent)),
                    _n3(report.value(r, SH.value)))
                   for r in report.subjects(RDF.type, SH.ValidationResult))
    listed = Counter((v.focus, v.path, v.shape, v.component, v.message) for v in result.violations)
    return listed, said


def _local(component: str) -> str:
    return component.rsplit("#", 1)[-1].removesuffix("ConstraintComponent")


def _reached(reference: validation.ValidationResult, triples: set, shapes: Graph) -> set[str]:
    """The components of the shapes that logical constraints (sh:xone, sh:or, sh:and, sh:not, sh:node) on a node
    shape hold, that fail at the focus nodes where those constraints are reported: a component used only inside
    such a shape (sh:hasValue here) is reported as the enclosing one."""
    from rdflib.collection import Collection

    reached = set()
    report = reference.report
    for r in report.subjects(RDF.type, SH.ValidationResult):
        shape, focus = report.value(r, SH.sourceShape), report.value(r, SH.focusNode)
        if (shape, SH.path, None) in shapes:
            continue
        members = []
        for parameter in (SH.xone, SH["or"], SH["and"]):
            for head in shapes.objects(shape, parameter):
                members += list(Collection(shapes, head))
        members += list(shapes.objects(shape, SH["not"])) + list(shapes.objects(shape, SH.node))
        for member in members:
            alone = Graph()
            for s, p, o in shapes:
                if p not in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf):
                    alone.add((s, p, o))
            alone.add((member, SH.targetNode, focus))
            reached |= {_local(v.component) for v in validation.validate(set(triples), alone).violations}
    return reached


def _check(case_: Case, asserted: dict, shapes: Graph) -> None:
    data = Data(asserted)
    case_.mutate(data)
    nt = data.ntriples()
    graphs = data.rdflib_graphs()
    whole = ntriples.materialise(ntriples.split(nt))
    reference = validation.validate(set(whole), shapes)

    screened = screening.screen_and_check(nt, shapes)
    fast = batches.confirm(graphs, shapes, screened, jobs=0, cache=None, documents_per_batch=DOCUMENTS_PER_BATCH,
                           alone=(URIRef(METADATA),)).result
    assert fast.conforms == reference.conforms
    listed, said = results(fast)
    expected_listed, expected_said = results(reference)
    assert listed == expected_listed, _difference(listed, expected_listed)
    assert said == expected_said, _difference(said, expected_said)

    if case_.dataset:  # the same from rdflib terms alone (validate_dataset makes the N-Triples itself)
        whole_way = batches.validate_dataset(graphs, shapes, jobs=0, documents_per_batch=DOCUMENTS_PER_BATCH,
                                             alone=(URIRef(METADATA),))
        assert whole_way.conforms == reference.conforms
        assert results(whole_way) == (expected_listed, expected_said), _difference(
            results(whole_way)[0], expected_listed)

    # the case breaks what it says it breaks (so the coverage test below means something)
    if not case_.components:
        assert reference.conforms, [str(v) for v in reference.violations]
    reported = {_local(v.component) for v in reference.violations}
    missing = set(case_.components) - reported
    if missing:
        missing -= _reached(reference, whole, shapes)
    assert not missing, f"the reference does not report {missing}; it reports {sorted(reported)}"


def _difference(got: Counter, wanted: Counter) -> str:
    return ("fast path only:\n  " + "\n  ".join(map(str, sorted((got - wanted).elements())))
            + "\npyshacl only:\n  " + "\n  ".join(map(str, sorted((wanted - got).elements()))))


@pytest.mark.parametrize("case_", [pytest.param(c, id=c.id, marks=() if c.quick else pytest.mark.slow)
                                   for c in CASES])
def test_the_fast_path_reports_what_pyshacl_reports(case_, asserted, shapes):
    _check(case_, asserted, shapes)


HARD_CASES = ("blank-node-focus-breaking-its-shape", "blank-node-typed-in-another-document-beside-a-violation",
              "boolean-FALSE-is-ill-typed", "literal-as-build-activity", "subclass-satisfies-class-beside-a-violation")


@pytest.mark.slow
@pytest.mark.parametrize("case_", [c for c in CASES if c.id in HARD_CASES], ids=lambda c: c.id)
def test_the_build_s_settings_report_what_pyshacl_reports(case_, asserted, shapes, tmp_path):
    """As the build confirms: the default batch size, validating processes (forked), and the cache, used twice
    (the second time every batch's result comes from it, the reports read back from N-Triples)."""
    data = Data(asserted)
    case_.mutate(data)
    nt = data.ntriples()
    reference = validation.validate(ntriples.materialise(ntriples.split(nt)), shapes)
    graphs = data.rdflib_graphs()
    for run in ("fresh", "cached"):
        screened = screening.screen_and_check(nt, shapes, tmp_path)
        assert screened.cached == (run == "cached")
        confirmed = batches.confirm(graphs, shapes, screened, jobs=2, cache=tmp_path, alone=(URIRef(METADATA),))
        assert confirmed.validated == (confirmed.batches if run == "fresh" else 0)
        assert confirmed.result.conforms == reference.conforms
        assert results(confirmed.result) == results(reference), _difference(
            results(confirmed.result)[1], results(reference)[1])


def components_used(shapes: Graph) -> set[str]:
    """The constraint components the shapes use, by local name (MinCount, SPARQLConstraint, ...)."""
    used = set()
    for p in set(shapes.predicates()):
        if not str(p).startswith(str(SH)) or p in NOT_PARAMETERS:
            continue
        name = str(p)[len(str(SH)):]
        used.add("SPARQL" if name == "sparql" else name[0].upper() + name[1:])
    return used


def test_every_constraint_component_in_the_shapes_is_covered(shapes):
    used = components_used(shapes)
    assert {"MinCount", "Class", "SPARQL", "HasValue"} <= used  # the enumeration works
    covered = set().union(*(c.components for c in CASES))
    assert not used - covered, f"components used in shapes/ that no case breaks: {sorted(used - covered)}"
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)

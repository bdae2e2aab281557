"""Stage 2: map checked records to RDF (rdflib terms, in plain sets of triples).

Each source document's records become one named graph. Nothing here reads files: the input is the output of
loading.load(). Every thing we describe gets an rdfs:label in English and a dct:source to its document(s);
key superclass types are asserted too, so the asserted graph is useful (and valid) without a reasoner.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, PROV, QB, RDF, RDFS, SDO, SKOS, VOID, XSD

from .load import Curated, Record
from .statements import Facts, add_statements
from ..rdf.terms import ID_SEGMENTS, INTERVAL, ONS_GEO, SDMX_ATTR, SDMX_DIM, Base


class _Terms:
    """A namespace whose terms are each made once: `ns.name` and `ns[key]` give the same URIRef every time.
    rdflib makes (and checks) a new URIRef on every access, which at a million triples cost more than a second,
    and equal-but-distinct terms make every later lookup slower (see _shared_iris)."""

    def __init__(self, namespace) -> None:
        object.__setattr__(self, "_namespace", namespace)
        object.__setattr__(self, "_items", {})

    def __getattr__(self, name: str) -> URIRef:  # called only for a name not made yet
        if name.startswith("__"):
            raise AttributeError(name)
        term = getattr(self._namespace, name)
        object.__setattr__(self, name, term)
        return term

    def __getitem__(self, key: str) -> URIRef:
        term = self._items.get(key)
        if term is None:
            term = self._items[key] = self._namespace[key]
        return term

    def __str__(self) -> str:
        return str(self._namespace)


DCAT, DCTERMS, FOAF, ORG, PROV, QB, RDF, RDFS, SDO, SKOS, VOID, XSD = (
    _Terms(ns) for ns in (DCAT, DCTERMS, FOAF, ORG, PROV, QB, RDF, RDFS, SDO, SKOS, VOID, XSD))
INTERVAL, ONS_GEO, SDMX_ATTR, SDMX_DIM = (_Terms(ns) for ns in (INTERVAL, ONS_GEO, SDMX_ATTR, SDMX_DIM))

ORG_KIND_TYPES = {
    "government-department": (SDO.GovernmentOrganization, ORG.FormalOrganization),
    "inspectorate": (SDO.GovernmentOrganization, ORG.FormalOrganization),
    "prosecutor": (SDO.GovernmentOrganization, ORG.FormalOrganization),
    "charity": (SDO.NGO, ORG.FormalOrganization),
    "professional-body": (ORG.FormalOrganization,),
    "partnership": (ORG.OrganizationalCollaboration,),
    "other": (),
}


@dataclass
class Mapped:
    """The asserted data: one graph per source document, and one for the dataset's own description."""

    base: Base
    graphs: dict[URIRef, Triples] = field(default_factory=dict)
    # source document -> every record id its graph names (the id -> the record's kind), which is all a
    # document's graph depends on besides its own records: the build reuses a kept graph only while these hold
    references: dict[str, dict[str, str]] = field(default_factory=dict)

    def union(self) -> Triples:
        return set().union(*self.graphs.values())

    @property
    def metadata_graph(self) -> URIRef:
        return self.base.graph["metadata"]


Triples = set  # a graph as a plain set of (s, p, o) rdflib terms: a tenth of the cost of rdflib.Graph to fill


def en(text: str) -> Literal:
    return Literal(" ".join(str(text).split()), lang="en")


class _Mapper:
    def __init__(self, curated: Curated, base: Base):
        self.curated, self.base = curated, base
        self.ysv = _Terms(base.ysv)
        self.id = _Terms(base.id)
        self.graph = _Terms(base.graph)
        self.record_iris: dict = {}  # (kind, key) -> IRI
        self.texts: dict = {}  # text -> its English literal, made once (labels repeat: rdfs:label, prefLabel)
        self.mapped = Mapped(base)
        self.references: dict | None = None  # the current document's entry in mapped.references

    def en(self, text: str) -> Literal:
        literal = self.texts.get(text)
        if literal is None:
            literal = self.texts[text] = en(text)
        return literal

    # -- IRIs -------------------------------------------------------------------------------------------------
    def iri(self, key: str) -> URIRef:
        record = self.curated.find(key)
        if record is None:
            raise KeyError(key)  # the loader has checked every reference
        if self.references is not None:
            self.references[key] = record.kind
        return self.record_iri(record)

    def record_iri(self, record: Record) -> URIRef:
        iri = self.record_iris.get((record.kind, record.key))
        if iri is None:
            if record.kind == "areas":
                iri = ONS_GEO[record.key]
            elif record.kind == "legislation":
                iri = URIRef(record.key)
            else:
                iri = self.id[f"{ID_SEGMENTS[record.kind]}/{record.key}"]
            self.record_iris[(record.kind, record.key)] = iri
        return iri

    def fact_anchor(self, record: Record) -> str:
        """The IRI a record's statement nodes hang from (statements.py): its own, or for a thing outside our base
        (an ONS area, legislation) one under {base}id/area/ or {base}id/legislation/."""
        if record.kind == "areas":
            return f"{self.base.id}area/{record.key}"
        if record.kind == "legislation":
            return f"{self.base.id}legislation/{record.key.split('/id/', 1)[1].replace('/', '-')}"
        return str(self.record_iri(record))

    def source_iri(self, source_id: str) -> URIRef:
        return self.id[f"source/{source_id}"]

    def graph_for(self, source_id: str) -> Triples:
        name = self.graph[f"source/{source_id}"]  # = graph_name(base, source_id), made once
        if name not in self.mapped.graphs:
            self.mapped.graphs[name] = set()
        return self.mapped.graphs[name]

    # -- helpers ----------------------------------------------------------------------------------------------
    def start(self, record: Record, *types: URIRef, label: str | None = None,
              label_from: tuple[str, ...] = ()) -> tuple[Facts, URIRef]:
        """The record's graph (as Facts: each add names the fields that made the triple) and IRI, with its types,
        label (from label_from's fields, or name, title or label), sources and note."""
        g = self.facts = Facts(self.graph_for(record.source))
        s = self.record_iri(record)
        for t in types:
            g.add((s, RDF.type, t))
        if label is None:
            label_from = (next(n for n in ("name", "title", "label") if record.get(n)),)
            label = record.get(label_from[0])
        g.add((s, RDFS.label, self.en(label)), *label_from)
        for source_id in record.sources:
            g.add((s, DCTERMS.source, self.source_iri(source_id)))
        if record.get("note"):
            g.add((s, SKOS.editorialNote, self.en(record.get("note"))), "note")
        return g, s

    def refs(self, g: Facts, s: URIRef, p: URIRef, record: Record, name: str) -> None:
        values = record.get(name)
        if values is None:
            return
        for value in values if isinstance(values, list) else [values]:
            g.add((s, p, self.iri(value)), name)

    # -- the kinds --------------------------------------------------------------------------------------------
    def run(self, skip: frozenset = frozenset(), metadata: bool = True) -> Mapped:
        references = self.mapped.references
        wanted = [source_id for source_id in sorted(self.curated.sources) if source_id not in skip]
        for source_id in wanted:
            self.references = references.setdefault(source_id, {})
            self.source(self.curated.sources[source_id])
        index = self.curated.by_source
        for kind in ("organisations", "groups", "people", "areas", "forces", "vrus", "reports", "sections",
                     "inspections", "activities", "themes", "findings", "recommendations", "responses",
                     "response_statements", "figures", "instruments", "legislation", "definitions"):
            method = getattr(self, kind)
            for source_id in wanted:
                self.references = references[source_id]
                for record in index[source_id].get(kind, ()):
                    method(record)
                    if "field_sources" in record.values:
                        add_statements(self.facts, self.fact_anchor(record), record, self.source_iri)
        self.references = None
        if metadata:
            self.metadata()
        iris: dict = {}
        self.mapped.graphs = {name: _shared_iris(graph, iris) for name, graph in self.mapped.graphs.items()}
        return self.mapped

    def source(self, source) -> None:
        v = source.values
        g = self.graph_for(source.id)
        s = self.source_iri(source.id)
        g.add((s, RDF.type, self.ysv.SourceDocument))
        g.add((s, RDF.type, FOAF.Document))
        g.add((s, RDFS.label, self.en(v["title"])))
        g.add((s, DCTERMS.title, self.en(v["title"])))
        g.add((s, SDO.url, URIRef(v["url"])))
        for url in v.get("alternate_urls", []):
            g.add((s, SDO.url, URIRef(url)))
        g.add((s, DCTERMS.publisher,
               self.iri(v["publisher"]) if v.get("publisher") else self.en(v["publisher_name"])))
        if v.get("issued"):
            g.add((s, DCTERMS.issued, Literal(v["issued"], datatype=XSD.date)))
        g.add((s, DCTERMS.type, self.en(v["kind"])))
        if v.get("about"):
            g.add((s, FOAF.primaryTopic, self.iri(v["about"])))
        if v.get("note"):
            g.add((s, SKOS.editorialNote, self.en(v["note"])))

    def organisations(self, r: Record) -> None:
        kind = r.get("kind")
        types = (self.ysv.PoliceAndCrimeCommissioner,) if kind == "police-and-crime-commissioner" \
            else ORG_KIND_TYPES[kind]
        g, s = self.start(r, ORG.Organization)
        for t in types:
            g.add((s, RDF.type, t), "kind")
        g.add((s, SKOS.prefLabel, self.en(r.get("name"))), "name")
        if r.get("acronym"):
            g.add((s, SKOS.altLabel, self.en(r.get("acronym"))), "acronym")
        if r.get("govuk_slug"):
            g.add((s, FOAF.page, URIRef(f"https://www.gov.uk/government/organisations/{r.get('govuk_slug')}")),
                  "govuk_slug")
        if r.get("homepage"):
            g.add((s, FOAF.homepage, URIRef(r.get("homepage"))), "homepage")
        self.refs(g, s, SDO.areaServed, r, "area")

    def groups(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.OrganisationGroup, FOAF.Group)
        if r.get("description"):
            g.add((s, DCTERMS.description, self.en(r.get("description"))), "description")

    def people(self, r: Record) -> None:
        g, s = self.start(r, FOAF.Person, PROV.Agent)
        g.add((s, FOAF.name, self.en(r.get("name"))), "name")
        if r.get("role"):
            g.add((s, SDO.jobTitle, self.en(r.get("role"))), "role")
        self.refs(g, s, ORG.memberOf, r, "member_of")

    def areas(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.PoliceForceArea, DCTERMS.Location)
        g.add((s, SKOS.notation, Literal(r.key)))
        g.add((s, self.ysv.country, self.en(r.get("country"))), "country")

    def forces(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.PoliceForce, ORG.Organization)
        g.add((s, SKOS.prefLabel, self.en(r.get("name"))), "name")
        g.add((s, self.ysv.policeUkId, Literal(r.key)))
        if r.get("territorial"):
            g.add((s, RDF.type, self.ysv.TerritorialPoliceForce), "territorial")
            # data.police.uk lists the territorial forces (not BTP) at /api/forces/{id}
            g.add((s, RDFS.seeAlso, URIRef(f"https://data.police.uk/api/forces/{r.key}")))
        self.refs(g, s, SDO.areaServed, r, "area")

    def vrus(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.ViolenceReductionUnit, ORG.Organization)
        if r.get("name_known", True):
            g.add((s, SKOS.prefLabel, self.en(r.get("name"))), "name")
        else:
            g.add((s, self.ysv.nameKnown, Literal(False)), "name_known")
        self.refs(g, s, SDO.areaServed, r, "area")
        g.add((s, self.ysv.fundingStartYear, Literal(str(r.get("funded_from")), datatype=XSD.gYear)), "funded_from")
        if r.get("homepage"):
            g.add((s, FOAF.homepage, URIRef(r.get("homepage"))), "homepage")

    def reports(self, r: Record) -> None:
        cls = self.ysv.InspectionReport if r.get("kind") == "inspection-report" else self.ysv.ResearchReport
        g, s = self.start(r, self.ysv.Publication)
        g.add((s, RDF.type, cls), "kind")
        g.add((s, DCTERMS.title, self.en(r.get("title"))), "title")
        self.refs(g, s, DCTERMS.publisher, r, "publisher")
        g.add((s, DCTERMS.issued, Literal(r.get("issued"), datatype=XSD.date)), "issued")
        for url in r.get("urls"):
            g.add((s, SDO.url, URIRef(url)), "urls")
        if r.get("licence"):
            g.add((s, DCTERMS.license, URIRef(r.get("licence"))), "licence")
        self.refs(g, s, self.ysv.companionOf, r, "companion_of")
        self.refs(g, s, PROV.wasGeneratedBy, r, "inspection")
        if r.get("recommendations_stated") is not None:
            g.add((s, self.ysv.statedRecommendationCount,
                   Literal(r.get("recommendations_stated"), datatype=XSD.nonNegativeInteger)), "recommendations_stated")
        if r.get("description"):
            g.add((s, DCTERMS.description, self.en(r.get("description"))), "description")

    def sections(self, r: Record) -> None:
        number = r.get("number")
        label = f"{number} {r.get('title')}" if number else r.get("title")
        g, s = self.start(r, self.ysv.ReportSection, label=label,
                          label_from=("number", "title") if number else ("title",))
        g.add((s, DCTERMS.title, self.en(r.get("title"))), "title")
        if number:
            g.add((s, DCTERMS.identifier, Literal(number)), "number")
        g.add((s, DCTERMS.isPartOf, self.iri(r.get("parent") or r.get("report"))),
              "parent" if r.get("parent") else "report")
        if r.get("parent"):
            # every section is also part of the report itself, so a one-hop query finds all of them
            g.add((s, DCTERMS.isPartOf, self.iri(r.get("report"))), "report")
        g.add((s, SDO.position, Literal(r.get("order"), datatype=XSD.integer)), "order")
        self.refs(g, s, self.ysv.theme, r, "theme")

    def inspections(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.Inspection, PROV.Activity)
        self.refs(g, s, PROV.wasAssociatedWith, r, "carried_out_by")
        for name, prop in (("areas_inspected", self.ysv.areasInspected),
                           ("areas_with_vru", self.ysv.areasInspectedWithVRU),
                           ("areas_without_vru", self.ysv.areasInspectedWithoutVRU)):
            if r.get(name) is not None:
                g.add((s, prop, Literal(r.get(name), datatype=XSD.nonNegativeInteger)), name)
        self.refs(g, s, self.ysv.inspectedArea, r, "inspected_areas")
        status = {"unknown": "MembershipUnknown", "partial": "MembershipPartial", "complete": "MembershipComplete"}
        g.add((s, self.ysv.inspectedAreasStatus, self.ysv[status[r.get("inspected_areas_status")]]),
              "inspected_areas_status")
        if r.get("description"):
            g.add((s, DCTERMS.description, self.en(r.get("description"))), "description")

    def activities(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.InspectionActivity, PROV.Activity)
        self.refs(g, s, self.ysv.partOfInspection, r, "inspection")
        g.add((s, DCTERMS.description, self.en(r.get("description"))), "description")
        self.refs(g, s, PROV.wasAssociatedWith, r, "carried_out_by")
        if r.get("participants"):
            g.add((s, self.ysv.participants, self.en(r.get("participants"))), "participants")

    def themes(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.Theme, SKOS.Concept)
        scheme = self.id["scheme/themes"]
        g.add((s, SKOS.prefLabel, self.en(r.get("label"))), "label")
        g.add((s, SKOS.definition, self.en(r.get("definition"))), "definition")
        g.add((s, SKOS.inScheme, scheme))
        if r.get("top"):
            g.add((s, SKOS.topConceptOf, scheme), "top")
        self.refs(g, s, SKOS.broader, r, "broader")
        self.refs(g, s, SKOS.related, r, "related")
        self.refs(g, s, SDO.subjectOf, r, "section")

    def findings(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.Finding)
        if r.get("level") == "headline":
            g.add((s, RDF.type, self.ysv.HeadlineFinding), "level")
        g.add((s, DCTERMS.description, self.en(r.get("statement"))), "statement")
        self.refs(g, s, self.ysv.reportedIn, r, "report")
        self.refs(g, s, self.ysv.inSection, r, "section")
        self.refs(g, s, self.ysv.theme, r, "themes")
        self.refs(g, s, self.ysv.concerns, r, "concerns")
        self.refs(g, s, self.ysv.instrument, r, "instruments")

    def recommendations(self, r: Record) -> None:
        described = r.get("status") == "described"
        label = r.get("label") or f"Recommendation whose content is unknown ({r.key})"
        g, s = self.start(r, self.ysv.Recommendation, label=label, label_from=("label",) if r.get("label") else ())
        g.add((s, self.ysv.descriptionStatus, self.ysv.Described if described else self.ysv.Undescribed), "status")
        if r.get("statement"):
            g.add((s, DCTERMS.description, self.en(r.get("statement"))), "statement")
        self.refs(g, s, self.ysv.reportedIn, r, "report")
        self.refs(g, s, self.ysv.addressedTo, r, "addressed_to")
        if r.get("deadline"):
            g.add((s, self.ysv.deadline, Literal(r.get("deadline"), datatype=XSD.date)), "deadline")
        self.refs(g, s, self.ysv.answersFinding, r, "answers")
        self.refs(g, s, self.ysv.instrument, r, "instruments")

    def responses(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.Response, self.ysv.Publication)
        g.add((s, DCTERMS.title, self.en(r.get("title"))), "title")
        self.refs(g, s, self.ysv.respondsTo, r, "report")
        self.refs(g, s, DCTERMS.creator, r, "author")
        if r.get("issued"):
            g.add((s, DCTERMS.issued, Literal(r.get("issued"), datatype=XSD.date)), "issued")
        g.add((s, SDO.url, URIRef(r.get("url"))), "url")
        self.refs(g, s, SDO.recipient, r, "addressed_to")
        self.refs(g, s, self.ysv.addressesRecommendation, r, "recommendations")
        self.refs(g, s, SDO.author, r, "signed_by")

    def response_statements(self, r: Record) -> None:
        text = r.get("text")
        g, s = self.start(r, self.ysv.ResponseStatement, label=text if len(text) <= 120 else text[:117] + "...",
                          label_from=("text",))
        g.add((s, DCTERMS.description, self.en(text)), "text")
        self.refs(g, s, self.ysv.statementOf, r, "response")
        self.refs(g, s, self.ysv.addressesRecommendation, r, "recommendations")
        self.refs(g, s, self.ysv.addressesFinding, r, "findings")
        self.refs(g, s, DCTERMS.references, r, "definitions")
        self.refs(g, s, self.ysv.instrument, r, "instruments")

    def figures(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.Figure, QB.Observation)
        g.add((s, QB.dataSet, self.id["dataset/figures"]))
        value = r.get("value")
        g.add((s, self.ysv.value, Literal(value, datatype=XSD.integer) if isinstance(value, int)
               else Literal(Decimal(value), datatype=XSD.decimal)), "value")
        units = {"offence": "Offences", "police-force-area": "PoliceForceAreas", "document": "Documents",
                 "person": "People", "gbp": "PoundsSterling", "year": "Years", "unit": "ViolenceReductionUnits"}
        g.add((s, SDMX_ATTR.unitMeasure, self.ysv[units[r.get("unit")]]), "unit")
        qualifiers = {"exact": "Exactly", "more-than": "MoreThan", "approximately": "Approximately"}
        g.add((s, self.ysv.valueQualifier, self.ysv[qualifiers[r.get("qualifier", "exact")]]),
              *(("qualifier",) if r.get("qualifier") else ()))
        period = self._period(r)
        if period is not None:
            fields = [n for n in ("year", "financial_year", "period_start", "period_end") if r.get(n)]
            g.add((s, SDMX_DIM.refPeriod, period), *fields)
            self._describe_period(g, period, r)
        self.refs(g, s, SDMX_DIM.refArea, r, "area")
        if r.get("area_description"):
            g.add((s, self.ysv.areaDescription, self.en(r.get("area_description"))), "area_description")
        self.refs(g, s, self.ysv.reportedIn, r, "reported_in")
        self.refs(g, s, DCTERMS.subject, r, "subjects")

    @staticmethod
    def _period(r: Record) -> URIRef | None:
        """reference.data.gov.uk URIs, the UK government's identifiers for years and intervals."""
        if r.get("year"):
            return INTERVAL[f"year/{r.get('year')}"]
        if r.get("financial_year"):
            return INTERVAL[f"government-year/{r.get('financial_year')}"]
        start, end = r.get("period_start"), r.get("period_end")
        if not start:
            return None
        after = end + dt.timedelta(days=1)
        if start.day == 1 and after.day == 1:
            months = (after.year - start.year) * 12 + after.month - start.month
            duration = f"P{months // 12}Y" if months % 12 == 0 else f"P{months}M"
        else:
            duration = f"P{(after - start).days}D"
        return INTERVAL[f"gregorian-interval/{start.isoformat()}T00:00:00/{duration}"]

    def _describe_period(self, g: Facts, period: URIRef, r: Record) -> None:
        if r.get("year"):
            year = r.get("year")
            start, end, label = dt.date(year, 1, 1), dt.date(year, 12, 31), str(year)
            made_by = {"start": ("year",), "end": ("year",)}
        elif r.get("financial_year"):
            first = int(r.get("financial_year")[:4])
            start, end = dt.date(first, 4, 1), dt.date(first + 1, 3, 31)
            label = f"financial year {first}/{str(first + 1)[2:]}"
            made_by = {"start": ("financial_year",), "end": ("financial_year",)}
        else:
            start, end = r.get("period_start"), r.get("period_end")
            label = f"{start.day} {calendar.month_name[start.month]} {start.year} to " \
                    f"{end.day} {calendar.month_name[end.month]} {end.year}"
            made_by = {"start": ("period_start",), "end": ("period_end",)}
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, RDFS.label, self.en(label)), *sorted(set(made_by["start"] + made_by["end"])))
        g.add((period, DCAT.startDate, Literal(start, datatype=XSD.date)), *made_by["start"])
        g.add((period, DCAT.endDate, Literal(end, datatype=XSD.date)), *made_by["end"])
        for source_id in r.sources:
            g.add((period, DCTERMS.source, self.source_iri(source_id)))

    def instruments(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.PowerOrInstrument, SKOS.Concept)
        scheme = self.id["scheme/powers-and-instruments"]
        g.add((s, SKOS.prefLabel, self.en(r.get("label"))), "label")
        g.add((s, SKOS.definition, self.en(r.get("definition"))), "definition")
        g.add((s, SKOS.inScheme, scheme))
        g.add((s, SKOS.topConceptOf, scheme))
        kinds = {"power": "Power", "order": "Order", "injunction": "Injunction", "duty": "StatutoryDuty",
                 "outcome-code": "OutcomeCode"}
        g.add((s, self.ysv.instrumentKind, self.ysv[kinds[r.get("kind")]]), "kind")
        if r.get("notation"):
            g.add((s, SKOS.notation, Literal(r.get("notation"))), "notation")
        if r.get("official_wording"):
            g.add((s, self.ysv.officialWording, self.en(r.get("official_wording"))), "official_wording")
        if r.get("in_use_from"):
            g.add((s, self.ysv.inUseFrom, Literal(r.get("in_use_from"), datatype=XSD.date)), "in_use_from")
        for uri in r.get("legislation", []):
            g.add((s, self.ysv.legalBasis, URIRef(uri)), "legislation")

    def legislation(self, r: Record) -> None:
        g, s = self.start(r, SDO.Legislation)
        g.add((s, DCTERMS.title, self.en(r.get("title"))), "title")
        if r.get("part_of"):
            g.add((s, DCTERMS.isPartOf, URIRef(r.get("part_of"))), "part_of")

    def definitions(self, r: Record) -> None:
        g, s = self.start(r, self.ysv.WorkingDefinition, SKOS.Concept)
        g.add((s, SKOS.prefLabel, self.en(r.get("label"))), "label")
        g.add((s, SKOS.definition, self.en(r.get("definition"))), "definition")
        for name, prop in (("min_age", self.ysv.minimumAge), ("max_age", self.ysv.maximumAge)):
            if r.get(name) is not None:
                g.add((s, prop, Literal(r.get(name), datatype=XSD.nonNegativeInteger)), name)
        for element in r.get("elements", []):
            e = self.id[f"definition/{element['id']}"]
            g.add((s, self.ysv.definitionElement, e), "elements")
            g.add((e, RDF.type, self.ysv.DefinitionElement))
            g.add((e, RDF.type, SKOS.Concept))
            g.add((e, RDFS.label, self.en(element["label"])), "elements")
            g.add((e, SKOS.prefLabel, self.en(element["label"])), "elements")
            g.add((e, SKOS.broader, s))
            for source_id in r.sources:
                g.add((e, DCTERMS.source, self.source_iri(source_id)))

    # -- schemes, datasets -------------------------------------------------------------------------------------
    def metadata(self) -> None:
        """The few nodes no source document describes: the concept schemes and the datasets we publish."""
        name = self.mapped.metadata_graph
        g = self.mapped.graphs.setdefault(name, set())
        dataset = self.id["dataset/ysv"]
        figures = self.id["dataset/figures"]
        themes = self.id["scheme/themes"]
        powers = self.id["scheme/powers-and-instruments"]
        about = self.curated.find(self.curated.dataset["about"])
        report = self.record_iri(about) if about is not None and about.kind == "reports" else None
        g.add((dataset, RDF.type, DCAT.Dataset))
        g.add((dataset, RDF.type, VOID.Dataset))
        info = self.curated.dataset
        g.add((dataset, RDFS.label, self.en(info["title"])))
        g.add((dataset, DCTERMS.title, self.en(info["title"])))
        g.add((dataset, DCTERMS.description, self.en(info["description"])))
        g.add((dataset, DCTERMS.license, URIRef(info["licence"])))
        g.add((dataset, VOID.subset, figures))
        if report is not None:
            g.add((dataset, FOAF.primaryTopic, report))
        for source_id in sorted(self.curated.sources):
            g.add((dataset, DCTERMS.source, self.source_iri(source_id)))
        g.add((figures, RDF.type, QB.DataSet))
        g.add((figures, RDFS.label, self.en("Figures stated in or about the report")))
        g.add((figures, QB.structure, self.ysv.figuresStructure))
        g.add((figures, DCTERMS.license, URIRef(info["licence"])))
        for scheme, label in ((themes, "Themes of the serious youth violence inspection report"),
                              (powers, "Police powers and instruments discussed with the report")):
            g.add((scheme, RDF.type, SKOS.ConceptScheme))
            g.add((scheme, RDFS.label, self.en(label)))
            g.add((scheme, SKOS.prefLabel, self.en(label)))
        for record in self.curated.of("themes"):
            if record.get("top"):
                g.add((themes, SKOS.hasTopConcept, self.record_iri(record)))
        for record in self.curated.of("instruments"):
            g.add((powers, SKOS.hasTopConcept, self.record_iri(record)))

def _shared_iris(graph: Triples, table: dict) -> Triples:
    """The graph with every IRI one shared object per distinct IRI. Mapping makes a new URIRef each time it
    names a thing; equal but distinct objects make every later set and dict lookup call rdflib's Python-level
    __eq__, while one shared object is matched by identity (reasoning took half the time, converting for the
    writer 0.55x, for a tenth of that spent here). table: plain IRI string -> the shared URIRef."""
    text = str.__str__  # a plain str key: looking up a URIRef key would call its __eq__ again
    out = set()
    add = out.add
    for s, p, o in graph:
        if type(s) is URIRef:
            s = table.setdefault(text(s), s)
        p = table.setdefault(text(p), p)
        if type(o) is URIRef:
            o = table.setdefault(text(o), o)
        add((s, p, o))
    return out


def graph_name(base: Base, source_id: str) -> URIRef:
    """The named graph of a source document."""
    return base.graph[f"source/{source_id}"]


def map_records(curated: Curated, base: Base, skip: frozenset = frozenset(), metadata: bool = True) -> Mapped:
    """The graphs of every source document (but those whose ids are in skip, which the build has kept from an
    earlier build) and, unless metadata is False, the metadata graph."""
    return _Mapper(curated, base).run(frozenset(skip), metadata)


def references_hold(references: dict[str, str], kinds: dict[str, str]) -> bool:
    """Whether every record id a document's graph named (see Mapped.references) still names a record of the
    same kind (kinds: Curated.kinds()): if so, the graph made from the same records is the same."""
    return references.items() <= kinds.items()

"""Content negotiation by profile (W3C "Content Negotiation by Profile", as Prez does it): the profiles as a table,
which of them a /doc/ resource offers, and each profile's view of it as RDF.

- ysv     {base}def/profile/ysv: everything we state about the resource (Repository.describe); the default
- schema  https://schema.org/: the resource in schema.org terms only (schema_view)
- dcat    http://www.w3.org/ns/dcat: the dataset's DCAT description (the dataset only)
- void    http://rdfs.org/ns/void: the dataset's VoID statistics, partitions and linksets (the dataset only)
- alt     http://www.w3.org/ns/dx/conneg/altr: the alternates view, every profile and media type offered, in the
          altr (W3C) and altr-ext / PROF (Prez) vocabularies

Every view is available in every media type of negotiation.RESOURCE_FORMATS (HTML included).
"""
from __future__ import annotations

import json
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import pyoxigraph as ox

from .negotiation import RESOURCE_FORMATS
from .repository import LABELS, RDF_TYPE, Repository
from ..rdf.terms import Base

SDO = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
ORG = "http://www.w3.org/ns/org#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
ALTR = "http://www.w3.org/ns/dx/conneg/altr#"
ALTR_EXT = "http://www.w3.org/ns/dx/connegp/altr-ext#"
PROF = "http://www.w3.org/ns/dx/prof/"
IANA = "http://www.iana.org/assignments/media-types/"
MEDIA_TYPES = tuple(f.media_type for f in RESOURCE_FORMATS)  # the first (HTML) is every profile's default


@dataclass(frozen=True)
class Profile:
    token: str
    iri: str
    title: str
    description: str


def profiles(base: Base) -> dict[str, Profile]:
    """Every profile we know, by token, in the order they are listed (the default first, the alternates last)."""
    table = [
        Profile("ysv", base.iri + "def/profile/ysv", "ysv-graph full view",
                "Everything the dataset states about the resource, from every source document, with the labels of "
                "what it points to. The default."),
        Profile("schema", SDO, "schema.org view",
                "The resource in schema.org terms only: its type, name, description, identifier and URL, and each "
                "property that has a schema.org equivalent."),
        Profile("dcat", "http://www.w3.org/ns/dcat", "DCAT",
                "The dataset's DCAT description: licence, publisher, coverage, contact, distributions and catalogue."),
        Profile("void", "http://rdfs.org/ns/void", "VoID",
                "The dataset's VoID description: statistics, class and property partitions, linksets, vocabularies "
                "and access points."),
        Profile("alt", "http://www.w3.org/ns/dx/conneg/altr", "Alternate representations",
                "Lists every profile and media type the resource is available in."),
    ]
    return {p.token: p for p in table}


def profile_names(table: dict[str, Profile]) -> dict[str, str]:
    """Every name a client may give a profile by (its token, its IRI, and common spellings of the IRI) -> its IRI."""
    names = {p.token: p.iri for p in table.values()} | {p.iri: p.iri for p in table.values()}
    names |= {"https://schema.org": SDO, "http://schema.org/": SDO, "http://schema.org": SDO,
              DCAT: "http://www.w3.org/ns/dcat", VOID: "http://rdfs.org/ns/void"}
    return names


def representation_link(doc_path: str, token: str, media_type: str) -> str:
    """The site path of one representation: /doc/...?_profile=token&_mediatype=type."""
    return "/doc/" + doc_path + "?" + urllib.parse.urlencode({"_profile": token, "_mediatype": media_type})


def link_header(doc_path: str, offered: list[Profile], current: tuple[str, str] | None = None) -> str:
    """The Link header of a /doc/ resource: each profile's token (rel="type", as the spec and Prez give it) and each
    representation (rel="alternate", with its media type and profile; rel="self" for current, (token, type))."""
    types = [f'<{PROF}Profile>; rel="type"; token="{p.token}"; anchor="{p.iri}"' for p in offered]
    alternates = [f'<{representation_link(doc_path, p.token, m)}>; rel="{_rel(p.token, m, current)}"; type="{m}"; '
                  f'profile="{p.iri}"' for p in offered for m in MEDIA_TYPES]
    return ", ".join(types + alternates)


def _rel(token: str, media_type: str, current: tuple[str, str] | None) -> str:
    return "self" if (token, media_type) == current else "alternate"


def not_offered(offered: list[Profile]) -> str:
    """The message of a 406 for profiles: what the resource offers."""
    return ("None of the profiles asked for is offered for this resource. Offered: " +
            "; ".join(f"{p.token} <{p.iri}> ({p.title})" for p in offered))


# --- schema.org --------------------------------------------------------------------------------------------------
# The schema.org type of a thing: the first of these among its types (asserted or entailed, the ontology maps many
# of ours to schema.org), else the first our vocabularies' classes map to, else schema:Thing.
SCHEMA_TYPES = ("Dataset", "DataCatalog", "DataDownload", "Legislation", "Report", "Claim", "GovernmentOrganization",
                "NGO", "Organization", "Person", "AdministrativeArea", "Place", "DefinedTermSet", "DefinedTerm",
                "SoftwareApplication", "Observation", "Action", "CreativeWork", "Class", "Property")
CLASS_TO_SCHEMA = {
    DCAT + "Dataset": "Dataset", VOID + "Dataset": "Dataset", VOID + "Linkset": "Dataset",
    "http://purl.org/linked-data/cube#DataSet": "Dataset", DCAT + "Catalog": "DataCatalog",
    DCAT + "Distribution": "DataDownload", FOAF + "Person": "Person", FOAF + "Organization": "Organization",
    ORG + "Organization": "Organization", ORG + "FormalOrganization": "Organization",
    ORG + "OrganizationalCollaboration": "Organization", "http://www.w3.org/2006/vcard/ns#Organization":
    "Organization", DCT + "Location": "Place", SKOS + "Concept": "DefinedTerm", SKOS + "ConceptScheme":
    "DefinedTermSet", FOAF + "Document": "CreativeWork", PROV + "Activity": "Action",
    "http://purl.org/linked-data/cube#Observation": "Observation", OWL + "Class": "Class", RDFS + "Class": "Class",
    OWL + "ObjectProperty": "Property", OWL + "DatatypeProperty": "Property",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property": "Property",
}
# Our vocabularies' properties -> schema.org's (a schema.org property is kept as it is; any other is left out).
PROPERTY_TO_SCHEMA = {
    DCT + "description": "description", SKOS + "definition": "description", RDFS + "comment": "description",
    SKOS + "altLabel": "alternateName", DCT + "identifier": "identifier", SKOS + "notation": "identifier",
    DCAT + "landingPage": "url", FOAF + "homepage": "url", DCAT + "accessURL": "url", DCT + "isPartOf": "isPartOf",
    DCT + "subject": "about", FOAF + "primaryTopic": "about", DCT + "source": "isBasedOn",
    DCT + "references": "citation", DCT + "issued": "datePublished", DCT + "modified": "dateModified",
    DCT + "created": "dateCreated", DCT + "license": "license", DCT + "publisher": "publisher",
    DCT + "creator": "creator", ORG + "memberOf": "memberOf", FOAF + "page": "subjectOf", RDFS + "seeAlso": "subjectOf",
    DCAT + "keyword": "keywords", DCAT + "distribution": "distribution", DCAT + "downloadURL": "contentUrl",
    DCAT + "mediaType": "encodingFormat", DCAT + "compressFormat": "encodingFormat", DCAT + "dataset": "dataset",
    DCT + "spatial": "spatialCoverage",
    DCT + "temporal": "temporalCoverage", DCAT + "startDate": "startDate", DCAT + "endDate": "endDate",
    PROV + "wasAssociatedWith": "agent", PROV + "startedAtTime": "startTime", PROV + "endedAtTime": "endTime",
    SKOS + "inScheme": "inDefinedTermSet", SKOS + "topConceptOf": "inDefinedTermSet",
    SKOS + "hasTopConcept": "hasDefinedTerm",
}
# ... and the ysv ontology's (local names, under {base}def/).
YSV_PROPERTY_TO_SCHEMA = {
    "policeUkId": "identifier", "reportedIn": "isPartOf", "inSection": "isPartOf", "theme": "about",
    "concerns": "about", "respondsTo": "about", "addressedTo": "recipient", "value": "value",
}
LABEL_PREDICATES = {p.value for p in LABELS} | {SDO + "name", "http://www.w3.org/2006/vcard/ns#fn"}


class Views:
    """Each profile's view of a resource, as sorted triples. page_iri(iri) is the IRI of our page about iri (None
    when we have none): schema:url and schema:mainEntityOfPage."""

    def __init__(self, repo: Repository, page_iri: Callable[[str], str | None]):
        self.repo, self.base, self.page_iri = repo, repo.base, page_iri
        self.table = profiles(repo.base)
        self.dataset = ox.NamedNode(repo.base.iri + "id/dataset/ysv")
        self.to_schema = PROPERTY_TO_SCHEMA | {repo.base.iri + "def/" + name: target
                                               for name, target in YSV_PROPERTY_TO_SCHEMA.items()}

    def offered(self, node: ox.NamedNode, graph: bool = False) -> list[Profile]:
        """The profiles of a resource, the default first: a named graph has its triples (ysv) only; the dataset has
        DCAT and VoID views besides schema.org's."""
        tokens = ["ysv"] if graph else ["ysv", "schema"] + (["dcat", "void"] if node == self.dataset else [])
        return [self.table[t] for t in tokens + ["alt"]]

    def triples(self, profile: Profile, node: ox.NamedNode, graph: bool, doc_path: str) -> list[ox.Triple]:
        if profile.token == "ysv":
            return self.repo.graph(node) if graph else self.repo.describe(node)
        if profile.token == "schema":
            return self.schema(node)
        if profile.token == "dcat":
            return self.dcat(node)
        if profile.token == "void":
            return self.void(node)
        return self.alternates(self.offered(node, graph), doc_path)

    # --- the views ----------------------------------------------------------------------------------------------
    def _quads(self, node: ox.NamedNode) -> list[ox.Quad]:
        return self.repo.outgoing(node) or self.repo.outgoing(node, [self.repo.ontology_graph])

    def schema_type(self, node: ox.NamedNode, quads: list[ox.Quad] | None = None) -> str:
        quads = self._quads(node) if quads is None else quads
        types = {q.object.value for q in quads if q.predicate == RDF_TYPE}
        types |= {q.object.value for q in self.repo.entailed(node) if q.predicate == RDF_TYPE}
        found = next((SDO + t for t in SCHEMA_TYPES if SDO + t in types), None)
        if found is None:
            mapped = {CLASS_TO_SCHEMA[t] for t in types if t in CLASS_TO_SCHEMA}
            found = next((SDO + t for t in SCHEMA_TYPES if t in mapped), SDO + "Thing")
        return found

    def schema(self, node: ox.NamedNode) -> list[ox.Triple]:
        """schema.org only: type, name, description, identifier (the IRI and any stated), url (a stated homepage or
        landing page, else our page), mainEntityOfPage, and the properties of PROPERTY_TO_SCHEMA. Sub-resources
        minted under the resource's IRI (the dataset's distributions) are described too; everything else it
        points to is given its name and type."""
        out: set[ox.Triple] = set()
        self._schema_node(node, out, depth=0)
        return sorted(out, key=_triple_key)

    def _schema_node(self, node: ox.NamedNode, out: set, depth: int) -> None:
        quads = self._quads(node)
        s = ox.NamedNode
        out.add(ox.Triple(node, RDF_TYPE, s(self.schema_type(node, quads))))
        label = self.repo.labels.get(node.value)
        if label is not None:
            out.add(ox.Triple(node, s(SDO + "name"), ox.Literal(label, language="en")))
        out.add(ox.Triple(node, s(SDO + "identifier"), ox.Literal(node.value)))
        page = self.page_iri(node.value)
        if page is not None:
            out.add(ox.Triple(node, s(SDO + "mainEntityOfPage"), s(page)))
        has_url = False
        for quad in quads:
            predicate, value = quad.predicate.value, quad.object
            target = self.to_schema.get(predicate, predicate[len(SDO):] if predicate.startswith(SDO) else None)
            if target is None or predicate in LABEL_PREDICATES:
                continue
            if target == "distribution" and self.repo.value(value, DCAT + "downloadURL") is None:
                continue  # a schema:DataDownload has bytes to download (the pages and the endpoint have none)
            if target == "temporalCoverage":
                value = self._interval(value)
            elif target == "encodingFormat" and isinstance(value, ox.NamedNode):  # an IANA media type IRI
                value = ox.Literal(value.value.removeprefix(IANA))
            has_url |= target == "url"
            out.add(ox.Triple(node, s(SDO + target), value))
            if isinstance(value, ox.NamedNode) and target not in ("url", "contentUrl", "license"):
                if value.value.startswith(node.value + "/") and depth < 2:
                    self._schema_node(value, out, depth + 1)
                else:
                    self._schema_mention(value, out)
        if not has_url and page is not None:
            out.add(ox.Triple(node, s(SDO + "url"), s(page)))

    def _schema_mention(self, node: ox.NamedNode, out: set) -> None:
        """A thing a view points to: its name, and its type when it has one beyond schema:Thing."""
        label = self.repo.labels.get(node.value)
        if label is not None:
            out.add(ox.Triple(node, ox.NamedNode(SDO + "name"), ox.Literal(label, language="en")))
        if self.repo.is_described(node):
            kind = self.schema_type(node)
            if kind != SDO + "Thing":
                out.add(ox.Triple(node, RDF_TYPE, ox.NamedNode(kind)))

    def _interval(self, period):
        """A dct:PeriodOfTime with dcat:startDate and dcat:endDate as an ISO 8601 interval ('start/end')."""
        if not isinstance(period, ox.NamedNode):
            return period
        start, end = self.repo.value(period, DCAT + "startDate"), self.repo.value(period, DCAT + "endDate")
        if start is None or end is None:
            return period
        return ox.Literal(f"{start.value}/{end.value}")

    def dcat(self, node: ox.NamedNode) -> list[ox.Triple]:
        """The dataset's DCAT: its dcat: and dct: statements (and its label), with its distributions (and their
        checksums), temporal coverage, contact point and publisher, and the catalogue and record that list it."""
        out: set[ox.Triple] = set()
        follow = {DCAT + "distribution", DCT + "temporal", DCAT + "contactPoint", DCT + "publisher",
                  "http://spdx.org/rdf/terms#checksum"}
        self._closure(node, out, follow, keep=lambda p: p.startswith((DCAT, DCT, "http://spdx.org/rdf/terms#",
                                                                      "http://www.w3.org/2006/vcard/ns#", FOAF)),
                      types=(DCAT, DCT, "http://spdx.org/rdf/terms#", "http://www.w3.org/2006/vcard/ns#", FOAF))
        for quad in self.repo.incoming(node):
            if quad.predicate.value in (DCAT + "dataset", FOAF + "primaryTopic") and isinstance(
                    quad.subject, ox.NamedNode):
                self._closure(quad.subject, out, set(), keep=lambda p: p.startswith((DCAT, DCT)), types=(DCAT,))
        return sorted(out, key=_triple_key)

    def void(self, node: ox.NamedNode) -> list[ox.Triple]:
        """The dataset's VoID: its void: statements (and its title and label), with its class and property
        partitions, subsets and linksets, and the datasets the linksets point to."""
        out: set[ox.Triple] = set()
        follow = {VOID + "classPartition", VOID + "propertyPartition", VOID + "subset", VOID + "objectsTarget"}
        self._closure(node, out, follow, keep=lambda p: p.startswith(VOID) or p in (DCT + "title", FOAF + "homepage"),
                      types=(VOID,))
        return sorted(out, key=_triple_key)

    def _closure(self, node: ox.NamedNode, out: set, follow: set, keep, types: tuple) -> None:
        seen, todo = set(), [node]
        while todo:
            subject = todo.pop()
            if subject in seen:
                continue
            seen.add(subject)
            for quad in self.repo.outgoing(subject):
                predicate = quad.predicate.value
                if quad.predicate == RDF_TYPE:
                    if quad.object.value.startswith(types):
                        out.add(quad.triple)
                elif keep(predicate) or predicate == RDFS + "label":
                    out.add(quad.triple)
                    if predicate in follow and isinstance(quad.object, ox.NamedNode):
                        todo.append(quad.object)

    def alternates(self, offered: list[Profile], doc_path: str) -> list[ox.Triple]:
        """The alternates view: the document's representations (altr:hasRepresentation, each a altr:Representation
        with dct:conformsTo its profile and dct:format its media type; altr:hasDefaultRepresentation) and each
        profile (prof:Profile with its token as dct:identifier, title, description and altr-ext media types)."""
        s, lit = ox.NamedNode, ox.Literal
        doc = s(self.base.iri + "doc/" + doc_path)
        out = [ox.Triple(doc, s(ALTR_EXT + "hasDefaultProfile"), s(offered[0].iri))]
        for profile in offered:
            p = s(profile.iri)
            out += [ox.Triple(p, RDF_TYPE, s(PROF + "Profile")),
                    ox.Triple(p, s(DCT + "identifier"), lit(profile.token, datatype=s(XSD + "token"))),
                    ox.Triple(p, s(DCT + "title"), lit(profile.title, language="en")),
                    ox.Triple(p, s(DCT + "description"), lit(profile.description, language="en")),
                    ox.Triple(p, s(ALTR_EXT + "hasDefaultResourceFormat"), lit(MEDIA_TYPES[0]))]
            for media_type in MEDIA_TYPES:
                representation = s(self.base.iri + representation_link(doc_path, profile.token, media_type)[1:])
                out += [ox.Triple(p, s(ALTR_EXT + "hasResourceFormat"), lit(media_type)),
                        ox.Triple(doc, s(ALTR + "hasRepresentation"), representation),
                        ox.Triple(representation, RDF_TYPE, s(ALTR + "Representation")),
                        ox.Triple(representation, s(DCT + "conformsTo"), p),
                        ox.Triple(representation, s(DCT + "format"), s(IANA + media_type))]
                if profile is offered[0] and media_type == MEDIA_TYPES[0]:
                    out.append(ox.Triple(doc, s(ALTR + "hasDefaultRepresentation"), representation))
        return sorted(set(out), key=_triple_key)


# --- schema.org as JSON-LD (the landing page's <script type="application/ld+json">) ----------------------------
# Properties whose values are web addresses: written as plain strings, read as IRIs (as schema.org's own context).
JSONLD_CONTEXT = {"@vocab": SDO, **{name: {"@type": "@id"} for name in
                                    ("url", "contentUrl", "license", "mainEntityOfPage", "sameAs")}}


def schema_jsonld(triples: list[ox.Triple], root: ox.NamedNode) -> dict:
    """A schema.org view as one JSON-LD tree from root (each node described in the triples nested where it is first
    met), with a self-contained context (parsing it fetches nothing)."""
    by_subject: dict[str, list[ox.Triple]] = defaultdict(list)
    for triple in triples:
        if isinstance(triple.subject, ox.NamedNode):
            by_subject[triple.subject.value].append(triple)
    placed: set[str] = set()

    def node(iri: str) -> dict:
        placed.add(iri)
        out: dict = {"@id": iri}
        types = sorted(t.object.value.removeprefix(SDO) for t in by_subject[iri] if t.predicate == RDF_TYPE)
        if types:
            out["@type"] = types[0] if len(types) == 1 else types
        values: dict[str, list] = defaultdict(list)
        for triple in sorted(by_subject[iri], key=_triple_key):
            if triple.predicate == RDF_TYPE:
                continue
            name, term = triple.predicate.value.removeprefix(SDO), triple.object
            if isinstance(term, ox.NamedNode):
                if term.value in by_subject and term.value not in placed:
                    values[name].append(node(term.value))
                else:
                    values[name].append(term.value if name in JSONLD_CONTEXT else {"@id": term.value})
            elif isinstance(term, ox.Literal):
                values[name].append(_jsonld_literal(term))
        for name in sorted(values):
            out[name] = values[name][0] if len(values[name]) == 1 else values[name]
        return out

    return {"@context": JSONLD_CONTEXT, **node(root.value)}


def _jsonld_literal(term: ox.Literal):
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype is None or term.datatype.value == XSD + "string":
        return term.value
    return {"@value": term.value, "@type": term.datatype.value}


def script_json(data: dict) -> str:
    """JSON for inside a <script> element: '<', '>' and '&' escaped, so no '</script>' can end it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _triple_key(t: ox.Triple):
    return (str(t.subject), t.predicate.value, str(t.object))

"""Namespaces, and the IRIs we mint under one configurable base.

The base defaults to https://w3id.org/ysv/ ; things live under {base}id/, the ontology under {base}def/,
documents about things under {base}doc/ and named graphs under {base}graph/.
"""
from __future__ import annotations

from dataclasses import dataclass

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SDO, SKOS, VOID, XSD

DEFAULT_BASE = "https://w3id.org/ysv/"

SDMX_DIM = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_ATTR = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
ONS_GEO = Namespace("http://statistics.data.gov.uk/id/statistical-geography/")
LEGISLATION = Namespace("http://www.legislation.gov.uk/id/")
INTERVAL = Namespace("http://reference.data.gov.uk/id/")
SH = Namespace("http://www.w3.org/ns/shacl#")

STANDARD_PREFIXES = {
    "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD, "skos": SKOS, "dct": DCTERMS, "foaf": FOAF,
    "org": ORG, "prov": PROV, "schema": SDO, "qb": QB, "dcat": DCAT, "void": VOID,
    "sdmx-dimension": SDMX_DIM, "sdmx-attribute": SDMX_ATTR, "sh": SH,
}


@dataclass(frozen=True)
class Base:
    """The IRIs of one build."""

    iri: str = DEFAULT_BASE

    def __post_init__(self) -> None:
        if not (self.iri.startswith("http://") or self.iri.startswith("https://")) or not self.iri.endswith("/"):
            raise ValueError(f"base IRI must be an http(s) IRI ending in '/': {self.iri!r}")

    @property
    def ysv(self) -> Namespace:
        return Namespace(self.iri + "def/")

    @property
    def id(self) -> Namespace:
        return Namespace(self.iri + "id/")

    @property
    def graph(self) -> Namespace:
        return Namespace(self.iri + "graph/")

    def prefixes(self, per_kind: bool = False) -> dict[str, str]:
        """Prefixes for writing. per_kind adds one prefix per kind of thing (finding:, vru:, ...), which makes
        Turtle readable; JSON-LD keeps only ysvid:, since there prefixes would clash with property names."""
        out = {name: str(ns) for name, ns in STANDARD_PREFIXES.items() if name != "sh"}
        out.update({"ysv": str(self.ysv), "ysvid": str(self.id), "ons": str(ONS_GEO), "leg": str(LEGISLATION)})
        if per_kind:
            for segment in sorted(set(ID_SEGMENTS.values()) | {"dataset", "scheme"}):
                out[segment] = str(self.id) + segment + "/"
        return dict(sorted(out.items()))

    def rebase(self, text: str) -> str:
        """Rewrite the default base in a Turtle/SPARQL text (ontology, shapes, queries) to this base."""
        return text if self.iri == DEFAULT_BASE else text.replace(DEFAULT_BASE, self.iri)


# The path segment under /id/ for each kind of record.
ID_SEGMENTS = {
    "organisations": "organisation", "groups": "group", "people": "person", "forces": "police-force",
    "vrus": "vru", "reports": "report", "sections": "section", "inspections": "inspection",
    "activities": "activity", "themes": "theme", "findings": "finding", "recommendations": "recommendation",
    "responses": "response", "response_statements": "response-statement", "figures": "figure",
    "instruments": "instrument", "definitions": "definition", "sources": "source",
}

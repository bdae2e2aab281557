"""Content negotiation as a small table: which media types we produce, with which suffix, for what.

`choose(accept, offered)` implements RFC 9110 proactive negotiation: the highest q-value wins, more specific
ranges beat wildcards, and ties go to the order of `offered` (our preference). None means 406.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    media_type: str
    suffix: str
    rdf_format: ox.RdfFormat | None  # None: HTML


# Representations of a resource (/doc/...). The first is the default for */* and for no Accept header.
RESOURCE_FORMATS = (
    Format("text/html", "html", None),
    Format("text/turtle", "ttl", ox.RdfFormat.TURTLE),
    Format("application/ld+json", "jsonld", ox.RdfFormat.JSON_LD),
    Format("application/n-triples", "nt", ox.RdfFormat.N_TRIPLES),
    Format("application/rdf+xml", "rdf", ox.RdfFormat.RDF_XML),
)
BY_SUFFIX = {f.suffix: f for f in RESOURCE_FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in RESOURCE_FORMATS}

# SPARQL results: SELECT/ASK and CONSTRUCT/DESCRIBE. The first is the default.
SOLUTIONS_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}
SPARQL_ALIASES = {"application/json": "application/sparql-results+json", "application/xml":
                  "application/sparql-results+xml", "text/plain": "application/n-triples"}
RESOURCE_ALIASES = {"application/json": "application/ld+json", "application/xhtml+xml": "text/html",
                    "application/xml": "application/rdf+xml", "text/plain": "application/n-triples"}


def parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    """[(range, q, specificity)] from an Accept header; a missing or empty header accepts anything."""
    if not header or not header.strip():
        return [("*/*", 1.0, 0)]
    out = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media or "/" not in media:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
        out.append((media, q, specificity))
    return out


def choose(header: str | None, offered: list[str] | tuple[str, ...], aliases: dict[str, str] | None = None
           ) -> str | None:
    ranges = [((aliases or {}).get(media, media), q, specificity) for media, q, specificity in parse_accept(header)]
    best, best_key = None, None
    for position, media_type in enumerate(offered):
        q, specificity = _quality(media_type, ranges)
        if q <= 0:
            continue
        key = (q, specificity, -position)
        if best_key is None or key > best_key:
            best, best_key = media_type, key
    return best


def _quality(media_type: str, ranges) -> tuple[float, int]:
    kind = media_type.split("/")[0]
    match = None
    for media, q, specificity in ranges:
        if media == media_type or media == "*/*" or media == f"{kind}/*":
            if match is None or specificity > match[1]:
                match = (q, specificity)
    return match or (0.0, -1)

"""Content negotiation as a small table: which media types we produce, with which suffix, for what; and the
Accept-Profile header and _profile parameter of negotiation by profile (parse_accept_profile, choose_profile).

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
def split_suffix(path: str) -> tuple[str, Format | None]:
    """A /doc/ path without its format suffix (.ttl, .html, ...), and the format the suffix asks for (None: none)."""
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in BY_SUFFIX and "/" not in suffix:
        return stem, BY_SUFFIX[suffix]
    return path, None


def resource_format(accept: str | None, explicit: Format | None = None) -> Format | None:
    """The representation of a resource to send: the suffix's, else the best for Accept; None means 406."""
    return explicit or BY_MEDIA_TYPE.get(choose(accept, [f.media_type for f in RESOURCE_FORMATS],
                                                RESOURCE_ALIASES) or "")


def content_type(media_type: str) -> str:
    """The Content-Type header for a media type: text types say their charset."""
    return media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")


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


# --- profiles (W3C Content Negotiation by Profile) ---------------------------------------------------------------
MAX_PROFILES = 32  # entries of an Accept-Profile header or a _profile value read; the rest are ignored
MAX_PROFILE_CHARS = 2048  # a profile IRI or token longer than this names no profile


def parse_accept_profile(value: str | None) -> list[tuple[str, float]]:
    """[(profile, q)] from an Accept-Profile header (`<IRI>;q=0.9, <IRI>`) or a _profile value (tokens or IRIs,
    comma-separated), best first (a stable sort: equal q-values keep their order). Bare tokens and IRIs are read
    as well as <IRI>; entries that are empty, malformed or too long are skipped."""
    if not value:
        return []
    out = []
    for entry in _split_outside_brackets(value, ",")[:MAX_PROFILES]:
        name, *params = _split_outside_brackets(entry, ";")
        name = name.strip()
        if name.startswith("<") and name.endswith(">"):
            name = name[1:-1].strip()
        if not name or len(name) > MAX_PROFILE_CHARS or any(c in name for c in '<>" '):
            continue
        q = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(number.strip())))
                except ValueError:
                    q = 0.0
                if q != q:  # NaN
                    q = 0.0
        out.append((name, q))
    return sorted(out, key=lambda pair: -pair[1])


def choose_profile(requested: list[tuple[str, float]], offered: list[str], names: dict[str, str]) -> str | None:
    """The IRI of the first requested profile (best q first) that is offered, or None; names maps every token and
    IRI we know to its profile's IRI. A q of 0 refuses a profile."""
    for name, q in requested:
        iri = names.get(name, name)
        if q > 0 and iri in offered:
            return iri
    return None


def _split_outside_brackets(text: str, separator: str) -> list[str]:
    """text split at each separator that is not inside <...> (an IRI may hold commas and semicolons)."""
    parts, current, depth = [], [], 0
    for char in text:
        if char == "<":
            depth += 1
        elif char == ">" and depth:
            depth -= 1
        if char == separator and not depth:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts

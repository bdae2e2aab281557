"""Stage 3b: describe the dataset — DCAT, VoID and PROV — from the graph itself.

Runs after reasoning, so every count (triples, entities, classes, links) is computed from the built graphs and
never typed in. The description goes into the metadata named graph. Byte sizes and checksums of the files cannot
be in a graph that those files contain, so writing.py adds them to out/catalog.ttl (and manifest.json).
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, RDF, RDFS, SDO, VOID, XSD

from .. import __version__
from ..rdf import ntriples
from .load import Curated
from .releasing import Release
from .mapping import en
from ..rdf.terms import ONS_GEO, Base

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
DCAT3 = Namespace("http://www.w3.org/ns/dcat#")  # DCAT 3's terms (rdflib's DCAT has DCAT 2's only)
ADMS = Namespace("http://www.w3.org/ns/adms#")
IANA = "http://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Distribution:
    file: str
    key: str
    title: str
    media_type: str
    compress: str | None = None


DISTRIBUTIONS = (
    Distribution("ysv.ttl", "turtle", "The asserted data as Turtle", "text/turtle"),
    Distribution("ysv.jsonld", "json-ld", "The asserted data as JSON-LD (compacted with context.jsonld)",
                 "application/ld+json"),
    Distribution("ysv.nt", "n-triples", "The asserted data as sorted N-Triples", "application/n-triples"),
    Distribution("ysv.nq", "n-quads", "Every named graph (sources, metadata, entailments, ontology) as N-Quads",
                 "application/n-quads"),
    Distribution("ysv.nq.gz", "n-quads-gzip", "ysv.nq compressed with gzip, for bulk loaders", "application/n-quads",
                 "application/gzip"),
    Distribution("ysv.ttl.gz", "turtle-gzip", "ysv.ttl compressed with gzip, for bulk loaders", "text/turtle",
                 "application/gzip"),
)


@dataclass(frozen=True)
class LinkTarget:
    key: str
    title: str
    namespace: str
    homepage: str


LINK_TARGETS = (
    LinkTarget("ons-statistical-geography", "ONS statistical geography (police force areas)", str(ONS_GEO),
               "https://statistics.data.gov.uk/"),
    LinkTarget("data-police-uk", "data.police.uk police forces", "https://data.police.uk/api/forces/",
               "https://data.police.uk/"),
    LinkTarget("legislation-gov-uk", "legislation.gov.uk", "http://www.legislation.gov.uk/id/",
               "https://www.legislation.gov.uk/"),
    LinkTarget("govuk-organisations", "GOV.UK organisations", "https://www.gov.uk/government/organisations/",
               "https://www.gov.uk/government/organisations"),
)


def _slug(iri: str, prefixes: dict[str, str]) -> str:
    for prefix, namespace in sorted(prefixes.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace):
            return re.sub(r"[^A-Za-z0-9]+", "-", f"{prefix}-{iri[len(namespace):]}").strip("-")
    return re.sub(r"[^A-Za-z0-9]+", "-", iri).strip("-")


def describe(curated: Curated, graph: set, stats: "Summary", base: Base, releases: list[Release] = ()) -> set:
    """Add the dataset description to the metadata graph (a set of triples) and return it. stats: the summary of
    the data it describes, every source document's graph (see summarise and merged); releases: the series, oldest
    first (releasing.series; none: the series is not described)."""
    g = graph
    info = curated.dataset
    ds = base.id["dataset/ysv"]
    released = Literal(info["released"].strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)
    prefixes = base.prefixes()

    # --- DCAT: catalogue, record, dataset, distributions --------------------------------------------------------
    catalog, record = base.id["dataset/catalog"], base.id["dataset/ysv/record"]
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, RDFS.label, en("ysv-graph catalogue")))
    g.add((catalog, DCTERMS.title, en("ysv-graph catalogue")))
    g.add((catalog, DCAT.dataset, ds))
    g.add((catalog, DCAT.record, record))
    g.add((catalog, DCTERMS.license, URIRef(info["licence"])))
    g.add((record, RDF.type, DCAT.CatalogRecord))
    g.add((record, RDFS.label, en(f"Catalogue record of {info['title']}")))
    g.add((record, FOAF.primaryTopic, ds))
    g.add((record, DCTERMS.issued, Literal(info["issued"], datatype=XSD.date)))
    g.add((record, DCTERMS.modified, released))

    g.add((ds, DCTERMS.issued, Literal(info["issued"], datatype=XSD.date)))
    g.add((ds, DCTERMS.modified, released))
    g.add((ds, SDO.version, Literal(info["version"])))
    g.add((ds, DCAT.landingPage, URIRef(base.iri)))
    g.add((ds, DCTERMS.publisher, base.id["dataset/publisher"]))
    for keyword in info.get("keywords", []):
        g.add((ds, DCAT.keyword, en(keyword)))
    for area in sorted(URIRef(_iri(area)) for area in stats.areas):
        g.add((ds, DCTERMS.spatial, area))
    _temporal(g, ds, _dates(stats.dates), base)
    contact = base.id["dataset/ysv/contact"]
    g.add((ds, DCAT.contactPoint, contact))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(info["contact_name"])))
    g.add((contact, VCARD.hasURL, URIRef(base.iri)))
    publisher = base.id["dataset/publisher"]
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, RDFS.label, en(info["contact_name"])))
    g.add((publisher, FOAF.homepage, URIRef(base.iri)))

    for dist in DISTRIBUTIONS:
        d = base.id[f"dataset/ysv/distribution/{dist.key}"]
        g.add((ds, DCAT.distribution, d))
        g.add((d, RDF.type, DCAT.Distribution))
        g.add((d, RDFS.label, en(dist.title)))
        g.add((d, DCTERMS.title, en(dist.title)))
        g.add((d, DCAT.downloadURL, URIRef(base.iri + "download/" + dist.file)))
        g.add((d, DCAT.accessURL, URIRef(base.iri + "download/" + dist.file)))
        g.add((d, DCAT.mediaType, URIRef(IANA + dist.media_type)))
        if dist.compress:
            g.add((d, DCAT.compressFormat, URIRef(IANA + dist.compress)))
        g.add((d, DCTERMS.license, URIRef(info["licence"])))
        g.add((d, DCTERMS.identifier, Literal(dist.file)))
    site = base.id["dataset/ysv/distribution/html"]
    g.add((ds, DCAT.distribution, site))
    g.add((site, RDF.type, DCAT.Distribution))
    g.add((site, RDFS.label, en("Web pages about every resource, also written to out/site/ for static hosting")))
    g.add((site, DCAT.accessURL, URIRef(base.iri)))
    g.add((site, DCAT.mediaType, URIRef(IANA + "text/html")))
    g.add((site, DCTERMS.license, URIRef(info["licence"])))
    service = base.id["dataset/ysv/sparql-service"]
    g.add((ds, DCAT.distribution, service))
    g.add((service, RDF.type, DCAT.Distribution))
    g.add((service, RDFS.label, en("SPARQL 1.1 endpoint")))
    g.add((service, DCAT.accessURL, URIRef(base.iri + "sparql")))
    g.add((service, DCAT.mediaType, URIRef(IANA + "application/sparql-results+json")))
    g.add((service, DCTERMS.license, URIRef(info["licence"])))

    # --- VoID: statistics, partitions, linksets ------------------------------------------------------------------
    g.add((ds, VOID.triples, Literal(stats.triples, datatype=XSD.integer)))
    g.add((ds, VOID.entities, Literal(len(stats.typed), datatype=XSD.integer)))
    g.add((ds, VOID.distinctSubjects, Literal(len(stats.subjects), datatype=XSD.integer)))
    g.add((ds, VOID.distinctObjects, Literal(len(stats.objects), datatype=XSD.integer)))
    classes, properties = _iri_keys(stats.classes), _iri_keys(stats.properties)
    g.add((ds, VOID.classes, Literal(len(classes), datatype=XSD.integer)))
    g.add((ds, VOID.properties, Literal(len(properties), datatype=XSD.integer)))
    g.add((ds, VOID.uriSpace, Literal(base.iri + "id/")))
    g.add((ds, VOID.sparqlEndpoint, URIRef(base.iri + "sparql")))
    for dist in DISTRIBUTIONS:
        if not dist.compress:
            g.add((ds, VOID.dataDump, URIRef(base.iri + "download/" + dist.file)))
    g.add((ds, VOID.exampleResource, base.id[f"report/{info['about']}"]))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/Turtle")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/JSON-LD")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/N-Quads")))
    for cls, count in sorted(classes.items()):
        part = base.id[f"dataset/ysv/class/{_slug(str(cls), prefixes)}"]
        g.add((ds, VOID.classPartition, part))
        g.add((part, RDF.type, VOID.Dataset))
        g.add((part, VOID["class"], cls))
        g.add((part, VOID.entities, Literal(count, datatype=XSD.integer)))
    for prop, count in sorted(properties.items()):
        part = base.id[f"dataset/ysv/property/{_slug(str(prop), prefixes)}"]
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, RDF.type, VOID.Dataset))
        g.add((part, VOID.property, prop))
        g.add((part, VOID.triples, Literal(count, datatype=XSD.integer)))
    for vocabulary in sorted({ns for ns in prefixes.values()
                              if any(str(p).startswith(ns) for p in properties)}):
        g.add((ds, VOID.vocabulary, URIRef(vocabulary)))
    for target in LINK_TARGETS:
        links = _iri_keys(stats.links[target.key])  # link predicate -> triples
        external = base.id[f"dataset/external/{target.key}"]
        linkset = base.id[f"dataset/ysv/linkset/{target.key}"]
        g.add((external, RDF.type, VOID.Dataset))
        g.add((external, RDFS.label, en(target.title)))
        g.add((external, FOAF.homepage, URIRef(target.homepage)))
        g.add((external, VOID.uriSpace, Literal(target.namespace)))
        g.add((ds, VOID.subset, linkset))
        g.add((linkset, RDF.type, VOID.Linkset))
        g.add((linkset, RDFS.label, en(f"Links to {target.title}")))
        g.add((linkset, VOID.subjectsTarget, ds))
        g.add((linkset, VOID.objectsTarget, external))
        g.add((linkset, VOID.triples, Literal(sum(links.values()), datatype=XSD.integer)))
        for predicate in sorted(links):
            g.add((linkset, VOID.linkPredicate, predicate))

    # --- PROV: the build that generated the dataset -----------------------------------------------------------
    activity = base.id[f"dataset/ysv/build/{info['version']}"]
    software = base.id[f"software/ysv-graph/{__version__}"]
    g.add((ds, PROV.wasGeneratedBy, activity))
    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, RDFS.label, en(f"Build of release {info['version']}")))
    g.add((activity, RDFS.comment, en(
        "Start and end are the release time from data/dataset.yaml (the SOURCE_DATE_EPOCH convention of "
        "reproducible builds), not the wall clock, so that rebuilding a release gives identical files.")))
    g.add((activity, PROV.startedAtTime, released))
    g.add((activity, PROV.endedAtTime, released))
    g.add((activity, PROV.wasAssociatedWith, software))
    g.add((software, RDF.type, PROV.SoftwareAgent))
    g.add((software, RDF.type, SDO.SoftwareApplication))
    g.add((software, RDFS.label, en(f"ysv-graph {__version__}")))
    g.add((software, SDO.name, Literal("ysv-graph")))
    g.add((software, SDO.softwareVersion, Literal(__version__)))
    for source_id in sorted(curated.sources):
        g.add((activity, PROV.used, base.id[f"source/{source_id}"]))
    if releases:
        describe_series(g, info, releases, base)
    return g


def describe_series(g: set, info: dict, releases: list[Release], base: Base) -> None:
    """The releases as a DCAT 3 dataset series: each a dcat:Dataset with its version, date, the one before it and
    what changed since (ysv:triplesAdded / ysv:triplesRemoved in the source documents' graphs, where both are at
    hand); kept releases with their file as a distribution."""
    ds, series = base.id["dataset/ysv"], base.id["dataset/ysv/series"]
    licence = URIRef(info["licence"])
    g.add((series, RDF.type, DCAT3.DatasetSeries))
    g.add((series, RDFS.label, en(f"Releases of {info['title']}")))
    g.add((series, DCTERMS.title, en(f"Releases of {info['title']}")))
    g.add((series, DCTERMS.license, licence))
    iris = [base.id[f"dataset/ysv/release/{release.version}"] for release in releases]
    g.add((series, DCAT3.first, iris[0]))
    g.add((series, DCAT3.last, iris[-1]))
    for i, (release, iri) in enumerate(zip(releases, iris)):
        g.add((iri, RDF.type, DCAT3.Dataset))
        g.add((iri, RDFS.label, en(f"{info['title']}, release {release.version}")))
        g.add((iri, DCTERMS.title, en(f"{info['title']}, release {release.version}")))
        g.add((iri, DCAT3.version, Literal(release.version)))
        g.add((iri, DCTERMS.issued, Literal(release.issued, datatype=XSD.date)))
        g.add((iri, DCTERMS.license, licence))
        g.add((iri, DCAT3.inSeries, series))
        g.add((iri, DCTERMS.isVersionOf, ds))
        g.add((ds, DCAT3.hasVersion, iri))
        if i:
            g.add((iri, DCAT3.prev, iris[i - 1]))
            g.add((iri, DCAT3.previousVersion, iris[i - 1]))
        if release.changes:
            g.add((iri, ADMS.versionNotes, en(release.changes)))
        if release.summary is not None:
            added, removed = release.summary
            g.add((iri, base.ysv.triplesAdded, Literal(added, datatype=XSD.nonNegativeInteger)))
            g.add((iri, base.ysv.triplesRemoved, Literal(removed, datatype=XSD.nonNegativeInteger)))
            g.add((iri, RDFS.comment, en(f"Since release {releases[i - 1].version}: {added} triples added and "
                                         f"{removed} removed in the source documents' graphs.")))
        if release.current:
            g.add((ds, DCAT3.hasCurrentVersion, iri))
            for dist in DISTRIBUTIONS:
                g.add((iri, DCAT.distribution, base.id[f"dataset/ysv/distribution/{dist.key}"]))
        elif release.kept is not None:
            d = base.id[f"dataset/ysv/release/{release.version}/distribution/n-quads-gzip"]
            url = URIRef(f"{base.iri}download/releases/{release.version}/ysv.nq.gz")
            checksum = base.id[f"dataset/ysv/release/{release.version}/distribution/n-quads-gzip/sha256"]
            g.add((iri, DCAT.distribution, d))
            g.add((d, RDF.type, DCAT.Distribution))
            g.add((d, RDFS.label, en(f"Release {release.version}: every named graph as gzipped N-Quads")))
            g.add((d, DCTERMS.title, en(f"Release {release.version}: every named graph as gzipped N-Quads")))
            g.add((d, DCAT.downloadURL, url))
            g.add((d, DCAT.accessURL, url))
            g.add((d, DCAT.mediaType, URIRef(IANA + "application/n-quads")))
            g.add((d, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
            g.add((d, DCTERMS.license, licence))
            g.add((d, DCTERMS.identifier, Literal(f"releases/{release.version}/ysv.nq.gz")))
            g.add((d, DCAT.byteSize, Literal(len(release.kept.data), datatype=XSD.nonNegativeInteger)))
            g.add((d, SPDX.checksum, checksum))
            g.add((checksum, RDF.type, SPDX.Checksum))
            g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            g.add((checksum, SPDX.checksumValue, Literal(release.kept.sha256, datatype=XSD.hexBinary)))


def input_files(curated: Curated, base: Base, term, kept: dict | None = None) -> list[bytes]:
    """The rest of the description of the build: each curated file it used, with its SHA-256, as N-Triples lines
    (term: a term's N-Triples form, ntriples.Converter.ntriples). A corpus has tens of thousands of files, so
    these lines are made directly rather than as rdflib triples; tests check they equal what rdflib terms give.
    kept: (file, SHA-256) -> its lines, from the last build under the same base, dataset version and code (the
    build keeps it in its cache); what is made here is added to it."""
    activity = term(base.id[f"dataset/ysv/build/{curated.dataset['version']}"])
    used, a, label, identifier = (term(t) for t in (PROV.used, RDF.type, RDFS.label, DCTERMS.identifier))
    entity_class, has_checksum, checksum_class = term(PROV.Entity), term(SPDX.checksum), term(SPDX.Checksum)
    algorithm, sha256, value = term(SPDX.algorithm), term(SPDX.checksumAlgorithm_sha256), term(SPDX.checksumValue)
    hex_binary = str(XSD.hexBinary).encode()
    lines: list[bytes] = []
    kept = {} if kept is None else kept
    for path, digest in curated.files.items():
        made = kept.get((path, digest))
        if made is not None:
            lines += made
            continue
        entity = term(base.id[f"dataset/ysv/input/{path}"])
        checksum = term(base.id[f"dataset/ysv/input/{path}/sha256"])
        if not HEX.fullmatch(digest):
            raise ValueError(f"not a SHA-256 in hexadecimal: {digest!r}")
        made = kept[(path, digest)] = (
            b"%s %s %s ." % (activity, used, entity),
            b"%s %s %s ." % (entity, a, entity_class),
            b"%s %s %s ." % (entity, label, term(en(f"data/{path}"))),
            b"%s %s %s ." % (entity, identifier, term(Literal(f"data/{path}"))),
            b"%s %s %s ." % (entity, has_checksum, checksum),
            b"%s %s %s ." % (checksum, a, checksum_class),
            b"%s %s %s ." % (checksum, algorithm, sha256),
            b'%s %s "%s"^^<%s> .' % (checksum, value, digest.encode(), hex_binary),  # hex needs no escaping
        )
        lines += made
    lines.sort()
    return lines


HEX = re.compile("[0-9a-f]{64}")
TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
DATE_END = b'"^^<http://www.w3.org/2001/XMLSchema#date> .'


@dataclass
class Summary:
    """What VoID and DCAT say about a graph, from its N-Triples lines (terms in their N-Triples form). The
    summaries of graphs merge into that of their union (see merged), so a kept document's is not made again."""

    triples: int
    subjects: set
    objects: set
    typed: set  # IRIs with an rdf:type
    areas: set  # police force areas
    dates: set  # xsd:date literals
    classes: Counter  # class -> entities
    properties: Counter  # property -> triples
    links: dict  # link target's key -> link predicate -> triples
    namespaces: set  # the writers' namespaces (namespaces_of) that begin an IRI or a literal's datatype


def summarise(lines: list[bytes], base: Base) -> Summary:
    """The summary of distinct N-Triples lines (each "S P O ."; IRIs and blank nodes hold no spaces)."""
    area = b"<%s>" % str(base.ysv.PoliceForceArea).encode()
    targets = [(t.key, b"<" + t.namespace.encode()) for t in LINK_TARGETS]
    starts = tuple(start for _key, start in targets)
    parts = [line.split(b" ", 2) for line in lines]
    typing = [(s, o[:-2]) for s, p, o in parts if p == TYPE]
    linked = [(p, o) for _s, p, o in parts if o.startswith(starts)]
    subjects, objects, properties = {s for s, _p, _o in parts}, {o[:-2] for _s, _p, o in parts}, \
        Counter(p for _s, p, _o in parts)
    return Summary(
        triples=len(parts),
        subjects=subjects,
        objects=objects,
        typed={s for s, _o in typing if s.startswith(b"<")},
        areas={s for s, o in typing if o == area},
        dates={o[:-2] for _s, _p, o in parts if o.endswith(DATE_END)},
        classes=Counter(o for _s, o in typing),
        properties=properties,
        links={key: Counter(p for p, o in linked if o.startswith(start)) for key, start in targets},
        namespaces=namespaces_of(ntriples.iris(subjects) | ntriples.iris(objects) | ntriples.iris(properties), base),
    )


def input_files_namespaces(curated: Curated, base: Base, term) -> set[str]:
    """namespaces_of the IRIs of input_files' lines, without going through them all (a corpus has 150,000): each
    file's lines hold the same IRIs and datatypes but for the file's own two, so those of one file's lines and
    every file's own IRIs are enough (tests/test_documents.py compares them with all the lines')."""
    from types import SimpleNamespace

    if not curated.files:
        return set()
    first = SimpleNamespace(files=dict([next(iter(curated.files.items()))]), dataset=curated.dataset)
    own = [str(base.id[f"dataset/ysv/input/{path}"]) for path in curated.files]
    own += [iri + "/sha256" for iri in own]
    return namespaces_of(ntriples.iris(set(ntriples.terms(input_files(first, base, term)))) | set(own), base)


def namespaces_of(iris, base: Base) -> set[str]:
    """The namespaces of the writers' prefixes (Base.prefixes, either kind) that begin one of the IRIs: all a
    writer needs to choose its prefixes (writing._namespaces_used gives the same prefixes for them as for the
    IRIs). In the sorted IRIs, those that begin with a namespace come first among those not less than it."""
    import bisect

    ordered = sorted(iris)
    found = set()
    for namespace in set(base.prefixes().values()) | set(base.prefixes(per_kind=True).values()):
        i = bisect.bisect_left(ordered, namespace)
        if i < len(ordered) and ordered[i].startswith(namespace):
            found.add(namespace)
    return found


def merged(summaries: list[Summary], extra: Summary) -> Summary:
    """The summary of the union of graphs, from theirs; extra: the summary of the lines the graphs share, one
    copy less than the number of graphs that hold each (counted once too often in the sums)."""
    total = Summary(0, set(), set(), set(), set(), set(), Counter(), Counter(),
                    {t.key: Counter() for t in LINK_TARGETS}, set())
    for part in summaries:
        total.triples += part.triples
        for name in ("subjects", "objects", "typed", "areas", "dates", "namespaces"):
            getattr(total, name).update(getattr(part, name))
        total.classes.update(part.classes)
        total.properties.update(part.properties)
        for key, counts in part.links.items():
            total.links[key].update(counts)
    total.triples -= extra.triples
    total.classes -= extra.classes
    total.properties -= extra.properties
    for key, counts in extra.links.items():
        total.links[key] -= counts
    return total


def _iri(term: bytes) -> str:
    return term[1:-1].decode("utf-8")


def _iri_keys(counts: Counter) -> dict:
    return {URIRef(_iri(key)): count for key, count in counts.items() if count > 0}


def _dates(literals: set) -> list:
    values = (Literal(o[1:-len(DATE_END) + 2].decode("utf-8"), datatype=XSD.date).toPython() for o in literals)
    return [value for value in values if isinstance(value, dt.date)]


def _temporal(g, ds: URIRef, dates: list, base: Base) -> None:
    """Temporal coverage: from the earliest to the latest date the data mentions."""
    if not dates:
        return
    period = base.id["dataset/ysv/temporal-coverage"]
    g.add((ds, DCTERMS.temporal, period))
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    g.add((period, RDFS.label, en(f"{min(dates).isoformat()} to {max(dates).isoformat()}")))
    g.add((period, DCAT.startDate, Literal(min(dates), datatype=XSD.date)))
    g.add((period, DCAT.endDate, Literal(max(dates), datatype=XSD.date)))


def checksums(files: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    """Each file's size and sha256, hashed in threads (hashlib lets go of the GIL for big buffers)."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = pool.map(lambda data: hashlib.sha256(data).hexdigest(), files.values())
        return {name: (len(data), digest) for (name, data), digest in zip(files.items(), digests)}


def catalogue(sums: dict[str, tuple[int, str]], base: Base) -> set:
    """What out/catalog.ttl adds to the metadata graph: each distribution's byte size and checksum (sums: see
    checksums())."""
    out = set()
    for dist in DISTRIBUTIONS:
        if dist.file not in sums:
            continue
        size, digest = sums[dist.file]
        d = base.id[f"dataset/ysv/distribution/{dist.key}"]
        checksum = base.id[f"dataset/ysv/distribution/{dist.key}/sha256"]
        out.add((d, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
        out.add((d, SPDX.checksum, checksum))
        out.add((checksum, RDF.type, SPDX.Checksum))
        out.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        out.add((checksum, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary)))
    return out

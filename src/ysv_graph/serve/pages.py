"""HTML pages about the dataset, rendered with Jinja2 (autoescaped), for the server and the static site.

The same page models serve both: a Linker turns IRIs into links, either server paths (/doc/finding/x) or relative
file paths for out/site/ (../finding/x.html), so the static site works from any folder of any web host.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .profiles import MEDIA_TYPES, Profile, Views, representation_link, schema_jsonld, script_json
from .repository import RDF_TYPE, SOURCE, STATEMENT_PARTS, Repository
from ..rdf.terms import Base
from ..settings import SETTINGS

TEMPLATES = SETTINGS.templates_dir


@dataclass(frozen=True)
class Index:
    segment: str
    cls: str  # class IRI, relative to the ysv namespace when it has no scheme
    title: str
    intro: str


def _indexes(base: Base) -> list[Index]:
    ysv = base.iri + "def/"
    return [
        Index("police-force", ysv + "PoliceForce", "Police forces",
              "The 43 territorial police forces of England and Wales and British Transport Police."),
        Index("vru", ysv + "ViolenceReductionUnit", "Violence reduction units",
              "The 20 Home Office-funded violence reduction units, with their area and first year of funding."),
        Index("finding", ysv + "Finding", "Findings",
              "What the inspection found: the eight headline findings and the chapter findings."),
        Index("recommendation", ysv + "Recommendation", "Recommendations",
              "The report made 4 recommendations; 2 are described in the sources, 2 are known only to exist."),
        Index("theme", ysv + "Theme", "Themes", "The report's three main areas and their sub-sections."),
        Index("figure", ysv + "Figure", "Figures", "Numbers stated in or about the report, with unit and period."),
        Index("response", ysv + "Response", "Responses", "Published responses to the report."),
        Index("instrument", ysv + "PowerOrInstrument", "Powers and instruments",
              "Police powers, orders, duties and outcome codes discussed with the report."),
        Index("organisation", "http://www.w3.org/ns/org#Organization", "Organisations",
              "Every organisation in the dataset, forces and VRUs included."),
        Index("area", ysv + "PoliceForceArea", "Police force areas",
              "ONS police force areas (statistical geography codes E23 and W15)."),
        Index("source", ysv + "SourceDocument", "Source documents", "Every document a fact was taken from."),
    ]


def _relative(target: str, here: str) -> str:
    """The relative link from the page at `here` to `target`, both paths from the site root."""
    here_dirs = here.split("/")[:-1]
    target_parts = target.split("/")
    common = 0
    while common < len(here_dirs) and common < len(target_parts) - 1 and here_dirs[common] == target_parts[common]:
        common += 1
    return "/".join([".."] * (len(here_dirs) - common) + target_parts[common:])


class Linker:
    """IRI -> link. Server mode: absolute paths. Static mode: paths relative to the page being written."""

    def __init__(self, repo: Repository, static: bool = False, here: str = "index.html"):
        self.repo, self.base, self.static, self.here = repo, repo.base, static, here

    def at(self, here: str) -> "Linker":
        return Linker(self.repo, self.static, here)

    def doc_path(self, iri: str) -> str | None:
        """The site path (no suffix) of the page about iri, or None when we have no page for it."""
        base = self.base.iri
        if iri.startswith(base) and "#" in iri:
            return None  # a statement node (id/...#fact-...) or another hash IRI: no page of its own
        if iri.startswith(base + "graph/") and not self.static:
            return "doc/graph/" + iri[len(base) + 6:]  # the server serves named graphs; the static site does not
        if iri.startswith(base) and not self.repo.is_described(ox.NamedNode(iri)):
            return None  # e.g. the ontology's version IRI: we have no page for it
        if iri.startswith(base + "id/"):
            return "doc/" + iri[len(base) + 3:]
        if iri.startswith(base + "def/"):
            return "doc/def/" + iri[len(base) + 4:]
        if "#" in iri or "?" in iri:
            return None  # no file name or path can stand for it; link to the IRI itself
        for scheme in ("http://", "https://"):
            if iri.startswith(scheme) and self.repo.is_described(ox.NamedNode(iri)):
                return "doc/ext/" + iri[len(scheme):]
        return None

    def page(self, path: str) -> str:
        """A link to a site path such as 'doc/finding/x', 'doc/vru/' or '' (home)."""
        if not self.static:
            return "/" + path
        target = path + "index.html" if path == "" or path.endswith("/") else path + ".html"
        return _relative(target, self.here)

    def href(self, iri: str) -> str | None:
        """Where a link to iri goes: our page about it, else the IRI itself if it is an http(s) IRI; else None (no
        link: an IRI such as javascript:... or data:... from a query result is shown as text)."""
        path = self.doc_path(iri)
        if path is not None:
            return self.page(path)
        return iri if is_web_iri(iri) else None

    def search_page(self) -> str:
        """Where a search form sends its query: /search, or the static site's search page."""
        return self.page("search/") if self.static else "/search"

    def download(self, name: str) -> str:
        return "/download/" + name if not self.static else "../" * (self.here.count("/") + 1) + name


def is_web_iri(iri: str) -> bool:
    """An absolute http(s) IRI: the only IRIs the pages link to as they are."""
    return iri[:8].lower().startswith(("http://", "https://"))


def iri_for_doc_path(base: Base, path: str) -> list[str]:
    """The IRIs a /doc/ path may name (an external one may be http or https)."""
    if path == "def" or path.startswith("def/"):
        return [base.iri + "def/" + path[4:]]
    if path.startswith("graph/"):
        return [base.iri + path]
    if path.startswith("ext/"):
        rest = path[4:]
        return ["http://" + rest, "https://" + rest]
    return [base.iri + "id/" + path]


@dataclass
class Value:
    text: str
    href: str | None = None
    note: str = ""  # language or datatype
    backed_by: list[tuple[str, str | None]] = field(default_factory=list)  # (label, href) of each document
    inferred: bool = False


@dataclass
class Row:
    predicate: str
    predicate_href: str | None
    values: list[Value] = field(default_factory=list)


class Pages:
    def __init__(self, repo: Repository, queries: list[tuple[str, str, str]] | None = None):
        self.repo = repo
        self.base = repo.base
        self.indexes = _indexes(repo.base)
        self.queries = queries or []  # (name, question, text)
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                               trim_blocks=True, lstrip_blocks=True)
        server = Linker(repo)
        self.views = Views(repo, lambda iri: None if (path := server.doc_path(iri)) is None else self.base.iri + path)

    # --- models ---------------------------------------------------------------------------------------------
    def _value(self, term, link: Linker, backed_by=(), inferred=False) -> Value:
        value = Value(text="", inferred=inferred)
        value.backed_by = [(self.repo.label(source), link.href(source.value)) for source in backed_by]
        if isinstance(term, ox.NamedNode):
            value.text, value.href = self.repo.label(term), link.href(term.value)
            if value.text == term.value:
                value.note = ""
        elif isinstance(term, ox.Literal):
            value.text = term.value
            if term.language:
                value.note = "@" + term.language
            elif term.datatype and term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
                value.note = self.repo.short(term.datatype.value)
        else:
            value.text = str(term)
        return value

    def _rows(self, quads, link: Linker, inferred=False) -> list[Row]:
        """One row per property (but rdf:type and dct:source, shown apart), each value once, with the documents
        that statement nodes cite for that exact triple."""
        rows: dict[str, Row] = {}
        seen = set()
        for quad in quads:
            if quad.predicate in (RDF_TYPE, SOURCE) or (quad.predicate, quad.object) in seen:
                continue
            seen.add((quad.predicate, quad.object))
            key = quad.predicate.value
            if key not in rows:
                rows[key] = Row(self.repo.label(quad.predicate), link.href(key))
            backed_by = () if inferred else self.repo.backing(quad.subject, quad.predicate, quad.object)
            rows[key].values.append(self._value(quad.object, link, backed_by, inferred))
        return sorted(rows.values(), key=lambda r: r.predicate.lower())

    def resource(self, iri: str, link: Linker) -> str:
        node = ox.NamedNode(iri)
        quads = self.repo.outgoing(node)
        ontology = False
        if not quads:
            quads = self.repo.outgoing(node, [self.repo.ontology_graph])
            ontology = True
        types = sorted({q.object.value for q in quads if q.predicate == RDF_TYPE})
        inferred_types = sorted({q.object.value for q in self.repo.entailed(node) if q.predicate == RDF_TYPE}
                                - set(types))
        incoming = [(self.repo.label(q.subject), link.href(q.subject.value), self.repo.label(q.predicate))
                    for q in self.repo.incoming(node) if isinstance(q.subject, ox.NamedNode)
                    and q.predicate not in STATEMENT_PARTS and not self.repo.is_statement(q.subject)]
        # the record's own sources (its dct:source), which stand for every fact no statement node backs
        sources = sorted({(self.repo.label(q.object), link.href(q.object.value)) for q in quads
                          if q.predicate == SOURCE and isinstance(q.object, ox.NamedNode)})
        doc_path = link.doc_path(iri)
        # the static site has no RDF per resource (the dumps hold it all); the server has every format
        formats = [] if link.static or doc_path is None else [
            (suffix, link.page(f"{doc_path}.{suffix}")) for suffix in ("ttl", "jsonld", "nt", "rdf")]
        views = [] if link.static or doc_path is None else [
            (p.title, representation_link(doc_path[4:], p.token, MEDIA_TYPES[0]))
            for p in self.views.offered(node, graph=iri.startswith(self.base.iri + "graph/"))[1:]]
        return self.env.get_template("resource.html").render(
            page_title=self.repo.label(node), iri=iri, link=link, nav=self._nav(link),
            types=[(self.repo.label(ox.NamedNode(t)), link.href(t)) for t in types],
            inferred_types=[(self.repo.label(ox.NamedNode(t)), link.href(t)) for t in inferred_types],
            rows=self._rows(quads, link),
            inferred_rows=self._rows([q for q in self.repo.entailed(node) if q.predicate != RDF_TYPE], link,
                                     inferred=True),
            incoming=incoming[:500], incoming_total=len(incoming), sources=sources,
            formats=formats, views=views, ontology=ontology, cite=self.citation(iri, link))

    def citation(self, iri: str, link: Linker) -> dict:
        """The "cite this" line: the thing's label, the dataset's title, its release (schema:version) and the
        release's date (its dct:issued when the graph describes the release, else the dataset's), the release's page
        if the graph describes it, and the thing's permanent IRI."""
        release = self._release
        return {"label": self.repo.label(ox.NamedNode(iri)), "iri": iri, **release,
                "release_href": link.href(release["release"]) if release["described"] else None}

    @cached_property
    def _release(self) -> dict:
        dataset = self.views.dataset
        version = self.repo.value(dataset, "https://schema.org/version")
        issued = self.repo.value(dataset, "http://purl.org/dc/terms/issued")
        release = self.base.iri + f"id/dataset/ysv/release/{version.value}" if version is not None else None
        described = release is not None and self.repo.is_described(ox.NamedNode(release))
        if described:
            issued = self.repo.value(ox.NamedNode(release), "http://purl.org/dc/terms/issued") or issued
        return {"dataset": self.repo.label(dataset), "version": version.value if version is not None else None,
                "issued": issued.value if issued is not None else None, "release": release,
                "described": described}

    def view(self, iri: str, link: Linker, profile: Profile, triples: list[ox.Triple], offered: list[Profile],
             doc_path: str) -> str:
        """A profile's view as an HTML page: its triples grouped by subject, the resource's subject first."""
        subjects: dict[str, list] = {}
        for triple in triples:
            subjects.setdefault(str(triple.subject), []).append(triple)
        order = sorted(subjects, key=lambda s: (s != str(ox.NamedNode(iri)), s))
        groups = []
        for key in order:
            subject = subjects[key][0].subject
            quads = [ox.Quad(t.subject, t.predicate, t.object) for t in subjects[key]]
            types = sorted({self.repo.short(t.object.value) for t in subjects[key] if t.predicate == RDF_TYPE})
            label = self.repo.label(subject) if isinstance(subject, ox.NamedNode) else str(subject)
            href = link.href(subject.value) if isinstance(subject, ox.NamedNode) else None
            groups.append((label, href, types, self._rows(quads, link)))
        return self.env.get_template("view.html").render(
            page_title=f"{self.repo.label(ox.NamedNode(iri))} — {profile.title}", iri=iri, link=link,
            nav=self._nav(link), profile=profile, groups=groups,
            others=[(p.title, representation_link(doc_path, p.token, MEDIA_TYPES[0])) for p in offered
                    if p != profile],
            formats=[(m, representation_link(doc_path, profile.token, m)) for m in MEDIA_TYPES[1:]])

    def alternates(self, iri: str, link: Linker, offered: list[Profile], doc_path: str) -> str:
        """The alternates view as an HTML page: each profile with its token, IRI, title, description and media
        types, each a link to that representation."""
        rows = [(p, [(m, representation_link(doc_path, p.token, m)) for m in MEDIA_TYPES]) for p in offered]
        return self.env.get_template("alternates.html").render(
            page_title=f"{self.repo.label(ox.NamedNode(iri))} — alternate representations", iri=iri, link=link,
            nav=self._nav(link), rows=rows, default=offered[0])

    def index(self, segment: str, link: Linker) -> str | None:
        index = next((i for i in self.indexes if i.segment == segment), None)
        if index is None:
            return None
        items = []
        for node in self.repo.instances(ox.NamedNode(index.cls)):
            items.append((self.repo.label(node), link.href(node.value), self.repo.short(node.value)))
        return self.env.get_template("index.html").render(
            page_title=index.title, index=index, items=items, link=link, nav=self._nav(link))

    def home(self, link: Linker) -> str:
        dataset = ox.NamedNode(self.base.iri + "id/dataset/ysv")
        void = "http://rdfs.org/ns/void#"

        def number(predicate: str) -> str:
            value = self.repo.value(dataset, predicate)
            return value.value if value is not None else "?"

        counts = [(index.title, link.page(f"doc/{index.segment}/"),
                   len(self.repo.instances(ox.NamedNode(index.cls)))) for index in self.indexes]
        description = self.repo.value(dataset, "http://purl.org/dc/terms/description")
        title = self.repo.value(dataset, "http://purl.org/dc/terms/title")
        downloads = [(name, link.download(name)) for name in
                     ("ysv.ttl", "ysv.jsonld", "context.jsonld", "ysv.nt", "ysv.nq", "ysv.nq.gz", "ysv.ttl.gz",
                      "catalog.ttl", "validation.ttl")]
        report = self.base.iri + "id/report/syv-inspection-report"
        return self.env.get_template("home.html").render(
            page_title=title.value if title else "ysv-graph", link=link, nav=self._nav(link),
            description=description.value if description else "", counts=counts,
            triples=number(void + "triples"), entities=number(void + "entities"), downloads=downloads,
            queries=[(name, question, self.query_href(link, name)) for name, question, _ in self.queries],
            report=(self.repo.label(ox.NamedNode(report)), link.href(report)),
            dataset_href=link.href(dataset.value), static=link.static, jsonld=self.dataset_jsonld())

    def dataset_jsonld(self) -> str | None:
        """The dataset's schema.org view as JSON-LD for the landing page's <script type="application/ld+json">."""
        dataset = self.views.dataset
        if not self.repo.is_described(dataset):
            return None
        return script_json(schema_jsonld(self.views.schema(dataset), dataset))

    def query_href(self, link: Linker, name: str) -> str:
        return "/query?name=" + name if not link.static else link.page(f"query/{name}")

    def query(self, link: Linker, text: str, selected: str | None, result=None, error: str | None = None,
              status: str | None = None) -> str:
        question = next((q for n, q, _ in self.queries if n == selected), None)
        return self.env.get_template("query.html").render(
            page_title="Query the dataset", link=link, nav=self._nav(link), text=text, selected=selected,
            question=question, result=result, error=error, status=status, static=link.static,
            queries=[(name, q, self.query_href(link, name)) for name, q, _ in self.queries])

    def search(self, link: Linker, max_chars: int, query: str = "", hits: list | None = None, message: str = "") -> str:
        """The search page: the form, a message and the hits (search.Hit); the static site's runs search.js."""
        return self.env.get_template("search.html").render(
            page_title="Search", link=link, nav=self._nav(link), query=query, hits=hits or [], message=message,
            static=link.static, max_chars=max_chars)

    def error(self, link: Linker, status: int, message: str) -> str:
        return self.env.get_template("error.html").render(page_title=f"{status}", link=link, nav=self._nav(link),
                                                          status=status, message=message)

    def _nav(self, link: Linker) -> list[tuple[str, str]]:
        items = [("Home", link.page(""))]
        items += [(i.title, link.page(f"doc/{i.segment}/")) for i in self.indexes[:7]]
        items.append(("Query", link.page("query/") if link.static else "/query"))
        return items


@dataclass
class ResultTable:
    variables: list[str]
    rows: list[list[Value]]
    boolean: bool | None = None


def result_table(repo: Repository, link: Linker, solutions) -> ResultTable:
    """SELECT solutions or an ASK boolean as a table of Values."""
    if isinstance(solutions, ox.QueryBoolean):
        return ResultTable([], [], bool(solutions))
    variables = [v.value for v in solutions.variables]
    rows = []
    for solution in solutions:
        row = []
        for var in variables:
            term = solution[var]
            if term is None:
                row.append(Value(""))
            elif isinstance(term, ox.NamedNode):
                row.append(Value(term.value, link.href(term.value)))
            else:
                row.append(Value(term.value))
        rows.append(row)
    return ResultTable(variables, rows)

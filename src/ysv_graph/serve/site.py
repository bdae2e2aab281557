"""The static site: every HTML page of the server, written to out/site/ with relative links.

Hosted on any static web host (or opened from disk), it has the home page, one page per resource, the index
pages, the example questions with their answers as computed at build time, the search page (search/index.html,
ranked in the browser by search.js over the index search/index.js), and sitemap.xml and robots.txt
(discovery_files), which the server serves too.
"""
from __future__ import annotations

import urllib.parse
from xml.sax.saxutils import escape

import pyoxigraph as ox

from . import querying
from . import search
from .pages import Linker, Pages, result_table
from .repository import Repository
from ..rdf.terms import Base
from ..settings import SETTINGS


def render_site(nquads: bytes, base: Base) -> dict[str, bytes]:
    """The pages, from every named graph as N-Quads (out/ysv.nq)."""
    repo = Repository.from_quads(ox.parse(nquads, format=ox.RdfFormat.N_QUADS), base)
    pages = Pages(repo, querying.examples())
    root = Linker(repo, static=True)
    files: dict[str, bytes] = {}

    def put(path: str, text: str) -> None:
        files["site/" + path] = text.encode("utf-8")

    put("index.html", pages.home(root.at("index.html")))
    for index in pages.indexes:
        here = f"doc/{index.segment}/index.html"
        put(here, pages.index(index.segment, root.at(here)))
    subjects = {quad.subject.value for quad in repo.store.quads_for_pattern(None, None, None, None)
                if isinstance(quad.subject, ox.NamedNode) and quad.graph_name != repo.entailments_graph}
    for iri in sorted(subjects):
        path = root.doc_path(iri)
        if path is None:
            continue
        here = path + "index.html" if path.endswith("/") else path + ".html"
        put(here, pages.resource(iri, root.at(here)))
    put("query/index.html", pages.query(root.at("query/index.html"), "", None))
    for name, _question, text in pages.queries:
        here = f"query/{name}.html"
        link = root.at(here)
        result = repo.store.query(base.rebase(text), use_default_graph_as_union=True)
        put(here, pages.query(link, text, name, result=result_table(repo, link, result)))
    here = "search/index.html"
    put(here, pages.search(root.at(here), search.MAX_QUERY_CHARS))
    files["site/search/index.js"] = search.static_index(search.documents(repo, root.at(here), pages.indexes))
    files["site/search/search.js"] = (SETTINGS.templates_dir / "search.js").read_bytes()
    files.update({"site/" + name: body for name, body in
                  discovery_files([name[len("site/"):] for name in files], base).items()})
    return files


SITEMAP_LIMIT = 50_000  # URLs in one sitemap file (sitemaps.org); above it, sitemap.xml is an index of files


def page_url(page: str, base: Base) -> str:
    """The URL of a site page on the server at base: index.html -> base, doc/vru/index.html -> base + doc/vru/,
    doc/vru/x.html -> base + doc/vru/x, query/index.html -> base + query, query/NAME.html -> base + query?name=NAME
    (the server's query page; a static host answers the others where it serves x.html at x, as most do)."""
    if page == "query/index.html":
        return base.iri + "query"
    if page.startswith("query/"):
        return base.iri + "query?name=" + page[len("query/"):-len(".html")]
    if page == "index.html" or page.endswith("/index.html"):
        return base.iri + page[:-len("index.html")]
    return base.iri + page[:-len(".html")]


def discovery_files(pages: list[str], base: Base) -> dict[str, bytes]:
    """sitemap.xml (every .html page among `pages`, as its URL on the server, sorted) and robots.txt (which
    points to it), by file name. More than SITEMAP_LIMIT URLs: sitemap-1.xml, sitemap-2.xml... and sitemap.xml
    their index."""
    urls = sorted(page_url(page, base) for page in pages if page.endswith(".html"))
    chunks = [urls[i:i + SITEMAP_LIMIT] for i in range(0, len(urls), SITEMAP_LIMIT)] or [[]]

    def sitemap(kind: str, tag: str, locations: list[str]) -> bytes:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 f'<{kind} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines += [f"<{tag}><loc>{escape(location)}</loc></{tag}>" for location in locations]
        return ("\n".join(lines + [f"</{kind}>", ""])).encode("utf-8")

    files = {}
    if len(chunks) == 1:
        files["sitemap.xml"] = sitemap("urlset", "url", chunks[0])
    else:
        for number, chunk in enumerate(chunks, 1):
            files[f"sitemap-{number}.xml"] = sitemap("urlset", "url", chunk)
        files["sitemap.xml"] = sitemap("sitemapindex", "sitemap",
                                       [f"{base.iri}sitemap-{n}.xml" for n in range(1, len(chunks) + 1)])
    files["robots.txt"] = robots_txt(base)
    return files


def robots_txt(base: Base, sitemap: bool = True) -> bytes:
    """Crawlers welcome everywhere but the SPARQL endpoint (under base's path); the sitemap's address, if any."""
    endpoint = urllib.parse.urlsplit(base.iri).path + "sparql"
    text = f"User-agent: *\nDisallow: {endpoint}\n" + (f"\nSitemap: {base.iri}sitemap.xml\n" if sitemap else "")
    return text.encode("utf-8")

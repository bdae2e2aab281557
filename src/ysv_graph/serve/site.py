"""The static site: every HTML page of the server, written to out/site/ with relative links.

Hosted on any static web host (or opened from disk), it has the home page, one page per resource, the index
pages, the example questions with their answers as computed at build time, and the search page (search/index.html,
ranked in the browser by search.js over the index search/index.js).
"""
from __future__ import annotations

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
    return files

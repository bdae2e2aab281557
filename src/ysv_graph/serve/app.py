"""`ysv-graph serve`: the dataset as linked data over HTTP (Starlette on uvicorn, pyoxigraph underneath).

- /id/...   303 See Other to /doc/... (cool URIs: things are not documents)
- /doc/...  content negotiation: HTML, Turtle, JSON-LD, N-Triples, RDF/XML; or an explicit .html/.ttl/... suffix
- /doc/{kind}/  index pages; /  home; /query  query page; /download/{file}  the files of out/
- /search   full-text search (search.py, search_endpoint.py): HTML or JSON
- /sparql   SPARQL 1.1 Protocol (GET, POST form, POST application/sparql-query); read-only; no federation unless
            allowed (allow_federation)

Every response carries a Content-Security-Policy, X-Content-Type-Options and Referrer-Policy (hardening.py); request
targets and header fields are limited in size (414, 431); a SPARQL request has one deadline, waiting included (503
with Retry-After, as when too many wait).
"""
from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
import re
import urllib.parse
from pathlib import Path

import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import hardening
from . import negotiation
from . import querying
from . import search
from . import search_endpoint
from .negotiation import BY_MEDIA_TYPE, GRAPH_FORMATS, RESOURCE_FORMATS, SOLUTIONS_FORMATS
from .pages import Linker, Pages, ResultTable, Value, iri_for_doc_path
from .releases import Releases, current_version
from .profiles import link_header, not_offered, profile_names
from .repository import Repository
from .site import robots_txt
from .sparql import QueryPool, QueryUnavailable, looks_like_update
from ..rdf.terms import Base

DOWNLOAD_TYPES = {
    ".ttl": "text/turtle; charset=utf-8", ".nt": "application/n-triples", ".nq": "application/n-quads",
    ".jsonld": "application/ld+json", ".json": "application/json", ".gz": "application/gzip",
}
TRAVERSAL = re.compile(r"(^|/)\.\.?(/|$)|\\|\x00|%2e|%2f|%5c|%00", re.IGNORECASE)
SD = "http://www.w3.org/ns/sparql-service-description#"
PROFILE_PREFIXES = {"altr": "http://www.w3.org/ns/dx/conneg/altr#",
                    "altr-ext": "http://www.w3.org/ns/dx/connegp/altr-ext#", "prof": "http://www.w3.org/ns/dx/prof/"}


class Site:
    """Everything the request handlers share, loaded once from out/."""

    def __init__(self, out_dir: Path, base: Base, query_timeout: float, max_body: int, workers: int,
                 max_queue: int = 32, allow_federation: bool = False):
        self.out_dir, self.base, self.max_body = Path(out_dir), base, max_body
        self.repo = Repository.from_nquads(self.out_dir / "ysv.nq", base)
        self.manifest = json.loads((self.out_dir / "manifest.json").read_text(encoding="utf-8"))
        self.version = hashlib.sha256((self.out_dir / "manifest.json").read_bytes()).hexdigest()
        self.pages = Pages(self.repo, querying.examples())
        self.search = search.SearchIndex(search.documents(self.repo, Linker(self.repo), self.pages.indexes))
        self.pool = QueryPool(self.out_dir / "ysv.nq", workers=workers, timeout=query_timeout, max_queue=max_queue,
                              allow_federation=allow_federation)
        modified = self.repo.value(ox.NamedNode(base.iri + "id/dataset/ysv"), "http://purl.org/dc/terms/modified")
        self.last_modified = _http_date(modified.value) if modified is not None else None
        self.downloads = set(self.manifest["files"]) | {"manifest.json"}
        self.releases = Releases(self.out_dir, base, current_version(self.repo, base))  # ?version= (releases.py)
        self.profile_names = profile_names(self.pages.views.table)
        self.prefixes = base.prefixes(per_kind=True) | PROFILE_PREFIXES

    def etag(self, *parts: str) -> str:
        return '"' + hashlib.sha256("|".join((self.version,) + parts).encode()).hexdigest()[:32] + '"'


def _http_date(xsd_datetime: str) -> str:
    from datetime import datetime

    moment = datetime.fromisoformat(xsd_datetime.replace("Z", "+00:00"))
    return email.utils.format_datetime(moment, usegmt=True)


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def create_app(out_dir: Path | str = "out", base: Base = Base(), query_timeout: float = 10.0,
               max_body: int = 64 * 1024, workers: int = 2, max_queue: int = 32, allow_federation: bool = False,
               max_url_bytes: int = hardening.DEFAULT_MAX_URL_BYTES,
               max_header_bytes: int = hardening.DEFAULT_MAX_HEADER_BYTES) -> Starlette:
    """The app. query_timeout: seconds a SPARQL request may take from its start, waiting for a worker included;
    max_queue: SPARQL requests that may wait for a worker (more get 503); allow_federation: run SERVICE patterns
    (requests to other hosts); max_url_bytes / max_header_bytes: 414 / 431 above them."""
    site = Site(Path(out_dir), base, query_timeout, max_body, workers, max_queue, allow_federation)
    link = Linker(site.repo)

    def html(text: str, status: int = 200, headers: dict | None = None) -> Response:
        return Response(text, status_code=status, media_type="text/html; charset=utf-8", headers=headers)

    def error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
        if negotiation.choose(request.headers.get("accept"), ["text/html", "text/plain"]) == "text/html":
            return html(site.pages.error(link, status, message), status, headers)
        return PlainTextResponse(message + "\n", status_code=status, headers=headers)

    def unavailable(request: Request, exc: QueryUnavailable) -> Response:
        return error(request, 503, str(exc), {"Retry-After": str(exc.retry_after)})

    def deadline() -> float:
        return asyncio.get_running_loop().time() + site.pool.timeout

    # --- resources ---------------------------------------------------------------------------------------------
    async def home(request: Request) -> Response:
        etag = site.etag("home")
        headers = {"ETag": etag, **({"Last-Modified": site.last_modified} if site.last_modified else {})}
        if _not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        return html(site.pages.home(link), headers=headers)

    async def see_other(request: Request) -> Response:
        path = request.url.path
        prefix = {"/id/": "/doc/", "/def": "/doc/def", "/graph/": "/doc/graph/"}
        for old, new in prefix.items():
            if path.startswith(old):
                target = new + path[len(old):]
                iri = site.base.iri + path.lstrip("/")
                if path.startswith("/def") and not path.startswith("/def/"):
                    target, iri = "/doc/def/", site.base.iri + "def/"
                node = _named_node(iri)
                if node is None:
                    return error(request, 400, f"Bad request: {iri} is not a valid IRI")
                if not (site.repo.is_described(node) or _graph_exists(iri)):
                    return error(request, 404, f"Nothing is known about {iri}")
                return RedirectResponse(target, status_code=303, headers={"Vary": "Accept"})
        return error(request, 404, "Not found")

    def _graph_exists(iri: str) -> bool:
        node = _named_node(iri)
        return node is not None and node in site.repo.graph_names

    async def doc(request: Request) -> Response:
        path = request.path_params["path"]
        if "version" in request.query_params:  # a kept release's data (serve/releases.py)
            answered = site.releases.answer(request, path, error)
            if answered is not None:
                return answered
        path, explicit = negotiation.split_suffix(path)
        params = request.query_params
        asked = negotiation.parse_accept_profile(params.get("_profile") if "_profile" in params
                                                 else request.headers.get("accept-profile"))
        accept = params["_mediatype"].replace(" ", "+") if "_mediatype" in params else request.headers.get("accept")
        vary = ", ".join(name for name, used in (("Accept", explicit is None and "_mediatype" not in params),
                                                  ("Accept-Profile", "_profile" not in params)) if used)
        # an index page: /doc/{kind}/ (our full view, in HTML only)
        if path.endswith("/") and path.count("/") == 1 and path != "def/":
            body = site.pages.index(path[:-1], link)
            if body is None:
                return error(request, 404, f"There is no index of {path[:-1]!r}")
            full = site.pages.views.table["ysv"]
            if asked and negotiation.choose_profile(asked, [full.iri], site.profile_names) is None:
                return error(request, 406, not_offered([full]))
            chosen = explicit or (BY_MEDIA_TYPE.get(negotiation.choose(accept, ["text/html"])))
            if chosen is None or chosen.rdf_format is not None:
                return error(request, 406, "Index pages are available as text/html")
            return _respond(request, body.encode("utf-8"), "text/html; charset=utf-8", path, vary,
                            extra={"Content-Profile": f"<{full.iri}>"})
        candidates = iri_for_doc_path(site.base, path)
        if all(_named_node(iri) is None for iri in candidates):
            return error(request, 400, f"Bad request: {candidates[0]} is not a valid IRI")
        for iri in candidates:
            node = _named_node(iri)
            if node is None:
                continue
            graph = _graph_exists(iri)
            if not graph and not site.repo.is_described(node):
                continue
            offered = site.pages.views.offered(node, graph)
            links = {"Link": link_header(path, offered), **({"Vary": vary} if vary else {})}
            chosen_iri = negotiation.choose_profile(asked, [p.iri for p in offered], site.profile_names) \
                if asked else offered[0].iri
            if chosen_iri is None:
                return error(request, 406, not_offered(offered), links)
            profile = next(p for p in offered if p.iri == chosen_iri)
            fmt = negotiation.resource_format(accept, explicit)
            if fmt is None:
                return error(request, 406, "Available as: " + ", ".join(f.media_type for f in RESOURCE_FORMATS),
                             links)
            headers = {"Content-Profile": f"<{profile.iri}>", **links,
                       "Link": link_header(path, offered, (profile.token, fmt.media_type))}
            etag = site.etag(path, fmt.media_type, profile.token)
            if _not_modified(request, etag):
                return Response(status_code=304, headers=_headers(etag, vary) | headers)
            if fmt.rdf_format is None and profile.token == "ysv":
                body = site.pages.resource(iri, link).encode("utf-8")
            elif fmt.rdf_format is None and profile.token == "alt":
                body = site.pages.alternates(iri, link, offered, path).encode("utf-8")
            elif fmt.rdf_format is None:
                body = site.pages.view(iri, link, profile, site.pages.views.triples(profile, node, graph, path),
                                       offered, path).encode("utf-8")
            else:
                triples = site.pages.views.triples(profile, node, graph, path)
                body = ox.serialize(triples, format=fmt.rdf_format,
                                    prefixes=_used_prefixes(triples, site.prefixes)
                                    if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML,
                                                          ox.RdfFormat.JSON_LD) else None)
            media = negotiation.content_type(fmt.media_type)
            return _respond(request, body, media, path, vary, etag=etag, extra=headers)
        return error(request, 404, f"Nothing is known about {candidates[0]}")

    def _headers(etag: str, vary: str | bool) -> dict:
        headers = {"ETag": etag}
        if site.last_modified:
            headers["Last-Modified"] = site.last_modified
        if vary:
            headers["Vary"] = "Accept" if vary is True else vary
        return headers

    def _respond(request, body: bytes, media: str, key: str, vary: str | bool, etag: str | None = None,
                 extra: dict | None = None) -> Response:
        etag = etag or site.etag(key)
        headers = _headers(etag, vary) | (extra or {})
        if _not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media, headers=headers)

    async def download(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in site.downloads or ("/" in name and not name.startswith("releases/")):
            return error(request, 404, f"No file called {name!r}")
        path = site.out_dir / name
        etag = site.etag("download", name)
        if _not_modified(request, etag):
            return Response(status_code=304, headers=_headers(etag, False))
        media = DOWNLOAD_TYPES.get(path.suffix, "application/octet-stream")
        return Response(path.read_bytes(), media_type=media, headers=_headers(etag, False))

    async def void(request: Request) -> Response:
        return RedirectResponse("/doc/dataset/ysv", status_code=303)

    async def search_page(request: Request) -> Response:
        return search_endpoint.respond(request, site.search, site.pages, link)
    async def discovery(request: Request) -> Response:
        """/robots.txt and /sitemap.xml (and sitemap-N.xml): the static site's own files, as the build wrote them;
        without a site (build --no-site), robots.txt all the same (naming no sitemap) and no sitemap."""
        name = request.url.path.lstrip("/")
        path = site.out_dir / "site" / name
        if path.is_file():
            body = path.read_bytes()
        elif name == "robots.txt":
            body = robots_txt(site.base, sitemap=False)
        else:
            return error(request, 404, "There is no sitemap: the site was built without pages (--no-site)")
        media = "text/plain; charset=utf-8" if name == "robots.txt" else "application/xml"
        return _respond(request, body, media, name, False)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})  # no icon (and no 404 logged)

    # --- SPARQL ------------------------------------------------------------------------------------------------
    async def read_body(request: Request) -> bytes | Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > site.max_body:
            return error(request, 413, f"Request bodies are limited to {site.max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > site.max_body:
                return error(request, 413, f"Request bodies are limited to {site.max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def sparql(request: Request) -> Response:
        by = deadline()
        params = request.query_params
        default_graphs = params.getlist("default-graph-uri")
        named_graphs = params.getlist("named-graph-uri")
        query = params.get("query")
        if "update" in params:
            return error(request, 403, "This endpoint is read-only: SPARQL updates are refused")
        if request.method == "POST":
            body = await read_body(request)
            if isinstance(body, Response):
                return body
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == "application/sparql-update":
                return error(request, 403, "This endpoint is read-only: SPARQL updates are refused")
            if content_type == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
                if "update" in form:
                    return error(request, 403, "This endpoint is read-only: SPARQL updates are refused")
                query = (form.get("query") or [None])[0]
                default_graphs += form.get("default-graph-uri", [])
                named_graphs += form.get("named-graph-uri", [])
            elif content_type == "application/sparql-query":
                query = body.decode("utf-8", "replace")
            else:
                return error(request, 415, "POST a query as application/x-www-form-urlencoded or "
                                           "application/sparql-query")
        if query is None:
            return service_description(request)
        if len(query.encode("utf-8")) > site.max_body:
            return error(request, 413, f"Queries are limited to {site.max_body} bytes")
        if looks_like_update(query):
            return error(request, 403, "This endpoint is read-only: SPARQL updates are refused")
        accept = request.headers.get("accept")
        solutions_type = negotiation.choose(accept, list(SOLUTIONS_FORMATS), negotiation.SPARQL_ALIASES)
        graph_type = negotiation.choose(accept, list(GRAPH_FORMATS), negotiation.SPARQL_ALIASES)
        try:
            outcome = await site.pool.run(site.base.rebase(query), default_graphs, named_graphs, solutions_type,
                                          graph_type, deadline=by)
        except QueryUnavailable as exc:
            return unavailable(request, exc)
        return Response(outcome.body, status_code=outcome.status, media_type=outcome.content_type,
                        headers={"Vary": "Accept"})

    def service_description(request: Request) -> Response:
        accept = request.headers.get("accept")
        choice = negotiation.choose(accept, ["text/turtle", "application/n-triples", "application/ld+json",
                                             "text/html"], negotiation.RESOURCE_ALIASES)
        if choice == "text/html":
            return RedirectResponse("/query", status_code=303)
        if choice is None:
            return error(request, 406, "The service description is available as Turtle, N-Triples or JSON-LD")
        endpoint = str(request.url.replace(query="", fragment="")).rstrip("?")
        service = ox.NamedNode(endpoint)
        sd = ox.NamedNode
        triples = [
            ox.Triple(service, sd(RDF_TYPE), sd(SD + "Service")),
            ox.Triple(service, sd(SD + "endpoint"), service),
            ox.Triple(service, sd(SD + "supportedLanguage"), sd(SD + "SPARQL11Query")),
            ox.Triple(service, sd(SD + "feature"), sd(SD + "UnionDefaultGraph")),
        ]
        for fmt in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                    "Turtle", "N-Triples", "JSON-LD"):
            triples.append(ox.Triple(service, sd(SD + "resultFormat"), sd("http://www.w3.org/ns/formats/" + fmt)))
        dataset = ox.NamedNode(site.base.iri + "id/dataset/ysv/sparql-dataset")
        triples.append(ox.Triple(service, sd(SD + "defaultDataset"), dataset))
        triples.append(ox.Triple(dataset, sd(RDF_TYPE), sd(SD + "Dataset")))
        default_graph = ox.NamedNode(site.base.iri + "id/dataset/ysv/sparql-dataset/default-graph")
        triples.append(ox.Triple(dataset, sd(SD + "defaultGraph"), default_graph))
        triples.append(ox.Triple(default_graph, sd("http://www.w3.org/2000/01/rdf-schema#comment"),
                                 ox.Literal("The union of all named graphs", language="en")))
        for graph in site.repo.graph_names:
            named = ox.NamedNode(graph.value + "#sd")
            triples.append(ox.Triple(dataset, sd(SD + "namedGraph"), named))
            triples.append(ox.Triple(named, sd(SD + "name"), graph))
        body = ox.serialize(triples, format={
            "text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
            "application/ld+json": ox.RdfFormat.JSON_LD}[choice])
        return Response(body, media_type=choice, headers={"Vary": "Accept"})

    # --- the query page ------------------------------------------------------------------------------------------
    async def query_page(request: Request) -> Response:
        by = deadline()
        name = request.query_params.get("name")
        text = request.query_params.get("query")
        if name and not text:
            match = next((q for q in site.pages.queries if q[0] == name), None)
            if match is None:
                return error(request, 404, f"No example query called {name!r}")
            text = match[2]
        if not text:
            return html(site.pages.query(link, _default_query(), name))
        if len(text.encode("utf-8")) > site.max_body:
            return html(site.pages.query(link, "", name, error="the query is too long", status="413"), 413)
        if looks_like_update(text):
            return html(site.pages.query(link, text, name, error="updates are refused", status="403"), 403)
        try:
            outcome = await site.pool.run(site.base.rebase(text), [], [], "application/sparql-results+json", None,
                                          deadline=by)
        except QueryUnavailable as exc:
            return html(site.pages.query(link, text, name, error=str(exc), status="503"), 503,
                        {"Retry-After": str(exc.retry_after)})
        if outcome.status != 200:
            return html(site.pages.query(link, text, name, error=outcome.body.decode("utf-8", "replace"),
                                         status=str(outcome.status)), outcome.status)
        return html(site.pages.query(link, text, name, result=_table(json.loads(outcome.body), link)))

    def _default_query() -> str:
        return ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                "PREFIX ysv: <https://w3id.org/ysv/def/>\n\n"
                "SELECT ?finding ?label WHERE {\n  ?finding a ysv:HeadlineFinding ; rdfs:label ?label .\n}\n"
                "ORDER BY ?label\n")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await site.pool.start()
        try:
            yield
        finally:
            await site.pool.stop()

    routes = [
        Route("/", home),
        Route("/id/{path:path}", see_other),
        Route("/def", see_other),
        Route("/def/{path:path}", see_other),
        Route("/graph/{path:path}", see_other),
        Route("/doc/{path:path}", doc),
        Route("/download/{name:path}", download),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/query", query_page),
        Route("/search", search_page),
        Route("/.well-known/void", void),
        Route("/favicon.ico", favicon),
        Route("/robots.txt", discovery),
        Route("/sitemap.xml", discovery),
        Route("/sitemap-{number:int}.xml", discovery),
    ]
    # the pages' only inline block is their stylesheet (base.html): allowed by its hash, and nothing else inline
    csp = hardening.content_security_policy(hardening.inline_hashes(site.pages.error(link, 404, "")))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[
        Middleware(hardening.SecurityHeaders, csp=csp),
        Middleware(hardening.RequestLimits, max_url=max_url_bytes, max_headers=max_header_bytes),
        Middleware(_RefuseTraversal),
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                   allow_headers=["*"], expose_headers=["ETag", "Last-Modified", "Vary", "Retry-After"]),
    ])
    app.state.site = site
    return app


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _named_node(iri: str) -> ox.NamedNode | None:
    """The IRI as a node, or None when it is not a valid IRI (a path such as /doc/a%20b names none)."""
    try:
        return ox.NamedNode(iri)
    except ValueError:
        return None


def _used_prefixes(triples: list[ox.Triple], prefixes: dict[str, str]) -> dict[str, str]:
    iris = {t.value for triple in triples for t in (triple.subject, triple.predicate, triple.object)
            if isinstance(t, ox.NamedNode)}
    iris |= {triple.object.datatype.value for triple in triples
             if isinstance(triple.object, ox.Literal) and triple.object.datatype is not None}
    return {name: ns for name, ns in prefixes.items() if any(iri.startswith(ns) for iri in iris)}


def _table(results: dict, link: Linker) -> ResultTable:
    if "boolean" in results:
        return ResultTable([], [], bool(results["boolean"]))
    variables = results["head"]["vars"]
    rows = []
    for binding in results["results"]["bindings"]:
        row = []
        for var in variables:
            term = binding.get(var)
            if term is None:
                row.append(Value(""))
            elif term["type"] == "uri":
                row.append(Value(term["value"], link.href(term["value"])))
            else:
                row.append(Value(term["value"]))
        rows.append(row)
    return ResultTable(variables, rows)


class _RefuseTraversal:
    """Refuse paths with '..' or '.' segments, backslashes, NUL, or encoded slashes and dots (400)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            raw_text = raw.decode("latin-1")
            if TRAVERSAL.search(raw_text) or TRAVERSAL.search(scope["path"]):
                response = PlainTextResponse("Bad request: path segments such as '..' are refused\n",
                                             status_code=400)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def serve(out_dir: Path, host: str, port: int, base: Base, query_timeout: float, max_body: int,
          workers: int, max_queue: int = 32, allow_federation: bool = False,
          max_url_bytes: int = hardening.DEFAULT_MAX_URL_BYTES,
          max_header_bytes: int = hardening.DEFAULT_MAX_HEADER_BYTES, max_connections: int | None = 256,
          shutdown_timeout: float = 3.0) -> None:
    """Run the app on uvicorn until SIGINT or SIGTERM; the SPARQL workers stop as soon as either arrives."""
    app = create_app(out_dir, base, query_timeout, max_body, workers, max_queue=max_queue,
                     allow_federation=allow_federation, max_url_bytes=max_url_bytes,
                     max_header_bytes=max_header_bytes)
    config = hardening.config(app, host, port, max_url=max_url_bytes, max_headers=max_header_bytes,
                              max_connections=max_connections, shutdown_timeout=shutdown_timeout,
                              log_level="warning", access_log=False)
    hardening.server(config, app.state.site.pool.abort_threadsafe).run()

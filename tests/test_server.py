"""The linked-data server, tested in-process (Starlette TestClient) against the built dataset."""
from __future__ import annotations

import csv
import io
import json
import warnings

import pyoxigraph as ox
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ysv_graph.serve import querying
from ysv_graph.serve.repository import Repository
from ysv_graph.serve.app import create_app

BASE = "https://w3id.org/ysv/"
CLEVELAND = "vru/vru-cleveland"
REC = "recommendation/rec-outcome-22-training"
RDF_TYPES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
SUFFIXES = {"ttl": "text/turtle", "jsonld": "application/ld+json", "nt": "application/n-triples",
            "rdf": "application/rdf+xml"}


@pytest.fixture(scope="module")
def client(built_out):
    with TestClient(create_app(built_out, query_timeout=1.0, max_body=4096), follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def repo(built_out):
    return Repository.from_nquads(built_out / "ysv.nq")


def _triples(body: bytes, fmt) -> set:
    return {q.triple for q in ox.parse(body, format=fmt)}


# --- cool URIs and content negotiation --------------------------------------------------------------------------

def test_id_redirects_303_to_doc(client):
    response = client.get(f"/id/{CLEVELAND}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/doc/{CLEVELAND}"


def test_ontology_terms_redirect_too(client):
    assert client.get("/def/Finding").headers["location"] == "/doc/def/Finding"
    assert client.get("/doc/def/Finding").status_code == 200


@pytest.mark.parametrize("path", ["/id/vru/no-such-vru", "/doc/vru/no-such-vru", "/doc/nothing/", "/id/finding/x"])
def test_unknown_iri_is_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("media", list(RDF_TYPES))
def test_doc_negotiates_rdf_that_parses_to_the_description(client, repo, media):
    response = client.get(f"/doc/{REC}", headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.headers["vary"].startswith("Accept")
    expected = set(repo.describe(ox.NamedNode(BASE + "id/" + REC)))
    assert _triples(response.content, RDF_TYPES[media]) == expected
    # outgoing triples and the labels of what they point to
    labels = {t for t in expected if t.predicate.value.endswith("#label")}
    assert any(t.subject.value == BASE + "id/group/chief-constables" for t in labels)


@pytest.mark.parametrize("suffix", list(SUFFIXES))
def test_explicit_suffixes(client, repo, suffix):
    response = client.get(f"/doc/{REC}.{suffix}", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == SUFFIXES[suffix]
    assert _triples(response.content, RDF_TYPES[SUFFIXES[suffix]]) == set(
        repo.describe(ox.NamedNode(BASE + "id/" + REC)))


def test_html_is_the_default(client):
    for accept in (None, "*/*", "text/html,application/xhtml+xml,*/*;q=0.8"):
        headers = {"Accept": accept} if accept else {}
        response = client.get(f"/doc/{REC}", headers=headers)
        assert response.headers["content-type"].startswith("text/html")
    assert client.get(f"/doc/{REC}.html").headers["content-type"].startswith("text/html")


def test_q_values_are_honoured(client):
    response = client.get(f"/doc/{REC}", headers={"Accept": "text/html;q=0.2, text/turtle;q=0.9"})
    assert response.headers["content-type"].startswith("text/turtle")


def test_406_for_a_type_we_cannot_produce(client):
    response = client.get(f"/doc/{REC}", headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_etag_last_modified_and_304(client):
    first = client.get(f"/doc/{REC}", headers={"Accept": "text/turtle"})
    etag = first.headers["etag"]
    assert first.headers["last-modified"].endswith("GMT")
    again = client.get(f"/doc/{REC}", headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(f"/doc/{REC}", headers={"Accept": "text/html", "If-None-Match": etag})
    assert other.status_code == 200  # another representation has another ETag


def test_external_things_we_describe_have_pages(client):
    response = client.get("/doc/ext/statistics.data.gov.uk/id/statistical-geography/E23000013",
                          headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert "Cleveland" in response.text


# --- HTML --------------------------------------------------------------------------------------------------------

def test_resource_page_shows_properties_links_sources_and_incoming(client):
    page = client.get(f"/doc/{CLEVELAND}").text
    assert "Cleveland Unit for the Reduction of Violence" in page
    assert 'href="/doc/ext/statistics.data.gov.uk/id/statistical-geography/E23000013"' in page
    assert 'href="/doc/source/pq-answer-2023-06-27"' in page  # the source of the facts
    rec_page = client.get(f"/doc/{REC}").text
    assert 'href="/doc/response/west-mercia-pcc-response"' in rec_page  # incoming link
    assert "2024-03-31" in rec_page


@pytest.mark.parametrize("segment,expected", [("police-force", 44), ("vru", 20), ("recommendation", 4),
                                              ("area", 43)])
def test_index_pages(client, segment, expected):
    page = client.get(f"/doc/{segment}/").text
    assert f"{expected} in all." in page


def test_home_page(client):
    page = client.get("/").text
    assert "Serious youth violence inspection knowledge graph" in page
    assert 'href="/download/ysv.ttl"' in page
    assert 'href="/query?name=vru-areas-funded-2022"' in page


def test_downloads(client, built_out):
    response = client.get("/download/ysv.nq")
    assert response.content == (built_out / "ysv.nq").read_bytes()
    assert client.get("/download/not-a-file.txt").status_code == 404


def test_query_page_runs_an_example(client):
    page = client.get("/query", params={"name": "vru-areas-funded-2022"}).text
    assert 'id="results"' in page and "E23000013" in page and "E23000012" in page


# --- SPARQL 1.1 Protocol ---------------------------------------------------------------------------------------

def _direct(store, text):
    result = querying.run(store, text)
    return result


@pytest.mark.parametrize("path", querying.shipped_queries(), ids=lambda p: p.stem)
def test_every_shipped_query_over_http_equals_pyoxigraph(client, built_out, path):
    text = path.read_text(encoding="utf-8")
    store = querying.open_store(built_out)
    direct = querying.run(store, text)
    response = client.post("/sparql", content=text.encode(), headers={
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    body = response.json()
    if direct.kind == "ask":
        assert body["boolean"] == direct.boolean
        return
    assert body["head"]["vars"] == direct.variables
    got = [[b.get(v, {}).get("value") for v in direct.variables] for b in body["results"]["bindings"]]
    assert got == [[None if t is None else t.value for t in row] for row in direct.rows]


COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def test_get_and_post_form(client, repo):
    total = sum(1 for _ in repo.store.quads_for_pattern(None, None, None, None))
    get = client.get("/sparql", params={"query": COUNT}, headers={"Accept": "application/sparql-results+json"})
    form = client.post("/sparql", data={"query": COUNT}, headers={"Accept": "application/sparql-results+json"})
    for response in (get, form):
        assert response.status_code == 200
        assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == total


@pytest.mark.parametrize("media,check", [
    ("application/sparql-results+json", lambda body: json.loads(body)["head"]["vars"] == ["n"]),
    ("application/sparql-results+xml", lambda body: b"<sparql" in body and b'name="n"' in body),
    ("text/csv", lambda body: next(csv.reader(io.StringIO(body.decode())))[0] == "n"),
    ("text/tab-separated-values", lambda body: body.decode().splitlines()[0] == "?n"),
])
def test_select_result_formats(client, media, check):
    response = client.get("/sparql", params={"query": COUNT}, headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert check(response.content)


@pytest.mark.parametrize("media", ["text/turtle", "application/n-triples", "application/ld+json"])
def test_construct_and_describe_formats(client, repo, media):
    query = f"CONSTRUCT {{ <{BASE}id/{REC}> ?p ?o }} WHERE {{ GRAPH ?g {{ <{BASE}id/{REC}> ?p ?o }} }}"
    response = client.get("/sparql", params={"query": query}, headers={"Accept": media})
    assert response.status_code == 200
    got = _triples(response.content, RDF_TYPES[media])
    # every named graph: the asserted triples and the entailed ones
    assert got == {q.triple for q in repo.store.quads_for_pattern(ox.NamedNode(BASE + "id/" + REC), None, None)}
    describe = client.get("/sparql", params={"query": f"DESCRIBE <{BASE}id/{REC}>"}, headers={"Accept": media})
    assert describe.status_code == 200 and _triples(describe.content, RDF_TYPES[media])


def test_ask(client):
    response = client.get("/sparql", params={"query": f"ASK {{ <{BASE}id/{REC}> ?p ?o }}"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.json()["boolean"] is True


def test_default_and_named_graph_uris_are_honoured(client, repo):
    graph = BASE + "graph/source/westmercia-pcc-response"
    size = len(repo.graph(ox.NamedNode(graph)))
    response = client.get("/sparql", params={"query": COUNT, "default-graph-uri": graph},
                          headers={"Accept": "application/sparql-results+json"})
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == size
    named = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                          "named-graph-uri": graph},
                       headers={"Accept": "application/sparql-results+json"})
    assert [b["g"]["value"] for b in named.json()["results"]["bindings"]] == [graph]


def test_service_description(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    triples = _triples(response.content, ox.RdfFormat.TURTLE)
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert any(t.predicate.value == sd + "endpoint" for t in triples)
    assert any(t.predicate.value == sd + "namedGraph" for t in triples)


@pytest.mark.parametrize("how", ["form-update", "sparql-update", "insert-as-query", "update-param"])
def test_updates_are_refused_403(client, how):
    update = f"INSERT DATA {{ <{BASE}id/x> <{BASE}id/y> <{BASE}id/z> }}"
    if how == "form-update":
        response = client.post("/sparql", data={"update": update})
    elif how == "sparql-update":
        response = client.post("/sparql", content=update, headers={"Content-Type": "application/sparql-update"})
    elif how == "insert-as-query":
        response = client.get("/sparql", params={"query": "PREFIX ex: <http://example.org/>\n" + update})
    else:
        response = client.get("/sparql", params={"update": update})
    assert response.status_code == 403
    count = client.get("/sparql", params={"query": f"ASK {{ <{BASE}id/x> ?p ?o }}"},
                       headers={"Accept": "application/sparql-results+json"})
    assert count.json()["boolean"] is False


def test_malformed_query_is_400_with_the_parser_message(client):
    response = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x "})
    assert response.status_code == 400
    assert "Malformed query" in response.text and "error" in response.text.lower()


def test_oversized_body_is_413(client):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 5000
    assert client.post("/sparql", content=big, headers={"Content-Type": "application/sparql-query"}
                       ).status_code == 413
    assert client.post("/sparql", data={"query": big}).status_code == 413


def test_slow_query_is_stopped_503_and_the_endpoint_recovers(client):
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    response = client.get("/sparql", params={"query": slow})
    assert response.status_code == 503
    for _ in range(3):  # both workers, one of them restarted, answer again
        ok = client.get("/sparql", params={"query": COUNT}, headers={"Accept": "application/sparql-results+json"})
        assert ok.status_code == 200


def test_cors_for_reads(client):
    response = client.get("/sparql", params={"query": COUNT}, headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options("/sparql", headers={"Origin": "https://example.org",
                                                   "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


# --- hostile input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["/doc/../../etc/passwd", "/doc/%2e%2e/%2e%2e/etc/passwd", "/doc/..%2f..%2fetc/passwd",
                                 "/download/..%2fysv.nq", "/doc/vru/%2E%2E/%2E%2E/x", "/doc/a\\..\\b"])
def test_path_traversal_is_refused(client, raw):
    response = client.get(raw)
    assert response.status_code in (400, 404)
    assert "root:" not in response.text


def test_script_in_a_literal_is_shown_as_text(data_copy, tmp_path):
    from ysv_graph.cli import main

    extra = data_copy / "hmicfrs-report" / "zz-hostile.yaml"
    extra.write_text("groups:\n  - id: hostile-group\n    name: <script>alert('x')</script> & co\n",
                     encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "--data", str(data_copy), "--out", str(out)]) == 0
    with TestClient(create_app(out)) as c:
        page = c.get("/doc/group/hostile-group").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in page
    static = (out / "site" / "doc" / "group" / "hostile-group.html").read_text(encoding="utf-8")
    assert "<script>alert" not in static


# --- the static site --------------------------------------------------------------------------------------------

def test_static_site_links_all_resolve(built_out):
    import re

    site = built_out / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 500
    broken = []
    for page in pages:
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            if href.startswith(("http://", "https://", "#", "mailto:")):
                continue
            target = (page.parent / href.split("#")[0]).resolve()
            if not target.exists():
                broken.append((str(page.relative_to(site)), href))
    assert not broken, broken[:10]


def test_static_site_has_every_page_kind(built_out):
    site = built_out / "site"
    for path in ("index.html", "doc/vru/index.html", "doc/vru/vru-cleveland.html", "doc/def/Finding.html",
                 "doc/ext/statistics.data.gov.uk/id/statistical-geography/E23000013.html",
                 "query/vru-areas-funded-2022.html"):
        assert (site / path).is_file(), path
    answer = (site / "query" / "vru-areas-funded-2022.html").read_text(encoding="utf-8")
    assert "E23000013" in answer and "E23000012" in answer

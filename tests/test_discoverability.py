"""Discoverability: the landing page's schema.org Dataset (JSON-LD, parsed back with rdflib), sitemap.xml and
robots.txt (on the server and in the static site), and the "cite this" line of every resource page."""
from __future__ import annotations

import json
import random
import re
import warnings
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, Literal, URIRef
from rdflib.namespace import SDO

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ysv_graph.rdf.terms import Base
from ysv_graph.serve.app import create_app
from ysv_graph.serve.pages import Linker, Pages
from ysv_graph.serve.repository import Repository
from ysv_graph.serve.site import SITEMAP_LIMIT, discovery_files

BASE = "https://w3id.org/ysv/"
DATASET = URIRef(BASE + "id/dataset/ysv")
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


@pytest.fixture(scope="module")
def client(built_out):
    with TestClient(create_app(built_out, query_timeout=1.0), follow_redirects=False) as c:
        yield c


def landing_graph(html: str) -> rdflib.Graph:
    blocks = JSONLD.findall(html)
    assert len(blocks) == 1
    return rdflib.Graph().parse(data=blocks[0], format="json-ld")


# --- the landing page's schema.org Dataset ------------------------------------------------------------------------

def test_the_landing_page_embeds_a_schema_org_dataset_with_the_required_properties(client, built_out):
    served = client.get("/").text
    static = (built_out / "site" / "index.html").read_text(encoding="utf-8")
    assert JSONLD.findall(served) == JSONLD.findall(static)
    graph = landing_graph(served)
    assert (DATASET, RDF.type, SDO.Dataset) in graph
    assert str(graph.value(DATASET, SDO.name)) == "Serious youth violence inspection knowledge graph"
    assert str(graph.value(DATASET, SDO.description)).startswith("Linked data about the HMICFRS inspection")
    assert graph.value(DATASET, SDO.license) == URIRef(
        "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
    publisher = graph.value(DATASET, SDO.publisher)
    assert str(graph.value(publisher, SDO.name)) == "ysv-graph maintainers"
    assert graph.value(DATASET, SDO.version) == Literal("0.2.0")  # data/dataset.yaml: version
    assert str(graph.value(DATASET, SDO.datePublished)) == "2026-11-28"
    assert graph.value(DATASET, SDO.url) == URIRef(BASE)
    # from dct:temporal (dcat:startDate 2019-01-01, dcat:endDate 2024-03-31) as an ISO 8601 interval
    assert graph.value(DATASET, SDO.temporalCoverage) == Literal("2019-01-01/2024-03-31")
    places = set(graph.objects(DATASET, SDO.spatialCoverage))
    assert len(places) == 43  # the 43 police force areas of England and Wales
    assert all((p, RDF.type, SDO.AdministrativeArea) in graph and graph.value(p, SDO.name) for p in places)
    assert str(graph.value(URIRef("http://statistics.data.gov.uk/id/statistical-geography/W15000004"),
                           SDO.name)) == "Dyfed-Powys"
    downloads = {}
    for distribution in graph.objects(DATASET, SDO.distribution):
        assert (distribution, RDF.type, SDO.DataDownload) in graph
        downloads[str(graph.value(distribution, SDO.contentUrl))] = {
            str(f) for f in graph.objects(distribution, SDO.encodingFormat)}
    assert downloads == {
        BASE + "download/ysv.ttl": {"text/turtle"}, BASE + "download/ysv.nt": {"application/n-triples"},
        BASE + "download/ysv.jsonld": {"application/ld+json"}, BASE + "download/ysv.nq": {"application/n-quads"},
        BASE + "download/ysv.nq.gz": {"application/n-quads", "application/gzip"},
        BASE + "download/ysv.ttl.gz": {"text/turtle", "application/gzip"},
    }


def test_the_landing_page_uses_only_schema_org_terms(client):
    graph = landing_graph(client.get("/").text)
    for _s, p, o in graph:
        if p == RDF.type:
            assert o in SDO, o
        else:
            assert p in SDO, p  # rdflib's SDO is closed: a term schema.org does not define is not in it


def test_the_json_ld_cannot_end_its_script_element(built_out):
    """A title holding '</script>' stays inside the data block (the JSON escapes '<')."""
    repo = Repository.from_nquads(built_out / "ysv.nq")
    hostile = "</script><script>alert(1)</script> & <!--"
    repo.store.add(ox.Quad(ox.NamedNode(str(DATASET)), ox.NamedNode("http://purl.org/dc/terms/description"),
                           ox.Literal(hostile, language="en"), ox.NamedNode(BASE + "graph/metadata")))
    page = Pages(repo).home(Linker(repo))
    block = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and page.count("<script") == 1
    assert hostile in {d["@value"] for d in _as_list(json.loads(block)["description"])}


def _as_list(value):
    return value if isinstance(value, list) else [value]


# --- sitemap.xml and robots.txt -----------------------------------------------------------------------------------

def sitemap_urls(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    assert root.tag == SITEMAP + "urlset"
    return [url.findtext(SITEMAP + "loc") for url in root.findall(SITEMAP + "url")]


def test_the_static_sitemap_lists_every_page_once_sorted(built_out):
    site = built_out / "site"
    urls = sitemap_urls((site / "sitemap.xml").read_bytes())
    pages = list(site.rglob("*.html"))
    assert len(urls) == len(pages) > 800
    assert urls == sorted(set(urls))
    assert all(u.startswith(BASE) for u in urls)
    assert BASE in urls and BASE + "doc/vru/" in urls and BASE + "doc/vru/vru-cleveland" in urls
    assert BASE + "query?name=vru-areas-funded-2022" in urls


def test_the_server_serves_the_same_sitemap_and_robots(client, built_out):
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200 and sitemap.headers["content-type"].startswith("application/xml")
    assert sitemap.content == (built_out / "site" / "sitemap.xml").read_bytes()
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    assert robots.content == (built_out / "site" / "robots.txt").read_bytes()
    assert robots.text.splitlines() == ["User-agent: *", "Disallow: /ysv/sparql", "", f"Sitemap: {BASE}sitemap.xml"]
    assert client.get("/sitemap-1.xml").status_code == 404  # one file is enough below 50,000 URLs


def test_every_sitemap_url_is_a_page_of_the_server(client, built_out):
    urls = sitemap_urls((built_out / "site" / "sitemap.xml").read_bytes())
    for url in urls[::40] + [u for u in urls if "query" in u][:3] + [BASE]:
        response = client.get("/" + url[len(BASE):], headers={"Accept": "text/html"})
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("text/html"), url


def test_the_sitemap_is_deterministic_and_split_above_the_limit():
    base = Base()
    pages = [f"doc/thing/t{i}.html" for i in range(SITEMAP_LIMIT + 1)] + ["index.html", "data.json"]
    shuffled = pages[:]
    random.Random(7).shuffle(shuffled)
    files = discovery_files(pages, base)
    assert files == discovery_files(shuffled, base)
    index = ET.fromstring(files["sitemap.xml"])
    assert index.tag == SITEMAP + "sitemapindex"
    assert [s.findtext(SITEMAP + "loc") for s in index] == [BASE + "sitemap-1.xml", BASE + "sitemap-2.xml"]
    first, second = sitemap_urls(files["sitemap-1.xml"]), sitemap_urls(files["sitemap-2.xml"])
    assert (len(first), len(second)) == (SITEMAP_LIMIT, 2)  # every .html page, data.json not
    assert first[0] == BASE


def test_robots_names_the_endpoint_under_the_base_path():
    files = discovery_files(["index.html"], Base("https://data.example.org/"))
    assert files["robots.txt"] == b"User-agent: *\nDisallow: /sparql\n\nSitemap: https://data.example.org/sitemap.xml\n"


# --- cite this ----------------------------------------------------------------------------------------------------

CITE = re.compile(r'<p class="cite" id="cite">Cite as: (.*?)</p>', re.DOTALL)


def test_every_static_resource_page_has_a_cite_line_with_its_permanent_iri(built_out):
    site = built_out / "site" / "doc"
    pages = [p for p in site.rglob("*.html") if p.name != "index.html"]
    assert len(pages) > 700
    for page in pages:
        text = page.read_text(encoding="utf-8")
        cite = CITE.findall(text)
        assert len(cite) == 1, page
        iri = re.search(r'<p class="iri">([^<]+)</p>', text).group(1)
        assert 'Serious youth violence inspection knowledge graph, <a href="' in cite[0], page
        assert '0.2.0.html">release 0.2.0</a> (2026-12-04).' in cite[0], page
        assert cite[0].endswith(f'<span class="iri">{iri}</span>'), page
        assert "/doc/" not in iri


def test_the_cite_line_names_the_thing_and_its_id_iri(client):
    text = client.get("/doc/vru/vru-cleveland").text
    assert CITE.findall(text) == [
        "Cleveland Unit for the Reduction of Violence. Serious youth violence inspection knowledge graph, "
        '<a href="/doc/dataset/ysv/release/0.2.0">release 0.2.0</a> (2026-12-04). '
        f'<span class="iri">{BASE}id/vru/vru-cleveland</span>']


def test_the_cite_line_links_the_release_only_when_the_graph_describes_it(built_out):
    repo = Repository.from_nquads(built_out / "ysv.nq")
    release = ox.NamedNode(BASE + "id/dataset/ysv/release/0.2.0")
    described = Pages(repo).resource(BASE + "id/vru/vru-cleveland", Linker(repo))
    # the release's own date (data/dataset.yaml: released), not the dataset's first issue (2026-11-28)
    assert '<a href="/doc/dataset/ysv/release/0.2.0">release 0.2.0</a> (2026-12-04).' in CITE.findall(described)[0]
    kept = b"".join(line for line in (built_out / "ysv.nq").read_bytes().splitlines(keepends=True)
                    if not line.startswith(f"<{release.value}> ".encode()))
    repo = Repository.from_quads(ox.parse(kept, format=ox.RdfFormat.N_QUADS), Base())
    assert not repo.is_described(release)
    undescribed = Pages(repo).resource(BASE + "id/vru/vru-cleveland", Linker(repo))
    cite = CITE.findall(undescribed)[0]
    assert "release 0.2.0 (2026-11-28)." in cite and "href" not in cite  # the dataset's dct:issued, no link


def test_without_a_site_robots_is_still_served_and_the_sitemap_is_404(built, tmp_path):
    from ysv_graph.pipeline import writing

    out = tmp_path / "out"
    writing.write_atomically(out, {name: data for name, data in built.files.items() if not name.startswith("site/")})
    with TestClient(create_app(out, query_timeout=1.0)) as bare:
        assert bare.get("/robots.txt").text == "User-agent: *\nDisallow: /ysv/sparql\n"
        assert bare.get("/sitemap.xml", headers={"Accept": "text/plain"}).status_code == 404

"""Search: the server's /search (SQLite FTS5), and the static site's index ranked by search.js (in Chromium).

The first result of each of the six searches a person may type was chosen by reading the data (out/ysv.ttl):
  VRU, violence reduction -> group/violence-reduction-units, "Violence reduction units" (the report's group of the
                             Home Office-funded units; "VRU" is in no label: search.SYNONYMS expands it)
  KCPO                    -> instrument/knife-crime-prevention-orders, "Knife crime prevention orders (KCPOs)"
  outcome 22              -> instrument/outcome-22, "Outcome 22 (diversionary, educational or intervention activity)"
  Humber                  -> vru/vru-humberside, "Humber Violence Prevention Partnership" (the whole word Humber; the
                             Humberside area and Humberside Police follow, found by the word's beginning)
  stop and search         -> instrument/stop-and-search, "Stop and search" (the power; the theme "Stop and search
                             training" and "Section 60 stop and search" follow)
"""
from __future__ import annotations

import json
import re
import urllib.parse
import warnings

import pyoxigraph as ox
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ysv_graph.serve import search
from ysv_graph.serve.app import create_app
from ysv_graph.serve.pages import Linker, Pages
from ysv_graph.serve.repository import Repository
from ysv_graph.settings import SETTINGS

ID = "https://w3id.org/ysv/id/"
AREA_HUMBERSIDE = "http://statistics.data.gov.uk/id/statistical-geography/E23000012"
FIRST = {
    "VRU": ID + "group/violence-reduction-units",
    "violence reduction": ID + "group/violence-reduction-units",
    "KCPO": ID + "instrument/knife-crime-prevention-orders",
    "outcome 22": ID + "instrument/outcome-22",
    "Humber": ID + "vru/vru-humberside",
    "stop and search": ID + "instrument/stop-and-search",
}
# a wider check of "ranks as the server does": more queries, compared result for result
MORE_QUERIES = ["police", "knife crime", "Surrey PCC", "serious youth violence", "VRUs", "funding 2022", "Cleveland",
                "E23000012", "evaluation report", "home office", "and or not", "the", "café", "x y z", "duty", "o"]


@pytest.fixture(scope="module")
def client(built_out):
    with TestClient(create_app(built_out, query_timeout=1.0), follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def repo(built_out):
    return Repository.from_nquads(built_out / "ysv.nq")


def _json(client, q: str) -> dict:
    response = client.get("/search", params={"q": q}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- the six searches, on the server -------------------------------------------------------------------------------

@pytest.mark.parametrize("q", list(FIRST))
def test_the_server_finds_what_a_person_means(client, q):
    body = _json(client, q)
    assert body["query"] == q
    assert body["results"][0]["iri"] == FIRST[q], [r["iri"] for r in body["results"][:5]]


def test_the_first_results_say_what_they_are(client):
    first = _json(client, "outcome 22")["results"][0]
    assert first == {
        "iri": ID + "instrument/outcome-22",
        "label": "Outcome 22 (diversionary, educational or intervention activity)",
        "kind": "Police power or instrument",
        "href": "/doc/instrument/outcome-22",
        "snippet": first["snippet"],
    }
    assert "Outcome 22" in first["snippet"] and "\x02" not in first["snippet"]
    assert client.get(first["href"]).status_code == 200
    assert _json(client, "VRU")["results"][0]["label"] == "Violence reduction units"
    assert _json(client, "KCPO")["results"][0]["kind"] == "Police power or instrument"


def test_humber_also_finds_humberside_by_the_words_beginning(client):
    iris = [r["iri"] for r in _json(client, "Humber")["results"]]
    assert AREA_HUMBERSIDE in iris[:5] and ID + "police-force/humberside" in iris[:5], iris[:5]


def test_stop_and_search_ranks_the_power_before_the_theme_and_section_60(client):
    iris = [r["iri"] for r in _json(client, "stop and search")["results"]]
    assert iris[:3] == [ID + "instrument/stop-and-search", ID + "theme/theme-stop-and-search",
                        ID + "instrument/section-60"]


def test_kcpo_finds_only_the_orders_whose_label_spells_it(client):
    body = _json(client, "KCPO")
    assert [r["iri"] for r in body["results"]] == [ID + "instrument/knife-crime-prevention-orders"]
    assert body["total"] == 1


def test_an_abbreviation_also_finds_what_it_stands_for(client):
    vru = {r["iri"] for r in _json(client, "VRU")["results"]}
    assert ID + "vru/vru-metropolitan" in vru  # "London Violence Reduction Unit": no "VRU" in its text
    assert ID + "group/violence-reduction-units" in {r["iri"] for r in _json(client, "vrus")["results"]}


# --- the page, limits and hostile input ----------------------------------------------------------------------------

def test_the_html_page_lists_the_results_in_the_sites_layout(client):
    response = client.get("/search", params={"q": "outcome 22"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    items = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> <span class="note">([^<]+)</span>', response.text)
    assert items[0] == ("/doc/instrument/outcome-22",
                        "Outcome 22 (diversionary, educational or intervention activity)", "Police power or instrument")
    assert "<mark>Outcome</mark> <mark>22</mark>" in response.text
    assert 'value="outcome 22"' in response.text
    assert '<nav aria-label="Main">' in response.text  # the site's layout


def test_an_empty_query_shows_the_form(client):
    for q in ("", "   "):
        response = client.get("/search", params={"q": q})
        assert response.status_code == 200
        assert 'name="q"' in response.text and "<li><a" not in response.text
    assert client.get("/search").status_code == 200
    assert _json(client, "") == {"query": "", "results": [], "total": 0}


def test_every_page_has_a_search_box(client):
    for path in ("/", "/doc/vru/", "/doc/vru/vru-cleveland", "/query"):
        assert '<form role="search" method="get" action="/search">' in client.get(path).text, path


def test_a_query_is_limited_to_200_characters(client):
    assert client.get("/search", params={"q": "a" * 200}).status_code == 200
    response = client.get("/search", params={"q": "a" * 201})
    assert response.status_code == 400 and "limited to 200 characters" in response.text
    body = client.get("/search", params={"q": "a" * 201}, headers={"Accept": "application/json"})
    assert body.status_code == 400 and body.json()["results"] == [] and "200 characters" in body.json()["error"]


def test_results_are_capped(client):
    body = _json(client, "the")
    assert len(body["results"]) == search.MAX_RESULTS == 50
    assert body["total"] > 50
    assert f"the first 50 are shown" in client.get("/search", params={"q": "the"}).text


def test_a_client_that_takes_neither_html_nor_json_gets_406(client):
    assert client.get("/search?q=x", headers={"Accept": "image/png"}).status_code == 406


HOSTILE = ['"', "'", "(", ")))", "a AND", "NOT", "OR b", "NEAR(a b)", "a*", "*", "^x", "-x", "x:y", "label:x",
           '"a" OR b*', "{a b}", "[", "\\", "%", "\x00", "a\x00b", "\x02x\x03", "\ufffd", "\u202e", "💥", "a" * 200,
           "<script>alert(1)</script>", "&amp;", "x" * 199 + "é"]


@pytest.mark.parametrize("q", HOSTILE)
def test_no_input_gives_a_server_error(client, q):
    for accept in ("text/html", "application/json"):
        response = client.get("/search", params={"q": q}, headers={"Accept": accept})
        assert response.status_code == 200, (q, response.text[:200])
        if accept == "application/json":
            assert isinstance(response.json()["results"], list)
        else:
            assert "<script>" not in response.text


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00", "%C0%AF", "%", "%%", "q=%E2%80", "%0D%0A"])
def test_malformed_encodings_give_no_server_error(client, raw):
    response = client.get("/search?q=" + raw, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert isinstance(response.json()["query"], str)


def test_a_lone_surrogate_or_a_control_character_is_replaced():
    from ysv_graph.serve.search_endpoint import printable

    assert printable("a\ud800b") == "a?b"
    assert printable("a\x00b\x02c") == "a b c"


def test_the_words_reach_fts5_quoted():
    query = search.Query.parse('stop" OR (and) NEAR search*')
    assert query.words == ["stop", "or", "and", "near", "search"]
    assert query.fts() == ('("stop" OR "stop"*) AND ("or" OR "or"*) AND ("and" OR "and"*) AND ("near" OR "near"*) '
                           'AND ("search" OR "search"*)')
    assert search.Query.parse("VRU").fts() == '("vru" OR "vru"* OR "violence reduction unit"*)'
    assert len(search.Query.parse("a " * 40).words) == search.MAX_WORDS


def test_label_tiers():
    phrase = [["stop", "and", "search"]]
    assert search.label_tier("Stop and search", phrase) == 0
    assert search.label_tier("Stop and search training", phrase) == 1
    assert search.label_tier("Section 60 stop and search", phrase) == 2
    assert search.label_tier("Stop and searches", phrase) == 0  # a plural is the word
    assert search.label_tier("Stop and searching", phrase) == 3  # the last word's beginning
    assert search.label_tier("Stop or search", phrase) == 6
    assert search.label_tier("Outcome 22 (diversionary)", [["outcome", "22"]]) == 0  # without its parenthesis


def _document(repo: Repository, iri: str) -> search.Document:
    return next(d for d in search.documents(repo, Linker(repo), Pages(repo).indexes) if d.iri == iri)


def test_documents_hold_the_texts_of_the_data(repo):
    outcome = _document(repo, ID + "instrument/outcome-22")
    assert outcome.label == "Outcome 22 (diversionary, educational or intervention activity)"
    assert outcome.names == "22"  # skos:notation; the labels equal to the label are not repeated
    assert "Lammy Review" in outcome.text  # skos:definition
    assert "Counting Rules" in outcome.text  # skos:editorialNote
    assert "it is not in the public interest" in outcome.text  # ysv:officialWording
    assert outcome.kind == "Police power or instrument" and outcome.href == "/doc/instrument/outcome-22"
    hmicfrs = _document(repo, ID + "organisation/hmicfrs")
    assert "HMICFRS" in hmicfrs.names.split("\n")  # skos:altLabel
    statement = _document(repo, ID + "response-statement/surrey-stmt-no-vru")
    assert "Surrey has no violence reduction unit" in statement.text and statement.kind == "Response statement"


def test_documents_come_from_the_source_graphs_only(repo):
    iris = {d.iri for d in search.documents(repo, Linker(repo), Pages(repo).indexes)}
    assert ID + "vru/vru-cleveland" in iris and AREA_HUMBERSIDE in iris
    assert not any(iri.startswith(ID + "dataset/") for iri in iris)  # the metadata graph's
    assert "https://w3id.org/ysv/def/ViolenceReductionUnit" not in iris  # the ontology's


def _tiny_repo(description: str, label: str) -> Repository:
    subject = ox.NamedNode(ID + "finding/evil")
    graph = ox.NamedNode("https://w3id.org/ysv/graph/source/test")
    quads = [
        ox.Quad(subject, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode("https://w3id.org/ysv/def/Finding"), graph),
        ox.Quad(subject, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), ox.Literal(label), graph),
        ox.Quad(subject, ox.NamedNode("http://purl.org/dc/terms/description"), ox.Literal(description), graph),
    ]
    return Repository.from_quads(quads)


def test_data_cannot_inject_html_or_marks_into_a_snippet():
    repo = _tiny_repo("before \x02fake\x03 after <img src=x onerror=alert(1)> knife", "Evil <b>label</b>")
    index = search.SearchIndex(search.documents(repo, Linker(repo), Pages(repo).indexes))
    hit = index.search("knife").hits[0]
    assert [text for text, marked in hit.segments if marked] == ["knife"]
    page = Pages(repo).search(Linker(repo), search.MAX_QUERY_CHARS, "knife", [hit], "1 match.")
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>label" not in page and "Evil &lt;b&gt;label&lt;/b&gt;" in page
    assert page.count("<mark>") == 1 and "<mark>knife</mark>" in page


# --- the static site's index ---------------------------------------------------------------------------------------

def _static_payload(built_out) -> dict:
    text = (built_out / "site" / "search" / "index.js").read_text(encoding="ascii")
    prefix = "window.YSV_SEARCH_INDEX = "
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return json.loads(line[len(prefix):].rstrip(";"))


def test_the_static_index_is_written_and_sorted(built_out):
    payload = _static_payload(built_out)
    iris = [row[0] for row in payload["documents"]]
    assert iris == sorted(iris) and len(iris) == len(set(iris))
    assert set(FIRST.values()) <= set(iris)
    by_iri = {row[0]: dict(zip(payload["fields"], row)) for row in payload["documents"]}
    assert by_iri[ID + "vru/vru-humberside"]["href"] == "../doc/vru/vru-humberside.html"
    assert by_iri[AREA_HUMBERSIDE]["href"] == \
        "../doc/ext/statistics.data.gov.uk/id/statistical-geography/E23000012.html"
    for row in by_iri.values():  # every link goes to a page the site has
        assert (built_out / "site" / "search" / row["href"]).resolve().is_file(), row["href"]
    assert payload["synonyms"]["vru"] == "violence reduction unit"
    assert (built_out / "site" / "search" / "search.js").read_bytes() == \
        (SETTINGS.templates_dir / "search.js").read_bytes()


def _static_ranking(repo: Repository, q: str) -> tuple[str, list[str]]:
    """What the server's ranking gives over the static site's documents: its summary and the result links."""
    from ysv_graph.serve.search_endpoint import summary

    docs = search.documents(repo, Linker(repo, static=True).at("search/index.html"), Pages(repo).indexes)
    results = search.SearchIndex(docs).search(q)
    return summary(results), [hit.href for hit in results.hits]


@pytest.mark.slow
def test_the_static_search_ranks_as_the_server_does(built_out, repo):
    """In Chromium, from disk: the six searches' first results, and for more queries every result in order."""
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, FLAGS, watch

    page_path = built_out / "site" / "search" / "index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page()
        problems = watch(page)
        for q in list(FIRST) + MORE_QUERIES:
            page.goto(page_path.as_uri() + "?q=" + urllib.parse.quote(q))
            links = page.locator("#search-results > li > a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            status = page.locator("#search-status").inner_text()
            expected_status, expected_links = _static_ranking(repo, q)
            assert (status, links) == (expected_status, expected_links), q
            if q in FIRST:
                iri = FIRST[q]
                assert links[0] == "../doc/" + iri.removeprefix(ID) + ".html", (q, links[:3])
        browser.close()
    assert problems == [], problems


def test_the_search_pages_run_no_inline_script(client, built_out):
    response = client.get("/search", params={"q": "VRU"})
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "<script" not in response.text  # the server ranks; its page needs no script
    static = (built_out / "site" / "search" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*>", static) == ['<script src="index.js">', '<script src="search.js">']
    assert static.count("</script>") == 2 and "<script src=\"index.js\"></script>" in static

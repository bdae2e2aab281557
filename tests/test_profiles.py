"""Content negotiation by profile (W3C dx-prof-conneg): the server in-process (Starlette TestClient) on the real
build, and what it returns read back with rdflib."""
from __future__ import annotations

import re
import urllib.parse
import warnings

import pytest
import rdflib
from rdflib import RDF, XSD, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROF, SDO, VOID

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ysv_graph.serve.app import create_app
from ysv_graph.serve.negotiation import choose_profile, parse_accept_profile

BASE = "https://w3id.org/ysv/"
YSV = BASE + "def/profile/ysv"
ALT = "http://www.w3.org/ns/dx/conneg/altr"
ALTR = rdflib.Namespace("http://www.w3.org/ns/dx/conneg/altr#")
ALTR_EXT = rdflib.Namespace("http://www.w3.org/ns/dx/connegp/altr-ext#")
PROFILES = {"ysv": YSV, "schema": "https://schema.org/", "dcat": "http://www.w3.org/ns/dcat",
            "void": "http://rdfs.org/ns/void", "alt": ALT}
RDF_MEDIA = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt",
             "application/rdf+xml": "xml"}
MEDIA = ["text/html", *RDF_MEDIA]
DATASET = "dataset/ysv"
FINDING = "finding/finding-vru-early-evidence"
DATASET_IRI = URIRef(BASE + "id/dataset/ysv")
OGL = URIRef("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")


@pytest.fixture(scope="module")
def client(built_out):
    with TestClient(create_app(built_out, query_timeout=1.0, max_body=4096), follow_redirects=False) as c:
        yield c


def get(client, path: str, profile: str | None = None, media: str | None = None, **headers):
    params = {k: v for k, v in (("_profile", profile), ("_mediatype", media)) if v is not None}
    return client.get(f"/doc/{path}" + ("?" + urllib.parse.urlencode(params) if params else ""), headers=headers)


def parsed(response) -> rdflib.Graph:
    media = response.headers["content-type"].split(";")[0]
    return rdflib.Graph().parse(data=response.content, format=RDF_MEDIA[media])


# --- every profile in every media type ----------------------------------------------------------------------------

@pytest.mark.parametrize("media", MEDIA)
@pytest.mark.parametrize("token", list(PROFILES))
def test_the_dataset_has_every_profile_in_every_media_type(client, token, media):
    response = get(client, DATASET, profile=token, media=media)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.headers["content-profile"] == f"<{PROFILES[token]}>"
    if media == "text/html":
        assert "<h1>" in response.text and "Serious youth violence inspection knowledge graph" in response.text
    else:
        assert len(parsed(response)) > 5


@pytest.mark.parametrize("media", MEDIA)
@pytest.mark.parametrize("token", ["ysv", "schema", "alt"])
def test_a_finding_has_the_full_schema_org_and_alternates_profiles(client, token, media):
    response = get(client, FINDING, profile=token, media=media)
    assert response.status_code == 200
    assert response.headers["content-profile"] == f"<{PROFILES[token]}>"
    if media != "text/html":
        graph = parsed(response)
        if token == "schema":
            assert (URIRef(BASE + "id/" + FINDING), RDF.type, SDO.Claim) in graph  # ysv:Finding ⊑ schema:Claim


@pytest.mark.parametrize("token", ["dcat", "void"])
def test_a_profile_the_resource_does_not_offer_is_406_with_what_it_offers(client, token):
    response = get(client, FINDING, profile=token, Accept="text/plain")
    assert response.status_code == 406
    offered = dict(re.findall(r"(\w+) <([^>]+)>", response.text))
    assert offered == {"ysv": YSV, "schema": "https://schema.org/", "alt": ALT}


@pytest.mark.parametrize("asked", ["nonsense", "https://example.org/profile/x", "<https://example.org/p>;q=1"])
def test_an_unknown_profile_is_406_listing_the_offered_ones_in_html_too(client, asked):
    response = client.get(f"/doc/{DATASET}", headers={"Accept-Profile": asked})
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("text/html")
    for token, iri in PROFILES.items():
        assert f"{token} &lt;{iri}&gt;" in response.text
    assert "Link" in response.headers  # the alternates, even on a 406


# --- the default, and existing clients ----------------------------------------------------------------------------

def test_no_profile_asked_is_the_full_view_as_before(client):
    response = client.get(f"/doc/{FINDING}", headers={"Accept": "text/turtle"})
    assert response.headers["content-profile"] == f"<{YSV}>"
    assert response.headers["vary"].startswith("Accept, Accept-Profile")
    plain = get(client, FINDING, profile="ysv", media="text/turtle")
    assert parsed(response).isomorphic(parsed(plain))


@pytest.mark.parametrize("path", [FINDING, FINDING + ".ttl", "def/Finding", "vru/", "graph/metadata",
                                  "ext/statistics.data.gov.uk/id/statistical-geography/E23000013", DATASET + ".jsonld"])
def test_content_profile_on_every_doc_response(client, path):
    response = client.get(f"/doc/{path}")
    assert response.status_code == 200, path
    assert response.headers["content-profile"] == f"<{YSV}>"


def test_index_pages_offer_the_full_view_only(client):
    assert client.get("/doc/vru/?_profile=ysv").status_code == 200
    response = client.get("/doc/vru/", headers={"Accept-Profile": "<https://schema.org/>", "Accept": "text/plain"})
    assert response.status_code == 406 and f"ysv <{YSV}>" in response.text and "schema" not in response.text


def test_a_named_graph_offers_its_triples_and_the_alternates(client):
    assert get(client, "graph/metadata", profile="alt", media="text/turtle").status_code == 200
    assert get(client, "graph/metadata", profile="schema").status_code == 406


# --- Accept-Profile, _profile, _mediatype -------------------------------------------------------------------------

@pytest.mark.parametrize("header, expected", [
    ("<http://www.w3.org/ns/dcat>;q=0.5, <http://rdfs.org/ns/void>;q=0.9", "void"),
    ("<http://rdfs.org/ns/void>;q=0.2,<http://www.w3.org/ns/dcat>", "dcat"),  # no q: 1
    ("<https://example.org/unknown>;q=1.0, <https://schema.org/>;q=0.1", "schema"),
    ("<https://schema.org/>;q=0, <http://www.w3.org/ns/dx/conneg/altr>;q=0.3", "alt"),
    ("<http://www.w3.org/ns/dcat>, <http://rdfs.org/ns/void>", "dcat"),  # equal q: the client's order
    ("dcat", "dcat"), ("https://schema.org", "schema"),  # a token, an IRI without brackets or slash
])
def test_accept_profile_with_q_values(client, header, expected):
    response = client.get(f"/doc/{DATASET}", headers={"Accept-Profile": header, "Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["content-profile"] == f"<{PROFILES[expected]}>"


def test_a_profile_refused_with_q_0_is_not_given(client):
    response = client.get(f"/doc/{DATASET}", headers={"Accept-Profile": f"<{YSV}>;q=0", "Accept": "text/plain"})
    assert response.status_code == 406


@pytest.mark.parametrize("value", ["void", "http://rdfs.org/ns/void"])
def test_the_profile_parameter_by_token_or_iri_overrides_the_header(client, value):
    response = client.get(f"/doc/{DATASET}", params={"_profile": value},
                          headers={"Accept-Profile": "<http://www.w3.org/ns/dcat>", "Accept": "text/turtle"})
    assert response.headers["content-profile"] == "<http://rdfs.org/ns/void>"
    assert "Accept-Profile" not in response.headers["vary"]
    assert (DATASET_IRI, VOID.triples, None) in parsed(response)


def test_the_mediatype_parameter_overrides_accept_and_reads_a_raw_plus(client):
    response = client.get(f"/doc/{DATASET}?_profile=schema&_mediatype=application/ld+json",  # '+' read as ' '
                          headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert (DATASET_IRI, RDF.type, SDO.Dataset) in parsed(response)
    assert get(client, DATASET, media="image/png").status_code == 406


def test_a_suffix_beats_the_mediatype_parameter(client):
    response = client.get(f"/doc/{DATASET}.nt?_mediatype=text/html&_profile=dcat")
    assert response.headers["content-type"] == "application/n-triples"
    assert response.headers["content-profile"] == "<http://www.w3.org/ns/dcat>"


def test_etags_differ_by_profile_and_a_304_keeps_the_profile(client):
    first = get(client, DATASET, profile="dcat", media="text/turtle")
    other = get(client, DATASET, profile="void", media="text/turtle")
    assert first.headers["etag"] != other.headers["etag"]
    again = get(client, DATASET, profile="dcat", media="text/turtle", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["content-profile"] == "<http://www.w3.org/ns/dcat>"


@pytest.mark.parametrize("header", [
    "", ",,,", ";;;", "<", ">", "<>", "<<<>>>", "<a>;q=", "<a>;q=abc", "<a>;q=nan", "<a>;q=1e999", "<a>;q=-1",
    "dcat;q=0.5;q=0.9", "\u00e9\u00e8", "x" * 7000, "<" + "a," * 3000 + ">", ",".join(["<a>"] * 2000),
    "<javascript:alert(1)>", "<http://www.w3.org/ns/dcat> <http://rdfs.org/ns/void>", "*", "*/*", "ysv;q=0.5, *",
])
def test_weird_accept_profile_headers_never_give_500(client, header):
    response = client.get(f"/doc/{DATASET}", headers={"Accept-Profile": header.encode("utf-8")})
    assert response.status_code in (200, 406, 431)
    if response.status_code == 200:
        assert response.headers["content-profile"].startswith("<")


@pytest.mark.parametrize("value", ["", "x" * 6000, "<>", "%00", "\x00", "ysv,", ",ysv", "<script>", "a b",
                                   "dcat;q=2", "../../etc/passwd", "\U0001f600"])
@pytest.mark.parametrize("parameter", ["_profile", "_mediatype"])
def test_odd_profile_and_mediatype_parameters_never_give_500(client, parameter, value):
    response = client.get(f"/doc/{FINDING}", params={parameter: value})
    assert response.status_code in (200, 406, 414)
    assert "<script>" not in response.text


# --- the Link header and the alternates view ----------------------------------------------------------------------

def test_every_link_header_alternate_answers_with_its_type_and_profile(client):
    response = client.get(f"/doc/{DATASET}", headers={"Accept": "text/turtle"})
    links = re.findall(r'<([^>]+)>; rel="(self|alternate)"; type="([^"]+)"; profile="([^"]+)"',
                       response.headers["link"])
    assert len(links) == 25  # 5 profiles x 5 media types
    assert [link[1] for link in links].count("self") == 1
    tokens = dict(re.findall(r'rel="type"; token="(\w+)"; anchor="([^"]+)"', response.headers["link"]))
    assert tokens == PROFILES
    for target, _rel, media, profile in links:
        answer = client.get(target)
        assert answer.status_code == 200, target
        assert answer.headers["content-type"].split(";")[0] == media
        assert answer.headers["content-profile"] == f"<{profile}>"


def test_the_alternates_view_in_turtle_lists_profiles_and_representations(client):
    graph = parsed(get(client, DATASET, profile="alt", media="text/turtle"))
    doc = URIRef(BASE + "doc/" + DATASET)
    representations = set(graph.objects(doc, ALTR.hasRepresentation))
    assert len(representations) == 25
    pairs = {(str(graph.value(r, DCTERMS.conformsTo)), str(graph.value(r, DCTERMS.format))) for r in representations}
    assert pairs == {(iri, "http://www.iana.org/assignments/media-types/" + m) for iri in PROFILES.values()
                     for m in MEDIA}
    default = graph.value(doc, ALTR.hasDefaultRepresentation)
    assert str(graph.value(default, DCTERMS.conformsTo)) == YSV
    assert str(graph.value(default, DCTERMS.format)).endswith("/text/html")
    assert str(graph.value(doc, ALTR_EXT.hasDefaultProfile)) == YSV
    for token, iri in PROFILES.items():
        profile = URIRef(iri)
        assert (profile, RDF.type, PROF.Profile) in graph
        assert graph.value(profile, DCTERMS.identifier) == Literal(token, datatype=XSD.token)
        assert graph.value(profile, DCTERMS.title) is not None
        assert {str(m) for m in graph.objects(profile, ALTR_EXT.hasResourceFormat)} == set(MEDIA)


def test_the_alternates_view_in_html_links_every_representation(client):
    page = get(client, FINDING, profile="alt").text
    assert 'id="profiles"' in page
    for token in ("ysv", "schema", "alt"):
        assert f"<code>{token}</code>" in page
        for media in MEDIA:
            assert f'href="/doc/{FINDING}?_profile={token}&amp;_mediatype={urllib.parse.quote(media, safe="")}"' in page
    assert "<code>dcat</code>" not in page


def test_the_full_view_page_links_the_other_views(client):
    page = client.get(f"/doc/{DATASET}").text
    for token in ("schema", "dcat", "void", "alt"):
        assert f"/doc/{DATASET}?_profile={token}&amp;_mediatype=text%2Fhtml" in page


# --- what the views hold ------------------------------------------------------------------------------------------

def test_the_dcat_view_is_the_datasets_dcat_description(client):
    graph = parsed(get(client, DATASET, profile="dcat", media="text/turtle"))
    assert (DATASET_IRI, RDF.type, DCAT.Dataset) in graph
    assert (DATASET_IRI, DCTERMS.license, OGL) in graph
    assert str(graph.value(DATASET_IRI, DCTERMS.issued)) == "2026-11-28"
    downloads = {str(u).rsplit("/", 1)[1] for d in graph.objects(DATASET_IRI, DCAT.distribution)
                 for u in graph.objects(d, DCAT.downloadURL)}
    assert downloads == {"ysv.ttl", "ysv.jsonld", "ysv.nt", "ysv.nq", "ysv.nq.gz", "ysv.ttl.gz"}
    for distribution in graph.objects(DATASET_IRI, DCAT.distribution):
        assert (distribution, RDF.type, DCAT.Distribution) in graph
        assert graph.value(distribution, DCAT.mediaType) is not None
    period = graph.value(DATASET_IRI, DCTERMS.temporal)
    assert (str(graph.value(period, DCAT.startDate)), str(graph.value(period, DCAT.endDate))) == (
        "2019-01-01", "2024-03-31")
    assert len(set(graph.objects(DATASET_IRI, DCTERMS.spatial))) == 43  # the police force areas
    assert (URIRef(BASE + "id/dataset/catalog"), DCAT.dataset, DATASET_IRI) in graph
    assert not [p for p in graph.predicates() if str(p).startswith(str(VOID))]


def test_the_void_view_is_the_datasets_void_description(client, built_out):
    graph = parsed(get(client, DATASET, profile="void", media="application/n-triples"))
    full = rdflib.Graph().parse(built_out / "catalog.ttl")
    assert (DATASET_IRI, RDF.type, VOID.Dataset) in graph
    for statistic in (VOID.triples, VOID.entities, VOID.classes, VOID.properties):
        assert graph.value(DATASET_IRI, statistic) == full.value(DATASET_IRI, statistic) is not None
    partitions = set(graph.objects(DATASET_IRI, VOID.classPartition))
    assert len(partitions) == int(graph.value(DATASET_IRI, VOID.classes))
    assert all(graph.value(p, VOID["class"]) is not None and graph.value(p, VOID.entities) is not None
               for p in partitions)
    assert len(set(graph.objects(DATASET_IRI, VOID.propertyPartition))) == int(graph.value(DATASET_IRI,
                                                                                         VOID.properties))
    linksets = {s for s in graph.subjects(RDF.type, VOID.Linkset)}
    assert {str(s).rsplit("/", 1)[1] for s in linksets} == {"data-police-uk", "govuk-organisations",
                                                            "legislation-gov-uk", "ons-statistical-geography"}
    for linkset in linksets:
        target = graph.value(linkset, VOID.objectsTarget)
        assert graph.value(target, VOID.uriSpace) is not None
    assert graph.value(DATASET_IRI, VOID.sparqlEndpoint) == URIRef(BASE + "sparql")
    assert not [p for p in graph.predicates() if str(p).startswith(str(DCAT))]


SCHEMA_KINDS = {
    "police-force/cleveland": SDO.GovernmentOrganization, "vru/vru-cleveland": SDO.Organization,
    "report/syv-inspection-report": SDO.Report, FINDING: SDO.Claim, "theme/theme-police-powers": SDO.DefinedTerm,
    "ext/statistics.data.gov.uk/id/statistical-geography/E23000013": SDO.AdministrativeArea,
    "source/hmicfrs-report": SDO.CreativeWork, DATASET: SDO.Dataset, "def/Finding": SDO.Class,
    "recommendation/rec-outcome-22-training": SDO.Thing,
}


@pytest.mark.parametrize("path, kind", list(SCHEMA_KINDS.items()))
def test_the_schema_org_view_uses_only_schema_org_terms(client, path, kind):
    graph = parsed(get(client, path, profile="schema", media="text/turtle"))
    thing = URIRef((BASE + "def/" + path[4:]) if path.startswith("def/") else
                   ("http://" + path[4:]) if path.startswith("ext/") else BASE + "id/" + path)
    assert graph.value(thing, RDF.type) == kind
    for predicate in (SDO.name, SDO.identifier, SDO.url):
        assert graph.value(thing, predicate) is not None, predicate
    for s, p, o in graph:
        assert p == RDF.type or p in SDO, p  # rdflib's SDO is closed: an unknown term is not in it
        if p == RDF.type:
            assert o in SDO, o


def test_parse_accept_profile_orders_by_q_then_by_the_clients_order():
    assert parse_accept_profile("<a>;q=0.2, <b>, c;q=0.5, <d,e>") == [("b", 1.0), ("d,e", 1.0), ("c", 0.5),
                                                                      ("a", 0.2)]
    assert choose_profile([("x", 1.0), ("dcat", 0.5)], ["D"], {"dcat": "D"}) == "D"
    assert choose_profile([("dcat", 0.0)], ["D"], {"dcat": "D"}) is None

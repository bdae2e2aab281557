"""A real browser (Debian's Chromium, driven by Playwright) and raw HTTP against the live server."""
from __future__ import annotations

import shutil
import socket
import urllib.parse
from pathlib import Path

import pytest

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `apt-get install chromium` (.ci/run does this)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def watch(page) -> list[str]:
    """What went wrong on the page: console errors, uncaught exceptions, and Content-Security-Policy violations
    (the `securitypolicyviolation` events, reported through a binding that the policy does not govern)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text} ({m.location.get('url')})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.expose_function("ysvReportViolation", lambda text: problems.append(f"CSP violation: {text}"))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "window.ysvReportViolation(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') "
                         "+ ' on ' + e.documentURI));")
    return problems


def test_a_person_browses_and_queries(browser, live_server, tmp_path):
    page = browser.new_page()
    problems = watch(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url))

    first = page.goto(live_server + "/")
    policy = first.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy, policy
    assert page.locator("h1").inner_text() == "Serious youth violence inspection knowledge graph"
    # the page is styled: its inline stylesheet was allowed (by its hash), so the header is dark
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 12, 12)"

    # a force
    page.get_by_role("navigation").get_by_role("link", name="Police forces").click()
    page.get_by_role("link", name="Cleveland Police").click()
    assert page.locator("h1").inner_text() == "Cleveland Police"
    assert "/doc/police-force/cleveland" in page.url
    assert page.get_by_role("link", name="Cleveland", exact=True).count() >= 1  # its police force area

    # a VRU, reached from the home page's counts table
    page.goto(live_server + "/")
    page.get_by_role("main").get_by_role("link", name="Violence reduction units", exact=True).click()
    page.get_by_role("link", name="Cleveland Unit for the Reduction of Violence").click()
    assert page.locator("h1").inner_text() == "Cleveland Unit for the Reduction of Violence"
    assert page.get_by_text("2022").count() >= 1

    # a recommendation
    page.get_by_role("navigation").get_by_role("link", name="Recommendations").click()
    page.get_by_role("link", name="Train officers to use outcome 22").click()
    assert page.get_by_text("2024-03-31").count() >= 1
    page.get_by_role("link", name="Chief constables").first.click()
    assert page.locator("h1").inner_text() == "Chief constables"

    # the query page: choose an example question and run it
    page.get_by_role("navigation").get_by_role("link", name="Query").click()
    page.get_by_label("Example question").select_option("vru-areas-funded-2022")
    page.get_by_role("button", name="Run this example").click()
    table = page.locator("table#results")
    assert table.is_visible()
    cells = table.locator("tbody td").all_inner_texts()
    assert "E23000013" in cells and "E23000012" in cells
    assert table.locator("tbody tr").count() == 2

    # write your own query
    page.get_by_label("SPARQL query").fill("SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/ysv/def/ViolenceReductionUnit> }")
    page.get_by_role("button", name="Run query").click()
    assert page.locator("table#results tbody td").all_inner_texts() == ["20"]

    shots = ROOT / "build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "query-page.png"), full_page=True)
    page.goto(live_server + "/doc/vru/vru-cleveland")
    page.screenshot(path=str(shots / "vru-cleveland.png"), full_page=True)
    assert (shots / "query-page.png").stat().st_size > 10_000

    # no request left this machine
    hosts = {urllib.parse.urlsplit(url).netloc for url in requests}
    assert hosts == {urllib.parse.urlsplit(live_server).netloc}, hosts

    # nothing went wrong under the policy while browsing and querying ...
    assert problems == [], problems
    # ... and a violation would have been seen: a stylesheet injected by script is refused and reported
    page.evaluate("() => { const s = document.createElement('style'); s.textContent = 'body { color: red }'; "
                  "document.head.appendChild(s); }")
    page.wait_for_timeout(200)
    assert any("CSP violation: style-src" in p for p in problems), problems
    assert page.locator("body").evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    page.close()


def test_the_static_site_works_from_disk(browser, built_out):
    page = browser.new_page()
    problems = watch(page)
    page.goto((built_out / "site" / "index.html").as_uri())
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 12, 12)"
    page.get_by_role("navigation").get_by_role("link", name="Violence reduction units").click()
    page.get_by_role("link", name="Humber Violence Prevention Partnership").click()
    assert page.locator("h1").inner_text() == "Humber Violence Prevention Partnership"
    page.get_by_role("navigation").get_by_role("link", name="Query").click()
    page.get_by_role("link", name="Which violence reduction units did the Home Office begin to fund in 2022",
                     exact=False).click()
    assert "E23000012" in page.locator("table#results").inner_text()
    assert problems == [], problems
    page.close()


def _raw(live_server: str, path: str) -> tuple[int, bytes]:
    host, port = urllib.parse.urlsplit(live_server).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("path", ["/doc/../../etc/passwd", "/doc/%2e%2e/%2e%2e/etc/passwd",
                                  "/doc/..%2F..%2Fetc%2Fpasswd", "/download/../ysv.nq", "/download/%2e%2e%2fysv.nq",
                                  "/doc/vru/%252e%252e/x", "/doc/./vru/vru-cleveland"])
def test_traversal_is_refused_on_the_wire(live_server, path):
    status, data = _raw(live_server, path)
    assert status == 400, data[:200]
    assert b"root:" not in data


def test_a_person_searches_on_the_server(browser, live_server):
    page = browser.new_page()
    problems = watch(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_server + "/doc/vru/")
    box = page.get_by_role("searchbox", name="Search the dataset")
    box.fill("outcome 22")
    box.press("Enter")
    page.wait_for_url("**/search?q=outcome+22")
    first = page.locator("#search-results > li").first
    assert first.get_by_role("link").inner_text() == "Outcome 22 (diversionary, educational or intervention activity)"
    assert first.get_by_role("link").get_attribute("href") == "/doc/instrument/outcome-22"
    assert first.locator("mark").all_inner_texts()[:2] == ["Outcome", "22"]
    assert page.locator("#search-status").inner_text() == "8 matches."
    # again, from the search page's own form; then follow the first result
    page.get_by_role("searchbox", name="Labels, names, titles, descriptions, definitions and statements").fill("Humber")
    page.locator("#search-button").click()
    page.wait_for_url("**/search?q=Humber")
    page.locator("#search-results > li").first.get_by_role("link").click()
    assert page.locator("h1").inner_text() == "Humber Violence Prevention Partnership"
    hosts = {urllib.parse.urlsplit(url).netloc for url in requests}
    assert hosts == {urllib.parse.urlsplit(live_server).netloc}, hosts
    assert problems == [], problems
    page.close()


def test_the_static_site_searches_from_disk(browser, built_out):
    page = browser.new_page()
    problems = watch(page)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((built_out / "site" / "doc" / "vru" / "index.html").as_uri())
    box = page.get_by_role("searchbox", name="Search the dataset")
    box.fill("VRU")
    box.press("Enter")
    page.wait_for_url("**/search/index.html?q=VRU")
    first = page.locator("#search-results > li").first.get_by_role("link")
    assert first.inner_text() == "Violence reduction units"
    assert first.get_attribute("href") == "../doc/group/violence-reduction-units.html"
    assert page.get_by_role("searchbox", name="Labels, names, titles, descriptions, definitions and statements"
                            ).input_value() == "VRU"
    first.click()
    assert page.locator("h1").inner_text() == "Violence reduction units"
    page.go_back()
    page.get_by_role("searchbox", name="Labels, names, titles, descriptions, definitions and statements"
                     ).fill("stop and search")
    page.locator("#search-button").click()
    page.wait_for_url("**/search/index.html?q=stop+and+search")
    first = page.locator("#search-results > li").first
    assert first.get_by_role("link").inner_text() == "Stop and search"
    assert first.locator(".note").inner_text() == "Police power or instrument"
    assert page.locator("#search-status").inner_text() == "8 matches."
    assert {urllib.parse.urlsplit(url).scheme for url in requests} == {"file"}, requests


def test_the_static_cleveland_vru_page_shows_each_rows_own_sources(browser, built_out):
    """Issue 19: the name row and the funding-year row show the documents that back them, and the record's own
    sources are listed apart, under "Sources of this record"."""
    page = browser.new_page()
    problems = watch(page)
    page.goto((built_out / "site" / "doc" / "vru" / "vru-cleveland.html").as_uri())
    rows = page.locator("h2:has-text('Properties') + table tbody tr")
    name = rows.filter(has=page.locator("td", has_text="Cleveland Unit for the Reduction of Violence")).first
    year = rows.filter(has=page.locator("td", has_text="2022")).first
    assert name.locator("td.backing").inner_text() == \
        "backed by: Cleveland PCC decision 2023-24-0048: CURV grant funding"
    year_sources = year.locator("td.backing a").all_inner_texts()
    assert sorted(year_sources) == sorted([
        "Cleveland PCC decision 2023-24-0048: CURV grant funding",
        "Government Business news item on a further £130 million to tackle violence",
        "Knives: Crime (written answer by Chris Philp, 27 June 2023)"])
    assert "Cleveland PCC news item" not in year.inner_text()  # it gives £3.5m over three years, not the year
    year.locator("td.backing a", has_text="CURV grant funding").click()
    assert page.locator("h1").inner_text() == "Cleveland PCC decision 2023-24-0048: CURV grant funding"
    page.go_back()
    record_sources = page.locator("h2#sources + p + ul.record-sources li").all_inner_texts()
    assert "Cleveland PCC news item on funding for a violence reduction unit in Cleveland" in record_sources
    assert len(record_sources) == 4
    assert problems == [], problems
    page.close()

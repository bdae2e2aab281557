"""The promises of `ysv-graph serve` that are about safety, each stated as a test:

1. No federation unless the operator allows it: a query with SERVICE (SILENT or not, in any case, behind comments,
   via /sparql or /query) is refused 400 with a clear message, and nothing reaches the address it names; SERVICE in
   a string, a comment, an IRI or a name is not refused; `--allow-federation` lets such queries through.
2. The SPARQL workers are supervised: an idle worker killed is replaced and the next request succeeds; with all of
   them killed, requests recover within a bounded time (503 meanwhile, never 500, never a hang); a worker killed
   under a request makes that request 503; SIGTERM (or SIGINT) stops a real `ysv-graph serve` within a few seconds,
   its workers with it, while a slow query runs; and workers do not outlive a server killed outright (SIGKILL).
3. One deadline per SPARQL request, queueing included: an ASK sent behind slow queries is answered (200, or 503
   with Retry-After) within the timeout; a full queue is answered 503 with Retry-After at once.
4. A query's FROM / FROM NAMED choose its dataset (counts checked against the lines of ysv.nq), an unknown graph
   gives an empty answer, and default-graph-uri still overrides them.
5. No path gives 500: paths that are not valid IRIs give 400 (or 404), and a bounded fuzz over path characters
   finds no 500.
6. Only http(s) and the site's own paths become links (a javascript: IRI from a query is text), and every response
   carries a Content-Security-Policy (no inline script or style but the pages' own, hashed), nosniff and a
   Referrer-Policy.
7. Request heads are bounded: header fields over 8 KiB in all give 431, request targets over 8 KiB give 414 (both
   configurable), and a head that never ends is refused once it passes the bound, not read into memory.

Servers here listen on 127.0.0.1 only, on ports the system chooses; every loop is bounded in count and time.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import ysv_graph
from ysv_graph.serve import hardening
from ysv_graph.serve.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://w3id.org/ysv/"
JSON = {"Accept": "application/sparql-results+json"}
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
ASK = "ASK { ?s ?p ?o }"


# --- helpers ------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def out_copy(built_out: Path, where: Path) -> Path:
    """A served folder of its own (the data file's path tells this server's workers from any other's)."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("ysv.nq", "manifest.json"):
        shutil.copyfile(built_out / name, where / name)
    return where


def children(parent: int, marker: str) -> dict[int, str]:
    """{pid: state} of the live child processes of `parent` whose command line holds `marker` (from /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and marker in cmdline and state not in ("Z", "X"):
            found[int(entry)] = state
    return found


def wait_until(condition, seconds: float, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@contextlib.contextmanager
def running(out_dir: Path, **options):
    """The app on uvicorn as `ysv-graph serve` runs it (hardening.config: the h11 limits), in a thread."""
    limits = {k: options.pop(k) for k in ("max_url_bytes", "max_header_bytes") if k in options}
    app = create_app(out_dir, **options, **limits)
    port = free_port()
    config = hardening.config(app, "127.0.0.1", port, max_url=limits.get("max_url_bytes", 8192),
                              max_headers=limits.get("max_header_bytes", 8192), log_level="warning")
    server = hardening.server(config, lambda: app.state.site.pool.abort_threadsafe())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not wait_until(lambda: server.started or not thread.is_alive(), 60) or not server.started:
        raise RuntimeError("the server did not start")
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(15)


def raw(url: str, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send request bytes as they are; (status, whole answer)."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def get(url: str, path: str, headers: dict | None = None) -> bytes:
    host = urllib.parse.urlsplit(url).netloc
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def count(response) -> int:
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def client(built_out):
    with TestClient(create_app(built_out, query_timeout=5.0, max_body=16384), follow_redirects=False,
                    raise_server_exceptions=False) as c:
        yield c


# --- 1. federation ------------------------------------------------------------------------------------------------

@pytest.fixture()
def listener():
    """A TCP listener on 127.0.0.1 that counts the connections made to it (and closes them)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    hits: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    hits.append(conn.recv(4096))
                except OSError:
                    hits.append(b"")
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 500 Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", hits
    stop.set()
    thread.join(5)
    sock.close()


FEDERATED = {
    "plain": "SELECT * WHERE { SERVICE <{url}/x> { ?s ?p ?o } }",
    "silent": "SELECT * WHERE { SERVICE SILENT <{url}/x> { ?s ?p ?o } }",
    "lowercase": "select * where { service silent <{url}/x> { ?s ?p ?o } }",
    "comments": "SELECT * WHERE { # SERVICE? no: this is a comment\n  SeRvIcE # and so is this\n SILENT <{url}/x> "
                "{ ?s ?p ?o } }",
    "after-a-dot": "SELECT * WHERE { ?s ?p ?o.SERVICE SILENT <{url}/x> { ?a ?b ?c } } LIMIT 1",
    "prefixed": "PREFIX remote: <{url}/> SELECT * WHERE { SERVICE SILENT remote:x { ?s ?p ?o } }",
    "variable": "SELECT * WHERE { VALUES ?where { <{url}/x> } SERVICE SILENT ?where { ?s ?p ?o } }",
    "ask-with-filter": "ASK { FILTER(1<2) SERVICE SILENT <{url}/x> { ?s ?p ?o } }",
    "construct": "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE SILENT <{url}/x> { ?s ?p ?o } }",
    "nested": "SELECT * WHERE { { SELECT * WHERE { OPTIONAL { SERVICE SILENT <{url}/x> { ?s ?p ?o } } } } }",
}


@pytest.mark.parametrize("how", ["get", "form", "body", "page"])
@pytest.mark.parametrize("case", list(FEDERATED))
def test_federated_queries_are_refused_and_nothing_leaves(client, listener, case, how):
    url, hits = listener
    query = FEDERATED[case].replace("{url}", url)
    if how == "get":
        response = client.get("/sparql", params={"query": query}, headers=JSON)
    elif how == "form":
        response = client.post("/sparql", data={"query": query}, headers=JSON)
    elif how == "body":
        response = client.post("/sparql", content=query.encode(),
                               headers={**JSON, "Content-Type": "application/sparql-query"})
    else:
        response = client.get("/query", params={"query": query})
    assert response.status_code == 400, response.text[:300]
    assert "SERVICE" in response.text and "--allow-federation" in response.text
    time.sleep(0.2)  # a request on its way would have arrived by now
    assert hits == []


@pytest.mark.parametrize("query", [
    'SELECT * WHERE { ?s ?p "SERVICE <{url}/x> { ?s ?p ?o }" } LIMIT 1',
    "SELECT * WHERE { ?s ?p '''\nSERVICE SILENT <{url}/x> {}\n''' } LIMIT 1",
    "SELECT * WHERE { # SERVICE SILENT <{url}/x> { ?s ?p ?o }\n ?s ?p ?o } LIMIT 1",
    "SELECT * WHERE { ?s <{url}/service> ?o } LIMIT 1",
    "PREFIX ex: <https://example.org/> SELECT ?service WHERE { ?service ex:service ?o } LIMIT 1",
    'SELECT * WHERE { ?s ?p ?o FILTER(?o != "service"@en) } LIMIT 1',
])
def test_service_that_is_not_a_pattern_is_not_refused(client, listener, query):
    url, hits = listener
    response = client.get("/sparql", params={"query": query.replace("{url}", url)}, headers=JSON)
    assert response.status_code == 200, response.text[:300]
    assert hits == []


def test_the_operator_can_allow_federation(built_out, listener):
    url, hits = listener
    with TestClient(create_app(built_out, query_timeout=5.0, allow_federation=True)) as c:
        response = c.get("/sparql", params={"query": FEDERATED["silent"].replace("{url}", url)}, headers=JSON)
    assert response.status_code == 200
    assert wait_until(lambda: hits, 2)  # the listener sees a request: so it would have seen the others


# --- 2. supervised workers ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def supervised(built_out, tmp_path_factory):
    out = out_copy(built_out, tmp_path_factory.mktemp("supervised"))
    with running(out, query_timeout=5.0, workers=2) as (url, app):
        yield url, app, str(out / "ysv.nq")


def two_workers(marker: str, not_in=()) -> dict[int, str] | None:
    found = children(os.getpid(), marker)
    return found if len(found) == 2 and not set(found) & set(not_in) else None


@pytest.mark.slow
def test_an_idle_worker_killed_is_replaced_and_the_next_request_succeeds(supervised):
    url, app, marker = supervised
    before = wait_until(lambda: two_workers(marker), 10)
    assert before, children(os.getpid(), marker)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in children(os.getpid(), marker), 5)
    with httpx.Client(timeout=10) as http:
        for _ in range(4):  # every worker's turn: none of them is the dead one
            response = http.get(url + "/sparql", params={"query": ASK}, headers=JSON)
            assert response.status_code == 200, response.text
    # the pool is whole again: two live workers, the one started in the dead one's place ready for work
    assert wait_until(lambda: (found := two_workers(marker, not_in=[victim])) and
                      sorted(found) == app.state.site.pool.pids(), 10), (children(os.getpid(), marker),
                                                                          app.state.site.pool.pids())


@pytest.mark.slow
def test_all_workers_killed_recover_within_a_bounded_time(supervised):
    url, app, marker = supervised
    before = wait_until(lambda: two_workers(marker), 10)
    assert before
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    statuses = []
    started = time.monotonic()
    with httpx.Client(timeout=10) as http:
        while time.monotonic() - started < 15 and statuses[-1:] != [200]:
            statuses.append(http.get(url + "/sparql", params={"query": ASK}, headers=JSON).status_code)
        assert statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}, statuses
        assert http.get(url + "/query", params={"query": ASK}).status_code == 200
    assert time.monotonic() - started < 15
    assert wait_until(lambda: two_workers(marker, not_in=before), 10)


@pytest.mark.slow
def test_a_worker_killed_under_a_request_makes_it_503(supervised):
    url, app, marker = supervised
    assert wait_until(lambda: two_workers(marker), 10)
    with httpx.Client(timeout=15) as http, ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        pending = pool.submit(http.get, url + "/sparql", params={"query": SLOW}, headers=JSON)
        time.sleep(0.3)

        def one_running() -> list[int] | None:  # the worker on the slow query runs; the other waits for work
            running_now = [pid for pid, state in children(os.getpid(), marker).items() if state == "R"]
            return running_now if len(running_now) == 1 else None

        busy = wait_until(one_running, 3)
        assert busy, children(os.getpid(), marker)
        os.kill(busy[0], signal.SIGKILL)
        response = pending.result(timeout=15)
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert elapsed < 4.0  # answered when the worker died, not at the 5 s timeout
    assert wait_until(lambda: two_workers(marker, not_in=busy), 10)


@contextlib.contextmanager
def real_server(out: Path, *flags: str):
    """`ysv-graph serve` as a process of its own; yields (process, url, its workers' pids). Whatever it leaves
    running (it, its workers) is killed afterwards, by pid."""
    port = free_port()
    source = str(Path(ysv_graph.__file__).resolve().parents[1])  # the ysv_graph these tests import
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)}
    process = subprocess.Popen([sys.executable, "-m", "ysv_graph", "serve", "--out", str(out), "--port", str(port),
                                *flags], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    workers: dict[int, str] = {}
    try:
        def up() -> bool:
            try:
                return httpx.get(url + "/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return process.poll() is not None

        assert wait_until(up, 60, 0.2) and process.poll() is None, "the server did not start"
        workers.update(children(process.pid, str(out / "ysv.nq")))
        assert len(workers) == 2
        yield process, url, list(workers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
        for pid in workers:
            if alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_real_server_promptly(built_out, tmp_path, signum):
    out = out_copy(built_out, tmp_path / "out")
    with real_server(out, "--query-timeout", "60") as (process, url, workers):
        with httpx.Client(timeout=20) as http, ThreadPoolExecutor(1) as pool:
            pending = pool.submit(http.get, url + "/sparql", params={"query": SLOW}, headers=JSON)
            time.sleep(0.5)  # the slow query runs (its timeout is 60 s)
            process.send_signal(signum)
            started = time.monotonic()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the server was still running 5 s after {signal.Signals(signum).name}")
            elapsed = time.monotonic() - started
            with contextlib.suppress(httpx.HTTPError):
                assert pending.result(timeout=10).status_code == 503
        assert elapsed < 5
        assert process.returncode in (0, -signum), process.stderr.read().decode()[-2000:]
        assert wait_until(lambda: not any(alive(pid) for pid in workers), 5)  # the workers went with it


@pytest.mark.slow
def test_workers_do_not_outlive_a_killed_server(built_out, tmp_path):
    """SIGKILL gives the server no chance to stop its workers: they notice, even in the middle of a query."""
    out = out_copy(built_out, tmp_path / "out")
    with real_server(out, "--query-timeout", "60") as (process, url, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(httpx.get, url + "/sparql", params={"query": SLOW}, headers=JSON, timeout=20)
        time.sleep(0.5)  # one worker is on the slow query
        process.kill()
        process.wait(10)
        with contextlib.suppress(httpx.HTTPError):
            pending.result(timeout=20)
        assert wait_until(lambda: not any(alive(pid) for pid in workers), 5), \
            {pid: alive(pid) for pid in workers}


# --- 3. one deadline per request, a bounded queue ---------------------------------------------------------------------

@pytest.mark.slow
def test_the_deadline_covers_the_time_spent_queued(built_out, tmp_path):
    timeout = 1.0
    with running(out_copy(built_out, tmp_path / "out"), query_timeout=timeout, workers=2) as (url, app), \
            httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
        def timed(query: str):
            started = time.monotonic()
            response = http.get(url + "/sparql", params={"query": query}, headers=JSON)
            return response, time.monotonic() - started

        slow = [pool.submit(timed, SLOW) for _ in range(8)]
        time.sleep(0.2)
        response, elapsed = timed(ASK)
        assert response.status_code in (200, 503), response.text
        if response.status_code == 503:
            assert int(response.headers["retry-after"]) >= 1
        assert elapsed < timeout + 1.0, f"the ASK took {elapsed:.1f} s with a {timeout} s timeout"
        for future in slow:
            answer, took = future.result(timeout=30)
            assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
            assert took < timeout + 1.0, f"a slow query took {took:.1f} s with a {timeout} s timeout"
        assert wait_until(lambda: http.get(url + "/sparql", params={"query": ASK}, headers=JSON).status_code == 200,
                          10, 0.2)


@pytest.mark.slow
def test_a_full_queue_is_answered_503_with_retry_after_at_once(built_out, tmp_path):
    with running(out_copy(built_out, tmp_path / "out"), query_timeout=3.0, workers=2, max_queue=1) as (url, app), \
            httpx.Client(timeout=30) as http, ThreadPoolExecutor(4) as pool:
        def timed(query: str):
            started = time.monotonic()
            response = http.get(url + "/sparql", params={"query": query}, headers=JSON)
            return response, time.monotonic() - started

        running_now = [pool.submit(timed, SLOW) for _ in range(3)]  # two run, one waits
        assert wait_until(lambda: len(app.state.site.pool._waiters) == 1, 3)
        response, elapsed = timed(ASK)
        assert response.status_code == 503 and elapsed < 1.0
        assert int(response.headers["retry-after"]) >= 1 and "busy" in response.text
        page = http.get(url + "/query", params={"query": ASK})
        assert page.status_code == 503 and "retry-after" in page.headers
        for future in running_now:
            assert future.result(timeout=30)[0].status_code == 503


# --- 4. FROM and FROM NAMED ---------------------------------------------------------------------------------------

def graph_lines(nquads: Path) -> dict[str, set[str]]:
    """{graph IRI: its triples' lines} read from the N-Quads file by hand (the graph is the last term)."""
    graphs: dict[str, set[str]] = {}
    for line in nquads.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        triple, graph, dot = line.rsplit(" ", 2)
        assert dot == "." and graph.startswith("<")
        graphs.setdefault(graph[1:-1], set()).add(triple)
    return graphs


NPCC = BASE + "graph/source/npcc-website"
METADATA = BASE + "graph/metadata"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) {from} WHERE {{ ?s ?p ?o }}"


def test_from_chooses_the_default_graph(client, built_out):
    graphs = graph_lines(built_out / "ysv.nq")
    expected = len(graphs[NPCC])
    assert 0 < expected < sum(len(lines) for lines in graphs.values())
    response = client.get("/sparql", params={"query": COUNT_ALL.format(**{"from": f"FROM <{NPCC}>"})}, headers=JSON)
    assert count(response) == expected
    both = client.get("/sparql", params={"query": COUNT_ALL.format(**{"from": f"FROM <{NPCC}> FROM <{METADATA}>"})},
                      headers=JSON)
    assert count(both) == len(graphs[NPCC] | graphs[METADATA])  # the merge of the two


def test_from_a_graph_that_does_not_exist_is_empty(client):
    nowhere = BASE + "graph/no-such-graph"
    assert count(client.get("/sparql", params={"query": COUNT_ALL.format(**{"from": f"FROM <{nowhere}>"})},
                            headers=JSON)) == 0
    rows = client.get("/sparql", params={"query": f"SELECT * FROM <{nowhere}> WHERE {{ ?s ?p ?o }}"}, headers=JSON)
    assert rows.json()["results"]["bindings"] == []


def test_from_named_chooses_the_named_graphs(client, built_out):
    graphs = graph_lines(built_out / "ysv.nq")
    query = f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{NPCC}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"
    bindings = client.get("/sparql", params={"query": query}, headers=JSON).json()["results"]["bindings"]
    assert [(b["g"]["value"], int(b["n"]["value"])) for b in bindings] == [(NPCC, len(graphs[NPCC]))]
    # FROM NAMED alone: the default graph is empty (SPARQL 1.1, 13.2)
    default = client.get("/sparql", params={"query": COUNT_ALL.format(**{"from": f"FROM NAMED <{NPCC}>"})},
                         headers=JSON)
    assert count(default) == 0


def test_the_protocol_dataset_overrides_the_query_and_no_from_is_the_union(client, built_out):
    graphs = graph_lines(built_out / "ysv.nq")
    query = COUNT_ALL.format(**{"from": f"FROM <{NPCC}>"})
    response = client.get("/sparql", params={"query": query, "default-graph-uri": METADATA}, headers=JSON)
    assert count(response) == len(graphs[METADATA])
    union = client.get("/sparql", params={"query": COUNT_ALL.format(**{"from": ""})}, headers=JSON)
    assert count(union) == sum(len(lines) for lines in graphs.values())


def test_from_is_honoured_on_the_query_page_and_a_from_in_a_string_is_not_a_from(client, built_out):
    graphs = graph_lines(built_out / "ysv.nq")
    page = client.get("/query", params={"query": COUNT_ALL.format(**{"from": f"FROM <{NPCC}>"})}).text
    assert re.search(rf"<td>{len(graphs[NPCC])}</td>", page), page[-1500:]
    literal = 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(?o != "FROM <x>") }'
    assert count(client.get("/sparql", params={"query": literal}, headers=JSON)) > len(graphs[NPCC])


# --- 5. no 500 --------------------------------------------------------------------------------------------------------

NOT_IRIS = ["/doc/a%20b", "/doc/finding/%3Cscript%3E", "/id/%ff", "/doc/%c0%ae%c0%ae/x", '/doc/finding/a"b',
            "/doc/ext/%7B%7D", "/doc/finding/a>b", "/id/finding/a%20b", "/graph/%7Bx%7D", "/def/a%3Eb",
            "/doc/finding/a%5Eb.ttl", "/doc/ext/example.org/%60x"]


@pytest.mark.parametrize("path", NOT_IRIS)
def test_paths_that_are_not_iris_are_400_or_404(client, path):
    for accept in ("text/html", "text/turtle", "*/*"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code in (400, 404), (path, accept, response.status_code)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOT_IRIS)
def test_paths_that_are_not_iris_on_the_wire(live_server, path):
    status, data = raw(live_server, get(live_server, path))
    assert status in (400, 404), data[:300]


def test_a_fuzz_over_path_characters_finds_no_500(client):
    """Every byte, percent-encoded, and every printable ASCII character, in each kind of path (a bounded set)."""
    shapes = ["/doc/finding/x{}y", "/id/vru/{}", "/doc/ext/statistics.data.gov.uk/{}", "/def/{}", "/graph/{}",
              "/download/{}", "/doc/{}/", "/doc/vru/vru-cleveland{}.ttl"]
    pieces = [f"%{b:02x}" for b in range(256)] + [urllib.parse.quote(chr(c), safe="") for c in range(32, 127)]
    pieces += ["%ed%a0%80", "%f4%90%80%80", "%ef%bf%bf", "%e2%80%ae", "%c3%28", "%"]
    failures = []
    for shape in shapes:
        for piece in pieces:
            response = client.get(shape.format(piece))
            if response.status_code >= 500:
                failures.append((shape.format(piece), response.status_code))
    for value in ["", "%00", "x" * 300, "<script>", "%ff%fe", "名前", "a/../b"]:
        for response in (client.get("/query", params={"name": urllib.parse.unquote(value)}),
                         client.get("/sparql", params={"query": urllib.parse.unquote(value)}, headers=JSON),
                         client.get("/doc/vru/vru-cleveland", headers={
                             "Accept": value.encode("utf-8"), "If-None-Match": value.encode("utf-8")})):
            if response.status_code >= 500:
                failures.append((str(response.url), response.status_code))
    assert not failures, failures[:20]


# --- 6. links and the browser's policy ---------------------------------------------------------------------------

@pytest.mark.parametrize("iri", ["javascript:alert(document.domain)", "JavaScript:alert(1)",
                                 "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
                                 "mailto:someone@example.org", "urn:x:javascript"])
def test_only_web_iris_become_links(client, iri):
    query = f'SELECT ?y ?web WHERE {{ BIND(IRI("{iri}") AS ?y) BIND(<https://example.org/page> AS ?web) }}'
    page = client.get("/query", params={"query": query})
    assert page.status_code == 200
    hrefs = re.findall(r'href="([^"]*)"', page.text)
    assert not [h for h in hrefs if not (h.startswith(("/", "http://", "https://")) or h.startswith("#"))], hrefs
    assert 'href="https://example.org/page"' in page.text  # a web IRI is still a link
    cells = re.findall(r"<td>(.*?)</td>", page.text)
    assert any(cell == iri for cell in cells), cells  # shown as text


def inline_blocks(html: str) -> list[tuple[str, str]]:
    """Inline styles and scripts, but not data blocks (<script type="application/ld+json">: never executed, so
    the policy does not apply to them; their JSON may hold no '<', so nothing in it can close the element)."""
    blocks = []
    for kind, attributes, body in re.findall(r"<(style|script)\b([^>]*)>(.*?)</\1>", html, re.DOTALL | re.IGNORECASE):
        if kind.lower() == "script" and re.fullmatch(r'\s*type="application/ld\+json"\s*', attributes):
            assert "<" not in body, "a data block holds '<'"
            continue
        blocks.append((kind, body))
    return blocks


def check_security_headers(headers, what: str) -> None:
    csp = headers.get("content-security-policy")
    assert csp, f"no Content-Security-Policy on {what}"
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp
    assert all(s == "'self'" or s.startswith("'sha256-") for s in directives["style-src"])
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") in ("no-referrer", "strict-origin-when-cross-origin"), what


def test_every_kind_of_response_has_the_security_headers(client):
    responses = {
        "home": client.get("/"), "resource": client.get("/doc/vru/vru-cleveland"),
        "turtle": client.get("/doc/vru/vru-cleveland.ttl"), "index": client.get("/doc/vru/"),
        "303": client.get("/id/vru/vru-cleveland"), "404": client.get("/doc/vru/nothing"),
        "404-text": client.get("/nothing", headers={"Accept": "text/plain"}),
        "400": client.get("/doc/a%20b"), "traversal": client.get("/doc/%2e%2e/x"),
        "sparql": client.get("/sparql", params={"query": ASK}, headers=JSON),
        "413": client.post("/sparql", content=b"x" * 20000, headers={"Content-Type": "application/sparql-query"}),
        "query-page": client.get("/query", params={"name": "vru-areas-funded-2022"}),
        "download": client.get("/download/manifest.json"),
        "preflight": client.options("/sparql", headers={"Origin": "https://example.org",
                                                        "Access-Control-Request-Method": "POST"}),
        "304": client.get("/", headers={"If-None-Match": client.get("/").headers["etag"]}),
        "431": client.get("/", headers={"X-Big": "a" * 9000}),
    }
    for what, response in responses.items():
        check_security_headers(response.headers, f"{what} ({response.status_code})")


def test_the_policy_allows_exactly_the_pages_inline_blocks(client):
    for path in ("/", "/doc/vru/vru-cleveland", "/doc/vru/", "/query?name=vru-areas-funded-2022", "/doc/nothing"):
        response = client.get(path)
        allowed = response.headers["content-security-policy"]
        blocks = inline_blocks(response.text)
        for kind, body in blocks:
            assert kind.lower() == "style", f"an inline script on {path}"
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, f"the inline style of {path} is not allowed by its hash"
        assert not re.search(r"<[^>]*\s(on[a-z]+|style)\s*=", response.text, re.IGNORECASE), path  # in tags


@pytest.mark.slow
def test_the_live_server_sends_the_headers_on_the_wire(live_server):
    for path in ("/", "/doc/vru/vru-cleveland", "/sparql?query=ASK%7B%7D", "/nothing"):
        status, data = raw(live_server, get(live_server, path, {"Accept": "application/sparql-results+json"}
                                            if "sparql" in path else None))
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head}
        check_security_headers(headers, path)


# --- 7. bounded request heads -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(built_out, tmp_path_factory):
    with running(out_copy(built_out, tmp_path_factory.mktemp("limited")), query_timeout=5.0) as (url, app):
        yield url


@pytest.mark.slow
def test_header_fields_over_the_limit_are_431(limited):
    assert raw(limited, get(limited, "/", {"X-Big": "a" * 9000}))[0] == 431
    many = {f"X-Field-{i}": "b" * 450 for i in range(20)}  # none large, 9 KiB in all
    assert raw(limited, get(limited, "/", many))[0] == 431
    assert raw(limited, get(limited, "/", {"X-Fits": "c" * 6000}))[0] == 200


@pytest.mark.slow
def test_a_request_target_over_the_limit_is_414(limited):
    assert raw(limited, get(limited, "/doc/" + "a" * 9000))[0] == 414
    assert raw(limited, get(limited, "/query?query=" + "a" * 9000))[0] == 414
    assert raw(limited, get(limited, "/doc/" + "a" * 7000))[0] == 404  # below the limit: looked up
    assert raw(limited, get(limited, "/doc/" + "a" * 40000))[0] == 414  # past h11's bound too


def stream_head(url: str, start: bytes, filler: bytes, most: int) -> tuple[int | None, int]:
    """Send a request head that never ends, 16 KiB at a time, until the server answers; (status, bytes sent)."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(start)
        sent += len(start)
        while sent < most:
            try:
                sock.sendall(filler * (16384 // len(filler)))
            except OSError:
                break
            sent += 16384
            readable, _, _ = select.select([sock], [], [], 0.3)
            if readable:
                break
        try:
            answer = sock.recv(65536)
        except (OSError, TimeoutError):
            return None, sent
    return (int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None), sent


@pytest.mark.slow
def test_a_head_that_never_ends_is_refused_not_read(limited):
    status, sent = stream_head(limited, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", b"a", 4 * 1024 * 1024)
    assert status == 431 and sent <= 64 * 1024, (status, sent)
    status, sent = stream_head(limited, b"GET /doc/", b"a", 4 * 1024 * 1024)
    assert status == 414 and sent <= 64 * 1024, (status, sent)
    assert raw(limited, get(limited, "/"))[0] == 200  # and the server is none the worse


@pytest.mark.slow
def test_the_limits_are_configurable(built_out, tmp_path):
    with running(out_copy(built_out, tmp_path / "out"), max_url_bytes=512, max_header_bytes=1024) as (url, app):
        assert raw(url, get(url, "/", {"X-Big": "a" * 1100}))[0] == 431
        assert raw(url, get(url, "/", {"X-Big": "a" * 700}))[0] == 200
        assert raw(url, get(url, "/doc/" + "a" * 600))[0] == 414
        assert raw(url, get(url, "/doc/" + "a" * 400))[0] == 404
    with TestClient(create_app(built_out, max_url_bytes=100, max_header_bytes=4096)) as c:
        assert c.get("/doc/" + "a" * 120).status_code == 414
        assert c.get("/", headers={"X-Big": "a" * 5000}).status_code == 431

"""`ysv-graph publish` and `ysv-graph query --endpoint` against a real Oxigraph server (the `oxigraph` command from
the test extra), started on a free loopback port with a temporary data folder and stopped afterwards.

Covered: publish and count, publish again (no duplicates), every shipped query asked of the server gives the same
answer as the embedded store, --graph-base, --dry-run sends nothing, a 4xx is not retried, an unreachable server is
retried and then reported, the server killed in the middle of a PUT (each graph is then either its previous or its
complete new content, after restarting the server on the same data), a kill followed by a restart within the retry
time, and the authentication headers (on a tiny local stub server, the only thing it is used for).
"""
from __future__ import annotations

import base64
import http.server
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from ysv_graph.serve import querying
from ysv_graph.publish import remote
from ysv_graph.cli import main
from ysv_graph.publish.store_client import StoreClient

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow

OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
QUERY_NAMES = [path.stem for path in querying.shipped_queries()]
TEST_GRAPH = "http://example.org/ysv-test/graph/"


ENV_NAMES = ("YSV_STORE_TOKEN", "YSV_STORE_USER", "YSV_STORE_PASSWORD", "YSV_STORE_AUTH", "YSV_STORE_RETRY_SECONDS")


@pytest.fixture(autouse=True)
def clean_store_env(monkeypatch):
    """No store credentials or retry setting from the developer's environment."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OxigraphServer:
    """`oxigraph serve` on 127.0.0.1 with a data folder; can be killed (SIGKILL) and started again on it."""

    def __init__(self, location: Path, union_default_graph: bool = True):
        if OXIGRAPH is None:
            pytest.fail("the oxigraph server is not installed: pip install -e '.[test]'")
        self.location = location
        self.port = free_port()
        self.union = union_default_graph
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> str:
        return self.url + "/store"

    @property
    def query(self) -> str:
        return self.url + "/query"

    def start(self) -> None:
        command = [OXIGRAPH, "serve", "--location", str(self.location), "--bind", f"127.0.0.1:{self.port}"]
        if self.union:
            command.append("--union-default-graph")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"oxigraph serve exited with {self.process.returncode}")
            try:
                if httpx.get(self.query, params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail("oxigraph serve did not start within 15 s")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def graph(self, iri: str) -> set:
        """The triples of a named graph (empty if it is absent), read with a Graph Store Protocol GET."""
        response = httpx.get(self.store, params={"graph": iri}, headers={"Accept": "application/n-triples"},
                             timeout=30)
        if response.status_code == 404:
            return set()
        response.raise_for_status()
        return {quad.triple for quad in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)}

    def count(self, where: str = "GRAPH ?g { ?s ?p ?o }") -> int:
        response = httpx.post(self.query, data={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"},
                              headers={"Accept": "application/sparql-results+json"}, timeout=30)
        response.raise_for_status()
        return int(response.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture()
def make_server(tmp_path_factory):
    servers = []

    def make(union_default_graph: bool = True) -> OxigraphServer:
        server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"), union_default_graph)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def published(tmp_path_factory, built_out):
    """One Oxigraph server (default graph = union of the named graphs) with out/ysv.nq published to it."""
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    server.start()
    report = remote.publish(built_out / "ysv.nq", server.store, retry_seconds=5)
    assert report.error is None, report.error
    yield server, report
    server.stop()


def manifest_graphs(out: Path) -> dict[str, int]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["graphs"]


# -- publish, count, publish again ----------------------------------------------------------------------------------

def test_publish_counts_every_graph(published, built_out):
    server, report = published
    expected = manifest_graphs(built_out)
    assert report.ok
    assert {p.target: p.stored for p in report.graphs} == expected
    assert {p.target: p.triples for p in report.graphs} == expected
    assert all(p.before == 0 and not p.bulk for p in report.graphs)  # a fresh store; small graphs: transactional
    lines = sum(1 for _ in open(built_out / "ysv.nq", encoding="utf-8"))
    assert server.count() == sum(expected.values()) == lines


def test_publish_again_leaves_one_copy(published, built_out, capsys):
    server, _ = published
    expected = manifest_graphs(built_out)
    code = main(["publish", "--store", server.store, "--out", str(built_out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"{len(expected)} graphs, {sum(expected.values()):,} triples published and verified" in captured.out
    assert server.count() == sum(expected.values())  # PUT replaced each graph: no duplicates
    graphs = httpx.post(server.query, data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
                        headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    assert {b["g"]["value"] for b in graphs} == set(expected)


# -- the shipped queries asked of the server ------------------------------------------------------------------------

def _rows(result, ordered: bool):
    def term(t):
        if t is None:
            return None
        if isinstance(t, ox.Literal):
            return ("literal", t.value, t.language, t.datatype.value)
        return (type(t).__name__, t.value)
    rows = [tuple(term(t) for t in row) for row in result.rows]
    return rows if ordered else sorted(rows, key=repr)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_shipped_query_on_server_equals_embedded(published, built_out, name):
    server, _ = published
    text = querying.resolve(name).read_text(encoding="utf-8")
    local = querying.run(_local_store(built_out), text)
    with StoreClient(None, server.query) as client:
        remote_result = remote.remote_run(client, text)
    assert remote_result.kind == local.kind
    assert remote_result.variables == local.variables
    assert remote_result.boolean == local.boolean
    ordered = "ORDER BY" in text.upper()
    assert _rows(remote_result, ordered) == _rows(local, ordered)
    assert local.rows or local.kind != "select", f"{name} has no answer locally"


_STORES: dict[Path, ox.Store] = {}


def _local_store(out: Path) -> ox.Store:
    if out not in _STORES:
        _STORES[out] = querying.open_store(out)
    return _STORES[out]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_query_command_with_endpoint_prints_what_the_local_query_prints(published, built_out, capsys, fmt):
    server, _ = published
    for name in QUERY_NAMES:
        assert main(["query", name, "--format", fmt, "--out", str(built_out)]) == 0
        local = capsys.readouterr().out
        assert main(["query", "--endpoint", server.query, name, "--format", fmt, "--out", str(built_out)]) == 0
        captured = capsys.readouterr()
        if "ORDER BY" in querying.resolve(name).read_text(encoding="utf-8").upper():
            assert captured.out == local, name
        else:
            assert sorted(captured.out.splitlines()) == sorted(local.splitlines()), name


def test_query_command_table_and_errors(published, built_out, capsys):
    server, _ = published
    assert main(["query", "--endpoint", server.query, "vru-areas-funded-2022", "--out", str(built_out)]) == 0
    assert "E23000012" in capsys.readouterr().out
    assert main(["query", "--endpoint", server.query, "no-such-query"]) == 2
    assert "no query called" in capsys.readouterr().err
    assert main(["query", "--endpoint", server.url + "/nope", "vru-areas-funded-2022"]) == 2
    assert "404" in capsys.readouterr().err


def test_query_warns_when_default_graph_is_not_the_union(make_server, built_out, capsys):
    server = make_server(union_default_graph=False)
    assert remote.publish(built_out / "ysv.nq", server.store, retry_seconds=5).ok
    assert main(["query", "--endpoint", server.query, "vru-areas-funded-2022", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().count("\n") == 0  # only the header: the default graph is empty here
    assert "--union-default-graph" in captured.err


def test_graph_base_rewrites_graph_names(make_server, built_out):
    server = make_server()
    report = remote.publish(built_out / "ysv.nq", server.store, graph_base="https://data.example.org/ysv/",
                            retry_seconds=5)
    assert report.ok
    expected = {"https://data.example.org/ysv/" + iri.removeprefix("https://w3id.org/ysv/graph/"): n
                for iri, n in manifest_graphs(built_out).items()}
    assert {p.target: p.stored for p in report.graphs} == expected
    assert server.count() == sum(expected.values())
    assert server.count("GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), 'https://w3id.org/'))") == 0


# -- what the store guarantees for one PUT --------------------------------------------------------------------------

def test_oxigraph_put_with_a_bad_body_keeps_the_previous_graph(make_server):
    """The guarantee publish relies on (Oxigraph >= 0.5.10): a PUT that fails leaves the graph as it was."""
    server = make_server()
    url = f"{server.store}?graph={urllib.parse.quote(TEST_GRAPH + 'g')}"
    ok = httpx.put(url, content=b'<http://e.org/a> <http://e.org/p> "1" .\n',
                   headers={"Content-Type": "application/n-triples"})
    assert ok.status_code in (201, 204)
    bad = httpx.put(url, content=b'<http://e.org/b> <http://e.org/p> "2" .\n<http://e.org/c> <http://e.org/p> BAD .\n',
                    headers={"Content-Type": "application/n-triples"})
    assert bad.status_code == 400
    assert server.graph(TEST_GRAPH + "g") == {ox.Triple(ox.NamedNode("http://e.org/a"), ox.NamedNode("http://e.org/p"),
                                                        ox.Literal("1"))}


# -- failures -------------------------------------------------------------------------------------------------------

def test_4xx_is_not_retried_and_reported_with_the_store_message(published, built_out, capsys):
    server, _ = published
    events = []
    start = time.monotonic()
    report = remote.publish(built_out / "ysv.nq", server.url + "/nope", query_url=server.query, retry_seconds=30,
                            on_event=lambda kind, **info: events.append(kind))
    assert time.monotonic() - start < 5
    assert "retry" not in events
    assert report.error is not None and "404" in report.error
    assert "is not supported by this server" in report.error  # Oxigraph's own words
    assert report.written == [] and report.exit_code == 2
    code = main(["publish", "--store", server.url + "/nope", "--query-endpoint", server.query,
                 "--out", str(built_out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "404" in err and f"0 graph(s) written, {len(manifest_graphs(built_out))} not written" in err
    assert "retrying" not in err


def test_unreachable_store_is_retried_then_reported(built_out, capsys, monkeypatch):
    port = free_port()  # nothing listens there
    events = []
    start = time.monotonic()
    report = remote.publish(built_out / "ysv.nq", f"http://127.0.0.1:{port}/store", retry_seconds=2.0,
                            on_event=lambda kind, **info: events.append(kind))
    elapsed = time.monotonic() - start
    assert events.count("retry") >= 2
    assert 1.0 <= elapsed < 5
    assert "ConnectError" in report.error and "gave up after" in report.error
    assert report.written == [] and report.exit_code == 2
    monkeypatch.setenv("YSV_STORE_RETRY_SECONDS", "0.6")
    assert main(["publish", "--store", f"http://127.0.0.1:{port}/store", "--out", str(built_out)]) == 2
    err = capsys.readouterr().err
    assert "retrying in 0.5 s" in err
    assert f"0 graph(s) written, {len(manifest_graphs(built_out))} not written" in err


def synthetic_nquads(path: Path, graphs: dict[str, tuple[int, str]]) -> dict[str, set]:
    """Write an N-Quads file with graphs {name: (triples, version)}; returns each graph's triples."""
    content = {}
    with open(path, "w", encoding="utf-8") as handle:
        for name, (count, version) in graphs.items():
            iri = TEST_GRAPH + name
            triples = set()
            for i in range(count):
                triple = ox.Triple(ox.NamedNode(f"http://example.org/ysv-test/{name}/{i}"),
                                   ox.NamedNode("http://example.org/ysv-test/value"),
                                   ox.Literal(f"{version} {i} of {name}, some text to make a longer line"))
                triples.add(triple)
                handle.write(f"{triple} <{iri}> .\n")
            content[iri] = triples
    return content


def _killer(server: OxigraphServer, graph: str, after: threading.Event | None = None):
    """An on_event callback that SIGKILLs the server (once) when half of `graph`'s body has been sent."""
    done = []

    def on_event(kind, **info):
        if kind == "sent" and info["graph"] == graph and info["size"] / 2 <= info["sent"] < info["size"] \
                and not done:
            done.append(True)
            server.kill()
            if after is not None:
                after.set()
    return on_event


BIG = 60_000  # a big graph: a transactional PUT of it takes over a second, a bulk load well under


@pytest.mark.parametrize("case", ["replace", "new"])
def test_server_killed_mid_put_leaves_no_graph_half_written(make_server, tmp_path, case):
    server = make_server()
    v1 = {"a": (200, "v1"), "b": (BIG, "v1"), "c": (200, "v1")} if case == "replace" else \
        {"a": (200, "v1"), "c": (200, "v1")}
    v2 = {"a": (200, "v2"), "b": (BIG, "v2"), "c": (200, "v2")}
    old = synthetic_nquads(tmp_path / "v1.nq", v1)
    new = synthetic_nquads(tmp_path / "v2.nq", v2)
    first = remote.publish(tmp_path / "v1.nq", server.store, retry_seconds=5)
    assert first.ok
    big = TEST_GRAPH + "b"

    # the budget bounds the whole PUT (the body is sent at the store's pace, ~3 s here), then the retries after the kill
    report = remote.publish(tmp_path / "v2.nq", server.store, retry_seconds=8.0,
                            on_event=_killer(server, big))
    assert server.process.poll() is not None, "the server was not killed"
    statuses = {p.target: p.status for p in report.graphs}
    assert statuses == {TEST_GRAPH + "a": "written", big: "failed", TEST_GRAPH + "c": "not sent"}
    assert report.exit_code == 2 and "gave up after" in report.error
    plan_b = next(p for p in report.graphs if p.target == big)
    # an existing graph is replaced in one transaction; a new big one goes through Oxigraph's bulk loader
    assert plan_b.before == (BIG if case == "replace" else 0)
    assert plan_b.bulk == (case == "new")

    server.start()  # same data folder
    assert server.graph(TEST_GRAPH + "a") == new[TEST_GRAPH + "a"]   # written: complete new content
    assert server.graph(big) == old.get(big, set())                  # cut off: its previous content
    assert server.graph(TEST_GRAPH + "c") == old[TEST_GRAPH + "c"]   # not sent: previous content


def test_server_killed_mid_put_and_restarted_within_the_retry_time(make_server, tmp_path):
    server = make_server()
    synthetic_nquads(tmp_path / "v1.nq", {"a": (200, "v1"), "b": (BIG, "v1")})
    new = synthetic_nquads(tmp_path / "v2.nq", {"a": (200, "v2"), "b": (BIG, "v2")})
    assert remote.publish(tmp_path / "v1.nq", server.store, retry_seconds=5).ok
    killed = threading.Event()

    def restart():
        if killed.wait(30):
            time.sleep(0.5)
            server.start()

    restarter = threading.Thread(target=restart)
    restarter.start()
    events = []
    killer = _killer(server, TEST_GRAPH + "b", killed)

    def on_event(kind, **info):
        events.append(kind)
        killer(kind, **info)

    report = remote.publish(tmp_path / "v2.nq", server.store, retry_seconds=30, on_event=on_event)
    restarter.join()
    assert killed.is_set() and "retry" in events
    assert report.ok, report.error
    for iri, triples in new.items():
        assert server.graph(iri) == triples


# -- dry run and authentication (stub server) -----------------------------------------------------------------------

class StubStore(http.server.ThreadingHTTPServer):
    """Records every request; accepts PUTs (counting the lines of each graph), answers count queries, and gives a
    graph back (GET) as it was sent."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.requests: list[tuple[str, str, dict]] = []
        self.graphs: dict[str, int] = {}
        self.bodies: dict[str, bytes] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StubHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_PUT(self):
        body = self._body()
        self.server.requests.append(("PUT", self.path, dict(self.headers)))
        graph = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["graph"][0]
        self.server.graphs[graph] = body.count(b"\n")
        self.server.bodies[graph] = body
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        graph = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["graph"][0]
        body = self.server.bodies.get(graph)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/n-triples")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def do_POST(self):
        form = urllib.parse.parse_qs(self._body().decode("utf-8"))
        self.server.requests.append(("POST", self.path, dict(self.headers)))
        graphs = re.findall(r"<([^>]+)>", form["query"][0])
        bindings = [{"g": {"type": "uri", "value": g},
                     "n": {"type": "literal", "value": str(self.server.graphs[g])}}
                    for g in graphs if g in self.server.graphs]
        payload = json.dumps({"head": {"vars": ["g", "n"]}, "results": {"bindings": bindings}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture()
def stub():
    server = StubStore()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_dry_run_sends_nothing(stub, built_out, capsys):
    assert main(["publish", "--store", stub.url + "/store", "--dry-run", "--out", str(built_out)]) == 0
    out = capsys.readouterr().out
    assert stub.requests == []
    assert "nothing sent" in out and f"would PUT {len(manifest_graphs(built_out))} graphs" in out
    assert "https://w3id.org/ysv/graph/source/hmicfrs-report" in out


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_auth_headers_sent_and_never_printed(stub, built_out, capsys, monkeypatch, scheme):
    secret = "s3cret-Value-42"
    if scheme == "bearer":
        monkeypatch.setenv("YSV_STORE_TOKEN", secret)
        expected = f"Bearer {secret}"
    else:
        monkeypatch.setenv("YSV_STORE_USER", "ysv-publisher")
        monkeypatch.setenv("YSV_STORE_PASSWORD", secret)
        expected = "Basic " + base64.b64encode(f"ysv-publisher:{secret}".encode()).decode()
    assert main(["publish", "--store", stub.url + "/store", "--out", str(built_out)]) == 0
    assert main(["publish", "--store", stub.url + "/store", "--dry-run", "--out", str(built_out)]) == 0
    captured = capsys.readouterr()
    assert {method for method, _, _ in stub.requests} == {"PUT", "POST", "GET"}  # GET: each graph read back
    assert len([r for r in stub.requests if r[0] == "PUT"]) == len(manifest_graphs(built_out))
    for method, path, headers in stub.requests:
        assert headers.get("Authorization") == expected, (method, path)
    puts = [h for m, _, h in stub.requests if m == "PUT"]
    assert all(h["Content-Type"] == "application/n-triples" and "Transfer-Encoding" not in h for h in puts)
    assert secret not in captured.out + captured.err
    assert ("YSV_STORE_TOKEN" if scheme == "bearer" else "YSV_STORE_USER") in captured.out  # dry run names it


@pytest.mark.parametrize("env, message", [
    ({"YSV_STORE_TOKEN": "t", "YSV_STORE_USER": "u", "YSV_STORE_PASSWORD": "p"}, "not both"),
    ({"YSV_STORE_USER": "u"}, "must be set together"),
    ({"YSV_STORE_RETRY_SECONDS": "soon"}, "must be a number"),
    ({"YSV_STORE_AUTH": "digest"}, "needs YSV_STORE_USER and YSV_STORE_PASSWORD"),
    ({"YSV_STORE_AUTH": "ntlm", "YSV_STORE_USER": "u", "YSV_STORE_PASSWORD": "p"}, "must be basic, digest or bearer"),
])
def test_bad_settings_are_refused_before_sending(stub, built_out, capsys, monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["publish", "--store", stub.url + "/store", "--out", str(built_out)]) == 2
    assert message in capsys.readouterr().err
    assert stub.requests == []


def test_credentials_in_the_url_are_refused(stub, built_out, capsys):
    url = stub.url.replace("http://", "http://user:pw-in-url@") + "/store"
    assert main(["publish", "--store", url, "--out", str(built_out)]) == 2
    captured = capsys.readouterr()
    assert "credentials in the URL are not accepted" in captured.err
    assert "pw-in-url" not in captured.err + captured.out
    assert stub.requests == []


def test_bad_input_is_refused_before_sending(stub, tmp_path, capsys):
    bad = tmp_path / "bad.nq"
    bad.write_text('<http://e.org/a> <http://e.org/p> "x" <http://e.org/g> .\n<http://e.org/a> <http://e.org/p> .\n')
    assert main(["publish", "--store", stub.url + "/store", "--nquads", str(bad)]) == 2
    default = tmp_path / "default.nq"
    default.write_text('<http://e.org/a> <http://e.org/p> "x" .\n')
    assert main(["publish", "--store", stub.url + "/store", "--nquads", str(default)]) == 2
    err = capsys.readouterr().err
    assert "bad.nq" in err and "default graph" in err
    assert stub.requests == []


def test_query_endpoint_is_derived_for_known_stores():
    from ysv_graph.publish.store_client import ConfigError, derive_query_endpoint
    assert derive_query_endpoint("http://h:7878/store") == "http://h:7878/query"
    assert derive_query_endpoint("http://h:3030/ds/data") == "http://h:3030/ds/query"
    assert derive_query_endpoint("http://h:7200/repositories/ysv/rdf-graphs/service") == \
        "http://h:7200/repositories/ysv"
    assert derive_query_endpoint("http://h:8890/sparql-graph-crud") == "http://h:8890/sparql"
    with pytest.raises(ConfigError):
        derive_query_endpoint("http://h/elsewhere")


def test_split_graphs_counts_distinct_triples(tmp_path):
    path = tmp_path / "dup.nq"
    line = '<http://e.org/a> <http://e.org/p> "x" <http://e.org/g> .\n'
    path.write_text(line * 3 + '<http://e.org/b> <http://e.org/p> "y" <http://e.org/g> .\n')
    (plan,) = remote.split_graphs(path, tmp_path)
    assert (plan.target, plan.triples) == ("http://e.org/g", 2)
    assert plan.path.read_text().count("\n") == 4 and plan.size == plan.path.stat().st_size


"""The promises of `ysv-graph publish` (and `query --endpoint`) that are about safety, each stated as a test:

14. No credential we sent is ever printed, whatever the store sends back (echoed headers in a 400 body, in a 503
    that is retried, in a redirect's Location, JSON-escaped or percent-encoded, past the point where a message is
    cut short), for bearer, basic and digest authentication.
15. No wait is longer than the retry budget (YSV_STORE_RETRY_SECONDS): a store that accepts and never answers, or
    that takes a PUT and never answers it, or that trickles its answer a byte at a time, makes publish give up
    within the budget, saying which request it waited for and for how long. SIGTERM stops publish promptly, and
    no temporary file is left behind.
16. "Verified" means the store holds the triples that were sent, not only as many: each graph is read back and
    compared (blank nodes by canonicalisation); a literal the store rewrote to the same value is a warning naming
    the graph and the datatypes; any other difference is "not verified" and exit status 1. Against the real
    Oxigraph server from the venv.

Servers here listen on 127.0.0.1 only, on ports the system chooses; every loop is bounded in count and time.
"""
from __future__ import annotations

import base64
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from test_publish import clean_store_env, make_server, manifest_graphs, synthetic_nquads  # noqa: E402,F401

from ysv_graph.cli import main  # noqa: E402
from ysv_graph.publish import remote  # noqa: E402
from ysv_graph.publish.store_client import StoreClient  # noqa: E402

pytestmark = pytest.mark.slow

XSD = "http://www.w3.org/2001/XMLSchema#"
USER, SECRET, TOKEN = "ysv-publisher", "pa55-Word-7Qx!z", "tok-9f8E7d6C5b4A-secret"


def cli_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YSV_STORE_") and k != "YSV_PUBLISH_TMPDIR"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env.update(settings)
    return env


# -- fake stores ----------------------------------------------------------------------------------------------------

class FakeStore(http.server.ThreadingHTTPServer):
    """A store that misbehaves as told (`mode`). Records every request (method, path, headers)."""

    daemon_threads = True

    def __init__(self, mode: str):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.mode = mode
        self.requests: list[tuple[str, str, dict]] = []
        self.stop = threading.Event()
        self.put_received = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def echo_body(headers: dict, cut: bool = False) -> bytes:
    """What a careless store sends back: every header it got, as text, as JSON, percent-encoded, and the basic
    credentials decoded. cut: the credential first, 12 characters of it before the point where a message is cut
    short (1,000 characters)."""
    auth = headers.get("Authorization", "")
    lines = ["bad request; you sent:", f"Authorization: {auth}"] + [f"{k}: {v}" for k, v in headers.items()]
    if cut:
        lines = ["x" * (1000 - 12 - len("Authorization: ") - len(auth.split(" ")[0]) - 2), f"Authorization: {auth}"]
    lines += [json.dumps(headers), "auth=" + urllib.parse.quote(auth, safe="")]
    if auth.startswith("Basic "):
        lines.append("decoded: " + base64.b64decode(auth[6:]).decode())
    return "\n".join(lines).encode()


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes = b"", content_type: str = "text/plain", **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _counts(self) -> None:
        self._answer(200, json.dumps({"head": {"vars": ["g", "n"]}, "results": {"bindings": []}}).encode(),
                     "application/sparql-results+json")

    def _hang(self) -> None:
        self.server.stop.wait(60)  # never answers (until the test ends)
        self.close_connection = True

    def _handle(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))) if method != "PUT" else b""
        headers = dict(self.headers)
        self.server.requests.append((method, self.path, headers))
        mode = self.server.mode
        if mode == "digest" and not headers.get("Authorization", "").startswith("Digest "):
            return self._answer(401, WWW_Authenticate='Digest realm="ysv", nonce="abc123", qop="auth", '
                                                      'algorithm=MD5')
        if method == "PUT":
            self.server.put_received.set()
            if mode == "hang-put":
                return self._hang()
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode in ("hang-put", "put-400") and method == "POST" and b"COUNT" in body:
            return self._counts()
        if mode in ("echo-400", "put-400", "digest"):
            return self._answer(400, echo_body(headers))
        if mode == "long-400":  # the secret straddles the point where a message is cut short (1,000 characters)
            return self._answer(400, echo_body(headers, cut=True))
        if mode == "echo-503":
            return self._answer(503, echo_body(headers))
        if mode == "redirect":
            auth = headers.get("Authorization", "")
            return self._answer(307, Location=f"http://{USER}:{SECRET}@127.0.0.1:1/elsewhere?auth="
                                              + urllib.parse.quote(auth, safe=""))
        return self._answer(500, b"unexpected")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_GET(self):
        self._handle("GET")


@pytest.fixture()
def fake_store():
    stores = []

    def make(mode: str) -> FakeStore:
        store = FakeStore(mode)
        threading.Thread(target=store.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.stop.set()
        store.shutdown()
        store.server_close()


class RawListener:
    """A TCP listener that accepts connections and then either says nothing ("silent") or trickles an endless
    status line, one byte every 0.2 s ("trickle"). Bounded: it stops after 60 s or when closed."""

    def __init__(self, mode: str):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(conn)
            if self.mode == "trickle":
                threading.Thread(target=self._trickle, args=(conn, deadline), daemon=True).start()

    def _trickle(self, conn: socket.socket, deadline: float) -> None:
        for byte in (b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 400):
            if self.stop.wait(0.2) or time.monotonic() > deadline:
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture()
def listener():
    made = []

    def make(mode: str) -> RawListener:
        made.append(RawListener(mode))
        return made[-1]

    yield make
    for item in made:
        item.close()


def set_auth(monkeypatch, scheme: str) -> list[str]:
    """Sets the credentials; returns every form of them that must never be printed."""
    pair = f"{USER}:{SECRET}"
    if scheme == "bearer":
        monkeypatch.setenv("YSV_STORE_TOKEN", TOKEN)
        return [TOKEN]
    monkeypatch.setenv("YSV_STORE_USER", USER)
    monkeypatch.setenv("YSV_STORE_PASSWORD", SECRET)
    if scheme == "digest":
        monkeypatch.setenv("YSV_STORE_AUTH", "digest")
    b64 = base64.b64encode(pair.encode()).decode()
    return [SECRET, b64]  # (user:password holds the password)


def assert_never_printed(text: str, secrets: list[str]) -> None:
    """Not a secret, nor any 8 characters of one (a message cut short must not show half a secret), nor their
    percent-encoded forms."""
    text = text.lower()
    for secret in secrets:
        for form in {secret, urllib.parse.quote(secret, safe="")}:
            for start in range(0, max(1, len(form) - 7)):
                assert form[start:start + 8].lower() not in text, f"a credential was printed: {form!r}"


# -- 14. credentials are never printed ------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["bearer", "basic"])
@pytest.mark.parametrize("mode", ["echo-400", "put-400", "long-400", "echo-503", "redirect"])
def test_credentials_echoed_by_the_store_are_never_printed(fake_store, built_out, capsys, monkeypatch, scheme,
                                                           mode):
    forms = set_auth(monkeypatch, scheme)
    monkeypatch.setenv("YSV_STORE_RETRY_SECONDS", "1.2")
    store = fake_store(mode)
    code = main(["publish", "--store", store.url + "/store", "--out", str(built_out)])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert code == 2
    assert store.requests and all(h.get("Authorization") for _, _, h in store.requests)  # they were sent
    assert_never_printed(printed, forms)
    if mode in ("echo-400", "put-400"):  # the store's message is still shown, with the credential masked
        assert "400 Bad Request" in printed
        assert f"Authorization: {'Bearer' if scheme == 'bearer' else 'Basic'} ***" in printed
        assert "PUT <" in printed if mode == "put-400" else "SPARQL query" in printed
    if mode == "echo-503":
        assert "retrying in 0.5 s" in printed and "gave up after" in printed
    if mode == "redirect":
        assert "unexpected redirect 307 to http://***@127.0.0.1:1/elsewhere" in printed


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_the_report_of_the_library_is_redacted_too(fake_store, built_out, monkeypatch, scheme):
    forms = set_auth(monkeypatch, scheme)
    from ysv_graph.publish.store_client import Auth
    store = fake_store("echo-400")
    report = remote.publish(built_out / "ysv.nq", store.url + "/store", auth=Auth.from_env(), retry_seconds=1)
    assert report.exit_code == 2 and "400 Bad Request" in report.error
    assert_never_printed(report.error, forms)


def test_digest_answers_are_never_printed(fake_store, built_out, capsys, monkeypatch):
    forms = set_auth(monkeypatch, "digest")
    store = fake_store("digest")
    assert main(["publish", "--store", store.url + "/store", "--out", str(built_out)]) == 2
    printed = "".join(capsys.readouterr())
    sent = [h["Authorization"] for _, _, h in store.requests if h.get("Authorization", "").startswith("Digest ")]
    assert sent, "the digest challenge was not answered"
    response = re.search(r'response="([0-9a-f]+)"', sent[0]).group(1)
    assert_never_printed(printed, forms + [response])
    assert "400 Bad Request" in printed


def test_query_command_never_prints_credentials(fake_store, capsys, monkeypatch):
    forms = set_auth(monkeypatch, "bearer")
    store = fake_store("echo-400")
    assert main(["query", "--endpoint", store.url + "/query", "vru-areas-funded-2022"]) == 2
    printed = "".join(capsys.readouterr())
    assert "400 Bad Request" in printed and "Authorization: Bearer ***" in printed
    assert_never_printed(printed, forms)


# -- 15. every wait is bounded; SIGTERM cleans up -------------------------------------------------------------------

def publish_within(limit: float, *args, **kwargs):
    """remote.publish in a thread, waited for at most `limit` seconds: (report or None, seconds, events)."""
    box, events = {}, []
    kwargs["on_event"] = lambda kind, **info: events.append((kind, info))

    def run():
        box["report"] = remote.publish(*args, **kwargs)

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    return box.get("report"), time.monotonic() - start, events


def test_a_store_that_never_answers_fails_within_the_budget(listener, built_out):
    silent = listener("silent")
    budget = 3.0
    report, seconds, events = publish_within(budget + 10, built_out / "ysv.nq", silent.url + "/store",
                                             retry_seconds=budget)
    assert report is not None, f"publish was still waiting after {seconds:.0f} s (budget {budget:g} s)"
    assert seconds < budget + 1.5, seconds
    assert report.exit_code == 2 and report.written == []
    assert "SPARQL query (counting the triples of" in report.error and "waiting for the answer" in report.error
    assert f"no answer within {budget:g} s" in report.error
    waiting = [info for kind, info in events if kind == "waiting"]
    assert waiting and waiting[0]["what"].startswith("SPARQL query") and 1.5 < waiting[0]["waited"] < budget


def test_a_put_that_is_never_answered_fails_within_the_budget(fake_store, built_out):
    store = fake_store("hang-put")
    budget = 2.5
    report, seconds, events = publish_within(budget + 10, built_out / "ysv.nq", store.url + "/store",
                                             retry_seconds=budget)
    assert report is not None, f"publish was still waiting after {seconds:.0f} s (budget {budget:g} s)"
    assert seconds < budget + 1.5, seconds
    first = report.graphs[0]
    assert first.status == "failed" and f"PUT <{first.target}>" in report.error
    assert "gave up after" in report.error and report.exit_code == 2
    assert any(kind == "waiting" and info["what"].startswith("PUT <") for kind, info in events)


def test_a_trickling_answer_does_not_extend_the_budget(listener, built_out):
    slow = listener("trickle")  # a byte every 0.2 s: no single read ever times out
    budget = 2.0
    report, seconds, _events = publish_within(budget + 10, built_out / "ysv.nq", slow.url + "/store",
                                              retry_seconds=budget)
    assert report is not None, f"publish was still waiting after {seconds:.0f} s (budget {budget:g} s)"
    assert seconds < budget + 1.5, seconds
    assert report.exit_code == 2 and "gave up after" in report.error


def test_silent_store_from_the_command_line(listener, built_out):
    silent = listener("silent")
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "ysv_graph", "publish", "--store", silent.url + "/store",
                               "--out", str(built_out)], capture_output=True, text=True, timeout=30,
                              env=cli_env(YSV_STORE_RETRY_SECONDS="6"), cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("publish was still silent after 30 s with YSV_STORE_RETRY_SECONDS=6")
    seconds = time.monotonic() - start
    assert done.returncode == 2
    assert seconds < 6 + 5, seconds  # the budget, and the interpreter's start and the file's reading
    port = silent.url.rsplit(":", 1)[1]
    assert re.search(rf"SPARQL query \(counting the triples of \d+ graphs\) to http://127\.0\.0\.1:{port}/query: "
                     r"waiting for the answer, \d s so far \(gives up in \d s: YSV_STORE_RETRY_SECONDS=6\)", done.stderr)
    assert "no answer within 6 s" in done.stderr


def test_sigterm_stops_publish_promptly_and_leaves_no_temporary_file(fake_store, tmp_path):
    store = fake_store("hang-put")
    temp = tmp_path / "tmp"
    temp.mkdir()
    nquads = tmp_path / "big.nq"
    synthetic_nquads(nquads, {"one": (10_000, "v1")})  # about 1 MB of N-Triples to spool
    proc = subprocess.Popen([sys.executable, "-m", "ysv_graph", "publish", "--store", store.url + "/store",
                             "--nquads", str(nquads)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(YSV_STORE_RETRY_SECONDS="60", TMPDIR=str(temp)), cwd=ROOT)
    try:
        assert store.put_received.wait(30), "publish did not reach the PUT"
        spooled = [p for p in temp.rglob("*") if p.is_file()]
        assert spooled and sum(p.stat().st_size for p in spooled) > 900_000  # the body waits on disk
        time.sleep(0.3)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        seconds = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 128 + signal.SIGTERM, (proc.returncode, err)
    assert seconds < 3, seconds
    assert "stopped by SIGTERM while publishing" in err
    assert "not written: http://example.org/ysv-test/graph/one (the request failed" in err
    assert list(temp.iterdir()) == []  # nothing left behind


def test_the_temporary_folder_is_configurable_and_removed(listener, built_out, tmp_path, monkeypatch):
    monkeypatch.setenv("YSV_PUBLISH_TMPDIR", str(tmp_path / "spool"))
    (tmp_path / "spool").mkdir()
    silent = listener("silent")
    report, _seconds, events = publish_within(15, built_out / "ysv.nq", silent.url + "/store", retry_seconds=1)
    assert report is not None and report.exit_code == 2
    assert report.workdir.parent == tmp_path / "spool"  # where it was: discoverable
    assert dict(events[0][1])["workdir"] == str(report.workdir)
    assert list((tmp_path / "spool").iterdir()) == []  # removed, though the publish failed


# -- 16. verified means the same triples ----------------------------------------------------------------------------

def rewritable(nquads: Path) -> Counter:
    """(graph, datatype) -> literals Oxigraph keeps in another form: the integer types other than xsd:integer,
    and date-times written with +00:00."""
    found = Counter()
    for quad in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS):
        obj = quad.object
        if isinstance(obj, ox.Literal) and obj.datatype.value == XSD + "nonNegativeInteger":
            found[(quad.graph_name.value, "of xsd:nonNegativeInteger stored as xsd:integer")] += 1
        if isinstance(obj, ox.Literal) and obj.datatype.value == XSD + "dateTime" and obj.value.endswith("+00:00"):
            found[(quad.graph_name.value, "of xsd:dateTime stored in another lexical form")] += 1
    return found


def test_real_data_rewrites_are_reported_by_graph_and_datatype(make_server, built_out, capsys):
    server = make_server()
    code = main(["publish", "--store", server.store, "--out", str(built_out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    expected = rewritable(built_out / "ysv.nq")
    warnings = re.findall(r"warning: graph (\S+): (\d+) literals? (of xsd:\w+ stored (?:as xsd:\w+|in another "
                          r"lexical form))", captured.err)
    assert Counter({(g, what): int(n) for g, n, what in warnings}) == expected
    if expected:
        assert f"the store keeps {sum(expected.values())} literal" in captured.out
    assert "published and verified" in captured.out


def write_nquads(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


G = "http://example.org/ysv-test/graph/"
E = "http://example.org/ysv-test/"
TYPED = [f'<{E}s{i}> <{E}count> "{i}"^^<{XSD}nonNegativeInteger> <{G}typed> .' for i in range(3)] + [
    f'<{E}s> <{E}when> "2026-11-28T00:00:00+00:00"^^<{XSD}dateTime> <{G}typed> .',
    f'<{E}s> <{E}name> "plain" <{G}typed> .']
BLANK = [f'_:a <{E}knows> _:b <{G}blank> .', f'_:b <{E}age> "41"^^<{XSD}nonNegativeInteger> <{G}blank> .',
         f'_:b <{E}name> "B" <{G}blank> .']


def test_synthetic_rewrites_are_warnings_and_verified(make_server, tmp_path, capsys):
    server = make_server()
    write_nquads(tmp_path / "data.nq", TYPED + BLANK)
    assert main(["publish", "--store", server.store, "--nquads", str(tmp_path / "data.nq")]) == 0
    err = capsys.readouterr().err
    assert f"graph {G}typed: 3 literals of xsd:nonNegativeInteger stored as xsd:integer (<{E}count>; " \
           f'e.g. "0"^^xsd:nonNegativeInteger as "0"^^xsd:integer)' in err
    assert f"graph {G}typed: 1 literal of xsd:dateTime stored in another lexical form" in err
    assert f"graph {G}blank: 1 literal of xsd:nonNegativeInteger stored as xsd:integer" in err  # blank nodes


def tamper(monkeypatch, server, graph: str, old: str, new: str) -> None:
    """After publish has PUT `graph`, the store's copy of it gets `new` instead of the line `old` (same count)."""
    real = StoreClient.put_graph

    def put_graph(self, graph_iri, body, size, *, bulk=False):
        used = real(self, graph_iri, body, size, bulk=bulk)
        if graph_iri == graph:
            text = b"".join(body()).decode()
            assert old in text
            httpx.put(server.store, params={"graph": graph}, content=text.replace(old, new).encode(),
                      headers={"Content-Type": "application/n-triples"}, timeout=30).raise_for_status()
        return used
    monkeypatch.setattr(StoreClient, "put_graph", put_graph)


@pytest.mark.parametrize("case", ["value", "iri", "blank"])
def test_other_triples_with_the_same_counts_are_not_verified(make_server, tmp_path, capsys, monkeypatch, case):
    server = make_server()
    write_nquads(tmp_path / "data.nq", TYPED + BLANK)
    graph, old, new = {
        "value": (G + "typed", f'"2"^^<{XSD}nonNegativeInteger>', f'"3"^^<{XSD}integer>'),  # not the same value
        "iri": (G + "typed", f"<{E}s1> <{E}count>", f"<{E}s9> <{E}count>"),
        "blank": (G + "blank", '"B"', '"C"')}[case]
    tamper(monkeypatch, server, graph, old, new)
    code = main(["publish", "--store", server.store, "--nquads", str(tmp_path / "data.nq")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert f"graph {graph}: not verified: the store holds " in captured.err
    if case != "blank":  # (with blank nodes, a change may relabel every triple that has one)
        assert "1 sent are not in the store, 1 in the store were not sent" in captured.err
    assert "not verified: 1 of 2 graphs" in captured.err
    assert "published and verified" not in captured.out


def test_real_data_changed_in_the_store_is_not_verified(make_server, built_out, capsys, monkeypatch):
    server = make_server()
    graph = next(iter(sorted(manifest_graphs(built_out))))
    triples = [q for q in ox.parse(path=str(built_out / "ysv.nq"), format=ox.RdfFormat.N_QUADS)
               if q.graph_name.value == graph and isinstance(q.object, ox.Literal)]
    old = str(triples[0].object)
    tamper(monkeypatch, server, graph, old, str(ox.Literal(triples[0].object.value + " (changed)")))
    code = main(["publish", "--store", server.store, "--out", str(built_out)])
    captured = capsys.readouterr()
    assert code == 1 and f"graph {graph}: not verified" in captured.err


def test_every_literal_oxigraph_rewrites_is_a_rewrite_and_nothing_else_is(tmp_path):
    """Oxigraph's own normal forms (its embedded store normalises as its server does): each is a rewrite; a
    literal with another value never is."""
    from ysv_graph.publish import verify
    literals = ['"012"^^<{x}int>', '"1.50"^^<{x}decimal>', '"1"^^<{x}boolean>', '"1E0"^^<{x}double>',
                '"P1Y12M"^^<{x}duration>', '"2020-01-01-00:00"^^<{x}date>',
                '"2020-01-01T10:00:00+00:00"^^<{x}dateTime>', '"7"^^<{x}unsignedByte>']
    lines = [f"<{E}s> <{E}p{i}> {lit.format(x=XSD)} ." for i, lit in enumerate(literals)]
    (tmp_path / "ours.nt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = ox.Store()
    store.load(path=str(tmp_path / "ours.nt"), format=ox.RdfFormat.N_TRIPLES)
    store.dump(output=str(tmp_path / "theirs.nt"), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    result = verify.compare(tmp_path / "ours.nt", tmp_path / "theirs.nt")
    assert result.same and result.stored == len(literals) and sum(result.rewrites.values()) == len(literals)
    assert {"of xsd:int stored as xsd:integer", "of xsd:double stored in another lexical form",
            "of xsd:duration stored in another lexical form"} <= set(result.rewrites)
    changed = (tmp_path / "theirs.nt").read_text(encoding="utf-8").replace('"1.5"', '"1.6"')
    (tmp_path / "changed.nt").write_text(changed, encoding="utf-8")
    result = verify.compare(tmp_path / "ours.nt", tmp_path / "changed.nt")
    assert (result.missing, result.extra, sum(result.rewrites.values())) == (1, 1, len(literals) - 1)

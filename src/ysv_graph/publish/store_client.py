"""A small client for a remote triple store: the SPARQL 1.1 Graph Store HTTP Protocol (PUT a named graph) and the
SPARQL 1.1 Protocol (queries), with authentication from environment variables and bounded retries.

Authentication (never from the command line, never printed):

    YSV_STORE_TOKEN                          HTTP bearer token (Authorization: Bearer ...)
    YSV_STORE_USER and YSV_STORE_PASSWORD    HTTP basic authentication (HTTP digest if YSV_STORE_AUTH=digest, as
                                             Virtuoso's /sparql-graph-crud-auth wants)

Time: YSV_STORE_RETRY_SECONDS (default 60) is the longest one request may take, every try and every wait
included: connecting, sending the body, waiting for the answer and reading it. Connection errors, time-outs and
5xx answers (except 501) are retried with exponential backoff (0.5 s, 1 s, 2 s, ... at most 8 s between tries)
within that budget. A 4xx answer is never retried: it is reported with the store's own message. Each try runs in
a helper thread while the calling thread waits for it with the time left, reporting ("waiting" events) what it is
waiting for and for how long; when the budget is spent the try is abandoned (its sockets shut down) and the
request fails, so no store, however it behaves (silent, trickling bytes), holds a request for longer.

Nothing a store sends back is shown as it came: every message goes through the Auth's Redactor (redact.py), which
masks the credentials that were sent.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import httpx

from .redact import Redactor

ENV_TOKEN = "YSV_STORE_TOKEN"
ENV_USER = "YSV_STORE_USER"
ENV_PASSWORD = "YSV_STORE_PASSWORD"
ENV_RETRY = "YSV_STORE_RETRY_SECONDS"
ENV_SCHEME = "YSV_STORE_AUTH"
DEFAULT_RETRY_SECONDS = 60.0

CONNECT_SECONDS = 10.0  # at most this for connecting (and never more than the time left of the budget)
FIRST_REPORT, REPORT_EVERY = 2.0, 10.0  # "waiting" events: after 2 s of one try, then every 10 s
ERROR_BODY_LIMIT = 64 * 1024  # at most this much of an error answer is read (for its message)
CHUNK = 1 << 20  # request bodies are streamed from disk in 1 MiB pieces

SPARQL_RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class StoreError(Exception):
    """A request to the store failed for good (after any retries)."""

    def __init__(self, message: str, *, status: int | None = None, retried: int = 0, timed_out: bool = False):
        super().__init__(message)
        self.status = status
        self.retried = retried
        self.timed_out = timed_out


class ConfigError(Exception):
    """Bad settings: a bad URL, conflicting or incomplete credentials."""


@dataclass
class Auth:
    scheme: str  # none | bearer | basic | digest
    _token: str | None = field(default=None, repr=False)
    _user: str | None = field(default=None, repr=False)
    _password: str | None = field(default=None, repr=False)
    redact: Redactor = field(default_factory=Redactor, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.redact.add(self._token)
        if self._password:
            self.redact.add_basic(self._user or "", self._password)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Auth:
        env = os.environ if environ is None else environ
        token, user, password = env.get(ENV_TOKEN), env.get(ENV_USER), env.get(ENV_PASSWORD)
        if token and (user or password):
            raise ConfigError(f"set either {ENV_TOKEN} or {ENV_USER}/{ENV_PASSWORD}, not both")
        if token:
            return cls("bearer", _token=token)
        wanted = (env.get(ENV_SCHEME) or "").strip().lower()
        if wanted not in ("", "basic", "digest", "bearer"):
            raise ConfigError(f"{ENV_SCHEME} must be basic, digest or bearer, not {wanted!r}")
        if user or password:
            if not (user and password):
                raise ConfigError(f"{ENV_USER} and {ENV_PASSWORD} must be set together")
            if wanted == "bearer":
                raise ConfigError(f"{ENV_SCHEME}=bearer needs {ENV_TOKEN}")
            return cls("digest" if wanted == "digest" else "basic", _user=user, _password=password)
        if wanted in ("basic", "digest"):
            raise ConfigError(f"{ENV_SCHEME}={wanted} needs {ENV_USER} and {ENV_PASSWORD}")
        return cls("none")

    def describe(self) -> str:
        """Which kind of authentication is used and where it came from - never the secret itself."""
        return {"none": "none",
                "bearer": f"bearer token from {ENV_TOKEN}",
                "basic": f"HTTP basic from {ENV_USER}/{ENV_PASSWORD}",
                "digest": f"HTTP digest from {ENV_USER}/{ENV_PASSWORD}"}[self.scheme]

    def httpx_auth(self) -> httpx.Auth | None:
        if self.scheme == "basic":
            return httpx.BasicAuth(self._user or "", self._password or "")
        if self.scheme == "digest":
            return httpx.DigestAuth(self._user or "", self._password or "")
        if self.scheme == "bearer":
            return _BearerAuth(self._token or "")
        return None


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str):
        self._token = token

    def __repr__(self) -> str:  # never show the token
        return "_BearerAuth(***)"

    def auth_flow(self, request: httpx.Request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def retry_seconds_from_env(environ: dict[str, str] | None = None) -> float:
    env = os.environ if environ is None else environ
    value = env.get(ENV_RETRY)
    if value is None or value == "":
        return DEFAULT_RETRY_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{ENV_RETRY} must be a number of seconds, not {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{ENV_RETRY} must be a positive number of seconds (the longest one request may take)")
    return seconds


def check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what}: not an http(s) URL: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{what}: credentials in the URL are not accepted; set {ENV_TOKEN} or "
                          f"{ENV_USER}/{ENV_PASSWORD} instead")
    return url


def derive_query_endpoint(store_url: str) -> str:
    """The SPARQL query endpoint that goes with a Graph Store Protocol endpoint, for the usual servers."""
    parts = urllib.parse.urlsplit(store_url)
    path = parts.path.rstrip("/")
    rules = (
        (r"/store$", "/query"),                       # Oxigraph: /store and /query
        (r"/data$", "/query"),                        # Apache Jena Fuseki: /ds/data and /ds/query
        (r"/rdf-graphs/service$", ""),                # GraphDB / RDF4J: /repositories/ID/rdf-graphs/service
        (r"/sparql-graph-crud-auth$", "/sparql-auth"),  # Virtuoso
        (r"/sparql-graph-crud$", "/sparql"),           # Virtuoso
    )
    for pattern, replacement in rules:
        if re.search(pattern, path):
            new_path = re.sub(pattern, replacement, path)
            return urllib.parse.urlunsplit((parts.scheme, parts.netloc, new_path, "", ""))
    raise ConfigError(f"cannot tell the SPARQL query endpoint from the store URL {store_url!r}; "
                      "give it with --query-endpoint")


def oxigraph_version(server_header: str | None) -> tuple[int, ...] | None:
    """(0, 5, 13) from 'Oxigraph/0.5.13', None for any other server."""
    if not server_header:
        return None
    match = re.match(r"\s*oxigraph/(\d+)\.(\d+)\.(\d+)", server_header, re.IGNORECASE)
    return tuple(int(x) for x in match.groups()) if match else None


@dataclass
class RetryPolicy:
    total_seconds: float = DEFAULT_RETRY_SECONDS
    first_delay: float = 0.5
    max_delay: float = 8.0
    factor: float = 2.0


def _store_message(response: httpx.Response, body: bytes, redact: Redactor, limit: int = 1000) -> str:
    """The status and the store's own words, credentials masked *before* the text is cut to `limit` characters (a
    cut could otherwise leave part of a secret that no longer matches)."""
    try:
        text = body.decode(response.encoding or "utf-8", errors="replace").strip()
    except LookupError:
        text = body.decode("utf-8", errors="replace").strip()
    text = redact(re.sub(r"\s+", " ", redact(text)))
    if len(text) > limit:
        text = text[:limit] + "…"
    reason = response.reason_phrase or ""
    return f"{response.status_code} {reason}".strip() + (f": {text}" if text else "")


def _retryable_status(status: int) -> bool:
    return status >= 500 and status != 501


_PHASES = {"connection.connect_tcp.started": "connecting", "connection.start_tls.started": "connecting (TLS)",
           "http11.send_request_headers.started": "sending the request",
           "http11.send_request_body.started": "sending the request body",
           "http11.receive_response_headers.started": "waiting for the answer",
           "http11.receive_response_body.started": "reading the answer"}


class _Try:
    """One try of a request, run in a daemon thread; the caller waits on `done`."""

    def __init__(self):
        self.done = threading.Event()
        self.phase = "starting"
        self.response: httpx.Response | None = None
        self.body = b""           # an error answer's first bytes (for its message)
        self.result = None        # what consume() returned
        self.error: BaseException | None = None


class StoreClient:
    """One store: its Graph Store Protocol endpoint and its SPARQL query endpoint."""

    def __init__(self, store_url: str | None, query_url: str, *, auth: Auth | None = None,
                 retry: RetryPolicy | None = None, on_event: Callable[..., None] | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.store_url = check_url(store_url, "--store") if store_url else None
        self.query_url = check_url(query_url, "query endpoint")
        self.auth = auth or Auth("none")
        self.redact = self.auth.redact
        self.retry = retry or RetryPolicy()
        self.on_event = on_event or (lambda *a, **k: None)
        self.server: str | None = None  # the store's Server header, once seen
        self._transport = transport
        self._sockets: list[socket.socket] = []  # every connection this client opened (to shut down when abandoning)
        self._client = self._new_client()

    def _new_client(self) -> httpx.Client:
        return httpx.Client(auth=self.auth.httpx_auth(), follow_redirects=False, headers={"User-Agent": "ysv-graph"},
                            transport=self._transport, event_hooks={"request": [self._remember_credentials]})

    def _remember_credentials(self, request: httpx.Request) -> None:
        """Whatever credential goes out (a digest answer too) is masked wherever it comes back."""
        for name in ("authorization", "proxy-authorization"):
            if name in request.headers:
                self.redact.add(request.headers[name])

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the one place that sends requests ----------------------------------------------------------------------
    def _trace(self, attempt: _Try):
        def trace(event: str, info: dict) -> None:
            if event in _PHASES:
                attempt.phase = _PHASES[event]
            if event in ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete"):
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if sock is not None:
                    self._sockets.append(sock)
        return trace

    def _run(self, attempt: _Try, request: httpx.Request, consume) -> None:
        """The helper thread: send, then read the answer (into consume() for a success)."""
        try:
            response = self._client.send(request, stream=True)
            attempt.response = response
            try:
                if response.status_code < 300 and consume is not None:
                    attempt.result = consume(response)
                elif response.status_code < 300:
                    response.read()
                else:
                    pieces, size = [], 0
                    for piece in response.iter_bytes():
                        pieces.append(piece)
                        size += len(piece)
                        if size >= ERROR_BODY_LIMIT:
                            break
                    attempt.body = b"".join(pieces)[:ERROR_BODY_LIMIT]
            finally:
                response.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            attempt.error = exc
        finally:
            attempt.done.set()

    def _abandon(self) -> None:
        """Give up on a try still running: shut its connections down (which wakes the helper thread wherever it
        is blocked) and carry on with a fresh connection pool."""
        sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        old, self._client = self._client, self._new_client()
        threading.Thread(target=old.close, daemon=True).start()

    def _wait(self, what: str, attempt: _Try, started: float, deadline: float, tries: int) -> bool:
        """Wait for a try until the deadline, reporting what is awaited. True if it finished in time."""
        next_report = time.monotonic() + FIRST_REPORT
        while True:
            now = time.monotonic()
            if now >= deadline:
                return attempt.done.is_set()
            if attempt.done.wait(max(0.0, min(deadline, next_report) - now)):
                return True
            now = time.monotonic()
            if now >= next_report and now < deadline:
                self.on_event("waiting", what=what, phase=attempt.phase, waited=now - started,
                              left=deadline - now, budget=self.retry.total_seconds, tries=tries)
                next_report = now + REPORT_EVERY

    def _send(self, what: str, make_request: Callable[[], httpx.Request], accept_status: tuple[int, ...] = (),
              consume: Callable[[httpx.Response], object] | None = None) -> tuple[httpx.Response, object]:
        """Send a request built afresh for every try; retry connection errors and 5xx with backoff; never wait
        longer than the budget. Returns the (closed) response and what consume() returned for a 2xx answer."""
        policy = self.retry
        started = time.monotonic()
        deadline = started + policy.total_seconds
        delay = policy.first_delay
        retried = 0
        while True:
            left = max(deadline - time.monotonic(), 0.001)
            request = make_request()
            # the helper's own time-outs run a little past the deadline: the waiting thread is the one that decides
            request.extensions["timeout"] = httpx.Timeout(left + 0.5, connect=min(CONNECT_SECONDS, left)).as_dict()
            attempt = _Try()
            request.extensions["trace"] = self._trace(attempt)
            threading.Thread(target=self._run, args=(attempt, request, consume), daemon=True,
                             name=f"ysv-graph {what}"[:60]).start()
            try:
                finished = self._wait(what, attempt, started, deadline, retried + 1)
            except BaseException:  # a signal (SIGTERM), Ctrl-C: cut the request off, then stop
                self._abandon()
                raise
            timed_out = isinstance(attempt.error, httpx.TimeoutException) and \
                time.monotonic() + delay >= deadline
            if not finished or timed_out:
                if not finished:
                    self._abandon()
                tries = retried + 1
                raise StoreError(f"{what}: no answer within {policy.total_seconds:g} s ({attempt.phase} when the "
                                 f"time ran out; {tries} tr{'y' if tries == 1 else 'ies'}): gave up after "
                                 f"{time.monotonic() - started:.1f} s, the longest one request may take "
                                 f"({ENV_RETRY}={policy.total_seconds:g})", retried=retried, timed_out=True)
            reason: str
            if attempt.error is not None:
                exc = attempt.error
                if not isinstance(exc, httpx.TransportError):
                    if isinstance(exc, httpx.HTTPError):
                        raise StoreError(self.redact(f"{what}: {type(exc).__name__}: {exc}"), retried=retried)
                    raise exc
                reason = self.redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                if isinstance(exc, httpx.TimeoutException):
                    reason += f" ({attempt.phase})"
            else:
                response = attempt.response
                self.server = response.headers.get("server", self.server)
                if response.status_code < 300 or response.status_code in accept_status:
                    return response, attempt.result
                if 300 <= response.status_code < 400:
                    location = self.redact(response.headers.get("location", "?"))
                    raise StoreError(f"{what}: unexpected redirect {response.status_code} to {location}",
                                     status=response.status_code, retried=retried)
                if not _retryable_status(response.status_code):
                    raise StoreError(f"{what}: {_store_message(response, attempt.body, self.redact)}",
                                     status=response.status_code, retried=retried)
                reason = _store_message(response, attempt.body, self.redact, limit=200)
            now = time.monotonic()
            if now + delay >= deadline:
                tries = retried + 1
                raise StoreError(f"{what}: {reason} (gave up after {tries} tr{'y' if tries == 1 else 'ies'} "
                                 f"in {now - started:.1f} s; {ENV_RETRY}={policy.total_seconds:g})",
                                 retried=retried)
            self.on_event("retry", what=what, reason=reason, delay=delay, left=deadline - now)
            time.sleep(delay)
            retried += 1
            delay = min(delay * policy.factor, policy.max_delay)

    # -- Graph Store Protocol -----------------------------------------------------------------------------------
    def graph_url(self, graph_iri: str, *, bulk: bool = False) -> str:
        assert self.store_url is not None
        separator = "&" if "?" in self.store_url else "?"
        query = urllib.parse.urlencode({"graph": graph_iri})
        return f"{self.store_url}{separator}{query}" + ("&no_transaction" if bulk else "")

    def put_graph(self, graph_iri: str, body: Callable[[], Iterable[bytes]], size: int, *,
                  bulk: bool = False) -> bool:
        """PUT (replace) one named graph with an N-Triples body streamed from `body()` (called afresh for every
        try). bulk: ask Oxigraph for its bulk loader (`no_transaction`) on the first try only - a cut-off bulk load
        may still have been committed, so every retry uses the transactional PUT. Returns whether the try that
        succeeded used the bulk loader."""
        headers = {"Content-Type": N_TRIPLES, "Content-Length": str(size)}
        tries = 0
        used_bulk = False

        def make_request() -> httpx.Request:
            nonlocal tries, used_bulk
            used_bulk = bulk and tries == 0
            tries += 1
            return self._client.build_request("PUT", self.graph_url(graph_iri, bulk=used_bulk), content=body(),
                                              headers=headers)

        self._send(f"PUT <{graph_iri}> ({size:,} bytes)", make_request)
        return used_bulk

    def get_graph(self, graph_iri: str, path: Path) -> str:
        """Read a named graph back into `path`: a Graph Store Protocol GET, or, if the store does not answer GETs,
        a SPARQL CONSTRUCT of the graph. Returns the media type of what was written (empty file: absent graph)."""
        def save(response: httpx.Response) -> str:
            with open(path, "wb") as handle:
                for piece in response.iter_bytes():
                    handle.write(piece)
            return response.headers.get("content-type", "")

        accept = "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8, application/rdf+xml;q=0.5"
        if self.store_url is not None:
            url = self.graph_url(graph_iri)
            response, media = self._send(f"GET <{graph_iri}>", lambda: self._client.build_request(
                "GET", url, headers={"Accept": accept}), accept_status=(400, 404, 405, 406, 415, 501), consume=save)
            if response.status_code == 404:
                Path(path).write_bytes(b"")
                return "application/n-triples"
            if response.status_code < 300:
                return media
        data = urllib.parse.urlencode(
            {"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}"}).encode("utf-8")
        _response, media = self._send(f"SPARQL CONSTRUCT of <{graph_iri}>", lambda: self._client.build_request(
            "POST", self.query_url, content=data,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}), consume=save)
        return media

    def authenticate(self) -> None:
        """For HTTP digest: one body-less request (a GET of a graph that does not exist) to get the server's
        challenge, so that the PUTs after it carry their Authorization header from the start instead of being sent
        twice."""
        if self.auth.scheme != "digest" or self.store_url is None:
            return
        url = self.graph_url("urn:x-ysv-graph:authenticate")
        self._send("GET (authenticate)",
                   lambda: self._client.build_request("GET", url, headers={"Accept": N_TRIPLES}),
                   accept_status=(404,))

    # -- SPARQL 1.1 Protocol ------------------------------------------------------------------------------------
    def query(self, sparql: str, accept: str = SPARQL_RESULTS_JSON, what: str = "SPARQL query") -> httpx.Response:
        data = urllib.parse.urlencode({"query": sparql}).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        response, _ = self._send(f"{what} to {self.query_url}",
                                 lambda: self._client.build_request("POST", self.query_url, content=data,
                                                                    headers=headers))
        return response

    def select(self, sparql: str, what: str = "SPARQL query") -> tuple[list[str], list[dict]]:
        """Variables and bindings (SPARQL 1.1 Query Results JSON) of a SELECT query."""
        response = self.query(sparql, what=what)
        try:
            payload = response.json()
            return payload["head"]["vars"], payload["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(self.redact(f"{what}: the endpoint did not answer with SPARQL JSON results "
                                         f"({response.headers.get('content-type', 'no content type')}): {exc}")
                             ) from None


class FileBody:
    """A request body streamed from a file in pieces. Re-iterable (each iteration reads the file afresh), so a
    request can be sent again, e.g. after an HTTP digest challenge. on_chunk(bytes sent so far) is called after
    each piece has been handed over."""

    def __init__(self, path, chunk: int = CHUNK, on_chunk: Callable[[int], None] | None = None):
        self.path, self.chunk, self.on_chunk = path, chunk, on_chunk

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        with open(self.path, "rb") as handle:
            while True:
                data = handle.read(self.chunk)
                if not data:
                    return
                yield data
                sent += len(data)
                if self.on_chunk is not None:
                    self.on_chunk(sent)


def file_chunks(path, chunk: int = CHUNK, on_chunk: Callable[[int], None] | None = None) -> FileBody:
    return FileBody(path, chunk, on_chunk)

"""A small client for a remote triple store: the SPARQL 1.1 Graph Store HTTP Protocol (PUT a named graph) and the
SPARQL 1.1 Protocol (queries), with authentication from environment variables and bounded retries.

Authentication (never from the command line, never printed):

    YSV_STORE_TOKEN                          HTTP bearer token (Authorization: Bearer ...)
    YSV_STORE_USER and YSV_STORE_PASSWORD    HTTP basic authentication (HTTP digest if YSV_STORE_AUTH=digest, as
                                             Virtuoso's /sparql-graph-crud-auth wants)

Retries: connection errors, time-outs and 5xx answers (except 501) are retried with exponential backoff (0.5 s,
1 s, 2 s, ... at most 8 s between tries) for at most YSV_STORE_RETRY_SECONDS seconds per request (default 60).
A 4xx answer is never retried: it is reported with the store's own message.
"""
from __future__ import annotations

import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import httpx

ENV_TOKEN = "YSV_STORE_TOKEN"
ENV_USER = "YSV_STORE_USER"
ENV_PASSWORD = "YSV_STORE_PASSWORD"
ENV_RETRY = "YSV_STORE_RETRY_SECONDS"
ENV_SCHEME = "YSV_STORE_AUTH"
DEFAULT_RETRY_SECONDS = 60.0

# Transport time-outs. Loading a large graph in one transaction can take minutes before the store answers.
TIMEOUT = httpx.Timeout(connect=10.0, read=1800.0, write=1800.0, pool=10.0)
CHUNK = 1 << 20  # request bodies are streamed from disk in 1 MiB pieces

SPARQL_RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class StoreError(Exception):
    """A request to the store failed for good (after any retries)."""

    def __init__(self, message: str, *, status: int | None = None, retried: int = 0):
        super().__init__(message)
        self.status = status
        self.retried = retried


class ConfigError(Exception):
    """Bad settings: a bad URL, conflicting or incomplete credentials."""


@dataclass
class Auth:
    scheme: str  # none | bearer | basic | digest
    _token: str | None = field(default=None, repr=False)
    _user: str | None = field(default=None, repr=False)
    _password: str | None = field(default=None, repr=False)

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
    if seconds < 0:
        raise ConfigError(f"{ENV_RETRY} must not be negative")
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


def _store_message(response: httpx.Response, limit: int = 1000) -> str:
    try:
        text = response.text.strip()
    except Exception:  # noqa: BLE001 - an undecodable body is no message
        text = ""
    text = re.sub(r"\s+", " ", text)
    if len(text) > limit:
        text = text[:limit] + "…"
    reason = response.reason_phrase or ""
    return f"{response.status_code} {reason}".strip() + (f": {text}" if text else "")


def _retryable_status(status: int) -> bool:
    return status >= 500 and status != 501


class StoreClient:
    """One store: its Graph Store Protocol endpoint and its SPARQL query endpoint."""

    def __init__(self, store_url: str | None, query_url: str, *, auth: Auth | None = None,
                 retry: RetryPolicy | None = None, on_event: Callable[..., None] | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.store_url = check_url(store_url, "--store") if store_url else None
        self.query_url = check_url(query_url, "query endpoint")
        self.auth = auth or Auth("none")
        self.retry = retry or RetryPolicy()
        self.on_event = on_event or (lambda *a, **k: None)
        self.server: str | None = None  # the store's Server header, once seen
        self._client = httpx.Client(timeout=TIMEOUT, auth=self.auth.httpx_auth(), follow_redirects=False,
                                    headers={"User-Agent": "ysv-graph"}, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the one place that sends requests ----------------------------------------------------------------------
    def _send(self, what: str, make_request: Callable[[], httpx.Request],
              accept_status: tuple[int, ...] = ()) -> httpx.Response:
        """Send a request built afresh for every try; retry connection errors and 5xx with backoff."""
        policy = self.retry
        deadline = time.monotonic() + policy.total_seconds
        delay = policy.first_delay
        retried = 0
        while True:
            reason: str
            try:
                response = self._client.send(make_request())
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                self.server = response.headers.get("server", self.server)
                if response.status_code < 300 or response.status_code in accept_status:
                    return response
                if 300 <= response.status_code < 400:
                    raise StoreError(f"{what}: unexpected redirect {response.status_code} to "
                                     f"{response.headers.get('location', '?')}", status=response.status_code,
                                     retried=retried)
                if not _retryable_status(response.status_code):
                    raise StoreError(f"{what}: {_store_message(response)}", status=response.status_code,
                                     retried=retried)
                reason = _store_message(response, limit=200)
            now = time.monotonic()
            if now + delay > deadline:
                tries = retried + 1
                raise StoreError(f"{what}: {reason} (gave up after {tries} tr{'y' if tries == 1 else 'ies'} "
                                 f"in {policy.total_seconds:g} s)", retried=retried)
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

        self._send(f"PUT <{graph_iri}>", make_request)
        return used_bulk

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
    def query(self, sparql: str, accept: str = SPARQL_RESULTS_JSON) -> httpx.Response:
        data = urllib.parse.urlencode({"query": sparql}).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        return self._send("SPARQL query",
                          lambda: self._client.build_request("POST", self.query_url, content=data,
                                                             headers=headers))

    def select(self, sparql: str) -> tuple[list[str], list[dict]]:
        """Variables and bindings (SPARQL 1.1 Query Results JSON) of a SELECT query."""
        response = self.query(sparql)
        try:
            payload = response.json()
            return payload["head"]["vars"], payload["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"SPARQL query: the endpoint did not answer with SPARQL JSON results "
                             f"({response.headers.get('content-type', 'no content type')}): {exc}") from None


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

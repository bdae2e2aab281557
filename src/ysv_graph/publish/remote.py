"""Publishing out/ysv.nq to a remote triple store, and asking the shipped queries of a remote SPARQL endpoint.

publish: every named graph of the N-Quads file is sent with one SPARQL 1.1 Graph Store HTTP Protocol PUT
(`PUT {store}?graph={iri}`, an N-Triples body streamed from disk), so publishing twice leaves exactly one copy.
Afterwards every graph is read back from the store and compared with what was sent, triple for triple (verify.py):
a literal the store rewrote to the same value in another form (xsd:nonNegativeInteger as xsd:integer, say) is a
warning; any other difference means the graph is not verified.

Temporary files: one folder (`ysv-publish-*` in YSV_PUBLISH_TMPDIR, or else the system's temporary folder) holds
the graphs' bodies and what is read back; it is removed however publish ends - an error, Ctrl-C, or SIGTERM/SIGHUP,
which while publish runs (in the main thread, with no handler of the application's own) stop it in an orderly way:
the request under way is cut off, the folder removed, and the report says which graphs were written.

How the file is read: one streaming pass parses it (pyoxigraph), counts the distinct triples of each graph and
writes each graph's triples to its own temporary N-Triples file; each PUT then streams that file. Memory stays
flat whatever the size of the data (the only thing kept per triple is an 8-byte hash, for the distinct count), and
a malformed file is refused before anything is sent.

Half-written graphs: a PUT replaces a graph in one request, so whether a failed request can leave a graph
half-written is up to the store. Oxigraph (0.5.10 and later) clears and loads the graph of a PUT in one
transaction: a request that fails or is cut off, or a server killed in the middle of one, leaves the graph's
previous content (tests/test_publish.py kills a real server mid-request to show it). Such a transaction is slow
for big graphs (about 20,000 triples/s), so for a graph that is absent or empty in an Oxigraph store and has at
least BULK_MIN_TRIPLES triples, publish asks Oxigraph for its bulk loader (`no_transaction`), which writes all the
data at its commit, at the end: if it is cut off, the graph stays empty, which is its previous content. A graph
that already has triples is always replaced with the transactional PUT. Other stores get a plain PUT; see
docs/triple-stores.md for what each one guarantees.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from . import verify
from .store_client import (Auth, ConfigError, RetryPolicy, StoreClient, StoreError, check_url,
                           derive_query_endpoint, file_chunks, oxigraph_version, retry_seconds_from_env)
from ..rdf.terms import DEFAULT_BASE, Base

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
BULK_MIN_TRIPLES = 10_000
OXIGRAPH_ATOMIC_PUT = (0, 5, 10)  # first Oxigraph release whose GSP PUT clears and loads in one transaction
COUNT_BATCH = 200  # graphs per counting query
ENV_TMPDIR = "YSV_PUBLISH_TMPDIR"  # where the temporary folder goes (default: the system's temporary folder)
WORKDIR_PREFIX = "ysv-publish-"


class InputError(Exception):
    """The N-Quads file cannot be published (missing, malformed, triples in the default graph)."""


@dataclass
class GraphPlan:
    source: str          # graph IRI in the file
    target: str          # graph IRI in the store (after --graph-base)
    triples: int         # distinct triples sent
    path: Path           # the graph's N-Triples body
    size: int            # bytes of the body
    before: int | None = None   # triples in the store before publishing (None: not known)
    bulk: bool = False          # sent with Oxigraph's bulk loader
    status: str = "not sent"    # not sent | written | failed | verified | mismatch
    stored: int | None = None   # triples in the store afterwards
    comparison: verify.Comparison | None = None  # what the store holds against what was sent


@dataclass
class PublishReport:
    graphs: list[GraphPlan]
    store_url: str
    query_url: str
    server: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    signal: int | None = None   # the signal (SIGTERM, SIGHUP) that stopped the publish
    workdir: Path | None = None  # the temporary folder used (removed by the time the report is returned)

    @property
    def written(self) -> list[GraphPlan]:
        return [g for g in self.graphs if g.status in ("written", "verified", "mismatch")]

    @property
    def not_written(self) -> list[GraphPlan]:
        return [g for g in self.graphs if g.status in ("not sent", "failed")]

    @property
    def mismatches(self) -> list[GraphPlan]:
        return [g for g in self.graphs if g.status == "mismatch"]

    @property
    def ok(self) -> bool:
        return self.error is None and all(g.status == "verified" for g in self.graphs)

    @property
    def rewrites(self) -> int:
        return sum(sum(g.comparison.rewrites.values()) for g in self.graphs if g.comparison is not None)

    @property
    def exit_code(self) -> int:
        if self.signal is not None:
            return 128 + self.signal
        if self.error is not None:
            return EXIT_ERROR
        return EXIT_OK if self.ok else EXIT_MISMATCH


# -- reading the N-Quads file -------------------------------------------------------------------------------------

def graph_renamer(graph_base: str | None, data_base: str) -> Callable[[str], str]:
    """--graph-base: graph IRIs starting with {data_base}graph/ are rewritten to start with graph_base instead."""
    if graph_base is None:
        return lambda iri: iri
    try:
        ox.NamedNode(graph_base)
    except ValueError as exc:
        raise ConfigError(f"--graph-base: not an absolute IRI: {graph_base!r} ({exc})") from None
    prefix = data_base + "graph/"

    def rename(iri: str) -> str:
        if not iri.startswith(prefix):
            return iri
        new = graph_base + iri[len(prefix):]
        try:
            ox.NamedNode(new)
        except ValueError as exc:
            raise ConfigError(f"--graph-base: {iri} would become an invalid IRI {new!r} ({exc})") from None
        return new

    return rename


def data_base_for(nquads: Path) -> str:
    """The base IRI the file was built with: manifest.json beside it says; otherwise the default."""
    manifest = Path(nquads).parent / "manifest.json"
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))["base"]
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_BASE


def split_graphs(nquads: Path, workdir: Path, rename: Callable[[str], str] = lambda iri: iri,
                 flush_lines: int = 20_000) -> list[GraphPlan]:
    """One streaming pass over the N-Quads file: each named graph's triples to workdir/NNNNN.nt, with the count of
    distinct triples. Graphs come back sorted by target IRI."""
    nquads = Path(nquads)
    if not nquads.is_file():
        raise InputError(f"no such file: {nquads}")
    buffers: dict[ox.NamedNode, list[str]] = {}
    seen: dict[ox.NamedNode, set[int]] = {}
    paths: dict[ox.NamedNode, Path] = {}

    def flush(graph: ox.NamedNode) -> None:
        lines = buffers[graph]
        if lines:
            with open(paths[graph], "a", encoding="utf-8", newline="\n") as handle:
                handle.write("".join(lines))
            lines.clear()

    try:
        for quad in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS):
            graph = quad.graph_name
            lines = buffers.get(graph)
            if lines is None:
                if isinstance(graph, ox.DefaultGraph):
                    raise InputError(f"{nquads}: a triple in the default graph ({quad.triple}); publish sends "
                                     "named graphs only")
                if isinstance(graph, ox.BlankNode):
                    raise InputError(f"{nquads}: a graph named by a blank node ({graph}); publish needs IRIs")
                lines = buffers[graph] = []
                seen[graph] = set()
                paths[graph] = Path(workdir) / f"{len(paths):05d}.nt"
            line = f"{quad.triple} .\n"
            seen[graph].add(hash(line))
            lines.append(line)
            if len(lines) >= flush_lines:
                flush(graph)
    except SyntaxError as exc:
        raise InputError(f"{nquads}: {exc}") from None
    plans = []
    for graph in buffers:
        flush(graph)
        plans.append(GraphPlan(source=graph.value, target=rename(graph.value), triples=len(seen[graph]),
                               path=paths[graph], size=paths[graph].stat().st_size))
    targets = [p.target for p in plans]
    if len(set(targets)) != len(targets):
        raise ConfigError("--graph-base maps two graphs to the same IRI")
    return sorted(plans, key=lambda p: p.target)


# -- talking to the store -----------------------------------------------------------------------------------------

def count_triples(client: StoreClient, graphs: list[str]) -> dict[str, int]:
    """Triples per named graph in the store (0 for a graph that is absent or empty)."""
    counts = {g: 0 for g in graphs}
    for start in range(0, len(graphs), COUNT_BATCH):
        batch = graphs[start:start + COUNT_BATCH]
        values = " ".join(f"<{g}>" for g in batch)
        _vars, bindings = client.select(
            f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g",
            what=f"SPARQL query (counting the triples of {len(batch)} graphs)")
        for binding in bindings:
            try:
                counts[binding["g"]["value"]] = int(binding["n"]["value"])
            except (KeyError, ValueError) as exc:
                raise StoreError(client.redact(f"SPARQL query: unexpected count result {binding!r} ({exc})")
                                 ) from None
    return counts


class Stopped(BaseException):
    """A signal (SIGTERM, SIGHUP) asked publish to stop. A BaseException, so that no `except Exception` keeps it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopOnSignals:
    """While publishing: SIGTERM and SIGHUP raise Stopped in the main thread, once; during the clean-up (hold())
    they are only noted. Only signals left at their default handling are taken over, and only in the main thread;
    the previous handlers come back at the end."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self):
        self.previous: dict[int, object] = {}
        self.received: int | None = None
        self.holding = False

    def _handler(self, signum, _frame) -> None:
        first = self.received is None
        self.received = self.received or signum
        if first and not self.holding:
            raise Stopped(signum)

    def hold(self) -> None:
        self.holding = True

    def __enter__(self) -> _StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                try:
                    if signal.getsignal(signum) == signal.SIG_DFL:
                        self.previous[signum] = signal.signal(signum, self._handler)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def temporary_root() -> Path:
    """The folder the temporary folder is made in: YSV_PUBLISH_TMPDIR, or else the system's temporary folder."""
    root = os.environ.get(ENV_TMPDIR)
    return Path(root) if root else Path(tempfile.gettempdir())


def publish(nquads: Path, store_url: str, *, graph_base: str | None = None, query_url: str | None = None,
            auth: Auth | None = None, retry_seconds: float | None = None, dry_run: bool = False,
            on_event: Callable[..., None] | None = None, workdir: Path | None = None,
            bulk_min_triples: int = BULK_MIN_TRIPLES) -> PublishReport:
    """Publish every named graph of an N-Quads file; see the module docstring. Raises ConfigError and InputError
    before anything is sent; store failures are reported in the PublishReport (error, statuses), and so is a
    SIGTERM/SIGHUP (signal; exit_code 128 + the signal's number)."""
    emit = on_event or (lambda *a, **k: None)
    check_url(store_url, "--store")
    query_url = check_url(query_url, "--query-endpoint") if query_url else derive_query_endpoint(store_url)
    rename = graph_renamer(graph_base, data_base_for(Path(nquads)))
    retry = RetryPolicy(total_seconds=retry_seconds_from_env() if retry_seconds is None else retry_seconds)
    owned = workdir is None
    report = PublishReport([], store_url, query_url)
    with _StopOnSignals() as signals:
        try:
            if owned:
                root = temporary_root()
                if not root.is_dir():
                    raise ConfigError(f"{ENV_TMPDIR}: no such folder: {root}")
                workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=root))
            report.workdir = Path(workdir)
            emit("reading", path=str(nquads), workdir=str(workdir))
            report.graphs = split_graphs(Path(nquads), Path(workdir), rename)
            if not dry_run:
                with StoreClient(store_url, query_url, auth=auth, retry=retry, on_event=on_event) as client:
                    _send_all(client, report, emit, bulk_min_triples, Path(workdir))
        except Stopped as stop:
            report.signal = stop.signum
        finally:
            signals.hold()  # a second signal must not cut the clean-up short
            if owned and workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
        if signals.received is not None and report.signal is None:
            report.signal = signals.received
    if report.signal is not None:
        step = "while reading the file" if not report.graphs else \
            "while verifying" if not report.not_written else "while publishing"
        report.error = f"stopped by {signal.Signals(report.signal).name} {step}"
    return report


def _send_all(client: StoreClient, report: PublishReport, emit, bulk_min_triples: int, workdir: Path) -> None:
    plans = report.graphs
    try:
        before = count_triples(client, [p.target for p in plans])
    except StoreError as exc:
        report.error = f"could not ask the store which graphs it holds: {exc}"
        return
    report.server = client.server
    version = oxigraph_version(client.server)
    if version is not None and version < OXIGRAPH_ATOMIC_PUT:
        report.warnings.append(client.redact(
            f"{client.server}: before Oxigraph 0.5.10 a Graph Store PUT clears the graph before loading the new "
            "content in a separate transaction, so a failed PUT can leave a graph empty; upgrade the server"))
    for plan in plans:
        plan.before = before[plan.target]
        plan.bulk = (version is not None and version >= OXIGRAPH_ATOMIC_PUT and plan.before == 0
                     and plan.triples >= bulk_min_triples)
    try:
        client.authenticate()
    except StoreError as exc:
        report.error = str(exc)
        return
    for index, plan in enumerate(plans):
        emit("put", graph=plan.target, index=index, total=len(plans), triples=plan.triples, size=plan.size,
             bulk=plan.bulk)
        def body(plan=plan):
            return file_chunks(plan.path, on_chunk=lambda sent: emit("sent", graph=plan.target, sent=sent,
                                                                      size=plan.size))

        try:
            plan.bulk = client.put_graph(plan.target, body, plan.size, bulk=plan.bulk)
        except BaseException as exc:
            plan.status = "failed"  # cut off (or refused): the graph keeps its previous content
            if not isinstance(exc, StoreError):
                raise
            report.error = str(exc)
            return
        plan.status = "written"
        emit("written", graph=plan.target)
    emit("verifying", total=len(plans))
    for index, plan in enumerate(plans):
        emit("reading back", graph=plan.target, index=index, total=len(plans))
        back = workdir / f"{plan.path.stem}.stored"
        try:
            media_type = client.get_graph(plan.target, back)
            plan.comparison = verify.compare(plan.path, back, media_type)
        except StoreError as exc:
            report.error = f"every graph was sent, but reading {plan.target} back from the store failed: {exc}"
            return
        except (ValueError, SyntaxError) as exc:
            report.error = client.redact(f"every graph was sent, but what the store answered for {plan.target} "
                                         f"cannot be read: {exc}")
            return
        finally:
            back.unlink(missing_ok=True)
        plan.stored = plan.comparison.stored
        plan.status = "verified" if plan.comparison.same else "mismatch"
        report.warnings.extend(plan.comparison.warnings(plan.target))


def remote_run(client: StoreClient, text: str):
    """Run a query on a remote endpoint; the same QueryResult as querying.run gives for the local store."""
    from ..serve.querying import QueryResult

    response = client.query(text, accept="application/sparql-results+json, application/n-triples;q=0.9")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in ("application/sparql-results+json", "application/json"):
            result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.JSON)
        elif content_type in ("application/sparql-results+xml", "application/xml"):
            result = ox.parse_query_results(response.content, format=ox.QueryResultsFormat.XML)
        elif content_type in ("application/n-triples", "text/plain", "text/turtle"):
            fmt = ox.RdfFormat.TURTLE if content_type == "text/turtle" else ox.RdfFormat.N_TRIPLES
            return QueryResult("graph", [], [], triples=[q.triple for q in ox.parse(response.content, format=fmt)])
        else:
            raise StoreError(f"the endpoint answered with an unexpected content type {content_type!r}")
    except SyntaxError as exc:
        raise StoreError(f"cannot read the endpoint's answer ({content_type}): {exc}") from None
    if isinstance(result, ox.QueryBoolean):
        return QueryResult("ask", [], [], boolean=bool(result))
    variables = [v.value for v in result.variables]
    rows = [[solution[v] for v in variables] for solution in result]
    return QueryResult("select", variables, rows)


def _default_graph_has_report(client: StoreClient, base: Base) -> bool:
    try:
        response = client.query(f"ASK {{ ?report a <{base.ysv}InspectionReport> }}")
        return bool(response.json().get("boolean"))
    except (StoreError, ValueError, AttributeError):
        return True  # cannot tell: say nothing


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: ysv-graph publish / ysv-graph query --endpoint")

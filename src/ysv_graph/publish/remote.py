"""Publishing out/ysv.nq to a remote triple store, and asking the shipped queries of a remote SPARQL endpoint.

publish: every named graph of the N-Quads file is sent with one SPARQL 1.1 Graph Store HTTP Protocol PUT
(`PUT {store}?graph={iri}`, an N-Triples body streamed from disk), so publishing twice leaves exactly one copy.
Afterwards one SPARQL query counts the triples of every graph in the store, and each count must equal the number
of distinct triples sent.

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
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from .store_client import (Auth, ConfigError, RetryPolicy, StoreClient, StoreError, check_url,
                           derive_query_endpoint, file_chunks, oxigraph_version, retry_seconds_from_env)
from ..rdf.terms import DEFAULT_BASE, Base

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
BULK_MIN_TRIPLES = 10_000
OXIGRAPH_ATOMIC_PUT = (0, 5, 10)  # first Oxigraph release whose GSP PUT clears and loads in one transaction
COUNT_BATCH = 200  # graphs per verification query


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


@dataclass
class PublishReport:
    graphs: list[GraphPlan]
    store_url: str
    query_url: str
    server: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

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
    def exit_code(self) -> int:
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
            f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g")
        for binding in bindings:
            try:
                counts[binding["g"]["value"]] = int(binding["n"]["value"])
            except (KeyError, ValueError) as exc:
                raise StoreError(f"SPARQL query: unexpected count result {binding!r} ({exc})") from None
    return counts


def publish(nquads: Path, store_url: str, *, graph_base: str | None = None, query_url: str | None = None,
            auth: Auth | None = None, retry_seconds: float | None = None, dry_run: bool = False,
            on_event: Callable[..., None] | None = None, workdir: Path | None = None,
            bulk_min_triples: int = BULK_MIN_TRIPLES) -> PublishReport:
    """Publish every named graph of an N-Quads file; see the module docstring. Raises ConfigError and InputError
    before anything is sent; store failures are reported in the PublishReport (error, statuses)."""
    emit = on_event or (lambda *a, **k: None)
    check_url(store_url, "--store")
    query_url = check_url(query_url, "--query-endpoint") if query_url else derive_query_endpoint(store_url)
    rename = graph_renamer(graph_base, data_base_for(Path(nquads)))
    retry = RetryPolicy(total_seconds=retry_seconds_from_env() if retry_seconds is None else retry_seconds)
    owned = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="ysv-publish-")) if owned else Path(workdir)
    try:
        emit("reading", path=str(nquads))
        plans = split_graphs(Path(nquads), workdir, rename)
        report = PublishReport(plans, store_url, query_url)
        if dry_run:
            return report
        with StoreClient(store_url, query_url, auth=auth, retry=retry, on_event=on_event) as client:
            _send_all(client, report, emit, bulk_min_triples)
        return report
    finally:
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)


def _send_all(client: StoreClient, report: PublishReport, emit, bulk_min_triples: int) -> None:
    plans = report.graphs
    try:
        before = count_triples(client, [p.target for p in plans])
    except StoreError as exc:
        report.error = f"could not ask the store which graphs it holds: {exc}"
        return
    report.server = client.server
    version = oxigraph_version(client.server)
    if version is not None and version < OXIGRAPH_ATOMIC_PUT:
        report.warnings.append(
            f"{client.server}: before Oxigraph 0.5.10 a Graph Store PUT clears the graph before loading the new "
            "content in a separate transaction, so a failed PUT can leave a graph empty; upgrade the server")
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
        except StoreError as exc:
            plan.status = "failed"
            report.error = str(exc)
            return
        plan.status = "written"
        emit("written", graph=plan.target)
    emit("verifying", total=len(plans))
    try:
        after = count_triples(client, [p.target for p in plans])
    except StoreError as exc:
        report.error = f"every graph was sent, but counting them in the store failed: {exc}"
        return
    for plan in plans:
        plan.stored = after[plan.target]
        plan.status = "verified" if plan.stored == plan.triples else "mismatch"


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

"""The publish and remote-query commands: the command line over publish.remote and publish.store_client."""
from __future__ import annotations

import time
from pathlib import Path

from .console import EXIT_ERROR, EXIT_OK, err, out
from ..publish.remote import EXIT_MISMATCH, InputError, _default_graph_has_report, publish, remote_run
from ..publish.store_client import (Auth, ConfigError, RetryPolicy, StoreClient, StoreError, check_url,
                                    derive_query_endpoint, retry_seconds_from_env)
from ..rdf.terms import Base


def publish_cli(args) -> int:
    from rich.table import Table

    nquads = Path(getattr(args, "nquads", None) or Path(args.out) / "ysv.nq")
    try:
        auth = Auth.from_env()
        retry_seconds = retry_seconds_from_env()
        check_url(args.store, "--store")
        query_url = getattr(args, "query_endpoint", None) or derive_query_endpoint(args.store)
        check_url(query_url, "--query-endpoint")
    except ConfigError as exc:
        err.print(f"ysv-graph: publish: {exc}", markup=False)
        return EXIT_ERROR

    def on_event(kind, **info):
        if kind == "retry":
            err.print(f"ysv-graph: publish: {info['what']}: {info['reason']}; retrying in {info['delay']:g} s "
                      f"({info['left']:.0f} s left)", markup=False)
        elif kind == "put" and not args.dry_run:
            status.update(f"PUT {info['index'] + 1}/{info['total']}: {info['graph']} "
                          f"({info['triples']:,} triples{', bulk loader' if info['bulk'] else ''})")
        elif kind == "verifying":
            status.update(f"counting the triples of {info['total']} graphs in the store…")

    start = time.perf_counter()
    with err.status("reading the graphs…") as status:
        try:
            report = publish(nquads, args.store, graph_base=args.graph_base, query_url=query_url, auth=auth,
                             retry_seconds=retry_seconds, dry_run=args.dry_run, on_event=on_event)
        except (ConfigError, InputError) as exc:
            err.print(f"ysv-graph: publish: {exc}", markup=False)
            return EXIT_ERROR
    seconds = time.perf_counter() - start
    total_triples = sum(p.triples for p in report.graphs)
    total_bytes = sum(p.size for p in report.graphs)

    if args.dry_run:
        table = Table(title=f"dry run: would PUT {len(report.graphs)} graphs to {args.store}")
        table.add_column("graph")
        table.add_column("triples", justify="right")
        table.add_column("bytes", justify="right")
        for plan in report.graphs:
            name = plan.target if plan.target == plan.source else f"{plan.target}\n(from {plan.source})"
            table.add_row(name, f"{plan.triples:,}", f"{plan.size:,}")
        table.add_row("total", f"{total_triples:,}", f"{total_bytes:,}")
        out.print(table)
        out.print(f"each graph: PUT {args.store}?graph=IRI (Content-Type: application/n-triples); then the counts "
                  f"are checked with a SPARQL query to {report.query_url}", markup=False)
        out.print(f"authentication: {auth.describe()}; retries for up to {retry_seconds:g} s per request",
                  markup=False)
        out.print("nothing sent (--dry-run)")
        return EXIT_OK

    for warning in report.warnings:
        err.print(f"ysv-graph: publish: warning: {warning}", markup=False)
    table = Table(title=f"ysv-graph publish → {args.store}")
    table.add_column("graph", overflow="fold")
    table.add_column("before", justify="right")
    table.add_column("sent", justify="right")
    table.add_column("in store", justify="right")
    table.add_column("status")
    for plan in report.graphs:
        table.add_row(plan.target, "" if plan.before is None else f"{plan.before:,}", f"{plan.triples:,}",
                      "" if plan.stored is None else f"{plan.stored:,}",
                      plan.status + (" (bulk loader)" if plan.bulk and plan.status in ("written", "verified", "mismatch") else ""))
    out.print(table)
    if report.error is not None:
        err.print(f"ysv-graph: publish: {report.error}", markup=False)
        err.print(f"ysv-graph: publish failed: {len(report.written)} graph(s) written, "
                  f"{len(report.not_written)} not written", markup=False)
        for plan in report.written:
            err.print(f"  written: {plan.target}", markup=False)
        for plan in report.not_written:
            err.print(f"  not written: {plan.target}"
                      + (" (the request failed; the graph keeps its previous content)"
                         if plan.status == "failed" else ""), markup=False)
        return EXIT_ERROR
    if report.mismatches:
        for plan in report.mismatches:
            err.print(f"ysv-graph: publish: {plan.target}: the store holds {plan.stored:,} triples, "
                      f"{plan.triples:,} were sent", markup=False)
        return EXIT_MISMATCH
    out.print(f"{len(report.graphs)} graphs, {total_triples:,} triples published and verified in {seconds:.1f} s "
              f"({total_triples / max(seconds, 1e-9):,.0f} triples/s)", markup=False)
    return EXIT_OK


def query_cli(args) -> int:

    from ..serve import querying

    try:
        auth = Auth.from_env()
        retry = RetryPolicy(total_seconds=retry_seconds_from_env())
        base = Base(args.base)
        path = querying.resolve(args.query)
        text = base.rebase(path.read_text(encoding="utf-8"))
    except (ConfigError, ValueError, OSError) as exc:
        err.print(f"ysv-graph: query: {exc}", markup=False)
        return EXIT_ERROR

    def on_event(kind, **info):
        if kind == "retry":
            err.print(f"ysv-graph: query: {info['reason']}; retrying in {info['delay']:g} s "
                      f"({info['left']:.0f} s left)", markup=False)

    try:
        with StoreClient(None, args.endpoint, auth=auth, retry=retry, on_event=on_event) as client:
            result = remote_run(client, text)
            empty = (result.kind == "select" and not result.rows) or (result.kind == "graph" and not result.triples)
            if empty and not _default_graph_has_report(client, base):
                err.print("ysv-graph: query: warning: the endpoint's default graph holds no ysv:InspectionReport; "
                          "the shipped queries need the store's default graph to be the union of its named graphs "
                          "(oxigraph serve --union-default-graph; see docs/triple-stores.md)", markup=False)
    except (ConfigError, StoreError) as exc:
        err.print(f"ysv-graph: query: {path.name}: {exc}", markup=False)
        return EXIT_ERROR
    querying.print_result(result, args.format, path.stem, out)
    return EXIT_OK

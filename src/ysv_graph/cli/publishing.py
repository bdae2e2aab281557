"""The publish and remote-query commands: the command line over publish.remote and publish.store_client.

Everything printed here goes through the credentials' Redactor (publish/redact.py): a store's messages, exceptions,
URLs and tracebacks never show a token or password that was sent.
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path

from .console import EXIT_ERROR, EXIT_OK, err, out
from ..publish.redact import Redactor
from ..publish.remote import (EXIT_MISMATCH, ENV_TMPDIR, WORKDIR_PREFIX, InputError, _default_graph_has_report, publish,
                              remote_run, temporary_root)
from ..publish.store_client import (ENV_RETRY, Auth, ConfigError, RetryPolicy, StoreClient, StoreError, check_url,
                                    derive_query_endpoint, retry_seconds_from_env)
from ..rdf.terms import Base


def _say(console, redact: Redactor, text: str) -> None:
    console.print(redact(text), markup=False)


def _waiting(command: str, redact: Redactor, info: dict) -> None:
    _say(err, redact, f"ysv-graph: {command}: {info['what']}: {info['phase']}, {info['waited']:.0f} s so far "
                      f"(gives up in {info['left']:.0f} s: {ENV_RETRY}={info['budget']:g})")


def _crashed(command: str, redact: Redactor, exc: BaseException) -> int:
    """An unexpected error: its traceback, with the credentials masked."""
    _say(err, redact, "".join(traceback.format_exception(exc)).rstrip())
    _say(err, redact, f"ysv-graph: {command}: unexpected error: {type(exc).__name__}: {exc}")
    return EXIT_ERROR


def publish_cli(args) -> int:
    from rich.table import Table

    nquads = Path(getattr(args, "nquads", None) or Path(args.out) / "ysv.nq")
    redact = Redactor()
    try:
        auth = Auth.from_env()
        redact = auth.redact
        retry_seconds = retry_seconds_from_env()
        check_url(args.store, "--store")
        query_url = getattr(args, "query_endpoint", None) or derive_query_endpoint(args.store)
        check_url(query_url, "--query-endpoint")
    except ConfigError as exc:
        _say(err, redact, f"ysv-graph: publish: {exc}")
        return EXIT_ERROR

    def on_event(kind, **info):
        if kind == "retry":
            _say(err, redact, f"ysv-graph: publish: {info['what']}: {info['reason']}; retrying in "
                              f"{info['delay']:g} s ({info['left']:.0f} s left)")
        elif kind == "waiting":
            _waiting("publish", redact, info)
        elif kind == "put" and not args.dry_run:
            status.update(redact(f"PUT {info['index'] + 1}/{info['total']}: {info['graph']} "
                                 f"({info['triples']:,} triples{', bulk loader' if info['bulk'] else ''})"))
        elif kind == "verifying":
            status.update(f"reading the {info['total']} graphs back from the store…")

    start = time.perf_counter()
    with err.status("reading the graphs…") as status:
        try:
            report = publish(nquads, args.store, graph_base=args.graph_base, query_url=query_url, auth=auth,
                             retry_seconds=retry_seconds, dry_run=args.dry_run, on_event=on_event)
        except (ConfigError, InputError) as exc:
            _say(err, redact, f"ysv-graph: publish: {exc}")
            return EXIT_ERROR
        except Exception as exc:  # noqa: BLE001 - shown with the credentials masked, not by Python
            return _crashed("publish", redact, exc)
    seconds = time.perf_counter() - start
    total_triples = sum(p.triples for p in report.graphs)
    total_bytes = sum(p.size for p in report.graphs)

    if args.dry_run and report.signal is None:
        table = Table(title=redact(f"dry run: would PUT {len(report.graphs)} graphs to {args.store}"))
        table.add_column("graph")
        table.add_column("triples", justify="right")
        table.add_column("bytes", justify="right")
        for plan in report.graphs:
            name = plan.target if plan.target == plan.source else f"{plan.target}\n(from {plan.source})"
            table.add_row(name, f"{plan.triples:,}", f"{plan.size:,}")
        table.add_row("total", f"{total_triples:,}", f"{total_bytes:,}")
        out.print(table)
        _say(out, redact, f"each graph: PUT {args.store}?graph=IRI (Content-Type: application/n-triples); then "
                          f"each graph is read back (GET {args.store}?graph=IRI) and compared with what was sent; "
                          f"SPARQL queries go to {report.query_url}")
        _say(out, redact, f"authentication: {auth.describe()}; one request may take up to {retry_seconds:g} s, "
                          f"retries included ({ENV_RETRY})")
        _say(out, redact, f"temporary files: a folder {WORKDIR_PREFIX}* in {temporary_root()} "
                          f"({ENV_TMPDIR}), removed at the end")
        out.print("nothing sent (--dry-run)")
        return EXIT_OK

    table = Table(title=redact(f"ysv-graph publish → {args.store}"))
    table.add_column("graph", overflow="fold")
    table.add_column("before", justify="right")
    table.add_column("sent", justify="right")
    table.add_column("in store", justify="right")
    table.add_column("status")
    for plan in report.graphs:
        status_text = plan.status
        if plan.bulk and plan.status in ("written", "verified", "mismatch"):
            status_text += " (bulk loader)"
        rewritten = sum(plan.comparison.rewrites.values()) if plan.comparison is not None else 0
        if rewritten:
            status_text += f" ({rewritten} literal{'' if rewritten == 1 else 's'} rewritten)"
        table.add_row(redact(plan.target), "" if plan.before is None else f"{plan.before:,}", f"{plan.triples:,}",
                      "" if plan.stored is None else f"{plan.stored:,}", status_text)
    out.print(table)
    for warning in report.warnings:
        _say(err, redact, f"ysv-graph: publish: warning: {warning}")
    if report.error is not None:
        _say(err, redact, f"ysv-graph: publish: {report.error}")
        _say(err, redact, f"ysv-graph: publish failed: {len(report.written)} graph(s) written, "
                          f"{len(report.not_written)} not written")
        for plan in report.written:
            _say(err, redact, f"  written: {plan.target}")
        for plan in report.not_written:
            _say(err, redact, f"  not written: {plan.target}"
                              + (" (the request failed; the graph keeps its previous content)"
                                 if plan.status == "failed" else ""))
        return report.exit_code
    if report.mismatches:
        for plan in report.mismatches:
            _say(err, redact, f"ysv-graph: publish: {plan.comparison.problem(plan.target, plan.triples)}")
        _say(err, redact, f"ysv-graph: publish: not verified: {len(report.mismatches)} of {len(report.graphs)} "
                          "graphs in the store hold other triples than were sent")
        return EXIT_MISMATCH
    note = ""
    if report.rewrites:
        note = (f"; the store keeps {report.rewrites} literal{'' if report.rewrites == 1 else 's'} in another form "
                "(same value, see the warnings)")
    _say(out, redact, f"{len(report.graphs)} graphs, {total_triples:,} triples published and verified in "
                      f"{seconds:.1f} s ({total_triples / max(seconds, 1e-9):,.0f} triples/s){note}")
    return EXIT_OK


def query_cli(args) -> int:

    from ..serve import querying

    redact = Redactor()
    try:
        auth = Auth.from_env()
        redact = auth.redact
        retry = RetryPolicy(total_seconds=retry_seconds_from_env())
        base = Base(args.base)
        path = querying.resolve(args.query)
        text = base.rebase(path.read_text(encoding="utf-8"))
    except (ConfigError, ValueError, OSError) as exc:
        _say(err, redact, f"ysv-graph: query: {exc}")
        return EXIT_ERROR

    def on_event(kind, **info):
        if kind == "retry":
            _say(err, redact, f"ysv-graph: query: {info['reason']}; retrying in {info['delay']:g} s "
                              f"({info['left']:.0f} s left)")
        elif kind == "waiting":
            _waiting("query", redact, info)

    try:
        with StoreClient(None, args.endpoint, auth=auth, retry=retry, on_event=on_event) as client:
            result = remote_run(client, text)
            empty = (result.kind == "select" and not result.rows) or (result.kind == "graph" and not result.triples)
            if empty and not _default_graph_has_report(client, base):
                err.print("ysv-graph: query: warning: the endpoint's default graph holds no ysv:InspectionReport; "
                          "the shipped queries need the store's default graph to be the union of its named graphs "
                          "(oxigraph serve --union-default-graph; see docs/triple-stores.md)", markup=False)
    except (ConfigError, StoreError) as exc:
        _say(err, redact, f"ysv-graph: query: {path.name}: {exc}")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - shown with the credentials masked, not by Python
        return _crashed("query", redact, exc)
    querying.print_result(result, args.format, path.stem, out)
    return EXIT_OK

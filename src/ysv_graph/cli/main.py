"""ysv-graph: the command line. A thin layer over build, validation and querying.

Exit codes (as pySHACL): 0 success / conforms, 1 the data does not conform to the shapes, 2 an error
(bad curated data, a missing file, a bad query).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.table import Table

from .. import __version__
from ..rdf.terms import DEFAULT_BASE, Base

from .console import EXIT_ERROR, EXIT_INVALID, EXIT_OK, err, out


def _build(args) -> int:
    import time

    from ..pipeline import build as plain
    from ..pipeline import load as loading
    from ..pipeline import validation
    from ..serve.site import render_site

    started = time.perf_counter()

    try:
        base = Base(args.base)
    except ValueError as exc:
        err.print(f"ysv-graph: --base: {exc}", markup=False)
        return EXIT_ERROR
    # stage names are printed as lines with --timings (no live spinner: the build forks helper processes, and
    # forking while a display thread runs is unsafe)
    on_stage = (lambda name: err.print(f"[dim]… {name}[/dim]")) if args.timings else None
    pages = None if args.no_site else render_site
    releases_dir = Path(args.releases) if args.releases else Path(args.data).parent / "releases"
    try:
        if args.no_cache and args.jobs == 0:  # the plain pipeline: nothing kept, nothing in other processes
            result = plain.run(Path(args.data), Path(args.out), base, pages=pages, on_stage=on_stage,
                               releases_dir=releases_dir)
        else:
            from ..incremental import build

            cache = None if args.no_cache else Path(args.cache) if args.cache else build.default_cache(Path(args.out))
            result = build.run(Path(args.data), Path(args.out), base, jobs=args.jobs, cache=cache, pages=pages,
                               on_stage=on_stage, releases_dir=releases_dir)
    except loading.DataErrors as exc:
        for error in exc.errors:
            err.print(str(error), markup=False)
        err.print(f"ysv-graph: {len(exc.errors)} error(s) in the curated data; {args.out}/ left unchanged",
                  markup=False)
        return EXIT_ERROR
    except plain.ValidationFailed as exc:
        for violation in exc.result.violations:
            err.print(f"violation: {violation}", markup=False)
        err.print(f"ysv-graph: {len(exc.result.violations)} SHACL violation(s); {args.out}/ left unchanged",
                  markup=False)
        return EXIT_INVALID
    except validation.ShapesError as exc:
        err.print(f"ysv-graph: {exc}", markup=False)
        return EXIT_ERROR
    if args.timings:
        table = Table(title=f"ysv-graph build → {args.out}/", show_header=True)
        table.add_column("stage")
        table.add_column("seconds", justify="right")
        for name, seconds in result.timings.items():
            table.add_row(name, f"{seconds:.3f}")
        for name, count in result.counts.items():
            table.add_row(name, str(count))
        out.print(table)
    out.print(result.summary(args.out, result.counts.get("shapes", 0), time.perf_counter() - started), markup=False)
    return EXIT_OK


def _validate(args) -> int:
    from rdflib import Graph

    from ..pipeline import validation

    path = Path(args.file)
    if not path.is_file():
        err.print(f"ysv-graph: validate: no such file: {path}", markup=False)
        return EXIT_ERROR
    try:
        data = Graph().parse(path)
    except Exception as exc:  # noqa: BLE001 - any parser error is a bad input
        err.print(f"ysv-graph: validate: cannot parse {path}: {exc}", markup=False)
        return EXIT_ERROR
    try:
        result = validation.validate(data, validation.load_shapes(Base(args.base)))
    except validation.ShapesError as exc:
        err.print(f"ysv-graph: validate: {exc}", markup=False)
        return EXIT_ERROR
    for violation in result.violations:
        out.print(f"violation: {violation}", markup=False)
    out.print(f"{path}: {'conforms' if result.conforms else f'{len(result.violations)} violation(s)'} "
              f"({len(data)} triples)", markup=False)
    return EXIT_OK if result.conforms else EXIT_INVALID


def _query(args) -> int:
    from ..serve import querying

    if args.endpoint:
        from .publishing import query_cli
        return query_cli(args)
    if args.query is None:
        _list_queries(querying)
        return EXIT_OK
    try:
        path = querying.resolve(args.query)
    except FileNotFoundError as exc:
        err.print(f"ysv-graph: query: {exc}; the shipped queries are:", markup=False)
        _list_queries(querying, err)
        return EXIT_ERROR
    try:
        store = querying.open_store(Path(args.out))
        result = querying.run(store, path.read_text(encoding="utf-8"), Base(args.base))
    except (FileNotFoundError, OSError) as exc:
        err.print(f"ysv-graph: query: {exc}", markup=False)
        return EXIT_ERROR
    except SyntaxError as exc:
        err.print(f"ysv-graph: query: {path}: {exc}", markup=False)
        return EXIT_ERROR
    querying.print_result(result, args.format, path.stem, out)
    return EXIT_OK


def _list_queries(querying, console=None) -> None:
    """Every shipped query's name and the question it answers."""
    console = console or out
    for name, question, _text in querying.examples():
        console.print(f"  {name:<34} {question}", markup=False)
    console.print("run one with: ysv-graph query NAME (or a path to a .rq file)", markup=False)


def _serve(args) -> int:
    from ..serve import app as server

    out_dir = Path(args.out)
    if not (out_dir / "ysv.nq").is_file():
        err.print(f"ysv-graph: serve: {out_dir}/ysv.nq not found; run 'ysv-graph build' first", markup=False)
        return EXIT_ERROR
    err.print(f"serving {out_dir}/ on http://{args.host}:{args.port}/ (SPARQL at /sparql); Ctrl-C to stop",
              markup=False)
    server.serve(out_dir, args.host, args.port, Base(args.base), args.query_timeout, args.max_body, args.workers,
                 max_queue=args.max_queue, allow_federation=args.allow_federation, max_url_bytes=args.max_url,
                 max_header_bytes=args.max_headers, max_connections=args.max_connections or None,
                 shutdown_timeout=args.shutdown_timeout)
    return EXIT_OK


def _publish(args) -> int:
    from .publishing import publish_cli

    return publish_cli(args)


def _stats(args) -> int:
    from ..serve import querying

    try:
        store = querying.open_store(Path(args.out))
    except OSError as exc:
        err.print(f"ysv-graph: stats: {exc}", markup=False)
        return EXIT_ERROR
    graphs = querying.run(store, """
        SELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g""")
    classes = querying.run(store, """
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?class (COUNT(DISTINCT ?s) AS ?things) WHERE {
          GRAPH ?g { ?s a ?class } FILTER(!STRENDS(STR(?g), "/ontology") && !STRENDS(STR(?g), "/entailments"))
        } GROUP BY ?class ORDER BY DESC(?things) ?class""")
    for title, result in (("named graphs", graphs), ("asserted classes", classes)):
        table = Table(title=title)
        for var in result.variables:
            table.add_column(var)
        for row in result.rows:
            table.add_row(*(querying.term_text(t) for t in row))
        out.print(table)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ysv-graph", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"ysv-graph {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the graph from the curated data into out/")
    b.add_argument("--data", default="data", help="folder of curated YAML (default: data)")
    b.add_argument("--out", default="out", help="output folder (default: out)")
    b.add_argument("--base", default=DEFAULT_BASE, help=f"base IRI for minted IRIs (default: {DEFAULT_BASE})")
    b.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes that parse the YAML of a big corpus, and that run pyshacl on the batches the "
                        "validation screen flags (default: the number of cores). Five small helper processes "
                        "also make the Turtle and JSON-LD, check the whole graph, put the N-Quads together (in "
                        "a rebuild) and draft the catalogue while the main process works. 0: no other "
                        "processes but the screen's")
    b.add_argument("--cache", default=None, metavar="DIR",
                   help="where to keep, for the next build, each source folder's parsed records, the answers "
                        "of the whole-graph checks, pyshacl's results for flagged batches, owlrl's closure of the "
                        "ontology, the Turtle and JSON-LD of each run of subjects and the N-Quads in chunks "
                        "(default: .ysv-cache beside the output folder)")
    b.add_argument("--no-cache", action="store_true",
                   help="parse, validate and write everything afresh, close the ontology again, and keep nothing; "
                        "with --jobs 0, only the plain pipeline runs (pipeline.build), with byte-identical output")
    b.add_argument("--timings", action="store_true",
                   help="print each stage as it starts, and a table of the stages' seconds and the build's counts")
    b.add_argument("--no-site", action="store_true",
                   help="skip the static HTML pages (out/site/); the server renders the same pages on request")
    b.add_argument("--releases", default=None, metavar="DIR",
                   help="the kept earlier releases, DIR/<version>/ysv.nq.gz, copied into out/releases/ and "
                        "described (default: releases beside the data folder)")
    b.set_defaults(func=_build)

    v = sub.add_parser("validate", help="validate an RDF file against shapes/ (exit 0 conforms, 1 not, 2 error)")
    v.add_argument("file", nargs="?", default="out/ysv.ttl")
    v.add_argument("--base", default=DEFAULT_BASE)
    v.set_defaults(func=_validate)

    q = sub.add_parser("query", help="run a shipped query (queries/NAME.rq) or a .rq file against out/; with no "
                                     "name, list the shipped queries and their questions")
    q.add_argument("query", nargs="?")
    q.add_argument("--format", choices=("table", "csv", "json"), default="table")
    q.add_argument("--out", default="out")
    q.add_argument("--base", default=DEFAULT_BASE)
    q.add_argument("--endpoint", help="run against a remote SPARQL 1.1 endpoint instead of out/")
    q.set_defaults(func=_query)

    sv = sub.add_parser("serve", help="serve out/ as linked data: /id/ and /doc/ pages, a SPARQL endpoint")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--out", default="out")
    sv.add_argument("--base", default=DEFAULT_BASE)
    sv.add_argument("--query-timeout", type=float, default=10.0,
                    help="seconds a SPARQL request may take, waiting for a worker included, before 503")
    sv.add_argument("--max-body", type=int, default=64 * 1024, help="largest request body in bytes (413 above)")
    sv.add_argument("--workers", type=int, default=2, help="SPARQL worker processes (restarted if they die)")
    sv.add_argument("--max-queue", type=int, default=32,
                    help="SPARQL requests that may wait for a free worker; more get 503 (default: 32)")
    sv.add_argument("--allow-federation", action="store_true",
                    help="run SERVICE patterns, which make the server send requests to other hosts (refused, 400, "
                         "by default)")
    sv.add_argument("--max-url", type=int, default=8192, metavar="BYTES",
                    help="longest request target (path and query string) in bytes (414 above; default: 8192)")
    sv.add_argument("--max-headers", type=int, default=8192, metavar="BYTES",
                    help="most bytes of request header fields in all (431 above; default: 8192)")
    sv.add_argument("--max-connections", type=int, default=256,
                    help="open connections (and requests) at once; more get 503 (default: 256; 0: no limit)")
    sv.add_argument("--shutdown-timeout", type=float, default=3.0, metavar="SECONDS",
                    help="on SIGTERM or SIGINT, how long running requests may take to finish (default: 3)")
    sv.set_defaults(func=_serve)

    pub = sub.add_parser("publish", help="send every named graph of out/ysv.nq to a triple store (SPARQL 1.1 "
                                         "Graph Store Protocol) and verify the counts")
    pub.add_argument("--store", required=True, help="the store's Graph Store Protocol endpoint URL")
    pub.add_argument("--graph-base", default=None, help="rewrite named-graph IRIs to start with this IRI")
    pub.add_argument("--dry-run", action="store_true", help="print what would be sent, send nothing")
    pub.add_argument("--out", default="out")
    pub.add_argument("--query-endpoint", default=None,
                     help="the store's SPARQL query endpoint, for checking the counts (default: derived from "
                          "--store, e.g. /store -> /query for Oxigraph)")
    pub.add_argument("--nquads", default=None, metavar="FILE",
                     help="publish this N-Quads file instead of OUT/ysv.nq")
    pub.set_defaults(func=_publish)

    s = sub.add_parser("stats", help="count triples per named graph and things per class in out/")
    s.add_argument("--out", default="out")
    s.set_defaults(func=_stats)

    from .releases import add_commands
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


def entry() -> None:  # pragma: no cover - the installed command and python -m ysv_graph
    """The command line. After a build the process ends without tearing its objects down one by one: with a
    million triples in memory that takes seconds and does nothing useful (the files are written and closed).
    Other commands exit the usual way."""
    code = main()
    if sys.argv[1:2] == ["build"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()

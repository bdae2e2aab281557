"""Querying the published dataset with an embedded pyoxigraph store.

The store is loaded from out/ysv.nq; the default graph is the union of all named graphs (asserted data,
entailments, ontology, metadata), so shipped queries can use entailed triples such as skos:narrower.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from ..rdf.terms import Base
from ..settings import SETTINGS

QUERIES_DIR = SETTINGS.queries_dir


@dataclass
class QueryResult:
    kind: str  # select | ask | graph
    variables: list[str]
    rows: list[list[ox.NamedNode | ox.Literal | ox.BlankNode | None]]
    boolean: bool | None = None
    triples: list | None = None


def open_store(out_dir: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(Path(out_dir) / "ysv.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def resolve(name_or_file: str, queries_dir: Path = QUERIES_DIR) -> Path:
    path = Path(name_or_file)
    if path.suffix == ".rq" and path.is_file():
        return path
    candidate = Path(queries_dir) / f"{name_or_file}.rq"
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"no query called {name_or_file!r} (looked for {path} and {candidate})")


def shipped_queries(queries_dir: Path = QUERIES_DIR) -> list[Path]:
    return sorted(Path(queries_dir).glob("*.rq"))


def examples(queries_dir: Path = QUERIES_DIR) -> list[tuple[str, str, str]]:
    """(name, question, text) of every shipped query; the question is its '# Question:' line."""
    out = []
    for path in shipped_queries(queries_dir):
        text = path.read_text(encoding="utf-8")
        question = next((line[len("# Question:"):].strip() for line in text.splitlines()
                         if line.startswith("# Question:")), path.stem)
        out.append((path.stem, question, text))
    return out


def print_result(result: QueryResult, fmt: str, title: str, console) -> None:
    """Write a result to stdout as csv or SPARQL JSON, or to a Rich console as a table (Turtle for graphs)."""
    import sys

    from rich.table import Table

    if fmt == "csv":
        sys.stdout.write(to_csv(result))
    elif fmt == "json":
        sys.stdout.write(to_json(result) + "\n")
    elif result.kind == "graph":
        sys.stdout.write(ox.serialize(result.triples, format=ox.RdfFormat.TURTLE).decode("utf-8"))
    elif result.kind == "ask":
        console.print("yes" if result.boolean else "no")
    else:
        table = Table(title=title, show_lines=False)
        for var in result.variables:
            table.add_column(var, overflow="fold")
        for row in result.rows:
            table.add_row(*(term_text(t) for t in row))
        console.print(table)
        console.print(f"{len(result.rows)} row(s)")


def run(store: ox.Store, text: str, base: Base = Base()) -> QueryResult:
    result = store.query(base.rebase(text), use_default_graph_as_union=True)
    if isinstance(result, ox.QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = [[solution[v] for v in variables] for solution in result]
        return QueryResult("select", variables, rows)
    if isinstance(result, ox.QueryBoolean):
        return QueryResult("ask", [], [], boolean=bool(result))
    return QueryResult("graph", [], [], triples=list(result))


def term_text(term) -> str:
    if term is None:
        return ""
    return term.value


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if result.kind == "ask":
        writer.writerow(["boolean"])
        writer.writerow([str(result.boolean).lower()])
    else:
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow([term_text(t) for t in row])
    return buffer.getvalue()


def to_json(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results JSON."""
    if result.kind == "ask":
        return json.dumps({"head": {}, "boolean": result.boolean}, indent=2)
    bindings = []
    for row in result.rows:
        binding = {}
        for var, term in zip(result.variables, row):
            if term is None:
                continue
            if isinstance(term, ox.NamedNode):
                binding[var] = {"type": "uri", "value": term.value}
            elif isinstance(term, ox.BlankNode):
                binding[var] = {"type": "bnode", "value": term.value}
            else:
                value = {"type": "literal", "value": term.value}
                if term.language:
                    value["xml:lang"] = term.language
                elif term.datatype and term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
                    value["datatype"] = term.datatype.value
                binding[var] = value
        bindings.append(binding)
    return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}}, indent=2,
                      ensure_ascii=False)

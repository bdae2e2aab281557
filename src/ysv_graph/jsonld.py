"""The JSON-LD context with human-readable keys, and compaction of the graph with pyld.

The context is derived from the graph itself, so it always covers every property and class we publish:
a property becomes its local name (dct:title -> "title"), a class its local name (ysv:Finding -> "Finding").
A property whose values are all IRIs is coerced to @id; one whose values all share a datatype is coerced to
that datatype; English text is the default language. When two IRIs share a local name both keep a prefix.
"""
from __future__ import annotations

import re
from collections import defaultdict

from pyld import jsonld
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

# Local names that would read badly or clash with the keyword aliases.
OVERRIDES = {DCTERMS.type: "documentKind"}
RESERVED = {"id", "type"}


def _split(iri: str, prefixes: dict[str, str]) -> tuple[str, str] | None:
    best = None
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and (best is None or len(namespace) > len(prefixes[best])):
            best = prefix
    if best is None:
        return None
    local = iri[len(prefixes[best]):]
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", local):
        return None
    return best, local


def build_context(graph: Graph, prefixes: dict[str, str]) -> dict:
    """A JSON-LD 1.0 context for this graph."""
    values: dict[URIRef, set] = defaultdict(set)
    classes: set[URIRef] = set()
    for _s, p, o in graph:
        if p == RDF.type:
            classes.add(o)
            continue
        if isinstance(o, URIRef):
            values[p].add("@id")
        elif isinstance(o, Literal):
            if o.language:
                values[p].add(f"@{o.language}")
            else:
                values[p].add(str(o.datatype or XSD.string))
        else:
            values[p].add("@bnode")

    # names, with prefixes kept for clashes
    wanted: dict[str, list[URIRef]] = defaultdict(list)
    for iri in sorted(set(values) | {c for c in classes if isinstance(c, URIRef)}):
        split = _split(str(iri), prefixes)
        name = OVERRIDES.get(iri) or (split[1] if split else None)
        if name is None:
            continue
        wanted[name].append(iri)
    terms: dict[str, object] = {}
    for name, iris in sorted(wanted.items()):
        for iri in iris:
            key = name
            if len(iris) > 1 or name in RESERVED or name in prefixes:
                split = _split(str(iri), prefixes)
                key = f"{split[0]}_{split[1]}"
            terms[key] = _definition(iri, values.get(iri), prefixes)

    context: dict[str, object] = {"id": "@id", "type": "@type", "@language": "en"}
    for prefix, namespace in sorted(prefixes.items()):
        context[prefix] = namespace
    context.update(dict(sorted(terms.items())))
    return {"@context": context}


def _compact_iri(iri: str, prefixes: dict[str, str]) -> str:
    split = _split(iri, prefixes)
    return f"{split[0]}:{split[1]}" if split else iri


def _definition(iri: URIRef, kinds: set | None, prefixes: dict[str, str]) -> object:
    compact = _compact_iri(str(iri), prefixes)
    if not kinds:
        return compact  # a class
    if kinds == {"@id"}:
        return {"@id": compact, "@type": "@id"}
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if kind == "@en":
            return compact
        if kind.startswith("@"):
            return {"@id": compact, "@language": kind[1:]}
        if kind == str(XSD.string):
            return {"@id": compact, "@language": None}
        return {"@id": compact, "@type": _compact_iri(kind, prefixes)}
    return compact


def expanded(graph: Graph) -> list[dict]:
    """The graph as expanded JSON-LD, nodes and values in a fixed order."""
    nodes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in sorted(graph):
        node = nodes[str(s)]
        if p == RDF.type:
            node["@type"].append(str(o))
            continue
        if isinstance(o, URIRef):
            value: dict = {"@id": str(o)}
        elif o.language:
            value = {"@value": str(o), "@language": o.language}
        elif o.datatype and o.datatype != XSD.string:
            value = {"@value": str(o), "@type": str(o.datatype)}
        else:
            value = {"@value": str(o)}
        node[str(p)].append(value)
    return [{"@id": s, **{k: v for k, v in sorted(props.items())}} for s, props in sorted(nodes.items())]


def compact(graph: Graph, context: dict) -> dict:
    return jsonld.compact(expanded(graph), context, options={"compactArrays": True})

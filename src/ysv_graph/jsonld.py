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


def build_context(graph, prefixes: dict[str, str]) -> dict:
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
    """prefix:rest with the longest matching namespace (rest may hold '/', as in ysvid:report/x)."""
    best = None
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and len(iri) > len(namespace) and (
                best is None or len(namespace) > len(prefixes[best])):
            best = prefix
    if best is None or iri[len(prefixes[best]):].startswith("/"):
        return iri
    return f"{best}:{iri[len(prefixes[best]):]}"


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


def compact_with_pyld(graph: Graph, context: dict) -> dict:
    """Compaction by pyld: the reference (slow: about 0.3 s for this graph)."""
    return jsonld.compact(expanded(graph), context, options={"compactArrays": True})


def compact(graph, context: dict) -> dict:
    """Compact the graph with a context made by build_context, directly.

    Because we made the context, each property has one known coercion, so compaction is a lookup per value.
    tests/test_roundtrip.py expands the result with pyld (and two other parsers) and checks it is this graph.
    """
    ctx = context["@context"]
    prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and not k.startswith("@")
                and v.endswith(("/", "#")) and k not in ("id", "type")}
    default_language = ctx.get("@language")
    properties: dict[str, tuple[str, object]] = {}  # IRI -> (term, definition)
    classes: dict[str, str] = {}
    for term, definition in ctx.items():
        if term.startswith("@") or term in ("id", "type") or term in prefixes:
            continue
        iri_ = _expand(definition if isinstance(definition, str) else definition["@id"], prefixes)
        if isinstance(definition, str):
            classes.setdefault(iri_, term)
            properties.setdefault(iri_, (term, definition))
        else:
            properties[iri_] = (term, definition)

    compact_iris: dict[str, str] = {}

    def compact_iri(value: str) -> str:
        compacted = compact_iris.get(value)
        if compacted is None:
            compacted = compact_iris[value] = _compact_iri(value, prefixes)
        return compacted

    def value_of(o, definition) -> object:
        coerce = definition.get("@type") if isinstance(definition, dict) else None
        if isinstance(o, URIRef):
            return compact_iri(str(o)) if coerce == "@id" else {"id": compact_iri(str(o))}
        language = definition.get("@language", default_language) if isinstance(definition, dict) \
            else default_language
        if o.language:
            return str(o) if o.language == language else {"@value": str(o), "@language": o.language}
        datatype = str(o.datatype) if o.datatype else str(XSD.string)
        if coerce and coerce != "@id" and _expand(coerce, prefixes) == datatype:
            return str(o)
        if datatype == str(XSD.string):
            return str(o) if language is None else {"@value": str(o)}
        return {"@value": str(o), "type": compact_iri(datatype)}

    # subject -> predicate -> objects, in one pass (no sorting of whole triples)
    by_subject: dict = defaultdict(lambda: defaultdict(list))
    for s, p, o in graph:
        by_subject[s][p].append(o)
    rdf_type = RDF.type
    nodes = []
    for s in sorted(by_subject, key=str):
        props = by_subject[s]
        out: dict[str, object] = {"id": compact_iri(str(s))}
        types = [classes.get(t, compact_iri(t)) for t in sorted(str(t) for t in props.get(rdf_type, ()))]
        if types:
            out["type"] = types[0] if len(types) == 1 else types
        by_key: dict[str, object] = {}
        for p in sorted((p for p in props if p != rdf_type), key=str):
            term, definition = properties.get(str(p), (compact_iri(str(p)), None))
            objects = props[p]
            if len(objects) > 1:
                objects = sorted(objects, key=lambda o: (type(o).__name__, o))
            values = [value_of(o, definition) for o in objects]
            by_key[term] = values[0] if len(values) == 1 else values
        out.update(sorted(by_key.items()))
        nodes.append(out)
    return {"@context": ctx, "@graph": nodes}


def _expand(value: str, prefixes: dict[str, str]) -> str:
    prefix, sep, local = value.partition(":")
    if sep and prefix in prefixes:
        return prefixes[prefix] + local
    return value

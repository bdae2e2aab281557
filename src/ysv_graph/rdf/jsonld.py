"""The JSON-LD context with human-readable keys, and compaction of the graph with pyld.

The context is derived from the graph itself, so it always covers every property and class we publish:
a property becomes its local name (dct:title -> "title"), a class its local name (ysv:Finding -> "Finding").
A property whose values are all IRIs is coerced to @id; one whose values all share a datatype is coerced to
that datatype; English text is the default language. When two IRIs share a local name both keep a prefix.
"""
from __future__ import annotations

import re
from collections import defaultdict

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from .ntriples import Converter, subject_runs

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


RDF_TYPE = str(RDF.type)
XSD_STRING = str(XSD.string)


def build_context(triples, prefixes: dict[str, str]) -> dict:
    """A JSON-LD 1.0 context for these triples (pyoxigraph terms)."""
    return context_from(usage(triples), prefixes)


def usage(triples) -> tuple[dict[str, set], set[str]]:
    """What the context is made from: for each property, the kinds of its values ("@id", "@bnode", "@" and a
    language, or a datatype IRI), and the classes. The usage of a graph is the union of its parts' (see
    merged_usage), so parts of the graph can be looked at separately."""
    values: dict[str, set] = defaultdict(set)
    classes: set[str] = set()
    for t in triples:
        p, o = t.predicate.value, t.object
        if p == RDF_TYPE:
            if isinstance(o, ox.NamedNode):
                classes.add(o.value)
            continue
        if isinstance(o, ox.NamedNode):
            values[p].add("@id")
        elif isinstance(o, ox.Literal):
            values[p].add(f"@{o.language}" if o.language else o.datatype.value)
        else:
            values[p].add("@bnode")
    return dict(values), classes


def merged_usage(parts) -> tuple[dict[str, set], set[str]]:
    values: dict[str, set] = defaultdict(set)
    classes: set[str] = set()
    for part_values, part_classes in parts:
        for p, kinds in part_values.items():
            values[p] |= kinds
        classes |= part_classes
    return dict(values), classes


def context_from(used: tuple[dict[str, set], set[str]], prefixes: dict[str, str]) -> dict:
    values, classes = used
    # names, with prefixes kept for clashes
    wanted: dict[str, list[str]] = defaultdict(list)
    for iri in sorted(set(values) | classes):
        split = _split(iri, prefixes)
        name = OVERRIDES.get(URIRef(iri)) or (split[1] if split else None)
        if name is None:
            continue
        wanted[name].append(iri)
    terms: dict[str, object] = {}
    for name, iris in sorted(wanted.items()):
        for iri in iris:
            key = name
            if len(iris) > 1 or name in RESERVED or name in prefixes:
                split = _split(iri, prefixes)
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


def _definition(iri: str, kinds: set | None, prefixes: dict[str, str]) -> object:
    compact = _compact_iri(iri, prefixes)
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
    from pyld import jsonld  # the reference, used by the tests only: PyLD is a test dependency

    return jsonld.compact(expanded(graph), context, options={"compactArrays": True})


def sorted_ntriples(triples) -> bytes:
    """rdflib triples as N-Triples, lines sorted: what from_ntriples reads (the build hands it out/ysv.nt)."""

    lines = ox.serialize(Converter().triples(triples), format=ox.RdfFormat.N_TRIPLES).splitlines()
    lines.sort()
    return b"\n".join(lines) + b"\n" if lines else b""


def read(ntriples: bytes):
    return ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)


def compact(ntriples: bytes, context: dict) -> dict:
    """The graph (N-Triples, sorted) compacted with a context made by build_context (see compact_nodes)."""
    return {"@context": context["@context"], "@graph": list(compact_nodes(read(ntriples), context))}


def dumps(ntriples: bytes, context: dict) -> bytes:
    """json.dumps(compact(...), indent=2, ensure_ascii=False) + newline, as UTF-8, byte for byte, made one
    node at a time, so that neither the graph nor the compacted document is ever in memory whole."""
    return document(context, [nodes(ntriples, context)])


def nodes(ntriples: bytes, context: dict, compact=None) -> bytes:
    """The nodes of these N-Triples (sorted; whole subjects) as they stand in the "@graph" array of dumps(),
    separated by commas: the document is its parts' nodes put together by document(). compact: the context's
    compactor(), to share between calls."""
    parts: list[str] = []
    separator = ""
    for node in (compact or compactor(context))(read(ntriples)):
        parts.append(separator)
        _indented(node, "    ", parts)
        separator = ",\n    "
    return "".join(parts).encode("utf-8")


def document(context: dict, parts: list[bytes]) -> bytes:
    """The JSON-LD document whose "@graph" holds these parts' nodes (each from nodes()), in order."""
    return b"".join(document_pieces(context, parts))


def document_pieces(context: dict, parts: list[bytes]) -> list[bytes]:
    """document()'s bytes as pieces to be written one after another (not joined: the document of a corpus is
    some 80 MB)."""
    import json

    head = ('{\n  "@context": ' + json.dumps(context["@context"], indent=2, ensure_ascii=False).replace("\n", "\n  ")
            + ',\n  "@graph": [').encode("utf-8")
    parts = [part for part in parts if part]
    if not parts:
        return [head, b"]\n}\n"]
    pieces = [head, b"\n    "]
    for part in parts:
        pieces += (part, b",\n    ")
    pieces[-1] = b"\n  ]\n}\n"
    return pieces


def _indented(value, by: str, parts: list) -> None:
    """Append what json.dumps(value, indent=2, ensure_ascii=False) gives, each line after the first indented
    by `by`, for the values compact_nodes makes (dicts, lists, strings). json.dumps with an indent runs its
    pure-Python encoder; this does the same for our few shapes of value in a third of the time (the test of
    dumps checks the bytes against json.dumps)."""
    from json.encoder import encode_basestring as quoted  # the C function json.dumps uses (ensure_ascii=False)

    if isinstance(value, str):
        parts.append(quoted(value))
        return
    is_object = isinstance(value, dict)
    if not (is_object or isinstance(value, list)):  # numbers, booleans, null: compact_nodes makes none
        import json

        parts.append(json.dumps(value, ensure_ascii=False))
        return
    if not value:
        parts.append("{}" if is_object else "[]")
        return
    inner = by + "  "
    separator = ("{\n" if is_object else "[\n") + inner
    for key, item in (value.items() if is_object else ((None, item) for item in value)):
        parts.append(separator)
        if key is not None:
            parts.append(quoted(key))
            parts.append(": ")
        if isinstance(item, str):
            parts.append(quoted(item))
        else:
            _indented(item, inner, parts)
        separator = ",\n" + inner
    parts.append("\n" + by + ("}" if is_object else "]"))


def _object_order(o) -> tuple:
    if isinstance(o, ox.Literal):
        return (0, o.value, o.language or "", o.datatype.value)
    return (1, o.value, "", "")


def compact_nodes(triples, context: dict):
    """Compact triples (pyoxigraph terms, grouped by subject as in sorted N-Triples) with a context made by
    build_context, directly: yields the node objects in subject order.

    Because we made the context, each property has one known coercion, so compaction is a lookup per value.
    tests/test_roundtrip.py checks the result against pyld's compaction, and expands the published file with
    pyld (and two other parsers) to check it is the graph.
    """
    return compactor(context)(triples)


def compactor(context: dict):
    """compact_nodes for one context, as a function of the triples: what it derives from the context, and the
    IRIs it has compacted, are kept from one call to the next (the JSON-LD is made run by run)."""
    from itertools import groupby

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
        if isinstance(o, ox.NamedNode):
            return compact_iri(o.value) if coerce == "@id" else {"id": compact_iri(o.value)}
        language = definition.get("@language", default_language) if isinstance(definition, dict) \
            else default_language
        if o.language:
            return o.value if o.language == language else {"@value": o.value, "@language": o.language}
        datatype = o.datatype.value
        if coerce and coerce != "@id" and _expand(coerce, prefixes) == datatype:
            return o.value
        if datatype == XSD_STRING:
            return o.value if language is None else {"@value": o.value}
        return {"@value": o.value, "type": compact_iri(datatype)}

    def nodes_of(triples):
        for subject, group in groupby(triples, key=lambda t: t.subject):
            yield node(subject, group)

    def node(subject, group) -> dict:
        props: dict[str, list] = defaultdict(list)
        for t in group:
            props[t.predicate.value].append(t.object)
        out: dict[str, object] = {"id": compact_iri(subject.value)}
        types = [classes.get(t, compact_iri(t)) for t in sorted(o.value for o in props.pop(RDF_TYPE, ()))]
        if types:
            out["type"] = types[0] if len(types) == 1 else types
        by_key: dict[str, object] = {}
        for p in sorted(props):
            term, definition = properties.get(p, (compact_iri(p), None))
            objects = props[p]
            if len(objects) > 1:
                objects = sorted(objects, key=_object_order)
            values = [value_of(o, definition) for o in objects]
            by_key[term] = values[0] if len(values) == 1 else values
        out.update(sorted(by_key.items()))
        return out

    return nodes_of


def _expand(value: str, prefixes: dict[str, str]) -> str:
    prefix, sep, local = value.partition(":")
    if sep and prefix in prefixes:
        return prefixes[prefix] + local
    return value


def json_ld_cut(data: bytes) -> list[bytes]:
    return subject_runs(data.splitlines())


def json_ld_document(ntriples: bytes, prefixes: dict[str, str]) -> tuple[dict, bytes]:
    """The context (made from what the whole graph uses) and the JSON-LD document of sorted, distinct N-Triples
    (bytes), made run by run of subjects (json_ld_cut)."""
    runs = json_ld_cut(ntriples)
    context = context_from(merged_usage([usage(read(run)) for run in runs]), prefixes)
    compact = compactor(context)
    return context, b"".join(document_pieces(context, [nodes(run, context, compact) for run in runs]))

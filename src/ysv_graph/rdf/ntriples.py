"""rdflib terms as N-Triples lines, and back: the form in which the build keeps each document's graph.

A graph made in this build is a set of rdflib triples; a graph kept from an earlier build is its sorted
N-Triples lines (bytes, without the line break). The lines are put together from the N-Triples form of each
term, made once a term by pyoxigraph (tests/test_roundtrip.py checks they equal pyoxigraph's serialisation), so
the same triples always give the same bytes. materialise() turns lines back into rdflib triples, for the few
consumers that need terms (pyshacl on flagged batches; callers of build.run that inspect the graphs).
"""
from __future__ import annotations

import bisect
import zlib
from collections.abc import Mapping

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

XSD_STRING = str(XSD.string)
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def to_ox(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype or XSD.string)))
    raise TypeError(term)


def to_rdflib(term):
    """The inverse of to_ox for the terms we make (a plain literal is xsd:string in RDF 1.1; rdflib's plain
    Literal is how mapping makes one)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(term)


class Converter:
    """rdflib terms to pyoxigraph terms, each distinct term converted once (IRIs repeat a great deal)."""

    def __init__(self) -> None:
        self.terms: dict = {}
        self.written: dict = {}  # term -> its N-Triples form, as bytes

    def __call__(self, term):
        converted = self.terms.get(term)
        if converted is None:
            converted = self.terms[term] = to_ox(term)
        return converted

    def ntriples(self, term) -> bytes:
        """The term as pyoxigraph writes it in N-Triples (its str() is that form: same escaping, tested)."""
        written = self.written.get(term)
        if written is None:
            written = self.written[term] = str(self(term)).encode("utf-8")
        return written

    def triples(self, triples) -> list:
        c = self
        return [ox.Triple(c(s), c(p), c(o)) for s, p, o in triples]

    def quads(self, graphs: dict) -> list:
        c = self
        return [ox.Quad(c(s), c(p), c(o), c(name)) for name, graph in graphs.items() for s, p, o in graph]


def sorted_lines(converter: Converter, graph) -> list[bytes]:
    """A graph (a set of triples) as N-Triples lines, sorted."""
    term = converter.ntriples
    lines = [b"%s %s %s ." % (term(s), term(p), term(o)) for s, p, o in graph]
    lines.sort()
    return lines


def joined(lines: list[bytes]) -> bytes:
    return b"\n".join([*lines, b""]) if lines else b""  # one join: adding the last line break would copy it all


def split(data: bytes) -> list[bytes]:
    """The lines of joined(lines)."""
    return data.split(b"\n")[:-1]


def quads(lines: list[bytes], graph) -> bytes:
    """Lines of a graph as N-Quads in that graph."""
    return quads_of(joined(lines), graph)


def quads_of(data: bytes, graph) -> bytes:
    """N-Triples (joined) as N-Quads in that graph: a line of N-Triples ends with " ." and holds no line break
    (literals escape theirs), so the graph's name goes before each " .\\n"."""
    return data.replace(b" .\n", b" <" + str(graph).encode("utf-8") + b"> .\n")


def materialise(lines: list[bytes]) -> set:
    """N-Triples lines as a set of rdflib triples (each distinct term made once)."""
    terms: dict = {}

    def term(t):
        made = terms.get(t)
        if made is None:
            made = terms[t] = to_rdflib(t)
        return made

    return {(term(t.subject), term(t.predicate), term(t.object))
            for t in ox.parse(joined(lines), format=ox.RdfFormat.N_TRIPLES)}


def line_at(data, key: bytes) -> int:
    """The offset in data (sorted N-Triples lines, each ended by a line break: bytes or an mmap) of the first line
    not less than key: for a subject, where its lines start or would. Bisection over offsets: each step looks at
    the line holding the middle offset."""
    low, high = 0, len(data)  # line starts; the lines before low are less than key, those from high are not
    while low < high:
        middle = (low + high) // 2
        start = data.rfind(b"\n", low, middle) + 1 or low
        end = data.find(b"\n", start) + 1
        if data[start:end - 1] < key:
            low = end
        else:
            high = start
    return low


class Joined(Mapping):
    """Named graph -> its joined lines, each given as bytes or as a function that reads them (a kept document's
    lines are read from the cache only when asked for: documents.KeptDocument); size() is a graph's, without
    reading its lines where sizes are given."""

    def __init__(self, values: Mapping | None = None, sizes: Mapping | None = None):
        self.values = dict(values or {})
        self.sizes = dict(sizes or {})

    def __getitem__(self, name) -> bytes:
        value = self.values[name]
        if callable(value):
            value = self.values[name] = value()
        return value

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, name) -> bool:
        return name in self.values

    def size(self, name) -> int:
        found = self.sizes.get(name)
        return found if found is not None else len(self[name])

    def renamed(self, names: Mapping, leave=()) -> "Joined":
        """The same lines under other names (names: old -> new), but those of the names in leave; unread."""
        return Joined({names[n]: v for n, v in self.values.items() if n not in leave},
                      {names[n]: v for n, v in self.sizes.items() if n not in leave})


class Lines(Mapping):
    """Named graph -> its sorted lines: given as lists, or joined (ntriples.joined) and split only when first asked
    for (a rebuild has 4,000 documents' joined lines and needs the lines of a few). count() counts a graph's lines
    without splitting them."""

    def __init__(self, lines: Mapping | None = None, joined: Mapping | None = None, counts: Mapping | None = None):
        self.lines = dict(lines or {})
        self.joined = joined if isinstance(joined, Joined) else Joined(joined)
        self.counts = dict(counts or {})  # how many lines a graph given joined has, where known
        self.names = list(dict.fromkeys([*self.joined, *self.lines]))

    def __getitem__(self, name):
        found = self.lines.get(name)
        if found is None:
            if name not in self.joined:
                raise KeyError(name)
            found = self.lines[name] = split(self.joined[name])
        return found

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name) -> bool:
        return name in self.lines or name in self.joined

    def count(self, name) -> int:
        if name in self.lines:
            return len(self.lines[name])
        if name not in self.counts:
            self.counts[name] = self.joined[name].count(b"\n")
        return self.counts[name]

    def without(self, names) -> "Lines":
        """The same graphs but these."""
        leave = set(names)
        return Lines({n: v for n, v in self.lines.items() if n not in leave},
                     self.joined.renamed({n: n for n in self.joined}, leave | set(self.lines)), self.counts)


def count_lines(lines: Mapping, name) -> int:
    """How many lines a graph has, in a Lines or a plain mapping of lists."""
    return lines.count(name) if isinstance(lines, Lines) else len(lines[name])


class Graphs(Mapping):
    """Named graph -> its triples: a graph made in this build as it is, one kept from an earlier build (its
    N-Triples lines) made into triples when first asked for."""

    def __init__(self, made: dict, lines: dict):
        self.made = dict(made)
        self.lines = lines
        self.names = list(dict.fromkeys([*made, *lines]))

    def __getitem__(self, name):
        graph = self.made.get(name)
        if graph is None:
            if name not in self.lines:
                raise KeyError(name)
            graph = self.made[name] = materialise(self.lines[name])
        return graph

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def terms(lines: list[bytes]) -> list[bytes]:
    """Every term of some N-Triples lines, in their N-Triples form."""
    found = []
    for line in lines:
        s, p, o = line.split(b" ", 2)
        found += (s, p, o[:-2])
    return found


def iris(terms) -> set[str]:
    """The IRIs among terms in their N-Triples form, and the datatypes of the literals (xsd:string for a plain
    one, rdf:langString for one with a language tag), as pyoxigraph gives them."""
    found = set()
    for term in terms:
        if term[:1] == b"<":
            found.add(term[1:-1].decode("utf-8"))
        elif term[:1] == b'"':
            if term.endswith(b">"):
                found.add(term[term.rindex(b"^^<") + 3:-1].decode("utf-8"))
            elif term.endswith(b'"'):
                found.add(XSD_STRING)
            else:
                found.add(LANG_STRING)
    return found



RUN_EVERY = 32  # subjects in a run, on average


def subject_runs(lines: list[bytes], in_order: bool = True) -> list[bytes]:
    """N-Triples lines, each subject's together, cut into runs of whole subjects, each joined as N-Triples. A run
    ends after a subject whose CRC-32 is a multiple of RUN_EVERY, so where runs end depends only on the subjects
    themselves: an edit changes the runs of the subjects it touches and no others. in_order: the lines are
    sorted (bytewise); a subject's lines then end where lines starting with it and a space do, found by
    bisection (a space sorts before every character that can follow a subject's first characters), instead of
    line by line (a second for a million lines)."""
    runs: list[bytes] = []
    start = i = 0
    count = len(lines)
    while i < count:
        line = lines[i]
        subject = line[:line.find(b" ")]
        if in_order:  # galloping: most subjects have a few lines
            after, low, high, step = subject + b"!", i + 1, i + 1, 8
            while high < count and lines[high] < after:
                low, high, step = high + 1, min(count, high + step), step * 2
            i = bisect.bisect_left(lines, after, low, high)
        else:
            i += 1
            while i < count and lines[i].startswith(subject) and lines[i][len(subject):len(subject) + 1] == b" ":
                i += 1
        if zlib.crc32(subject) % RUN_EVERY == 0:
            runs.append(joined(lines[start:i]))
            start = i
    if start < count:
        runs.append(joined(lines[start:]))
    return runs


def first_subject(run: bytes) -> bytes:
    return run[:run.find(b" ")]

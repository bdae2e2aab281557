"""Checking what a store holds against what was sent: triple for triple, not only the counts.

Each graph is read back from the store (StoreClient.get_graph) and compared with the N-Triples file that was sent,
as sets of triples:

- graphs without blank nodes are compared by a hash of each triple's N-Triples form (both sides written by
  pyoxigraph, so equal triples have equal forms); memory is one set of integers for the graph being checked, as for
  counting, and the triples themselves are only materialised for the differences;
- graphs with blank nodes (on either side) are loaded into memory and canonicalised (RDFC-1.0, pyoxigraph's
  Dataset.canonicalize), so that a store's own blank node labels do not count as a difference.

A difference that is only a literal written another way - the same value, the same subject and predicate - is a
*rewrite*: stores normalise literals they understand (Oxigraph stores xsd:nonNegativeInteger and the other
integer types as xsd:integer, "+00:00" as "Z", "1.50" as "1.5", language tags in lower case - which pyoxigraph
already does when publish reads the file). Rewrites are
reported, by graph and datatype, as warnings; any other difference means the graph is not verified.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {XSD + name for name in (
    "integer", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger", "long", "int",
    "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")}
_DURATION = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?$")
_ZONE = re.compile(r"(Z|[+-]00:00)$")
EXAMPLES = 3  # differing triples kept per graph to show


def short(iri: str) -> str:
    return "xsd:" + iri[len(XSD):] if iri.startswith(XSD) else f"<{iri}>"


def value_key(term) -> str:
    """A key equal for two literals of the same value (as SPARQL's `=` would say for the usual XSD types), and for
    nothing else; for any other term, its N-Triples form."""
    if not isinstance(term, ox.Literal):
        return str(term)
    lexical, datatype = term.value.strip(), term.datatype.value
    try:
        if term.language:
            return f"lang|{term.language.lower()}|{term.value}"
        if datatype in _INTEGERS or datatype == XSD + "decimal":
            return f"num|{Decimal(lexical).normalize()}"
        if datatype in (XSD + "double", XSD + "float"):
            return f"float|{datatype == XSD + 'float'}|{float(lexical.replace('INF', 'inf'))!r}"
        if datatype == XSD + "boolean" and lexical in ("true", "false", "1", "0"):
            return f"bool|{lexical in ('true', '1')}"
        if datatype in (XSD + "dateTime", XSD + "dateTimeStamp"):
            when = dt.datetime.fromisoformat(lexical)
            if when.tzinfo is not None:
                return f"dateTime|{when.astimezone(dt.timezone.utc).isoformat()}"
            return f"dateTime|local|{when.isoformat()}"
        if datatype in (XSD + "duration", XSD + "dayTimeDuration", XSD + "yearMonthDuration"):
            match = _DURATION.match(lexical)
            if match and lexical not in ("P", "-P") and not lexical.endswith("T"):
                sign, y, mo, d, h, mi, sec = match.groups()
                months = int(y or 0) * 12 + int(mo or 0)
                seconds = Decimal(d or 0) * 86400 + Decimal(h or 0) * 3600 + Decimal(mi or 0) * 60 + Decimal(sec or 0)
                factor = -1 if sign and (months or seconds) else 1
                return f"duration|{factor * months}|{(factor * seconds).normalize()}"
        if datatype.startswith(XSD) and datatype[len(XSD):] in ("date", "time", "gYear", "gYearMonth", "gMonth",
                                                                   "gMonthDay", "gDay"):
            return f"{datatype}|{_ZONE.sub('Z', lexical)}"
    except (ValueError, InvalidOperation, OverflowError):
        pass
    return f"lex|{datatype}|{term.value}"


def _has_blank(triple: ox.Triple) -> bool:
    return any(isinstance(t, ox.BlankNode) or (isinstance(t, ox.Triple) and _has_blank(t))
               for t in (triple.subject, triple.object))


def literal_text(term: ox.Literal) -> str:
    """A literal as in N-Triples, with xsd: for the XML Schema datatypes."""
    text = str(ox.Literal(term.value))
    if term.language:
        return f"{text}@{term.language}"
    return text if term.datatype.value == XSD + "string" else f"{text}^^{short(term.datatype.value)}"


def _describe(ours: ox.Literal, theirs: ox.Literal) -> str:
    if ours.language or theirs.language:
        return f"tagged @{ours.language} stored as @{theirs.language}"
    if ours.datatype != theirs.datatype:
        return f"of {short(ours.datatype.value)} stored as {short(theirs.datatype.value)}"
    return f"of {short(ours.datatype.value)} stored in another lexical form"


@dataclass
class Comparison:
    stored: int = 0                 # distinct triples the store holds in the graph
    missing: int = 0                # triples sent that the store does not hold (rewrites not counted)
    extra: int = 0                  # triples the store holds that were not sent (rewrites not counted)
    missing_examples: list[str] = field(default_factory=list)
    extra_examples: list[str] = field(default_factory=list)
    rewrites: Counter = field(default_factory=Counter)       # description -> literals
    rewrite_examples: dict[str, str] = field(default_factory=dict)
    rewrite_properties: dict[str, set] = field(default_factory=dict)  # description -> the predicates' IRIs

    @property
    def same(self) -> bool:
        return self.missing == 0 and self.extra == 0

    def warnings(self, graph: str) -> list[str]:
        lines = []
        for what, n in sorted(self.rewrites.items()):
            properties = sorted(self.rewrite_properties.get(what, ()))
            on = ", ".join(f"<{p}>" for p in properties[:3]) + (", …" if len(properties) > 3 else "")
            lines.append(f"graph {graph}: {n} literal{'' if n == 1 else 's'} {what} ("
                         + (f"{on}; " if on else "") + f"e.g. {self.rewrite_examples[what]})")
        return lines

    def _rewritten(self, ours: ox.Literal, theirs: ox.Literal, predicate: str | None = None) -> None:
        what = _describe(ours, theirs)
        self.rewrites[what] += 1
        self.rewrite_examples.setdefault(what, f"{literal_text(ours)} as {literal_text(theirs)}")
        if predicate is not None:
            self.rewrite_properties.setdefault(what, set()).add(predicate)

    def problem(self, graph: str, sent: int) -> str:
        text = (f"graph {graph}: not verified: the store holds {self.stored:,} triples, {sent:,} were sent; "
                f"{self.missing:,} sent are not in the store, {self.extra:,} in the store were not sent")
        examples = [f"missing {t}" for t in self.missing_examples] + [f"not sent {t}" for t in self.extra_examples]
        return text + "".join(f"\n    {e}" for e in examples)

    def _pair(self, missing: list[ox.Triple], extra: list[ox.Triple], missing_total: int, extra_total: int) -> None:
        """Pair the differences that are the same value written another way (rewrites); count the rest."""
        def key(t: ox.Triple):
            return (str(t.subject), str(t.predicate), value_key(t.object)) if isinstance(t.object, ox.Literal) else None

        waiting: dict[tuple, list[ox.Triple]] = {}
        for triple in extra:
            k = key(triple)
            if k is not None:
                waiting.setdefault(k, []).append(triple)
        paired_extra = set()
        unpaired_missing = []
        for triple in missing:
            candidates = waiting.get(key(triple)) if key(triple) is not None else None
            if candidates:
                theirs = candidates.pop()
                paired_extra.add(str(theirs))
                self._rewritten(triple.object, theirs.object, triple.predicate.value)
            else:
                unpaired_missing.append(triple)
        unpaired_extra = [t for t in extra if str(t) not in paired_extra]
        self.missing = missing_total - (len(missing) - len(unpaired_missing))
        self.extra = extra_total - (len(extra) - len(unpaired_extra))
        self.missing_examples = [str(t) for t in unpaired_missing[:EXAMPLES]]
        self.extra_examples = [str(t) for t in unpaired_extra[:EXAMPLES]]


def _read(path: Path, media_type: str = "application/n-triples"):
    """The triples of a file the store answered with (any RDF syntax pyoxigraph reads), or of one we wrote."""
    fmt = ox.RdfFormat.from_media_type(media_type.split(";")[0].strip() or "application/n-triples")
    if fmt is None:
        raise ValueError(f"the store answered with {media_type!r}, which is not an RDF syntax this can read")
    for quad in ox.parse(path=str(path), format=fmt):
        yield quad.triple


class _BlankNodes(Exception):
    pass


def compare(ours: Path, theirs: Path, media_type: str = "application/n-triples") -> Comparison:
    """Compare the graph we sent (N-Triples file `ours`) with what the store gave back (`theirs`, in
    `media_type`). Raises ValueError or SyntaxError if the store's answer cannot be read."""
    try:
        return _compare_hashed(ours, theirs, media_type)
    except _BlankNodes:
        return _compare_canonical(ours, theirs, media_type)


def _our_forms(path: Path):
    """The N-Triples form of each triple of a file we wrote (`{triple} .` a line, by split_graphs): read as text,
    which is twice as fast as parsing it again."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            form = line[:-3] if line.endswith(" .\n") else line.rstrip("\n").rstrip(" .")
            if "_:" in form and any(_has_blank(q.triple) for q in ox.parse(form + " .", format=ox.RdfFormat.N_TRIPLES)):
                raise _BlankNodes
            yield form


def _their_forms(path: Path, media_type: str, known):
    """(hash, N-Triples form) of each triple the store answered with. For N-Triples, a line that already is the
    form of a triple we sent (`known`; what Oxigraph writes) is taken as it is, without parsing; any other line is
    parsed and written again (another store's escaping, say)."""
    if media_type.split(";")[0].strip().lower() not in ("", "application/n-triples", "text/plain"):
        for triple in _read(path, media_type):
            if _has_blank(triple):
                raise _BlankNodes
            form = str(triple)
            yield hash(form), form
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "_:" not in line and line.endswith(" ."):
                h = hash(line[:-2])
                if h in known:
                    yield h, line[:-2]
                    continue
            for quad in ox.parse(line, format=ox.RdfFormat.N_TRIPLES):
                if _has_blank(quad.triple):
                    raise _BlankNodes
                form = str(quad.triple)
                yield hash(form), form


def _triples(forms: list[str]) -> list[ox.Triple]:
    return [q.triple for q in ox.parse("".join(f + " .\n" for f in forms), format=ox.RdfFormat.N_TRIPLES)]


def _compare_hashed(ours: Path, theirs: Path, media_type: str) -> Comparison:
    sent: dict[int, bool] = {}  # hash of each triple sent -> found in the store
    for form in _our_forms(ours):
        sent[hash(form)] = False
    matched, extra = 0, {}
    for h, form in _their_forms(theirs, media_type, sent):
        found = sent.get(h)
        if found is None:
            extra.setdefault(h, form)  # not sent (kept as text: differences are few, or the graph is wrong anyway)
        elif not found:
            sent[h] = True
            matched += 1
    result = Comparison(stored=matched + len(extra))
    if matched < len(sent) or extra:  # the differences, as triples
        missing = {h: f for f in _our_forms(ours) if sent.get(h := hash(f)) is False}
        result._pair(_triples(list(missing.values())), _triples(list(extra.values())), len(missing), len(extra))
    return result


def _canonical(triples, normalise: bool = False) -> set[str]:
    dataset = ox.Dataset()
    for triple in triples:
        obj = triple.object
        if normalise and isinstance(obj, ox.Literal):
            obj = ox.Literal(value_key(obj), datatype=ox.NamedNode("urn:x-ysv-graph:value"))
        dataset.add(ox.Quad(triple.subject, triple.predicate, obj, ox.DefaultGraph()))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(quad.triple) for quad in dataset}


def _compare_canonical(ours: Path, theirs: Path, media_type: str) -> Comparison:
    mine, stored = list(_read(ours)), list(_read(theirs, media_type))
    a, b = _canonical(mine), _canonical(stored)
    result = Comparison(stored=len(b))
    if a == b:
        return result
    na, nb = _canonical(mine, normalise=True), _canonical(stored, normalise=True)
    if na == nb:  # the same triples but for literals written another way: pair them by predicate and value
        def literals(triples) -> Counter:
            return Counter((t.predicate.value, str(t.object)) for t in set(triples) if isinstance(t.object, ox.Literal))

        objects = {str(t.object): t.object for t in stored + mine if isinstance(t.object, ox.Literal)}
        by_value: dict[tuple, list[ox.Literal]] = {}
        for (predicate, text), n in (literals(stored) - literals(mine)).items():
            by_value.setdefault((predicate, value_key(objects[text])), []).extend([objects[text]] * n)
        for (predicate, text), n in (literals(mine) - literals(stored)).items():
            for _ in range(n):
                candidates = by_value.get((predicate, value_key(objects[text])))
                if candidates:
                    result._rewritten(objects[text], candidates.pop(), predicate)
        return result
    result.missing, result.extra = len(na - nb), len(nb - na)
    result.missing_examples = sorted(a - b)[:EXAMPLES]
    result.extra_examples = sorted(b - a)[:EXAMPLES]
    return result

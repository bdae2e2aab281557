"""Full-text search over the things the dataset describes: the server's index (SQLite FTS5, in memory) and the static
site's (search/index.js, ranked in the browser by search.js in the same way).

A search document is one thing with a page, from the asserted source graphs: its label, other names (skos:altLabel,
skos:notation, identifiers, other labels), its kind (the class it belongs to) and its text (descriptions,
definitions, comments, notes, statements' wording). A query is split into words (as FTS5's unicode61 tokenizer
splits text, diacritics removed); a thing matches when it holds every word, as a whole word or as a word's
beginning ("Humber" finds "Humberside"); a word in SYNONYMS also matches its expansion ("VRU" finds "violence
reduction units"). The words are quoted by us: nothing a user types reaches FTS5 as syntax.

Ranking (rank_key), the same in search.js: first the things whose label holds the query as a phrase (label_tier:
0 the label is the query, 1 begins with it, 2 contains it; 3-5 the same with the last word only a word's beginning;
a plural counts as the word; a label's parenthesis is also tried without it, so "Outcome 22 (diversionary ...)" is
"Outcome 22"; the phrases tried are Query.phrasings), then the shorter label, then FTS5's bm25 (label weighted 10,
other names 5, kind and text 1), then the label and the IRI.
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass, field

import pyoxigraph as ox

from .pages import Index, Linker
from .repository import RDF_TYPE, Repository

MAX_QUERY_CHARS = 200
MAX_WORDS = 12
MAX_RESULTS = 50
COLUMNS = ("label", "names", "kind", "text")
WEIGHTS = (10.0, 5.0, 1.0, 1.0)  # bm25's weight of each column, in COLUMNS' order
# search-only (not published): what an abbreviation in a query also stands for; the data spells these out
SYNONYMS = {
    "vru": "violence reduction unit",
    "vrp": "violence reduction partnership",
    "pcc": "police and crime commissioner",
    "syv": "serious youth violence",
}
OPEN_MARK, CLOSE_MARK = "\x02", "\x03"  # snippet() markers: removed from the data, so only FTS5 can place them

_SKOS = "http://www.w3.org/2004/02/skos/core#"
_DCT = "http://purl.org/dc/terms/"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_YSV = "https://w3id.org/ysv/def/"
NAME_PREDICATES = (
    _RDFS + "label", _SKOS + "prefLabel", _DCT + "title", "http://xmlns.com/foaf/0.1/name", _SKOS + "altLabel",
    _SKOS + "notation", _DCT + "identifier", "https://schema.org/name", "http://www.w3.org/2006/vcard/ns#fn",
    _YSV + "policeUkId",
)
TEXT_PREDICATES = (
    _DCT + "description", _SKOS + "definition", _RDFS + "comment", _YSV + "officialWording",
    _YSV + "areaDescription", _YSV + "participants", "http://www.w3.org/ns/dcat#keyword", _DCT + "publisher",
    "https://schema.org/jobTitle", _SKOS + "editorialNote",
)
_WORD = re.compile(r"[^\W_]+")
_PARENTHESIS = re.compile(r"\([^()]*\)")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def words(text: str) -> list[str]:
    """Lower-case words without diacritics, split at anything not a letter or digit (as FTS5's unicode61 does)."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return _WORD.findall(bare.lower())


@dataclass
class Document:
    iri: str
    label: str
    kind: str
    href: str
    names: str
    text: str

    def row(self) -> list[str]:
        return [self.iri, self.label, self.kind, self.href, self.names, self.text]


def documents(repo: Repository, link: Linker, indexes: list[Index]) -> list[Document]:
    """One document per thing with a page that a source graph describes, sorted by IRI."""
    source_graph = repo.base.iri + "graph/source/"
    about: dict[str, list[ox.Quad]] = {}
    for graph in repo.graph_names:
        if graph.value.startswith(source_graph):
            for quad in repo.store.quads_for_pattern(None, None, None, graph):
                if isinstance(quad.subject, ox.NamedNode):
                    about.setdefault(quad.subject.value, []).append(quad)
    index_classes = [index.cls for index in indexes]
    docs = []
    for iri in sorted(about):
        path = link.doc_path(iri)
        if path is None:
            continue
        href = link.page(path)
        quads = about[iri]
        label = _clean(repo.label(ox.NamedNode(iri)))
        names = _values(quads, NAME_PREDICATES) - {label}
        texts = _values(quads, TEXT_PREDICATES)
        types = sorted({q.object.value for q in quads if q.predicate == RDF_TYPE})
        docs.append(Document(iri, label, _kind(repo, types, index_classes), href,
                             "\n".join(sorted(names)), "\n".join(sorted(texts))))
    return docs


def _clean(text: str) -> str:
    return CONTROL.sub(" ", text)


def _values(quads: list[ox.Quad], predicates: tuple[str, ...]) -> set[str]:
    return {_clean(q.object.value) for q in quads
            if q.predicate.value in predicates and isinstance(q.object, ox.Literal)}


def _kind(repo: Repository, types: list[str], index_classes: list[str]) -> str:
    """The label of the class that best says what a thing is: an index's class first, then our own classes."""
    ranked = sorted(types, key=lambda t: (t not in index_classes,
                                          index_classes.index(t) if t in index_classes else 0,
                                          not t.startswith(repo.base.iri), t))
    if not ranked:
        return "Thing"
    label = repo.labels.get(ranked[0])
    if label:
        return label
    local = re.split(r"[#/]", ranked[0])[-1]
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local)
    return spaced[:1].upper() + spaced[1:].lower()


# --- queries -------------------------------------------------------------------------------------------------------

@dataclass
class Query:
    """A user's words, and for each the phrases it may match (itself, and its expansion in SYNONYMS)."""
    text: str
    words: list[str]
    alternatives: list[list[list[str]]] = field(default_factory=list)  # per word: its phrases (lists of words)

    @classmethod
    def parse(cls, text: str) -> "Query":
        found = words(text)[:MAX_WORDS]
        alternatives = []
        for word in found:
            phrases = [[word]]
            expansion = SYNONYMS.get(word) or (SYNONYMS.get(word[:-1]) if word.endswith("s") else None)
            if expansion:
                phrases.append(expansion.split())
            alternatives.append(phrases)
        return cls(text, found, alternatives)

    def fts(self) -> str:
        """The FTS5 expression: every word, each as a whole word or a word's beginning, or as its expansion."""
        clauses = []
        for phrases in self.alternatives:
            parts = []
            for phrase in phrases:
                quoted = '"' + " ".join(phrase).replace('"', '""') + '"'
                parts += [quoted, quoted + "*"] if len(phrase) == 1 else [quoted + "*"]
            clauses.append("(" + " OR ".join(parts) + ")")
        return " AND ".join(clauses)

    def phrasings(self) -> list[list[str]]:
        """The query as phrases, for ranking: its words; the words with one abbreviation replaced by what it stands
        for ("VRU" -> "violence reduction unit"); and, for two words or more that begin a term of SYNONYMS, the
        whole term ("violence reduction" -> "violence reduction unit")."""
        out = [self.words]
        for position, phrases in enumerate(self.alternatives):
            for phrase in phrases[1:]:
                out.append(self.words[:position] + phrase + self.words[position + 1:])
        size = len(self.words)
        for term in sorted(SYNONYMS.values()):
            terms = term.split()
            if 2 <= size < len(terms) and terms[:size - 1] == self.words[:-1] and \
                    terms[size - 1].startswith(self.words[-1]):
                out.append(terms)
        return out


def _whole(token: str, word: str) -> bool:
    return token == word or token == word + "s" or token == word + "es"


def label_tier(label: str, phrasings: list[list[str]]) -> int:
    """0-6, lower is better: how well the label holds one of the phrasings (see the module's docstring)."""
    variants = [words(label)]
    bare = _PARENTHESIS.sub(" ", label)
    if bare != label:
        variants.append(words(bare))
    best = 6
    for tokens in variants:
        for phrase in phrasings:
            size = len(phrase)
            for start in range(len(tokens) - size + 1):
                if not all(_whole(tokens[start + j], phrase[j]) for j in range(size - 1)):
                    continue
                last = tokens[start + size - 1]
                if _whole(last, phrase[-1]):
                    tier = 0 if start == 0 and size == len(tokens) else 1 if start == 0 else 2
                elif last.startswith(phrase[-1]):
                    tier = 3 if start == 0 and size == len(tokens) else 4 if start == 0 else 5
                else:
                    continue
                best = min(best, tier)
    return best


def rank_key(document: Document, bm25: float, phrasings: list[list[str]]) -> tuple:
    return (label_tier(document.label, phrasings), len(words(document.label)), round(bm25, 9),
            document.label.lower(), document.iri)


# --- the server's index --------------------------------------------------------------------------------------------

@dataclass
class Hit:
    iri: str
    label: str
    kind: str
    href: str
    segments: list[tuple[str, bool]]  # the snippet: (text, is a match)

    @property
    def snippet(self) -> str:
        return "".join(text for text, _ in self.segments)

    def as_json(self) -> dict:
        return {"iri": self.iri, "label": self.label, "kind": self.kind, "snippet": self.snippet,
                "href": self.href}


@dataclass
class Results:
    query: Query
    hits: list[Hit]
    total: int


class SearchIndex:
    """The documents in an in-memory SQLite FTS5 table, built once."""

    def __init__(self, docs: list[Document]):
        self.docs = docs
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        self.db.execute(f"CREATE VIRTUAL TABLE things USING fts5({', '.join(COLUMNS)}, "
                        "tokenize = 'unicode61 remove_diacritics 2')")
        self.db.executemany("INSERT INTO things(rowid, label, names, kind, text) VALUES (?, ?, ?, ?, ?)",
                            [(number, d.label, d.names, d.kind, d.text) for number, d in enumerate(docs)])

    def search(self, text: str, limit: int = MAX_RESULTS) -> Results:
        query = Query.parse(text)
        if not query.words:
            return Results(query, [], 0)
        weights = ", ".join(str(w) for w in WEIGHTS)
        snippets = ", ".join(f"snippet(things, {column}, '{OPEN_MARK}', '{CLOSE_MARK}', '…', 16)"
                             for column in (3, 1))
        with self.lock:
            rows = self.db.execute(f"SELECT rowid, bm25(things, {weights}), {snippets} FROM things "
                                   "WHERE things MATCH ?", (query.fts(),)).fetchall()
        phrasings = query.phrasings()
        rows.sort(key=lambda row: rank_key(self.docs[row[0]], row[1], phrasings))
        hits = []
        for number, _score, text_snippet, names_snippet in rows[:limit]:
            doc = self.docs[number]
            chosen = next((s for s in (text_snippet, names_snippet) if OPEN_MARK in s), text_snippet or names_snippet)
            hits.append(Hit(doc.iri, doc.label, doc.kind, doc.href, _segments(chosen)))
        return Results(query, hits, len(rows))


def _segments(snippet: str) -> list[tuple[str, bool]]:
    """'a \x02b\x03 c' -> [('a ', False), ('b', True), (' c', False)]."""
    out = []
    for piece in re.split(f"({OPEN_MARK}[^{CLOSE_MARK}]*{CLOSE_MARK})", snippet):
        if piece.startswith(OPEN_MARK):
            out.append((piece[1:-1], True))
        elif piece:
            out.append((piece, False))
    return out


# --- the static site's index ---------------------------------------------------------------------------------------

def static_index(docs: list[Document]) -> bytes:
    """search/index.js: the documents and the settings search.js ranks by, as one global (a file:// page may load
    a script but not fetch() a JSON file). Deterministic: documents sorted by IRI, keys sorted, ASCII only."""
    payload = {
        "columns": list(COLUMNS), "weights": list(WEIGHTS), "synonyms": SYNONYMS, "maxQueryChars": MAX_QUERY_CHARS,
        "maxWords": MAX_WORDS, "maxResults": MAX_RESULTS,
        "fields": ["iri", "label", "kind", "href", "names", "text"],
        "documents": [d.row() for d in sorted(docs, key=lambda d: d.iri)],
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return ("// The search index of the static site (written by ysv-graph build; read by search.js)\n"
            f"window.YSV_SEARCH_INDEX = {text};\n").encode("ascii")

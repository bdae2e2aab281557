"""What the build made of each source document, kept between builds (<cache>/documents/{source}.pickle).

Mapping, reasoning and describing each work on one document at a time: a document's graph depends only on its
own records and on the kinds of the records it names (mapping.Mapped.references); its entailments only on its
graph, when the ontology's rules take one triple each (reasoning.Reasoner.distributes); and its part of the
dataset's statistics only on its graph (describing.summarise). So what the three stages made of a document —
its graph and its entailments as sorted N-Triples lines, and its summary — is
kept under a hash of the document's files (loading.ParseCache's key) and of everything else it depends on
(`settings`: the code of those stages, the IRI base, the ontology and the libraries' versions), and reused
while the records it names are still of the kinds they were. A build then makes rdflib terms only for the
documents that changed.
"""
from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

from . import caching


@dataclass
class Document:
    asserted: bytes  # the document's graph, as sorted N-Triples (ntriples.joined; ntriples.split gives the lines)
    entailed: bytes  # what the ontology lets us conclude about that graph alone, the same way
    summary: object  # describing.Summary of the graph
    references: dict[str, str]  # record id -> kind, for every record the graph names
    digest: str = ""  # of the graph's lines (rechecking.digest_of): what the last validated graphs are told by


class DocumentCache:
    """Documents kept by earlier builds. Without a cache folder nothing is kept or found."""

    def __init__(self, cache: Path | None, settings: bytes):
        self.folder = Path(cache) / "documents" if cache is not None else None
        self.settings = settings

    def _key(self, parse_key: str) -> str:
        return hashlib.sha256(self.settings + b"\0" + parse_key.encode()).hexdigest()

    def _read(self, source_id: str) -> tuple[str, Document] | None:
        """The (key, document) kept for this document, if one can be read."""
        if self.folder is None:
            return None
        kept = caching.read(self.folder / f"{source_id}.pickle")
        return kept if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], Document) else None

    def get(self, source_id: str, parse_key: str) -> Document | None:
        """What was kept for this document, if it was made from the same files under the same settings."""
        kept = self._read(source_id)
        return kept[1] if kept is not None and kept[0] == self._key(parse_key) else None

    def put(self, source_id: str, parse_key: str | None, document: Document) -> bytes:
        """Keep the document (given a cache folder and its folder's parse key). Returns it pickled, as `decode`
        reads it: a process that made documents for the build sends them back so, pickled once."""
        data = pickle.dumps((self._key(parse_key or ""), document), protocol=pickle.HIGHEST_PROTOCOL)
        if self.folder is not None and parse_key is not None:
            caching.write_pickled(self.folder / f"{source_id}.pickle", data)
        return data

    def previous(self, source_id: str) -> Document | None:
        """What is kept for this document, whatever files it was made from (a rebuild compares the graph it
        validated last with the new one: rechecking)."""
        kept = self._read(source_id)
        return kept[1] if kept is not None else None

    @staticmethod
    def decode(data: bytes) -> Document:
        return pickle.loads(data)[1]

    def prune(self, keep: set[str]) -> None:
        """Forget the documents that are no longer in the data."""
        if self.folder is not None:
            caching.prune(self.folder, keep)

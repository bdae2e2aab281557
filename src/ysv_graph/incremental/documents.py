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
import os
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

    def asserted_size(self) -> int:
        return len(self.asserted)


class ChangedDuringBuild(RuntimeError):
    """A kept document's file changed between reading its head and its lines (another process wrote the cache)."""


class KeptDocument:
    """A document as the cache keeps it: its summary, references and digest read at once, its lines (asserted and
    entailed: most of the file) only when first asked for. A rebuild needs the lines of the few documents that
    changed, and of those an edit touches; reading every document's had cost it 0.2 s and 200 MB."""

    def __init__(self, head: Document, path: Path, offset: int, sizes: tuple[int, int], signature: tuple):
        self.summary, self.references, self.digest = head.summary, head.references, head.digest
        self._path, self._offset, self._sizes, self._signature = path, offset, sizes, signature
        self._lines: tuple[bytes, bytes] | None = None

    def _read(self) -> tuple[bytes, bytes]:
        if self._lines is None:
            with open(self._path, "rb") as handle:
                if caching.signature_of(os.fstat(handle.fileno())) != self._signature:
                    raise ChangedDuringBuild(f"{self._path} changed while the build was using it")
                handle.seek(self._offset)
                data = handle.read(self._sizes[0] + self._sizes[1])
            self._lines = data[:self._sizes[0]], data[self._sizes[0]:]
        return self._lines

    @property
    def asserted(self) -> bytes:
        return self._read()[0]

    @property
    def entailed(self) -> bytes:
        return self._read()[1]

    def asserted_size(self) -> int:
        return self._sizes[0]

    def loaded(self) -> Document:
        return Document(self.asserted, self.entailed, self.summary, self.references, self.digest)


FORMAT = "document 2"  # a kept document's file: pickle.dumps((FORMAT, key, head, sizes)), then its lines


class DocumentCache:
    """Documents kept by earlier builds. Without a cache folder nothing is kept or found."""

    def __init__(self, cache: Path | None, settings: bytes):
        self.folder = Path(cache) / "documents" if cache is not None else None
        self.settings = settings

    def _key(self, parse_key: str) -> str:
        return hashlib.sha256(self.settings + b"\0" + parse_key.encode()).hexdigest()

    def _read(self, source_id: str) -> tuple[str, KeptDocument] | None:
        """The (key, document) kept for this document, if one can be read (its lines are read when asked for)."""
        if self.folder is None:
            return None
        path = self.folder / f"{source_id}.pickle"
        try:
            with open(path, "rb") as handle:
                head = pickle.load(handle)
                offset = handle.tell()
                stat = os.fstat(handle.fileno())
        except caching.UNREADABLE:
            return None
        if not (isinstance(head, tuple) and len(head) == 4 and head[0] == FORMAT and isinstance(head[2], Document)
                and isinstance(head[3], tuple) and len(head[3]) == 2 and all(isinstance(n, int) for n in head[3])
                and stat.st_size == offset + sum(head[3])):
            return None
        return head[1], KeptDocument(head[2], path, offset, head[3], caching.signature_of(stat))

    def get(self, source_id: str, parse_key: str) -> KeptDocument | None:
        """What was kept for this document, if it was made from the same files under the same settings."""
        kept = self._read(source_id)
        return kept[1] if kept is not None and kept[0] == self._key(parse_key) else None

    def put(self, source_id: str, parse_key: str | None, document: Document) -> bytes:
        """Keep the document (given a cache folder and its folder's parse key). Returns it pickled, as `decode`
        reads it: a process that made documents for the build sends them back so, pickled once."""
        key = self._key(parse_key or "")
        if self.folder is not None and parse_key is not None:
            head = Document(b"", b"", document.summary, document.references, document.digest)
            caching.write_pickled(self.folder / f"{source_id}.pickle", pickle.dumps(
                (FORMAT, key, head, (len(document.asserted), len(document.entailed))),
                protocol=pickle.HIGHEST_PROTOCOL) + document.asserted + document.entailed)
        return pickle.dumps((key, document), protocol=pickle.HIGHEST_PROTOCOL)

    def previous(self, source_id: str) -> Document | None:
        """What is kept for this document, whatever files it was made from, lines and all (a rebuild compares
        the graph it validated last with the new one: rechecking; and the build makes the document again, in
        the same file, meanwhile)."""
        kept = self._read(source_id)
        if kept is None:
            return None
        try:
            return kept[1].loaded()
        except (OSError, ChangedDuringBuild):
            return None

    @staticmethod
    def decode(data: bytes) -> Document:
        return pickle.loads(data)[1]

    def prune(self, keep: set[str]) -> None:
        """Forget the documents that are no longer in the data."""
        if self.folder is not None:
            caching.prune(self.folder, keep)

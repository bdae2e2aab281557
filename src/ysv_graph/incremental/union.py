"""The union of graphs' N-Triples lines, kept between builds and brought up to date from the graphs that changed.

ysv.nt is the sorted, distinct lines of every asserted graph (at 1,000 reports: 4,040 documents and the metadata,
900,000 lines), and the entailments graph those of every graph's entailments less what is asserted. Splitting,
merging and joining them all again cost a rebuild about a second. A Union keeps instead the joined lines of the
last build's union, the digest of each graph it is the union of, and the number of graphs holding each line held
by more than one. A rebuild takes out and puts in only the lines of the graphs that changed: a line goes when no
graph holds it any more, and comes when a first one does. A line's place in the joined lines is found by
bisection, so the cost is that of the lines that changed, and of copying the joined lines once.

The build (build.py) keeps two: the asserted union (which is ysv.nt; its file is a hard link to out/'s, so it
is not written twice) and the union of the entailments; what the writers need follows from them
(KeptUnions). tests/test_union.py compares every update with the union made afresh.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from itertools import compress
from operator import eq, ne
from pathlib import Path

from . import caching
from ..rdf import ntriples


def merged(parts) -> tuple[list[bytes], list[bytes]]:
    """Sorted lists of lines as one sorted list without repeats, and the repeats (a line held by k of the lists
    comes k - 1 times). Sorted lists put end to end are sorted by merging (Python's sort finds the runs), three
    times as fast as sorting a set of the lines."""
    everything: list[bytes] = []
    for lines in parts:
        everything += lines
    everything.sort()
    # each line but the last of a run of equal ones, by comparing the list with itself shifted by one (in C:
    # faster than groupby, itself a third of dict.fromkeys's time)
    after = everything[1:]
    distinct = list(compress(everything, map(ne, everything, after + [None])))
    if len(distinct) == len(everything):
        return distinct, []
    return distinct, list(compress(everything, map(eq, everything, after)))


def _digest(lines: list[bytes]) -> str:
    return hashlib.sha256(ntriples.joined(lines)).hexdigest()  # as rechecking.digest


class Inconsistent(Exception):
    """The changes do not fit the union (a graph's old lines are not those it counted): make it afresh."""


line_at = ntriples.line_at


def holds(data: bytes, line: bytes) -> bool:
    """Whether the sorted joined lines hold the line."""
    at = line_at(data, line)
    return data.startswith(line, at) and data[at + len(line):at + len(line) + 1] == b"\n"


def spliced_pieces(data: bytes, added, removed) -> list:
    """The pieces (views of data, and new lines) that put end to end are the sorted joined lines with the lines
    added (none of them in data) put in and those removed (all in data) taken out."""
    events = sorted([(line_at(data, line), 0, line) for line in added]
                    + [(line_at(data, line), 1, line) for line in removed])
    view = memoryview(data)
    pieces: list = []
    at = 0
    for position, kind, line in events:  # at one offset: the lines put in (less than the line there) come first
        if position > at:
            pieces.append(view[at:position])
        if kind == 0:
            pieces.append(line + b"\n")
            at = position
        else:
            if not data.startswith(line + b"\n", position):
                raise Inconsistent(f"line to remove not found: {line[:80]!r}")
            at = position + len(line) + 1
    if at < len(data):
        pieces.append(view[at:])
    return pieces


def spliced(data: bytes, added, removed) -> bytes:
    """Sorted joined lines with the lines added (none of them in data) put in and those removed (all in data)
    taken out, still sorted; copied once."""
    return b"".join(spliced_pieces(data, added, removed))


class Union:
    """The sorted distinct lines of some graphs (joined), each graph's digest, and how many of the graphs hold
    each line held by two or more (the others are held by one).

    An updated union does not splice its lines at once: it keeps the lines it was made from (`base`) and the
    lines put in and taken out since, and splices them when `data` is first asked for, so that a build that
    updates a union twice (the documents, then the metadata) copies its lines once."""

    def __init__(self, data: bytes, members: dict[str, str] | None = None, holders: dict[bytes, int] | None = None,
                 split: list[bytes] | None = None, size: int = -1, kept: tuple | None = None,
                 added: frozenset = frozenset(), removed: frozenset = frozenset()):
        self.base = data
        self.members = dict(members or {})
        self.holders = dict(holders or {})
        self.split = split  # the lines, where already at hand
        self.size = size  # how many lines (-1: not counted yet)
        # the signature of the file base was read from (read), while nothing is put in or taken out: save() then
        # leaves the file as it is
        self.kept = kept if not (added or removed) else None
        self.added, self.removed = frozenset(added), frozenset(removed)  # since base (added: none in base)
        self._data = data if not (added or removed) else None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = spliced(self.base, sorted(self.added), sorted(self.removed))
            self.base, self.added, self.removed = self._data, frozenset(), frozenset()
        return self._data

    def pieces(self) -> list:
        """Pieces (bytes, or views of bytes) that put end to end are `data`, without putting them together: the
        build writes ysv.nt from them, rather than copying 175 MB once more first."""
        if self._data is not None:
            return [self._data]
        return spliced_pieces(self.base, sorted(self.added), sorted(self.removed))

    @classmethod
    def of(cls, distinct: list[bytes], repeats: list[bytes], members: dict[str, str]) -> "Union":
        """From what build._merged gives for the graphs' lines: the distinct lines and the repeats (a line held by
        k graphs comes k - 1 times)."""
        holders: dict[bytes, int] = {}
        for line in repeats:
            holders[line] = holders.get(line, 1) + 1
        return cls(ntriples.joined(distinct), members, holders, distinct, len(distinct))

    def count(self, line: bytes) -> int:
        """How many of the graphs hold the line."""
        found = self.holders.get(line)
        if found is not None:
            return found
        if line in self.added:
            return 1
        if line in self.removed:
            return 0
        return 1 if holds(self.base, line) else 0

    def __len__(self) -> int:
        if self.size < 0:
            self.size = self.data.count(b"\n")
        return self.size

    def lines(self) -> list[bytes]:
        if self.split is None:
            self.split = ntriples.split(self.data)
        return self.split

    def updated(self, changes: dict[str, tuple]) -> tuple["Union", list[bytes], list[bytes]]:
        """The union after these graphs changed, and the lines it gained and lost. changes: graph name -> (its
        lines as the union counted them, or None if it was not one of the graphs; its digest now, or None if it
        is no longer one; its lines now). Raises Inconsistent if a graph's old lines cannot be what was counted
        (a line would be held by fewer than no graphs)."""
        members = dict(self.members)
        delta: dict[bytes, int] = {}
        for name, (old, digest, new) in changes.items():
            old, new = set(old or ()), set(new or ())
            for line in old - new:
                delta[line] = delta.get(line, 0) - 1
            for line in new - old:
                delta[line] = delta.get(line, 0) + 1
            if digest is None:
                members.pop(name, None)
            else:
                members[name] = digest
        holders = dict(self.holders)
        added, removed = [], []
        for line, change in delta.items():
            if not change:
                continue
            before = self.count(line)
            after = before + change
            if after < 0:
                raise Inconsistent(f"a line would be held by {after} graphs: {line[:80]!r}")
            if after >= 2:
                holders[line] = after
            else:
                holders.pop(line, None)
            if before == 0 and after > 0:
                added.append(line)
            elif before > 0 and after == 0:
                if line not in self.added and not holds(self.base, line):  # counted, but not in the lines
                    raise Inconsistent(f"a line counted by {before} graphs is not in the union: {line[:80]!r}")
                removed.append(line)
        added.sort()
        removed.sort()
        size = len(self) + len(added) - len(removed)
        if not (added or removed):
            return Union(self.base, members, holders, self.split, size, self.kept, self.added,
                         self.removed), added, removed
        # since base: a line put in again after it was taken out is in base; one taken out after it was put in
        # is not
        now_added, now_removed = set(added), set(removed)
        return Union(self.base, members, holders, None, size, None,
                     (self.added - now_removed) | (now_added - self.removed),
                     (self.removed - now_added) | (now_removed - self.added)), added, removed




def save(folder: Path, name: str, union: Union, extra: object = None, linked: Path | None = None) -> None:
    """Keep the union in folder as {name}.nt (its lines) and {name}.pickle (the rest, and extra). linked: a file
    that holds exactly its lines (ysv.nt in the folder that becomes out/), hard-linked instead of written again
    where the file system allows; the files of out/ are never changed in place."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path, temporary = folder / f"{name}.nt", caching.temporary_beside(folder / f"{name}.nt")
    if union.kept is None or union.kept != caching.signature(path):  # else the file holds these lines already
        (folder / f"{name}.pickle").unlink(missing_ok=True)  # no description of lines that are being replaced
        try:
            try:
                if linked is None:
                    raise OSError("nothing to link")
                os.link(linked, temporary)
            except OSError:
                temporary.write_bytes(union.data)
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    caching.write(folder / f"{name}.pickle", (caching.signature(path), union.members, union.holders, extra, len(union)))


def read(folder: Path, name: str) -> tuple[Union, object] | None:
    """The union kept under name, and its extra, or None if there is none or its lines' file changed since."""
    folder = Path(folder)
    kept = caching.read(folder / f"{name}.pickle")
    if not (isinstance(kept, tuple) and len(kept) == 5 and isinstance(kept[1], dict) and isinstance(kept[2], dict)
            and isinstance(kept[4], int)):
        return None
    path = folder / f"{name}.nt"
    if kept[0] is None or kept[0] != caching.signature(path):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) != kept[0][0]:
        return None
    return Union(data, kept[1], kept[2], size=kept[4], kept=kept[0]), kept[3]


def forget(folder: Path | None, *names: str) -> None:
    if folder is None:
        return
    for name in names:
        for suffix in (".pickle", ".nt"):
            (Path(folder) / f"{name}{suffix}").unlink(missing_ok=True)



META = "\0metadata"  # the member that is the metadata graph (no source document is called so)


@dataclass
class Merged:
    """What the build merges of its graphs' lines, as Unions kept between builds (members: source ids, and META):

    - asserted: the documents' lines and the metadata's (`metadata`): its lines are ysv.nt;
    - entailed: what the ontology lets us conclude about each document's graph and about the metadata graph as
      mapped (its member META holds `entailed_metadata`);
    - overlap: the lines of `entailed` that a document asserts or that the metadata as mapped (`mapped`, before
      describe adds the statistics) holds: they are not entailments.

    A rebuild makes each from the last build's with updated() and with_metadata() (tests/test_union.py: always
    equal to afresh() and with_metadata() from nothing)."""

    asserted: Union
    entailed: Union
    metadata: list[bytes]  # the metadata member's lines in `asserted` (none before with_metadata)
    mapped: list[bytes]
    entailed_metadata: list[bytes]
    overlap: set[bytes]

    @classmethod
    def afresh(cls, documents: dict[str, tuple[str, list[bytes], list[bytes]]], mapped: list[bytes],
               entailed_metadata: list[bytes]) -> "Merged":
        """From every document: source id -> (digest, asserted lines, entailed lines), all sorted."""
        members = {source: digest for source, (digest, _asserted, _entailed) in documents.items()}
        distinct, repeats = merged(asserted for _digest, asserted, _entailed in documents.values())
        candidates, again = merged([entailed_metadata, *(entailed for _d, _a, entailed in documents.values())])
        found = set(candidates)  # what is asserted is not entailed: the asserted lines are looked up, not indexed
        overlap = found.intersection(distinct) | found.intersection(mapped)
        entailed = Union.of(candidates, again, {**members, META: _digest(entailed_metadata)})
        return cls(Union.of(distinct, repeats, members), entailed, [], list(mapped), list(entailed_metadata),
                   overlap)

    def _documents_holding(self, line: bytes, asserted: Union, metadata: set[bytes]) -> int:
        return asserted.count(line) - (line in metadata)

    def updated(self, changes: dict[str, tuple], mapped: list[bytes], entailed_metadata: list[bytes]
                ) -> "Merged":
        """After these documents changed: source id -> (its asserted and entailed lines as counted, or (None,
        None) if it was not a document; its digest now, or None if it is gone; its asserted and entailed lines
        now). mapped, entailed_metadata: the metadata's now. The metadata member of `asserted` is left as it
        was (with_metadata changes it). Raises Inconsistent where the old lines cannot be those counted."""
        for source, (_old_asserted, _old_entailed, _digest_now, _asserted, _entailed) in changes.items():
            if source == META:
                raise Inconsistent("the metadata is not a document")
        asserted, _added, _removed = self.asserted.updated(
            {source: (old, digest, new) for source, (old, _e, digest, new, _n) in changes.items()})
        entailed_changes = {source: (old, digest, new) for source, (_a, old, digest, _n, new) in changes.items()}
        if entailed_metadata != self.entailed_metadata:
            entailed_changes[META] = (self.entailed_metadata, _digest(entailed_metadata), entailed_metadata)
        entailed, added, removed = self.entailed.updated(entailed_changes)
        touched = set(added) | set(removed) | set(self.mapped).symmetric_difference(mapped)
        for old, _old_entailed, _digest_now, new, _entailed in changes.values():  # whether a document asserts it
            touched.update(set(old or ()).symmetric_difference(new or ()))
        metadata, now_mapped = set(self.metadata), set(mapped)
        overlap = set(self.overlap)
        for line in touched:
            if entailed.count(line) and (self._documents_holding(line, asserted, metadata) > 0
                                         or line in now_mapped):
                overlap.add(line)
            else:
                overlap.discard(line)
        return Merged(asserted, entailed, self.metadata, list(mapped), list(entailed_metadata), overlap)

    def shared(self) -> list[bytes]:
        """The lines more than one document asserts, each once for each document after the first (sorted)."""
        metadata = set(self.metadata)
        out: list[bytes] = []
        for line, count in self.asserted.holders.items():
            count -= line in metadata
            out += [line] * (count - 1)
        return sorted(out)

    def entailments(self) -> list[bytes]:
        """The lines of the entailments graph: what is entailed and not asserted, sorted."""
        overlap = self.overlap
        return [line for line in self.entailed.lines() if line not in overlap]

    def with_metadata(self, lines: list[bytes]) -> "Merged":
        """With the metadata graph's lines (sorted, distinct) as the asserted union's member META: its lines are
        then ysv.nt's."""
        digest = _digest(lines)
        if META in self.asserted.members:
            asserted = self.asserted.updated({META: (self.metadata, digest, lines)})[0]
        else:  # first made: merged, not put in line by line
            before = self.asserted
            distinct, repeats = merged([before.lines(), lines])
            asserted = Union.of(distinct, [], {**before.members, META: digest})  # holders: those below
            asserted.holders = dict(before.holders)
            for line in repeats:
                asserted.holders[line] = asserted.holders.get(line, 1) + 1
        return Merged(asserted, self.entailed, list(lines), self.mapped, self.entailed_metadata, self.overlap)


def _pairing(merged_: Merged) -> str:
    """What ties the two kept unions of one build together, and to this code: a hash of this module and of the
    asserted union's members."""
    import sys

    from .fingerprint import fingerprint

    digest = hashlib.sha256(fingerprint(sys.modules[__name__]))
    digest.update("\n".join(f"{name} {value}" for name, value in sorted(merged_.asserted.members.items())).encode())
    return digest.hexdigest()


def save_merged(cache: Path | None, merged_: Merged, linked: Path | None = None) -> None:
    """Keep what a build merged (in <cache>/union/), for the next to update. linked: the ysv.nt just written,
    which holds the asserted union's lines (see save)."""
    if cache is None:
        return
    folder = Path(cache) / "union"
    pairing = _pairing(merged_)
    save(folder, "asserted", merged_.asserted, pairing, linked)
    joined = [ntriples.joined(lines) for lines in (merged_.metadata, merged_.mapped, merged_.entailed_metadata)]
    save(folder, "entailed", merged_.entailed, (pairing, *joined, merged_.overlap))


def read_merged(cache: Path | None) -> Merged | None:
    """What the last build that kept one merged, or None (none kept, or its files changed or do not match)."""
    if cache is None:
        return None
    folder = Path(cache) / "union"
    asserted, entailed = read(folder, "asserted"), read(folder, "entailed")
    if asserted is None or entailed is None or not (isinstance(entailed[1], tuple) and len(entailed[1]) == 5):
        return None
    pairing, metadata, mapped, entailed_metadata, overlap = entailed[1]
    if not (all(isinstance(data, bytes) for data in (metadata, mapped, entailed_metadata))
            and isinstance(overlap, set)):
        return None
    metadata, mapped, entailed_metadata = (ntriples.split(data) for data in (metadata, mapped, entailed_metadata))
    found = Merged(asserted[0], entailed[0], metadata, mapped, entailed_metadata, overlap)
    if asserted[1] != pairing or _pairing(found) != pairing or META not in found.asserted.members:
        return None
    return found


def forget_merged(cache: Path | None) -> None:
    """Drop what was kept (a build that made too many documents to update it keeps a new one at its end)."""
    if cache is not None:
        forget(Path(cache) / "union", "asserted", "entailed")

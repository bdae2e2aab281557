"""ysv.nq and its gzip in chunks kept between builds (QuadChunks): a rebuild makes only the changed graphs' chunks."""
from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

from . import caching
from .runs import cache_key, writers_digest
from ..pipeline.writing import Written, deliver, sha256_hex
from ..rdf.gzip import CHUNK_EVERY, SPLIT_BYTES, deflate_chunk, graph_pieces, gzip_member
from ..rdf.ntriples import joined as _joined, quads_of as _quads_of


# A rebuild sends the N-Triples of the chunks to make to a helper, which makes them, reads the kept ones and puts
# ysv.nq together, when they are at most this many (a build from scratch makes every chunk in this process, and
# compresses them in a thread: sending them all would cost more than it saves).
HELPER_CHUNKS = 16


class QuadChunks:
    """ysv.nq in chunks of about CHUNK_EVERY graphs (chunk_ends, by the graphs' names: the chunks of its gzip),
    each kept with its compressed bytes and CRC-32 in <cache>/render/n-quads/{key}.chunk, under a hash of the
    writers' code and of the names and digests (SHA-256 of their joined lines) of its graphs. A rebuild reads the
    chunks whose graphs did not change instead of putting each graph's name into each of its lines again and
    compressing, and makes only the chunks of the graphs that changed. Each build keeps only what it used.

    A chunk is a list [key, data, deflated]: plan() makes the data of the chunks the cache does not hold and
    leaves None for the others, read() reads those, gzip() compresses what is not compressed yet."""

    def __init__(self, cache: Path | None):
        self.folder = Path(cache) / "render" / "n-quads" if cache is not None else None
        self.made = 0  # chunks made (not found in the cache)
        self.cuts: set[str] = set()  # the big graphs' cuts used (see expand)
        self.crcs: dict[str, int] = {}  # a chunk's CRC-32, by key, kept with it (for the gzip: crc32_combine)

    def plan(self, names: list, digests: dict[str, str], joined: dict, lines: dict) -> list[list]:
        """The chunks of these graphs (in this order). digests, joined: a graph's digest and joined lines where the
        caller has them (by str(name), by name); lines: every graph's. A chunk the cache does not hold gets the
        joined N-Triples of its graphs (name, N-Triples), from which make() puts the N-Quads together.

        A graph bigger than SPLIT_BYTES (a corpus's metadata and entailments: tens of megabytes, changed by
        every edit) ends the chunk before it and is left whole (a chunk with no key) for expand() to cut into
        pieces, each a chunk of its own known by a hash of its lines: an edit then makes again the pieces it
        changed, not the whole graph. (expand runs in the helper that reads the chunks, in a rebuild.)"""
        code = writers_digest()
        chunks: list[list] = []
        group: list = []
        self.made = 0

        def close() -> None:
            if group:
                chunks.append(self._chunk(code, group))
                group.clear()

        for name in names:
            if name in joined and digests.get(str(name)) and hasattr(joined, "size"):
                # a graph known by its digest: its lines are read (a kept document's, from the cache) only if
                # its chunk is made
                size, data = joined.size(name), (lambda name=name: joined[name])
            else:
                data = joined[name] if name in joined else _joined(lines[name])
                size = len(data)
            if size > SPLIT_BYTES:
                data = data() if callable(data) else data
                close()
                digest = digests.get(str(name)) or sha256_hex(data)
                cut = cache_key(code, b"pieces", str(name).encode(), digest.encode()).hex()
                pieces = self._pieces_kept(cut)
                # a graph cut as at the last build is not sent again: its pieces' chunks are all kept
                chunks.append([None, None, None, [(str(name), data)] if pieces is None else None, cut])
                continue
            group.append((str(name), (digests.get(str(name)) or sha256_hex(data)).encode(), data))
            if zlib.crc32(str(name).encode()) % CHUNK_EVERY == 0:
                close()
        close()
        return chunks

    def _chunk(self, code: bytes, group: list) -> list:
        """A chunk of (graph name, identity, N-Triples) parts: kept (data to be read) or to be made."""
        key = cache_key(code, *(part for name, identity, _data in group for part in (name.encode(), identity))).hex()
        if self.folder is not None and (self.folder / f"{key}.chunk").is_file():
            return [key, None, None, None]
        self.made += 1
        return [key, None, None, [(name, data() if callable(data) else data) for name, _identity, data in group]]

    @staticmethod
    def spill(chunks: list[list], folder: Path) -> dict[str, str]:
        """Put the big graphs plan() left whole into files in folder, each chunk naming its file instead: a pipe
        to a helper moves tens of megabytes in a third of a second, a file in a fraction of that. Returns the
        files, by graph name."""
        spilled = {}
        for chunk in chunks:
            if chunk[0] is None and chunk[3] is not None:
                [(name, data)] = chunk[3]
                path = Path(folder) / f"{chunk[4]}.nt"
                path.write_bytes(data)
                chunk[3] = [(name, str(path))]
                spilled[name] = str(path)
        return spilled

    def _pieces_kept(self, cut: str) -> list[str] | None:
        """The keys of the chunks a big graph was cut into at an earlier build (kept in {cut}.pieces, under a hash
        of its name and digest), if every one of them is still kept."""
        if self.folder is None:
            return None
        keys = caching.read(self.folder / f"{cut}.pieces")
        if not (isinstance(keys, list) and all(isinstance(key, str) and (self.folder / f"{key}.chunk").is_file()
                                                for key in keys)):
            return None
        return keys

    def expand(self, chunks: list[list]) -> list[list] | None:
        """The chunks with each big graph plan() left whole cut into pieces (graph_pieces), a chunk each, or, for one
        cut as at an earlier build, the chunks kept then (None if those are no longer all kept)."""
        code = writers_digest()
        expanded = []
        for chunk in chunks:
            if chunk[0] is not None:
                expanded.append(chunk)
                continue
            cut = chunk[4]
            self.cuts.add(cut)
            if chunk[3] is None:
                keys = self._pieces_kept(cut)
                if keys is None:  # gone since plan(): the caller plans again
                    return None
                expanded += [[key, None, None, None] for key in keys]
                continue
            [(name, data)] = chunk[3]
            if isinstance(data, str):  # spilled to a file (see spill)
                data = Path(data).read_bytes()
            made = [self._chunk(code, [(name, b"piece " + cache_key(piece), piece)]) for piece in graph_pieces(data)]
            if self.folder is not None:
                caching.write(self.folder / f"{cut}.pieces", [piece[0] for piece in made])
            expanded += made
        return expanded

    @staticmethod
    def make(chunks: list[list]) -> None:
        """Put together the N-Quads of the chunks plan() gave N-Triples for."""
        for chunk in chunks:
            if chunk[3] is not None:
                chunk[1] = b"".join(_quads_of(data, name) for name, data in chunk[3])
                chunk[3] = None

    def read(self, chunks: list[list]) -> list[list] | None:
        """The chunks, expanded, made and read: each with its data (and, if kept, its compressed bytes); None if
        a kept one could not be read (their files are deleted, so that plan() makes them next time)."""
        chunks = self.expand(chunks)
        if chunks is None:
            return None
        self.make(chunks)
        unreadable = False
        for chunk in chunks:
            if chunk[1] is None:
                path = self.folder / f"{chunk[0]}.chunk"
                kept = caching.read(path)
                if not (isinstance(kept, tuple) and len(kept) == 3 and isinstance(kept[0], bytes)
                        and isinstance(kept[1], bytes) and isinstance(kept[2], int)):
                    path.unlink(missing_ok=True)  # every one that cannot be read, so one more plan() makes them all
                    unreadable = True
                    continue
                chunk[1], chunk[2], self.crcs[chunk[0]] = kept
        return None if unreadable else chunks

    def assembled(self, chunks: list[list], names: list, *plan) -> list[list]:
        """read(chunks), planned again (with plan()'s arguments) for as long as kept chunks cannot be read: each
        time, those are deleted, so the next plan makes them."""
        ready = self.read(chunks)
        while ready is None:
            ready = self.read(self.plan(names, *plan))
        return ready

    def gzip(self, chunks: list[list]) -> bytes:
        """The gzip of the chunks put end to end (see gzip_chunks): the chunks made this time are compressed and
        kept; what this build did not use is deleted."""
        for chunk in chunks:
            if chunk[2] is None:
                chunk[2] = deflate_chunk(chunk[1])
                self.crcs[chunk[0]] = zlib.crc32(chunk[1])
                if self.folder is not None:
                    caching.write(self.folder / f"{chunk[0]}.chunk", (chunk[1], chunk[2], self.crcs[chunk[0]]))
        if self.folder is not None:
            caching.prune(self.folder, {chunk[0] for chunk in chunks}, ("*.chunk",))
            caching.prune(self.folder, self.cuts, ("*.pieces",))
            (self.folder.parent / "n-quads-gzip.pickle").unlink(missing_ok=True)  # kept by builds before 2026-12-02
        return gzip_member([chunk[1] for chunk in chunks], [chunk[2] for chunk in chunks],
                            [self.crcs.get(chunk[0]) for chunk in chunks])


def n_quads_file(cache: Path | None, chunks: list[list], path: str, written: bool = False):
    """In a helper: expand and read the chunks, write ysv.nq to path; (None if a kept chunk could not be read:
    the caller then makes them itself, else) its gzip and the number of chunks made here. written: path is in
    the staging folder; the gzip is written beside it, and both files are returned as Written."""
    quads = QuadChunks(cache)
    chunks = quads.read(chunks)
    if chunks is None:
        return None
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk[1])
            if written:
                digest.update(chunk[1])
    gzipped = quads.gzip(chunks)
    if not written:
        return gzipped, quads.made
    return (Written(Path(path).name, sum(len(chunk[1]) for chunk in chunks), digest.hexdigest()),
            deliver(gzipped, Path(path).name + ".gz", str(Path(path).parent)), quads.made)

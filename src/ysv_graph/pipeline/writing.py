"""Stage 5: write out/ — every file or none.

Files are written to a temporary folder beside out/ and swapped in only when all of them are written, so a
failed build never leaves out/ half-changed. Serialisation goes through pyoxigraph (fast, and stable: the same
input gives the same bytes whatever PYTHONHASHSEED is); triples are sorted before writing.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import shutil
import struct
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from ..incremental import caching
from . import describing
from ..rdf import jsonld
from ..rdf.ntriples import Converter, joined as _joined, quads as _quads, quads_of as _quads_of  # noqa: F401
from ..rdf.ntriples import sorted_lines as _sorted_graph_lines, to_ox  # noqa: F401
from ..rdf.ntriples import count_lines as _count_lines, iris as ntriples_iris, split as _split_lines, terms as _terms_of
from ..rdf.ntriples import line_at as _line_at
from ..rdf.terms import Base

EXTRA_PREFIXES = {"spdx": str(describing.SPDX), "vcard": str(describing.VCARD)}


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _term_key(term) -> str:
    return term.value if isinstance(term, (ox.NamedNode, ox.BlankNode)) else str(term)


def _sorted_for_turtle(triples: list) -> list:
    """Subjects in IRI order; within one, rdf:type first, then predicates and objects in order."""
    return sorted(triples, key=lambda t: (_term_key(t.subject), t.predicate.value != RDF_TYPE, t.predicate.value,
                                          str(t.object)))


def turtle(graph, prefixes: dict[str, str]) -> bytes:
    converter = Converter()
    triples = converter.triples(graph)
    used = _namespaces_used(_iris(converter.terms.values()), prefixes)  # from the distinct terms, seen once each
    return ox.serialize(_sorted_for_turtle(triples), format=ox.RdfFormat.TURTLE, prefixes=used)


def turtle_of_lines(lines: list[bytes], prefixes: dict[str, str], kept: "RenderCache | None" = None) -> bytes:
    """What turtle() writes for the triples of these (distinct) N-Triples lines. Given kept, the lines are put
    in turtle()'s order and written run by run of subjects (see _runs), each run taken from kept when it has it:
    pyoxigraph ends a subject's block with " ." and starts the next one afresh, so the runs put together are what
    it writes for the whole (tested)."""
    if kept is None or not lines:
        used = _namespaces_used(ntriples_iris(_terms_of(lines)), prefixes)
        triples = list(ox.parse(_joined(lines), format=ox.RdfFormat.N_TRIPLES))
        return ox.serialize(_sorted_for_turtle(triples), format=ox.RdfFormat.TURTLE, prefixes=used)
    return _turtle_of_ordered(sorted(lines, key=_turtle_order), ntriples_iris(_terms_of(lines)), prefixes, kept)


def _turtle_of_ordered(ordered: list[bytes], iris: set[str], prefixes: dict[str, str], kept: "RenderCache") -> bytes:
    """turtle_of_lines, given the (distinct) lines in turtle()'s order and their IRIs."""
    used = _namespaces_used(iris, prefixes)
    runs = _runs(ordered, in_order=False)
    head = _turtle_head(used)
    settings = _writers_digest() + json.dumps(sorted(used.items())).encode()
    bodies = [kept.get(_key(settings, run), lambda run=run: _turtle_body(run, used, head)) for run in runs]
    kept.save()
    return head + b"".join(bodies)


_TYPE_IRI = b"<" + RDF_TYPE.encode() + b">"


def _turtle_order(line: bytes) -> tuple:
    """_sorted_for_turtle's order, from an N-Triples line: subjects by IRI (or blank node label), rdf:type
    first, then predicates by IRI and objects in their N-Triples form."""
    s, p, o = line.split(b" ", 2)
    return (s[1:-1] if s[:1] == b"<" else s[2:], p != _TYPE_IRI, p[1:-1], o[:-2])


def _turtle_head(prefixes: dict[str, str]) -> bytes:
    """The prefix lines pyoxigraph starts every Turtle document with (it writes all it is given)."""
    dummy = ox.NamedNode("urn:ysv-graph:dummy")
    head = ox.serialize([ox.Triple(dummy, dummy, dummy)], format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    return head[:head.index(b"<urn:ysv-graph:dummy>")]


def _turtle_body(run: bytes, prefixes: dict[str, str], head: bytes) -> bytes:
    """A run of N-Triples (in the order wanted) as Turtle, without the prefix lines."""
    text = ox.serialize(ox.parse(run, format=ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    if not text.startswith(head):
        raise RuntimeError("pyoxigraph's Turtle no longer starts with the prefixes alone")
    return text[len(head):]


def ntriples(graph, converter: Converter | None = None) -> bytes:
    """The triples as N-Triples, lines sorted and distinct."""
    term = (converter or Converter()).ntriples
    return _joined(sorted({b"%s %s %s ." % (term(s), term(p), term(o)) for s, p, o in graph}))


def canonical_turtle(graph, prefixes: dict[str, str]) -> bytes:
    """Turtle for a graph with blank nodes (the SHACL report): blank nodes renamed canonically first."""
    dataset = ox.Dataset(ox.Quad(to_ox(s), to_ox(p), to_ox(o), ox.DefaultGraph()) for s, p, o in graph)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    triples = sorted((q.triple for q in dataset), key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)


def _iris(terms) -> set[str]:
    """The IRIs among pyoxigraph terms, and the datatypes of the literals."""
    iris = set()
    for term in terms:
        if isinstance(term, ox.NamedNode):
            iris.add(term.value)
        elif isinstance(term, ox.Literal):
            iris.add(term.datatype.value)
    return iris


def _namespaces_used(iris: set | list, prefixes: dict[str, str]) -> dict[str, str]:
    """The prefixes whose namespace begins one of the IRIs (a set, or a list already sorted). In the sorted IRIs,
    those that begin with a namespace come together, first among those not less than it, so one bisection a
    prefix finds them."""
    ordered = iris if isinstance(iris, list) else sorted(iris)
    used = {}
    for name, namespace in prefixes.items():
        i = bisect.bisect_left(ordered, namespace)
        if i < len(ordered) and ordered[i].startswith(namespace):
            used[name] = namespace
    return used


def _used_prefixes(graph, prefixes: dict[str, str]) -> dict[str, str]:
    iris = set()
    for triple in graph:
        for t in triple:
            if isinstance(t, URIRef):
                iris.add(str(t))
            elif isinstance(t, Literal) and t.datatype:
                iris.add(str(t.datatype))
    return _namespaces_used(iris, prefixes)


@dataclass
class Outputs:
    """What the build hands to the writer: every named graph as its sorted, distinct N-Triples lines (see
    ntriples.sorted_lines; a graph kept from an earlier build never becomes rdflib terms again)."""

    base: Base
    lines: dict[URIRef, list[bytes]]  # named graph -> its lines, for ysv.nq
    iris: set[str]  # every IRI of the asserted data and the datatypes of its literals (see ntriples.iris), or the
    # namespaces among the prefixes' that begin them (describing.namespaces_of): the same prefixes are used
    asserted: list | bytes  # the sorted, distinct lines of the asserted graphs (what ysv.nt holds), or them joined
    # (bytes, or Buffers: pieces that put end to end are the joined lines)
    metadata_graph: URIRef | None = None
    site: bool = True
    derived: tuple = ()  # names of the graphs in `lines` that are not part of the asserted data
    joined: dict | None = None  # named graph -> its lines joined (ntriples.joined), where the caller has them; a
    # ntriples.Joined reads them only where they are needed
    digests: dict | None = None  # str(named graph) -> SHA-256 (hex) of its joined lines, where the caller has it
    asserted_count: int | None = None  # how many lines `asserted` has, where the caller knows

    def count(self) -> int:
        """How many lines ysv.nt has."""
        if self.asserted_count is None:
            self.asserted_count = (self.asserted.count(b"\n") if isinstance(self.asserted, bytes)
                                   else sum(bytes(piece).count(b"\n") for piece in self.asserted)
                                   if isinstance(self.asserted, Buffers) else len(self.asserted))
        return self.asserted_count


@dataclass(frozen=True)
class Written:
    """A file a helper process wrote straight into the folder that becomes out/ (write_atomically's staging
    folder), so that its bytes never pass through the build's main process: its name there, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def read(self, folder: Path) -> bytes:
        return (Path(folder) / self.name).read_bytes()


def _deliver(data: "bytes | list[bytes]", name: str, into: str | None) -> "bytes | Written":
    """The file's bytes, or, given the staging folder (into), the file written there (Written). data: the bytes,
    or pieces to be put one after another (written so, without joining them, into the staging folder)."""
    pieces = [data] if isinstance(data, bytes) else data
    if into is None:
        return data if isinstance(data, bytes) else b"".join(pieces)
    digest = hashlib.sha256()
    with open(Path(into) / name, "wb") as handle:
        for piece in pieces:
            handle.write(piece)
            digest.update(piece)
    return Written(name, sum(map(len, pieces)), digest.hexdigest())


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_of(pieces) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


class Buffers(tuple):
    """Pieces of bytes (bytes, or views of bytes) that put end to end are a file: Outputs.asserted, in a rebuild
    (union.Union.pieces)."""


def staging_folder(out_dir: Path) -> Path:
    """A fresh folder beside out_dir, to be filled and swapped in for it by write_atomically (the caller deletes
    it if the build fails before that). Its name holds this process's id, so that the folders of a build that
    was killed (by SIGKILL, or for want of memory: nothing could delete them) are deleted by the next build
    (remove_abandoned)."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the published folder is readable by all
    return staging


def remove_abandoned(out_dir: Path) -> list[str]:
    """Delete the staging folders (and the old out/ set aside by write_atomically) beside out_dir whose build
    process is no longer running; the names of those deleted."""
    import re

    pattern = re.compile(re.escape(f".{out_dir.name}.") + r"(?:tmp|old)-(\d+)-")
    removed = []
    for entry in sorted(out_dir.parent.glob(f".{out_dir.name}.*-*-*")):
        found = pattern.match(entry.name)
        if found is None or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            os.kill(int(found.group(1)), 0)
            continue  # that process runs (or runs as another user): its folder is left alone
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


TYPE_PREDICATE = b" <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
TYPE_MARKER = b" \x01 "  # sorts before any IRI; N-Triples escapes control characters, so it never occurs


def render_data(outputs: Outputs, helpers: tuple = (), on_ntriples=None, scratch: Path | None = None,
                timings: dict | None = None, cache: Path | None = None,
                counts: dict | None = None, drafts: dict | None = None,
                changes: "Changes | None" = None, staging: Path | None = None) -> dict:
    """The files that do not depend on the validation report: the data, the dumps and the site.

    Each named graph is converted to pyoxigraph once and written as N-Triples, its lines sorted: the N-Quads are
    those lines graph after graph (in IRI order) with the graph's name added, and the N-Triples are the sorted,
    distinct lines of the asserted graphs. The N-Triples are then put in a scratch file, from which helper
    processes (forked at the start of the build, while the main process was small) make the JSON-LD (helpers[0])
    and the Turtle (helpers[1]) meanwhile; in a rebuild, helpers[2] puts ysv.nq together from the chunks kept
    (QuadChunks); helpers[3] makes the CatalogueDraft; without helpers, they are made here. The Turtle is the
    sorted N-Triples with each subject's rdf:type first, read and written by pyoxigraph. The dumps are compressed
    in threads (or helpers[2]). on_ntriples, if given, is called with the scratch file's path as soon as it is
    written (the build has the graph-wide rules checked on it). scratch: the folder for that file, which the
    caller deletes when it is done with it; by default a temporary folder, deleted when this returns. timings, if
    given, gets the seconds spent on each part. cache: the build cache, where the Turtle and JSON-LD writers keep
    what they made of each run of subjects (KeptRuns), and the N-Quads their chunks (QuadChunks); counts, if
    given, gets how many runs and chunks had to be made. staging: the folder that becomes out/ (staging_folder),
    if the build writes one: the helpers then write the Turtle, the JSON-LD and the N-Quads (and their gzips)
    there themselves, and the returned files hold Written for them instead of their bytes. drafts, if
    given (with a cache), gets the CatalogueDraft for finish(), made while the helpers work. changes: how the
    N-Triples differ from the last build's (Changes), so the Turtle and JSON-LD writers can keep what did not."""
    import time

    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="ysv-") as folder:
            return render_data(outputs, helpers, on_ntriples, Path(folder), timings, cache, counts, drafts,
                               changes, staging)
    timings = {} if timings is None else timings
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock[0]
        clock[0] = now

    helpers = tuple(helpers) + (None,) * 4
    names = sorted(outputs.lines, key=str)
    files: dict = {}
    into = str(staging) if staging is not None else None  # where the helpers write their files
    # each graph's part of ysv.nq: its N-Triples with the graph's name put in, graph after graph, in chunks kept
    # with their gzip under their graphs' digests (QuadChunks), so a rebuild makes only the changed graphs' chunks
    # and a helper (helpers[2]) reads the others and puts the file together: sent first, as it takes longest. A
    # build that makes many chunks makes them here, once the other helpers have their jobs.
    quads = QuadChunks(cache)
    plan = (outputs.digests or {}, outputs.joined or {}, outputs.lines)
    chunks = quads.plan(names, *plan)
    made_quads = quads.made
    n_quads = None
    spilled: dict = {}
    if helpers[2] is not None and made_quads <= HELPER_CHUNKS:
        spilled = quads.spill(chunks, Path(scratch))
        n_quads = helpers[2].submit(_n_quads_file, cache, chunks, str(Path(into or scratch) / "ysv.nq"),
                                    into is not None)
    lap("N-Quads")
    want_draft = drafts is not None and cache is not None and outputs.metadata_graph is not None
    draft = None
    if want_draft and helpers[3] is not None:  # the metadata's lines: from the file spilled for ysv.nq, if it was
        metadata = str(outputs.metadata_graph)
        draft = helpers[3].submit(CatalogueDraft.kept, spilled[metadata] if metadata in spilled
                                  else outputs.lines[outputs.metadata_graph], cache)
    # the N-Triples: joined, or pieces that put end to end are the file (Buffers: a rebuild's, spliced from the
    # last build's, are not put together in this process at all)
    pieces = (list(outputs.asserted) if isinstance(outputs.asserted, Buffers)
              else [outputs.asserted if isinstance(outputs.asserted, bytes) else _joined(outputs.asserted)])
    iris = sorted(outputs.iris)  # once, for both
    json_ld_prefixes = _namespaces_used(iris, outputs.base.prefixes())
    turtle_prefixes = _namespaces_used(iris, outputs.base.prefixes(per_kind=True))
    # the N-Triples go where the helpers read them: straight into the staging folder, if there is one (hashed in
    # a thread while the helpers work), else the scratch folder (and they are returned as bytes)
    nt_path = str(Path(staging if staging is not None else scratch) / "ysv.nt")
    with open(nt_path, "wb") as handle:
        for piece in pieces:
            handle.write(piece)
    nt_size = sum(len(piece) for piece in pieces)
    files["ysv.nt"] = (pieces[0] if len(pieces) == 1 and isinstance(pieces[0], bytes) else b"".join(pieces)
                       ) if staging is None else None
    if on_ntriples is not None:
        on_ntriples(nt_path)
    lap("N-Triples")
    json_ld = (helpers[0].submit(_json_ld, nt_path, json_ld_prefixes, cache, changes, into)
               if helpers[0] is not None else None)
    turtle_ = (helpers[1].submit(_turtle, nt_path, turtle_prefixes, cache, changes, into)
               if helpers[1] is not None else None)
    if n_quads is None:
        chunks = quads.assembled(chunks, names, *plan)
        made_quads = quads.made
        files["ysv.nq"] = b"".join(chunk[1] for chunk in chunks)
        lap("N-Quads")
    # bulk-loader dumps, compressed in threads (zlib lets go of the GIL); gzip with no name and mtime 0, so the
    # bytes are reproducible; level 6: a third of level 9's time, 6% larger
    with ThreadPoolExecutor(max_workers=1) as pool:
        compressed = pool.submit(quads.gzip, chunks) if n_quads is None else None
        nt_digest = pool.submit(_sha256_of, pieces) if staging is not None else None
        if want_draft:
            drafts["catalogue"] = (draft.result() if draft is not None
                                   else CatalogueDraft.kept(outputs.lines[outputs.metadata_graph], cache))
        files["ysv.ttl"], files["ysv.ttl.gz"], turtle_made, turtle_reused = (
            turtle_.result() if turtle_ is not None else _turtle(nt_path, turtle_prefixes, cache, changes))
        files["context.jsonld"], files["ysv.jsonld"], json_ld_made, json_ld_reused = (
            json_ld.result() if json_ld is not None else _json_ld(nt_path, json_ld_prefixes, cache, changes))
        if n_quads is not None:
            done = n_quads.result()
            if done is None:  # kept chunks could not be read (and are deleted): made here instead
                ready = quads.assembled(quads.plan(names, *plan), names, *plan)
                made_quads += quads.made
                files["ysv.nq"] = b"".join(chunk[1] for chunk in ready)
                files["ysv.nq.gz"] = quads.gzip(ready)
            elif into is not None:
                files["ysv.nq"], files["ysv.nq.gz"], made = done  # Written, both
                made_quads += made
            else:
                files["ysv.nq.gz"], made = done
                made_quads += made
                files["ysv.nq"] = (Path(scratch) / "ysv.nq").read_bytes()
        else:
            files["ysv.nq.gz"] = compressed.result()
        if nt_digest is not None:
            files["ysv.nt"] = Written("ysv.nt", nt_size, nt_digest.result())
    del pieces
    lap("waiting for the Turtle, JSON-LD and gzip")
    if counts is not None:
        counts["Turtle runs written (not cached)"] = turtle_made
        counts["JSON-LD parts made (not cached)"] = json_ld_made
        counts["Turtle runs kept as they were (not cut again)"] = turtle_reused
        counts["JSON-LD runs kept as they were (not cut again)"] = json_ld_reused
        counts["N-Quads chunks made (not cached)"] = made_quads
    if outputs.site:
        from ..serve.site import render_site  # the HTML pages, for static hosting

        nquads = files["ysv.nq"]
        files.update(render_site(nquads.read(staging) if isinstance(nquads, Written) else nquads, outputs.base))
        lap("site")
    return files


CHUNK_EVERY = 16  # parts in a compressed chunk, on average


def _chunk_ends(boundaries: list[bytes]) -> list[int]:
    """Where chunks of parts end (exclusive indexes): after each part whose boundary's CRC-32 is a multiple of
    CHUNK_EVERY, and at the end (so where chunks end depends only on the parts: the name of a graph, the first
    subject of a run)."""
    ends = [i + 1 for i, boundary in enumerate(boundaries) if zlib.crc32(boundary) % CHUNK_EVERY == 0]
    if boundaries and (not ends or ends[-1] != len(boundaries)):
        ends.append(len(boundaries))
    return ends


def _deflated(chunk: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)


_CRC_POLYNOMIAL = 0xEDB88320  # CRC-32's, reflected, as zlib has it


def _multiply_mod_p(a: int, b: int) -> int:
    """a * b modulo CRC-32's polynomial (zlib's multmodp; reflected: the top bit is x^0)."""
    m, product = 1 << 31, 0
    while True:
        if a & m:
            product ^= b
            if a & (m - 1) == 0:
                return product
        m >>= 1
        b = (b >> 1) ^ _CRC_POLYNOMIAL if b & 1 else b >> 1


def _x_powers() -> list[int]:
    powers = [1 << 30]  # x^1
    for _ in range(31):
        powers.append(_multiply_mod_p(powers[-1], powers[-1]))
    return powers


_X_2N = _x_powers()  # x^(2^n) modulo the polynomial, n = 0..31


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A followed by B, from A's (crc1), B's (crc2) and B's length: zlib's crc32_combine, which
    Python's zlib does not offer. x^(8 * length2) is made from the powers x^(2^n), so a combination costs a few
    dozen multiplications, not a pass over B."""
    power, k, n = 1 << 31, 3, length2  # x^0; the power is x^(n * 2^k): 8 * length2 bits
    while n:
        if n & 1:
            power = _multiply_mod_p(_X_2N[k & 31], power)
        n >>= 1
        k += 1
    return _multiply_mod_p(power, crc1) ^ crc2


def _gzip_member(chunks: list, deflated: list[bytes], crcs: list | None = None) -> bytes:
    """One gzip member of the chunks put end to end, given each chunk deflated on its own (_deflated). crcs:
    each chunk's CRC-32 where known (None where not), combined instead of reading the chunks again; a chunk
    whose CRC-32 is known may be given by its length alone (an int)."""
    out = [struct.pack("<BBBBLBB", 0x1F, 0x8B, 8, 0, 0, 0, 255)]  # as gzip.compress(level 6, mtime=0) starts
    crc = size = 0
    for chunk, compressed, part in zip(chunks, deflated, crcs or [None] * len(chunks)):
        out.append(compressed)
        length = chunk if isinstance(chunk, int) else len(chunk)
        crc = zlib.crc32(chunk, crc) if part is None else crc32_combine(crc, part, length)
        size += length
    out.append(zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH))  # the last, empty block
    out.append(struct.pack("<LL", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(out)


def gzip_chunks(parts: list[tuple[bytes, bytes]], kept: "RenderCache | None" = None,
                keys: list[bytes] | None = None) -> bytes:
    """A gzip file of the parts' data put end to end. parts: (boundary, data) pairs; the parts are grouped into
    chunks (_chunk_ends), and each chunk is compressed on its own (level 6) and ended with a full flush, as pigz
    does: one deflate stream, read by any gzip reader as one member, whose bytes depend only on the parts. A
    chunk's compressed bytes are kept (kept: a RenderCache, under a hash of the chunk), so an edit compresses
    again only the chunks it changed; chunks of about a megabyte cost under 1% in size against compressing the
    whole at once. zlib lets go of the GIL, so this runs well in a thread.

    keys: a key for each part that names its data (the Turtle's runs: a hash of the run's N-Triples and of the
    writer), so that a chunk is kept under its parts' keys, with its CRC-32 and length: a kept chunk's data is
    then neither put together, nor hashed, nor read for the CRC (crc32_combine)."""
    ends = _chunk_ends([boundary for boundary, _data in parts])
    version = zlib.ZLIB_RUNTIME_VERSION.encode()
    if keys is not None and kept is not None:
        deflated, crcs, lengths = [], [], []
        start = 0
        for end in ends:
            def make(start=start, end=end):
                chunk = b"".join(data for _boundary, data in parts[start:end])
                return _deflated(chunk), zlib.crc32(chunk), len(chunk)

            value = kept.get(_key(b"deflate 6 by parts", version, *keys[start:end]), make)
            deflated.append(value[0])
            crcs.append(value[1])
            lengths.append(value[2])
            start = end
        kept.save()
        return _gzip_member(lengths, deflated, crcs)
    chunks: list[bytes] = []
    start = 0
    for end in ends:
        chunks.append(b"".join(data for _boundary, data in parts[start:end]))
        start = end
    deflated = [kept.get(_key(b"deflate 6", version, chunk),
                         lambda chunk=chunk: _deflated(chunk)) if kept is not None
                else _deflated(chunk) for chunk in chunks]
    if kept is not None:
        kept.save()
    return _gzip_member(chunks, deflated)


class QuadChunks:
    """ysv.nq in chunks of about CHUNK_EVERY graphs (_chunk_ends, by the graphs' names: the chunks of its gzip),
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
        code = _writers_digest()
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
                digest = digests.get(str(name)) or _sha256_hex(data)
                cut = _key(code, b"pieces", str(name).encode(), digest.encode()).hex()
                pieces = self._pieces_kept(cut)
                # a graph cut as at the last build is not sent again: its pieces' chunks are all kept
                chunks.append([None, None, None, [(str(name), data)] if pieces is None else None, cut])
                continue
            group.append((str(name), (digests.get(str(name)) or _sha256_hex(data)).encode(), data))
            if zlib.crc32(str(name).encode()) % CHUNK_EVERY == 0:
                close()
        close()
        return chunks

    def _chunk(self, code: bytes, group: list) -> list:
        """A chunk of (graph name, identity, N-Triples) parts: kept (data to be read) or to be made."""
        key = _key(code, *(part for name, identity, _data in group for part in (name.encode(), identity))).hex()
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
        """The chunks with each big graph plan() left whole cut into pieces (_pieces), a chunk each, or, for one
        cut as at an earlier build, the chunks kept then (None if those are no longer all kept)."""
        code = _writers_digest()
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
            made = [self._chunk(code, [(name, b"piece " + _key(piece), piece)]) for piece in _pieces(data)]
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
                chunk[2] = _deflated(chunk[1])
                self.crcs[chunk[0]] = zlib.crc32(chunk[1])
                if self.folder is not None:
                    caching.write(self.folder / f"{chunk[0]}.chunk", (chunk[1], chunk[2], self.crcs[chunk[0]]))
        if self.folder is not None:
            caching.prune(self.folder, {chunk[0] for chunk in chunks}, ("*.chunk",))
            caching.prune(self.folder, self.cuts, ("*.pieces",))
            (self.folder.parent / "n-quads-gzip.pickle").unlink(missing_ok=True)  # kept by builds before 2026-12-02
        return _gzip_member([chunk[1] for chunk in chunks], [chunk[2] for chunk in chunks],
                            [self.crcs.get(chunk[0]) for chunk in chunks])


# Graphs bigger than this (joined N-Triples) are cut into pieces of about PIECE_EVERY lines for ysv.nq's chunks.
SPLIT_BYTES = 4 << 20
PIECE_EVERY = 4096


def _pieces(data: bytes) -> list[bytes]:
    """Joined N-Triples cut after each line whose CRC-32 is a multiple of PIECE_EVERY: where pieces end depends on
    the lines alone, so a line added or removed changes its piece only (or the two a removed end joined). (Split
    afresh: faster than going through a list of lines made earlier, whose objects lie scattered in memory.)"""
    from itertools import accumulate

    lines = data.split(b"\n")[:-1]
    cut = [i for i, crc in enumerate(map(zlib.crc32, lines)) if crc % PIECE_EVERY == 0]
    if not cut:
        return [data] if data else []
    sizes = list(accumulate(map(len, lines)))  # line i ends at sizes[i] + i + 1 (its line break included)
    pieces, start = [], 0
    for i in cut:
        pieces.append(data[start:sizes[i] + i + 1])
        start = sizes[i] + i + 1
    if start < len(data):
        pieces.append(data[start:])
    return pieces


def _n_quads_file(cache: Path | None, chunks: list[list], path: str, written: bool = False):
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
            _deliver(gzipped, Path(path).name + ".gz", str(Path(path).parent)), quads.made)


# A rebuild sends the N-Triples of the chunks to make to a helper, which makes them, reads the kept ones and puts
# ysv.nq together, when they are at most this many (a build from scratch makes every chunk in this process, and
# compresses them in a thread: sending them all would cost more than it saves).
HELPER_CHUNKS = 16


class RenderCache:
    """What the Turtle and JSON-LD writers made of each run of subjects (see _runs), kept between builds in
    <cache>/render/{name}.pickle, under a hash of the run's N-Triples and of whatever else the result depends
    on (the prefixes; the JSON-LD context). An edit changes the runs its subjects fall in; the others are not
    rendered again. Each build keeps only what it used; a damaged file is ignored."""

    def __init__(self, cache: Path | None, name: str):
        self.path = Path(cache) / "render" / f"{name}.pickle" if cache is not None else None
        self.old: dict = {}
        self.new: dict = {}
        self.made = 0  # runs rendered (not found in the cache)
        if self.path is not None:
            old = caching.read(self.path)
            self.old = old if isinstance(old, dict) else {}

    def get(self, key: bytes, make):
        """The value kept under key, else make() (kept for next time)."""
        value = self.old.get(key)
        if value is None:
            value = make()
            self.made += 1
        self.new[key] = value
        return value

    def save(self) -> None:
        if self.path is not None:
            caching.write(self.path, self.new)


RUN_EVERY = 32  # subjects in a run, on average
BLOCK_EVERY = 32  # runs in a block of kept runs (KeptRuns.save), on average


def _runs(lines: list[bytes], in_order: bool = True) -> list[bytes]:
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
            runs.append(_joined(lines[start:i]))
            start = i
    if start < count:
        runs.append(_joined(lines[start:]))
    return runs


def _writers_digest() -> bytes:
    """What every run's Turtle or JSON-LD depends on besides the run: our writers' code and pyoxigraph's
    version (a cached run made by other code would not be what this code makes)."""
    import sys

    from ..incremental.fingerprint import fingerprint
    from ..rdf import jsonld, ntriples

    return fingerprint(sys.modules[__name__], jsonld, ntriples,
                       extra=f"{ox.__version__}\0{zlib.ZLIB_RUNTIME_VERSION}\0")


def _key(*parts: bytes) -> bytes:
    digest = hashlib.sha256()  # twice BLAKE2b's speed here (the processor has SHA instructions)
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()[:20]


@dataclass(frozen=True)
class Changes:
    """What the main process knows of how the N-Triples changed since the last build, for the Turtle and JSON-LD
    writers: with it, they make their output from the runs they kept of that build (KeptRuns), making again only
    the runs that hold a changed subject (_run_list)."""

    now: bytes  # names these N-Triples (a hash of the asserted graphs' digests): kept with the runs made of them
    before: bytes | None = None  # names the N-Triples that `subjects` are counted against
    subjects: tuple[bytes, ...] | None = None  # sorted: every subject with a line added or removed since `before`


@dataclass
class KeptRuns:
    """A Turtle or JSON-LD writer's runs of subjects (see _runs) from the last build, in order: each run's first
    subject, its key (a hash of the writers' code and the run's N-Triples), what the writer made of it under
    `settings` (the prefixes; the JSON-LD context) and, for the JSON-LD, what the run uses of a context. token:
    the Changes.now of the N-Triples they were made from (None: not known), so a rebuild whose Changes.before
    is that token can take every run that holds no changed subject as it is. Kept in <cache>/render/ (see save);
    a damaged or foreign file reads as none."""

    token: bytes | None
    code: bytes
    settings: bytes
    firsts: list[bytes]
    keys: list[bytes]
    bodies: list[bytes]
    usage: list | None = None

    @staticmethod
    def read(cache: Path | None, name: str) -> "KeptRuns | None":
        if cache is None:
            return None
        folder = Path(cache) / "render"
        index = caching.read(folder / f"{name}-runs.pickle")
        if not (isinstance(index, tuple) and len(index) == 7):
            return None
        token, code, settings, firsts, keys, usage, blocks = index
        bodies: list[bytes] = []
        for key, count in blocks:
            block = caching.read(folder / f"{name}-blocks" / f"{key}.block")
            if not (isinstance(block, list) and len(block) == count):
                return None
            bodies += block
        if not (len(firsts) == len(keys) == len(bodies)) or usage is not None and len(usage) != len(keys):
            return None
        return KeptRuns(token, code, settings, firsts, keys, bodies, usage)

    def save(self, cache: Path | None, name: str) -> None:
        """Keep the runs: their bodies in blocks of about BLOCK_EVERY runs (ending after a run whose first
        subject's hash is a multiple of it), each in a file named by a hash of the code, the settings and its
        runs' keys, so a rebuild writes only the blocks it changed (the JSON-LD's bodies are some 80 MB at 1,000
        reports); the rest in <cache>/render/{name}-runs.pickle. Blocks no longer used are deleted."""
        if cache is None:
            return
        folder = Path(cache) / "render"
        blocks: list[tuple[str, int]] = []
        start = 0
        for i, first in enumerate(self.firsts):
            # (not CRC-32: a run's first subject follows one whose CRC-32 ends in zeros, and CRC-32 is linear)
            if int.from_bytes(hashlib.sha256(first).digest()[:4], "big") % BLOCK_EVERY == 0 \
                    or i == len(self.firsts) - 1:
                key = _key(self.code, self.settings, *self.keys[start:i + 1]).hex()
                path = folder / f"{name}-blocks" / f"{key}.block"
                if not path.is_file():
                    caching.write(path, self.bodies[start:i + 1])
                blocks.append((key, i + 1 - start))
                start = i + 1
        caching.write(folder / f"{name}-runs.pickle",
                      (self.token, self.code, self.settings, self.firsts, self.keys, self.usage, blocks))
        caching.prune(folder / f"{name}-blocks", {key for key, _count in blocks}, ("*.block",))
        (folder / f"{name}.pickle").unlink(missing_ok=True)  # what builds before 2026-12-02 kept

    def bodies_by_key(self, code: bytes, settings: bytes) -> dict[bytes, bytes]:
        """Each kept run's body by its key, if they were made by this code under these settings (else none)."""
        return dict(zip(self.keys, self.bodies)) if (self.code, self.settings) == (code, settings) else {}


def _closes(run: bytes) -> bool:
    """Whether a run (N-Triples, joined) ends with a subject after which _runs ends a run."""
    last = run[run.rfind(b"\n", 0, len(run) - 1) + 1:]
    return zlib.crc32(last[:last.find(b" ")]) % RUN_EVERY == 0


def _spans(firsts: list[bytes], subjects) -> list[list[int]]:
    """The kept runs that hold (or would hold) the subjects, by index, grouped into spans [a, b] of consecutive
    runs (a run covers the subjects from its first up to the next run's first)."""
    spans: list[list[int]] = []
    for i in sorted({max(0, bisect.bisect_right(firsts, subject) - 1) for subject in subjects}):
        if spans and i <= spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return spans


def _run_list(kept: KeptRuns | None, ntriples_path: str, changes: Changes | None, cut) -> list:
    """The runs of the sorted N-Triples in ntriples_path (cut: their bytes -> runs, see _runs), each an int (the
    index of a kept run that is the same) or the run's N-Triples. With kept runs made from the N-Triples that
    changes.before names, only the spans of kept runs that hold a changed subject are read from the file (found
    by bisection) and cut again; everything else is taken as it is. A span starts where a run starts (the run
    before it ended after a subject that did not change). It is cut from its first subject up to the first of
    the next kept run; if its last subject no longer ends a run (it was removed), the span takes in the next kept
    run as well. Without them, the whole file is cut."""
    usable = (kept is not None and kept.firsts and changes is not None and changes.subjects is not None
              and changes.before is not None and kept.token == changes.before)
    if not usable or Path(ntriples_path).stat().st_size == 0:
        return cut(Path(ntriples_path).read_bytes())
    import mmap

    firsts, count = kept.firsts, len(kept.firsts)
    items: list = []
    taken = 0  # the kept runs before this are in items
    with open(ntriples_path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        spans = _spans(firsts, changes.subjects)
        k = 0
        while k < len(spans):
            a, b = spans[k][0], spans[k][1] + 1  # kept runs a .. b-1
            k += 1
            while True:
                start = _line_at(data, firsts[a]) if a > 0 else 0
                end = _line_at(data, firsts[b]) if b < count else len(data)
                runs = cut(data[start:end])
                if b == count or not runs or _closes(runs[-1]):
                    break
                b += 1
                while k < len(spans) and spans[k][0] < b:  # a span the extended one reached
                    b = max(b, spans[k][1] + 1)
                    k += 1
            items.extend(range(taken, a))
            items.extend(runs)
            taken = b
    items.extend(range(taken, count))
    return items


def _first_subject(run: bytes) -> bytes:
    return run[:run.find(b" ")]


def _turtle_cut(data: bytes) -> list[bytes]:
    """Sorted N-Triples as the Turtle writer's runs: each subject's rdf:type lines first (see TYPE_MARKER)."""
    lines = data.replace(TYPE_PREDICATE, TYPE_MARKER).splitlines()
    lines.sort()  # nearly sorted already: only the rdf:type lines move, to the front of their subject
    return _runs(lines)


def _json_ld_cut(data: bytes) -> list[bytes]:
    return _runs(data.splitlines())


def _run_keys(items: list, kept: KeptRuns | None, code: bytes) -> list[bytes]:
    """Each run's key (see _run_list for the items): a kept run's, or a hash of the code and the run."""
    return [kept.keys[item] if isinstance(item, int) else _key(code, item) for item in items]


def _run_values(items: list, keys: list[bytes], kept_values: list | None, by_key: dict, make) -> tuple[list, int]:
    """What the writer makes of each run: a kept run's value (kept_values, by index), the value kept under the
    run's key, or make(run); and how many were made."""
    values, made = [], 0
    for item, key in zip(items, keys):
        if isinstance(item, int):
            values.append(kept_values[item])
            continue
        value = by_key.get(key)
        if value is None:
            value = make(item)
            made += 1
        values.append(value)
    return values, made


def _run_firsts(items: list, kept: KeptRuns | None) -> list[bytes]:
    return [kept.firsts[item] if isinstance(item, int) else _first_subject(item) for item in items]


def _turtle(ntriples_path: str, prefixes: dict[str, str], cache: Path | None = None,
            changes: Changes | None = None, into: str | None = None) -> tuple:
    """The Turtle (and its gzip, see gzip_chunks) from the sorted N-Triples: subjects in IRI order, each with
    rdf:type first.
    pyoxigraph writes each run of subjects (see _runs; tests check the runs put together are what it writes for
    the whole), unless the cache has it (KeptRuns; with changes, only the runs holding changed subjects are
    looked at, see _run_list). Also returns how many runs were written (not found in the cache), and how many
    kept runs were taken as they were (without cutting the N-Triples again). into: the staging folder, where
    ysv.ttl and ysv.ttl.gz are then written (and returned as Written)."""
    code = _writers_digest()
    settings = json.dumps(sorted(prefixes.items())).encode()
    kept = KeptRuns.read(cache, "turtle")
    if kept is not None and (kept.code, kept.settings) != (code, settings):
        kept = None
    items = _run_list(kept, ntriples_path, changes, _turtle_cut)
    reused = sum(isinstance(item, int) for item in items)
    head = _turtle_head(prefixes) if items else b""  # none for no triples
    old = kept.bodies_by_key(code, settings) if kept is not None else {}
    keys = _run_keys(items, kept, code)
    bodies, made = _run_values(items, keys, kept.bodies if kept is not None else None, old,
                               lambda run: _turtle_body(run.replace(TYPE_MARKER, TYPE_PREDICATE), prefixes, head))
    firsts = _run_firsts(items, kept)
    del items, old
    KeptRuns(changes.now if changes is not None else None, code, settings, firsts, keys, bodies).save(
        cache, "turtle")
    parts = [(b"", head)] + list(zip(firsts, bodies))  # chunks for the gzip end after runs, by their first subject
    # a run's body depends on its key (its N-Triples and the code) and on the prefixes
    gzipped = gzip_chunks(parts, RenderCache(cache, "turtle-gzip"),
                          [_key(code, settings, head), *(_key(settings, key) for key in keys)])
    return (_deliver([head, *bodies], "ysv.ttl", into), _deliver(gzipped, "ysv.ttl.gz", into), made, reused)


def _json_ld(ntriples_path: str, prefixes: dict[str, str], cache: Path | None = None,
             changes: Changes | None = None, into: str | None = None) -> tuple:
    """The context (made from the whole graph) and the JSON-LD document, made run by run of subjects (see
    _runs): what the context needs of each run, and its nodes, are taken from the cache (KeptRuns) where it has
    them; with changes, only the runs holding changed subjects are looked at (_run_list), unless the context
    changed, when every run is cut again. Also returns how many things the cache did not have (a run's usage,
    or its nodes under this context), and how many kept runs were taken as they were. into: the staging folder,
    where ysv.jsonld is then written (and returned as Written)."""
    code = _writers_digest()
    kept = KeptRuns.read(cache, "json-ld")
    if kept is not None and (kept.code != code or kept.usage is None or len(kept.usage) != len(kept.keys)):
        kept = None
    kept_usage = dict(zip(kept.keys, kept.usage)) if kept is not None else {}
    made = 0

    def runs_and_usage(items: list) -> tuple[list, list, list]:
        nonlocal made
        keys = _run_keys(items, kept, code)
        usage, made_now = _run_values(items, keys, kept.usage if kept is not None else None, kept_usage,
                                      lambda run: jsonld.usage(jsonld.read(run)))
        made += made_now
        return items, keys, usage

    items, keys, usage = runs_and_usage(_run_list(kept, ntriples_path, changes, _json_ld_cut))
    context = jsonld.context_from(jsonld.merged_usage(usage), prefixes)
    settings = json.dumps(context, sort_keys=True).encode()
    if kept is not None and kept.settings != settings and any(isinstance(item, int) for item in items):
        # another context: every run's nodes are made again, so every run is needed
        items, keys, usage = runs_and_usage(_json_ld_cut(Path(ntriples_path).read_bytes()))
    old = kept.bodies_by_key(code, settings) if kept is not None else {}
    reused = sum(isinstance(item, int) for item in items)
    compact = jsonld.compactor(context)
    parts, made_now = _run_values(items, keys, kept.bodies if kept is not None else None, old,
                                  lambda run: jsonld.nodes(run, context, compact))
    made += made_now
    firsts = _run_firsts(items, kept)
    del items, old
    KeptRuns(changes.now if changes is not None else None, code, settings, firsts, keys, parts, usage).save(
        cache, "json-ld")
    return _json(context), _deliver(jsonld.document_pieces(context, parts), "ysv.jsonld", into), made, reused


def read_ahead(cache: Path, what: str) -> None:
    """In a helper, before its job comes: read the cache files the job will read (caching.read_ahead), while the
    build's main process is busy loading and merging (a rebuild's helpers are otherwise idle then). what: the
    job's name ("turtle", "json-ld", "n-quads" or "catalogue")."""
    folder = Path(cache) / "render"
    if what in ("turtle", "json-ld"):
        index = caching.read(folder / f"{what}-runs.pickle")
        paths = [folder / f"{what}-runs.pickle"]
        if isinstance(index, tuple) and len(index) == 7 and isinstance(index[6], list):
            paths += [folder / f"{what}-blocks" / f"{key}.block" for key, _count in index[6]]
        if what == "turtle":
            paths.append(folder / "turtle-gzip.pickle")
    elif what == "n-quads":
        paths = sorted((folder / "n-quads").glob("*.chunk")) + sorted((folder / "n-quads").glob("*.pieces"))
    else:
        paths = [folder / "catalogue-draft.pickle"]
    caching.read_ahead(paths)


class Helper:
    """A process forked at the start of the build, while this one is still small, that runs functions sent to
    it (one at a time) and sends back their results. A process forked late, from a parent holding a million
    triples, ends up with a private copy of much of the parent's memory (every page the parent changes after
    the fork is copied), so the JSON-LD is made here instead."""

    def __init__(self) -> None:
        import multiprocessing as mp

        context = mp.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    @staticmethod
    def _serve(conn) -> None:  # pragma: no cover - runs in the helper process
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            function, args, *answer = message
            if answer == [False]:  # (warm: no answer is awaited, and a failure only means less was done ahead)
                try:
                    function(*args)
                except Exception:  # noqa: BLE001
                    pass
                continue
            try:
                conn.send((True, function(*args)))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                conn.send((False, exc))

    def submit(self, function, *args) -> "Helper":
        self.conn.send((function, args))
        return self

    def warm(self, function, *args) -> None:
        """Have the helper run function(*args) when it is free, with no answer (see read_ahead)."""
        self.conn.send((function, args, False))

    def nice(self, increment: int) -> int | None:
        """Add increment to the helper's niceness (os.nice), so that it yields the processors to the processes
        of the build that were not made nicer; its niceness now, or None where the system refused (it is only a
        matter of speed). Only while the helper is idle: its answers come back in the order asked."""
        import os

        try:
            return self.submit(os.nice, increment).result()
        except OSError:
            return None

    def result(self):
        try:
            ok, value = self.conn.recv()
        except EOFError:
            raise RuntimeError("the helper process died") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the helper (it gives its memory back); again is harmless."""
        if self.process is None:
            return
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()
        self.process = None

    @classmethod
    def start(cls) -> "Helper | None":
        """A helper, if forking is possible and safe here (no other threads), else None."""
        import multiprocessing as mp
        import threading

        if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
            return cls()
        return None


class CatalogueDraft:
    """What catalog.ttl takes from the metadata graph, ready before the files it describes are: its lines, in
    turtle()'s order, and their IRIs. render_data makes it while the helpers work (a corpus's metadata graph has
    some 150,000 lines: a second and a half to sort and look through); finish() adds the sizes and checksums."""

    def __init__(self, lines: list[bytes]):
        self.lines = sorted(set(lines), key=_turtle_order)
        self.iris = ntriples_iris(_terms_of(self.lines))

    @classmethod
    def kept(cls, lines: "list[bytes] | str", cache: Path | None) -> "CatalogueDraft":
        """The draft of these lines (or of the lines of this file: a helper reads them there rather than through
        its pipe), made from the last build's (kept in <cache>/render/catalogue-draft.pickle with a count of each
        term's uses, and the digest of the code that made it) when few lines differ: the lines removed are taken
        out, those added put in their place by bisection, and the IRIs are those of the terms still used."""
        from collections import Counter

        if isinstance(lines, str):
            lines = _split_lines(Path(lines).read_bytes())
        path = Path(cache) / "render" / "catalogue-draft.pickle" if cache is not None else None
        old = caching.read(path) if path is not None else None
        distinct = set(lines)
        code = _writers_digest()  # the order and the terms are this code's
        if isinstance(old, tuple) and len(old) == 3 and old[0] == code and isinstance(old[2], Counter):
            _code, ordered, counts = old
            before = set(ordered)
            removed, added = before - distinct, distinct - before
            if len(removed) + len(added) <= len(distinct) // 4:
                if removed:
                    ordered = [line for line in ordered if line not in removed]
                for line in sorted(added, key=_turtle_order):
                    ordered.insert(bisect.bisect_left(ordered, _turtle_order(line), key=_turtle_order), line)
                counts.subtract(_terms_of(list(removed)))
                counts.update(_terms_of(sorted(added)))
                counts = Counter({term: n for term, n in counts.items() if n > 0}) if removed else counts
                return cls._saved(path, code, ordered, counts)
        ordered = sorted(distinct, key=_turtle_order)
        return cls._saved(path, code, ordered, Counter(_terms_of(ordered)))

    @classmethod
    def _saved(cls, path: Path | None, code: bytes, ordered: list[bytes], counts) -> "CatalogueDraft":
        if path is not None:
            caching.write(path, (code, ordered, counts))
        draft = cls.__new__(cls)
        draft.lines, draft.iris = ordered, ntriples_iris(counts)
        return draft

    def with_lines(self, extra: list[bytes]) -> tuple[list[bytes], set[str]]:
        """The draft's lines with these added (each once, in order), and the IRIs of them all."""
        ordered = list(self.lines)
        for line in extra:
            i = bisect.bisect_left(ordered, _turtle_order(line), key=_turtle_order)
            if i == len(ordered) or ordered[i] != line:
                ordered.insert(i, line)
        return ordered, self.iris | ntriples_iris(_terms_of(extra))


def finish(files: dict[str, bytes], outputs: Outputs, report: Graph, cache: Path | None = None,
           draft: CatalogueDraft | None = None) -> dict[str, bytes]:
    """Add the validation report, the catalogue (sizes and checksums of the other files) and the manifest. cache:
    the build cache, where the catalogue's Turtle is kept run by run of subjects (RenderCache). draft: the
    metadata graph's CatalogueDraft, if render_data made it."""
    files = dict(files)
    shacl_prefixes = {"sh": "http://www.w3.org/ns/shacl#", **outputs.base.prefixes(),
                      "ysvsh": outputs.base.iri + "def/shapes/"}
    files["validation.ttl"] = canonical_turtle(report, _used_prefixes(report, shacl_prefixes))
    # each file hashed once, for the catalogue and the manifest (a helper hashed those it wrote)
    sums = describing.checksums({name: data for name, data in files.items() if not isinstance(data, Written)})
    sums.update({name: (data.size, data.sha256) for name, data in files.items() if isinstance(data, Written)})
    if outputs.metadata_graph is not None:
        extra = _sorted_graph_lines(Converter(), describing.catalogue(sums, outputs.base))
        prefixes = outputs.base.prefixes(per_kind=True) | EXTRA_PREFIXES
        if cache is None:
            lines = sorted(set(outputs.lines[outputs.metadata_graph]).union(extra))
            files["catalog.ttl"] = turtle_of_lines(lines, prefixes)
        else:
            draft = draft if draft is not None else CatalogueDraft(outputs.lines[outputs.metadata_graph])
            files["catalog.ttl"] = _turtle_of_ordered(*draft.with_lines(extra), prefixes,
                                                      RenderCache(cache, "catalog-turtle"))
        sums.update(describing.checksums({"catalog.ttl": files["catalog.ttl"]}))
    triples = {name: _count(name, outputs, report) for name in files}  # each counted once
    manifest = {
        "dataset": outputs.base.iri + "id/dataset/ysv",
        "base": outputs.base.iri,
        "graphs": {str(name): _count_lines(outputs.lines, name) for name in sorted(outputs.lines)},
        "files": {
            name: {"bytes": sums[name][0], "sha256": sums[name][1],
                   **({"triples": triples[name]} if triples[name] is not None else {})}
            for name in sorted(files)
        },
    }
    files["manifest.json"] = _json(manifest)
    return files


def _count(name: str, outputs: Outputs, report: Graph) -> int | None:
    if name in ("ysv.ttl", "ysv.nt", "ysv.jsonld", "ysv.ttl.gz"):
        return outputs.count()
    if name in ("ysv.nq", "ysv.nq.gz"):
        return sum(_count_lines(outputs.lines, graph) for graph in outputs.lines)
    if name == "validation.ttl":
        return len(report)
    return None


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_atomically(out_dir: Path, files: dict, staging: Path | None = None) -> None:
    """Write files into a fresh folder, then swap it for out_dir. On any failure out_dir is left as it was.
    staging: the fresh folder (staging_folder), if the build made it earlier and helpers wrote some files there
    (Written); by default one is made here."""
    out_dir = Path(out_dir).resolve()
    staging = Path(staging) if staging is not None else staging_folder(out_dir)
    try:
        for name, data in files.items():
            if isinstance(data, Written) and (name != data.name or (staging / name).stat().st_size != data.size):
                raise RuntimeError(f"{name} is not in {staging} as the helper that wrote it said")
        for folder in sorted({(staging / name).parent for name in files}):
            folder.mkdir(parents=True, exist_ok=True)
        # creating a file costs a round trip to the disk; threads overlap them (about 10x faster for the site)
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in pool.map(lambda item: (staging / item[0]).write_bytes(item[1]),
                              [(name, data) for name, data in files.items() if not isinstance(data, Written)]):
                pass
        old = None
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{staging.name.split('.tmp-', 1)[-1]}"  # pid-random
            out_dir.rename(old)
        try:
            staging.rename(out_dir)
        except BaseException:
            if old is not None:
                old.rename(out_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

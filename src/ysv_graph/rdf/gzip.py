"""Reproducible gzip files made of independently compressed chunks.

Each chunk is deflated on its own (level 6) and ended with a full flush, as pigz does: one deflate stream that any
gzip reader reads as one member, whose bytes depend only on the data and where the chunks end. Chunks end where
the data says (a graph's name, a run's first subject), so a small change changes a few chunks, and a build that
keeps chunks between runs (incremental) compresses only those.
"""
from __future__ import annotations

import struct
import zlib

from .ntriples import quads_of as _quads_of


CHUNK_EVERY = 16  # parts in a compressed chunk, on average


def chunk_ends(boundaries: list[bytes]) -> list[int]:
    """Where chunks of parts end (exclusive indexes): after each part whose boundary's CRC-32 is a multiple of
    CHUNK_EVERY, and at the end (so where chunks end depends only on the parts: the name of a graph, the first
    subject of a run)."""
    ends = [i + 1 for i, boundary in enumerate(boundaries) if zlib.crc32(boundary) % CHUNK_EVERY == 0]
    if boundaries and (not ends or ends[-1] != len(boundaries)):
        ends.append(len(boundaries))
    return ends


def deflate_chunk(chunk: bytes) -> bytes:
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


def gzip_member(chunks: list, deflated: list[bytes], crcs: list | None = None) -> bytes:
    """One gzip member of the chunks put end to end, given each chunk deflated on its own (deflate_chunk). crcs:
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


def gzip_chunks(parts: list[tuple[bytes, bytes]]) -> bytes:
    """A gzip file of the parts' data put end to end. parts: (boundary, data) pairs; the parts are grouped into
    chunks (chunk_ends), and each chunk is compressed on its own (deflate_chunk). Chunks of about a megabyte cost
    under 1% in size against compressing the whole at once."""
    chunks: list[bytes] = []
    start = 0
    for end in chunk_ends([boundary for boundary, _data in parts]):
        chunks.append(b"".join(data for _boundary, data in parts[start:end]))
        start = end
    return gzip_member(chunks, [deflate_chunk(chunk) for chunk in chunks])


# Graphs bigger than this (joined N-Triples) are cut into pieces of about PIECE_EVERY lines for ysv.nq's chunks.
SPLIT_BYTES = 4 << 20


PIECE_EVERY = 4096


def graph_pieces(data: bytes) -> list[bytes]:
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


def nquads_chunks(graphs: list[tuple[str, bytes]]) -> list[bytes]:
    """ysv.nq in the chunks of its gzip: each graph's N-Triples (joined, sorted) with its name put in, graph after
    graph in the order given. A chunk ends after a graph whose name's CRC-32 is a multiple of CHUNK_EVERY; a graph
    bigger than SPLIT_BYTES ends the chunk before it and is cut into pieces (graph_pieces), a chunk each."""
    chunks: list[bytes] = []
    group: list[bytes] = []

    def close() -> None:
        if group:
            chunks.append(b"".join(group))
            group.clear()

    for name, data in graphs:
        if len(data) > SPLIT_BYTES:
            close()
            chunks += [_quads_of(piece, name) for piece in graph_pieces(data)]
            continue
        group.append(_quads_of(data, name))
        if zlib.crc32(name.encode()) % CHUNK_EVERY == 0:
            close()
    close()
    return chunks


def nquads_gzip(chunks: list[bytes]) -> bytes:
    """The gzip of ysv.nq from its chunks (nquads_chunks)."""
    return gzip_member(chunks, [deflate_chunk(chunk) for chunk in chunks])

"""The Turtle and JSON-LD writers' runs of subjects, kept between builds.

A rebuild after an edit makes again only the runs of subjects whose lines changed: the others are taken from
the last build (KeptRuns), found by bisection from what changed (Changes, _run_list). What a kept run holds is
named by a hash of its N-Triples and of the writers' code (writers_digest), so code that writes differently
never reuses it. The output is byte-identical to the plain writers' (rdf.turtle.turtle_document,
rdf.jsonld.json_ld_document): tests/test_incremental_equals_plain.py builds both ways.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import caching
from ..pipeline.writing import deliver, json_bytes
from ..rdf import jsonld
from ..rdf.gzip import deflate_chunk, chunk_ends, gzip_member
from ..rdf.ntriples import RUN_EVERY, first_subject, line_at as _line_at
from ..rdf.jsonld import json_ld_cut
from ..rdf.turtle import TYPE_MARKER, TYPE_PREDICATE, turtle_body, turtle_cut, turtle_head


BLOCK_EVERY = 32  # runs in a block of kept runs (KeptRuns.save), on average


class RenderCache:
    """What the Turtle and JSON-LD writers made of each run of subjects (see subject_runs), kept between builds in
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


def writers_digest() -> bytes:
    """What every run's Turtle or JSON-LD depends on besides the run: our writers' code and pyoxigraph's
    version (a cached run made by other code would not be what this code makes)."""
    import sys

    from ..incremental.fingerprint import fingerprint
    from ..rdf import jsonld, ntriples

    return fingerprint(sys.modules[__name__], jsonld, ntriples,
                       extra=f"{ox.__version__}\0{zlib.ZLIB_RUNTIME_VERSION}\0")


def cache_key(*parts: bytes) -> bytes:
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
    """A Turtle or JSON-LD writer's runs of subjects (see subject_runs) from the last build, in order: each run's first
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
                key = cache_key(self.code, self.settings, *self.keys[start:i + 1]).hex()
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
    """Whether a run (N-Triples, joined) ends with a subject after which subject_runs ends a run."""
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
    """The runs of the sorted N-Triples in ntriples_path (cut: their bytes -> runs, see subject_runs), each an int (the
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


def _run_keys(items: list, kept: KeptRuns | None, code: bytes) -> list[bytes]:
    """Each run's key (see _run_list for the items): a kept run's, or a hash of the code and the run."""
    return [kept.keys[item] if isinstance(item, int) else cache_key(code, item) for item in items]


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
    return [kept.firsts[item] if isinstance(item, int) else first_subject(item) for item in items]


def kept_turtle(ntriples_path: str, prefixes: dict[str, str], cache: Path | None = None,
            changes: Changes | None = None, into: str | None = None) -> tuple:
    """The Turtle (and its gzip, see gzip_chunks) from the sorted N-Triples: subjects in IRI order, each with
    rdf:type first.
    pyoxigraph writes each run of subjects (see subject_runs; tests check the runs put together are what it writes for
    the whole), unless the cache has it (KeptRuns; with changes, only the runs holding changed subjects are
    looked at, see _run_list). Also returns how many runs were written (not found in the cache), and how many
    kept runs were taken as they were (without cutting the N-Triples again). into: the staging folder, where
    ysv.ttl and ysv.ttl.gz are then written (and returned as Written)."""
    code = writers_digest()
    settings = json.dumps(sorted(prefixes.items())).encode()
    kept = KeptRuns.read(cache, "turtle")
    if kept is not None and (kept.code, kept.settings) != (code, settings):
        kept = None
    items = _run_list(kept, ntriples_path, changes, turtle_cut)
    reused = sum(isinstance(item, int) for item in items)
    head = turtle_head(prefixes) if items else b""  # none for no triples
    old = kept.bodies_by_key(code, settings) if kept is not None else {}
    keys = _run_keys(items, kept, code)
    bodies, made = _run_values(items, keys, kept.bodies if kept is not None else None, old,
                               lambda run: turtle_body(run.replace(TYPE_MARKER, TYPE_PREDICATE), prefixes, head))
    firsts = _run_firsts(items, kept)
    del items, old
    KeptRuns(changes.now if changes is not None else None, code, settings, firsts, keys, bodies).save(
        cache, "turtle")
    parts = [(b"", head)] + list(zip(firsts, bodies))  # chunks for the gzip end after runs, by their first subject
    # a run's body depends on its key (its N-Triples and the code) and on the prefixes
    gzipped = gzip_chunks_kept(parts, RenderCache(cache, "turtle-gzip"),
                          [cache_key(code, settings, head), *(cache_key(settings, key) for key in keys)])
    return (deliver([head, *bodies], "ysv.ttl", into), deliver(gzipped, "ysv.ttl.gz", into), made, reused)


def kept_json_ld(ntriples_path: str, prefixes: dict[str, str], cache: Path | None = None,
             changes: Changes | None = None, into: str | None = None) -> tuple:
    """The context (made from the whole graph) and the JSON-LD document, made run by run of subjects (see
    subject_runs): what the context needs of each run, and its nodes, are taken from the cache (KeptRuns) where it has
    them; with changes, only the runs holding changed subjects are looked at (_run_list), unless the context
    changed, when every run is cut again. Also returns how many things the cache did not have (a run's usage,
    or its nodes under this context), and how many kept runs were taken as they were. into: the staging folder,
    where ysv.jsonld is then written (and returned as Written)."""
    code = writers_digest()
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

    items, keys, usage = runs_and_usage(_run_list(kept, ntriples_path, changes, json_ld_cut))
    context = jsonld.context_from(jsonld.merged_usage(usage), prefixes)
    settings = json.dumps(context, sort_keys=True).encode()
    if kept is not None and kept.settings != settings and any(isinstance(item, int) for item in items):
        # another context: every run's nodes are made again, so every run is needed
        items, keys, usage = runs_and_usage(json_ld_cut(Path(ntriples_path).read_bytes()))
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
    return json_bytes(context), deliver(jsonld.document_pieces(context, parts), "ysv.jsonld", into), made, reused


def gzip_chunks_kept(parts: list[tuple[bytes, bytes]], kept: RenderCache, keys: list[bytes]) -> bytes:
    """rdf.gzip.gzip_chunks, with each chunk's compressed bytes, CRC-32 and length kept (kept) under its parts'
    keys (the Turtle's runs: a hash of the run's N-Triples and of the writer): a kept chunk's data is then neither
    put together, nor compressed, nor read for the CRC (crc32_combine)."""
    version = zlib.ZLIB_RUNTIME_VERSION.encode()
    deflated, crcs, lengths = [], [], []
    start = 0
    for end in chunk_ends([boundary for boundary, _data in parts]):
        def make(start=start, end=end):
            chunk = b"".join(data for _boundary, data in parts[start:end])
            return deflate_chunk(chunk), zlib.crc32(chunk), len(chunk)

        value = kept.get(cache_key(b"deflate 6 by parts", version, *keys[start:end]), make)
        deflated.append(value[0])
        crcs.append(value[1])
        lengths.append(value[2])
        start = end
    kept.save()
    return gzip_member(lengths, deflated, crcs)

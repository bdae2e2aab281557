"""The incremental build's writer: the plain writer's files (pipeline.writing), made with what the last build kept.

render_data makes the same files as pipeline.writing.render, byte for byte (tested), but in helper processes
(workers.Helper: the JSON-LD, the Turtle, ysv.nq and the catalogue's draft), with the runs and chunks kept from
the last build (runs.KeptRuns, quads.QuadChunks), and with the big files written straight into the staging
folder that becomes out/ (pipeline.writing.Written).
"""
from __future__ import annotations

import bisect
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import caching
from .quads import HELPER_CHUNKS, QuadChunks, n_quads_file
from .runs import Changes, RenderCache, cache_key, kept_json_ld, kept_turtle, writers_digest
from ..pipeline import writing
from ..pipeline.writing import Buffers, Outputs, Written, sha256_of
from ..rdf.ntriples import iris as ntriples_iris, joined as _joined, split as _split_lines
from ..rdf.ntriples import subject_runs, terms as _terms_of
from ..rdf.turtle import namespaces_used, turtle_body, turtle_head, turtle_of_lines, turtle_order


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
        n_quads = helpers[2].submit(n_quads_file, cache, chunks, str(Path(into or scratch) / "ysv.nq"),
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
    json_ld_prefixes = namespaces_used(iris, outputs.base.prefixes())
    turtle_prefixes = namespaces_used(iris, outputs.base.prefixes(per_kind=True))
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
    json_ld = (helpers[0].submit(kept_json_ld, nt_path, json_ld_prefixes, cache, changes, into)
               if helpers[0] is not None else None)
    turtle_ = (helpers[1].submit(kept_turtle, nt_path, turtle_prefixes, cache, changes, into)
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
        nt_digest = pool.submit(sha256_of, pieces) if staging is not None else None
        if want_draft:
            drafts["catalogue"] = (draft.result() if draft is not None
                                   else CatalogueDraft.kept(outputs.lines[outputs.metadata_graph], cache))
        files["ysv.ttl"], files["ysv.ttl.gz"], turtle_made, turtle_reused = (
            turtle_.result() if turtle_ is not None else kept_turtle(nt_path, turtle_prefixes, cache, changes))
        files["context.jsonld"], files["ysv.jsonld"], json_ld_made, json_ld_reused = (
            json_ld.result() if json_ld is not None else kept_json_ld(nt_path, json_ld_prefixes, cache, changes))
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
    return files


def turtle_of_lines_kept(lines: list[bytes], prefixes: dict[str, str], kept: RenderCache) -> bytes:
    """rdf.turtle.turtle_of_lines, written run by run of subjects with each run taken from kept when it has it:
    pyoxigraph ends a subject's block with " ." and starts the next one afresh, so the runs put together are what
    it writes for the whole (tested)."""
    if not lines:
        return turtle_of_lines(lines, prefixes)
    return _turtle_of_ordered(sorted(lines, key=turtle_order), ntriples_iris(_terms_of(lines)), prefixes, kept)


def _turtle_of_ordered(ordered: list[bytes], iris: set[str], prefixes: dict[str, str], kept: "RenderCache") -> bytes:
    """turtle_of_lines, given the (distinct) lines in turtle()'s order and their IRIs."""
    used = namespaces_used(iris, prefixes)
    runs = subject_runs(ordered, in_order=False)
    head = turtle_head(used)
    settings = writers_digest() + json.dumps(sorted(used.items())).encode()
    bodies = [kept.get(cache_key(settings, run), lambda run=run: turtle_body(run, used, head)) for run in runs]
    kept.save()
    return head + b"".join(bodies)


class CatalogueDraft:
    """What catalog.ttl takes from the metadata graph, ready before the files it describes are: its lines, in
    turtle()'s order, and their IRIs. render_data makes it while the helpers work (a corpus's metadata graph has
    some 150,000 lines: a second and a half to sort and look through); finish() adds the sizes and checksums."""

    def __init__(self, lines: list[bytes]):
        self.lines = sorted(set(lines), key=turtle_order)
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
        code = writers_digest()  # the order and the terms are this code's
        if isinstance(old, tuple) and len(old) == 3 and old[0] == code and isinstance(old[2], Counter):
            _code, ordered, counts = old
            before = set(ordered)
            removed, added = before - distinct, distinct - before
            if len(removed) + len(added) <= len(distinct) // 4:
                if removed:
                    ordered = [line for line in ordered if line not in removed]
                for line in sorted(added, key=turtle_order):
                    ordered.insert(bisect.bisect_left(ordered, turtle_order(line), key=turtle_order), line)
                counts.subtract(_terms_of(list(removed)))
                counts.update(_terms_of(sorted(added)))
                counts = Counter({term: n for term, n in counts.items() if n > 0}) if removed else counts
                return cls._saved(path, code, ordered, counts)
        ordered = sorted(distinct, key=turtle_order)
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
            i = bisect.bisect_left(ordered, turtle_order(line), key=turtle_order)
            if i == len(ordered) or ordered[i] != line:
                ordered.insert(i, line)
        return ordered, self.iris | ntriples_iris(_terms_of(extra))


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


def kept_catalogue(cache: Path | None, draft: "CatalogueDraft | None"):
    """What pipeline.writing.finish calls to make catalog.ttl: the plain writer without a cache, else the
    draft made while the helpers worked (or made now) with the catalogue's lines put in, written run by run of
    subjects with the runs kept in the cache."""
    if cache is None:
        return writing.catalogue_turtle

    def make(outputs: Outputs, extra: list[bytes]) -> bytes:
        made = draft if draft is not None else CatalogueDraft(outputs.lines[outputs.metadata_graph])
        return _turtle_of_ordered(*made.with_lines(extra), outputs.base.prefixes(per_kind=True)
                                  | writing.EXTRA_PREFIXES, RenderCache(cache, "catalog-turtle"))
    return make

"""The build: load & check -> map -> reason -> validate -> write, each stage timed.

The stages only pass data forward; this module is the one place that strings them together.
"""
from __future__ import annotations

import gc
import hashlib
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from . import caching
from ..pipeline import describing
from . import documents
from ..pipeline import load as loading
from ..pipeline import mapping
from ..rdf import ntriples
from ..pipeline import reasoning, releasing
from . import rechecking
from . import closure, parsing, render, runs, union
from .. import workers
from ..pipeline import validation
from . import screening
from . import batches
from ..pipeline import writing
from ..rdf.terms import Base
from ..pipeline.build import BuildResult, ValidationFailed, load_ontology, shape_count  # noqa: F401 - the API



_merged = union.merged


def _merge_updated(kept: union.Merged, every: dict, before: dict, changed: list[str], mapped_lines: list[bytes],
                   entailed_metadata: list[bytes]) -> union.Merged | None:
    """What the last build merged (union.Merged), brought up to date with the documents that changed (made again,
    or gone; before: what was kept of each before this build), or None if it cannot be: a changed document's
    kept version is not the one counted (a build that failed since kept a newer one), or the result does not
    hold exactly the documents of this build."""
    split = ntriples.split
    changes = {}
    for source_id in changed:
        old, counted = before.get(source_id), kept.asserted.members.get(source_id)
        if counted is not None and (old is None or old.digest != counted):
            return None
        now = every.get(source_id)
        changes[source_id] = ((split(old.asserted), split(old.entailed)) if counted is not None else (None, None)) \
            + ((now.digest, split(now.asserted), split(now.entailed)) if now is not None else (None, None, None))
    members = kept.asserted.members
    if any(members.get(source_id) != document.digest for source_id, document in every.items()
           if source_id not in changes):
        return None
    try:
        merge = kept.updated(changes, mapped_lines, entailed_metadata)
    except union.Inconsistent:
        return None
    documents_now = {source_id: document.digest for source_id, document in every.items()}
    if {k: v for k, v in merge.asserted.members.items() if k != union.META} != documents_now:
        return None
    return merge


def _settings(base: Base, ontology_lines: list[bytes]) -> bytes:
    """What every document's graph, entailments and summary depend on besides the document (documents.py): the
    code of the stages that make them, the IRI base, the ontology, and the libraries' versions."""
    from importlib.metadata import version

    import sys

    from .. import pipeline, rdf
    from .fingerprint import fingerprint

    digest = hashlib.sha256(fingerprint(sys.modules[__name__], documents, pipeline, rdf))
    digest.update(base.iri.encode() + b"\0")
    for package in ("rdflib", "owlrl", "pyoxigraph"):
        digest.update(f"{package} {version(package)}\0".encode())
    digest.update(ntriples.joined(ontology_lines))
    return digest.digest()


# A rebuild validates only what changed when at most this many documents did (else it checks the whole graph).
RECHECK_DOCUMENTS = 100

# Making documents in parallel processes pays from about this many (forking the pool and sending the documents
# back cost about half a second); a rebuild after an edit, and the real dataset, make theirs in this process.
PARALLEL_DOCUMENTS = 200


@dataclass
class _Maker:
    """Makes source documents: maps their records (mapping.map_records with the other documents skipped),
    reasons over each graph on its own (when the rules distribute over documents), summarises it for describe,
    and keeps it in the cache."""

    curated: loading.Curated
    base: Base
    reasoner: reasoning.Reasoner
    kept: documents.DocumentCache

    def make(self, source_ids: list[str]) -> tuple[list[tuple[str, bytes]], dict, dict[str, float]]:
        """Each document pickled (documents.DocumentCache.decode reads it), its graph as rdflib triples, and the
        seconds spent on each step."""
        seconds = dict.fromkeys(("mapping", "reasoning", "summarising", "keeping"), 0.0)
        start = time.perf_counter()
        skip = frozenset(self.curated.sources).difference(source_ids)
        mapped = mapping.map_records(self.curated, self.base, skip=skip, metadata=False)
        seconds["mapping"] += time.perf_counter() - start
        converter = ntriples.Converter()
        made, graphs = [], {}
        for source_id in source_ids:
            start = time.perf_counter()
            name = mapping.graph_name(self.base, source_id)
            graph = graphs[name] = mapped.graphs.get(name, set())
            lines = ntriples.sorted_lines(converter, graph)
            seconds["mapping"] += time.perf_counter() - start
            start = time.perf_counter()
            entailed = (ntriples.sorted_lines(converter, self.reasoner.entail(graph)) if self.reasoner.distributes
                        else [])
            seconds["reasoning"] += time.perf_counter() - start
            start = time.perf_counter()
            summary = describing.summarise(lines, self.base)
            seconds["summarising"] += time.perf_counter() - start
            start = time.perf_counter()
            asserted = ntriples.joined(lines)
            document = documents.Document(asserted, ntriples.joined(entailed), summary,
                                          mapped.references.get(source_id, {}),
                                          rechecking.digest_of(asserted))
            made.append((source_id, self.kept.put(source_id, self.curated.parse_keys.get(source_id), document)))
            seconds["keeping"] += time.perf_counter() - start
        return made, graphs, seconds


_MAKER: _Maker | None = None  # the maker the pool's processes inherit (set just before they are forked)


def _make_chunk(source_ids: list[str]) -> tuple[list[tuple[str, bytes]], dict[str, float]]:
    made, _graphs, seconds = _MAKER.make(source_ids)  # type: ignore[union-attr]
    return made, seconds


def _make_documents(maker: _Maker, source_ids: list[str], processes: int | None
                    ) -> tuple[dict[str, documents.Document], dict, dict[str, float]]:
    """maker.make for every document: shared across helper processes (workers.map; default: one a core) when
    there are many, else in this process, which then also has their graphs as rdflib triples (from the helpers,
    only their lines come back). Seconds are summed over the processes."""
    global _MAKER
    processes = processes if processes is not None else (os.cpu_count() or 1)
    if len(source_ids) < PARALLEL_DOCUMENTS or processes < 2 or not workers.can_fork():
        made, graphs, seconds = maker.make(source_ids)
        return {source_id: documents.DocumentCache.decode(data) for source_id, data in made}, graphs, seconds
    maker.curated.by_source  # made once, here, before the helpers are forked
    size = -(-len(source_ids) // (processes * 4))
    chunks = [source_ids[i:i + size] for i in range(0, len(source_ids), size)]
    out: dict[str, documents.Document] = {}
    seconds: dict[str, float] = {}
    _MAKER = maker  # the helpers, forked now, see it
    try:
        for made, spent in workers.map(_make_chunk, chunks, processes, chunks_each=4):
            for source_id, data in made:
                out[source_id] = documents.DocumentCache.decode(data)
            for step, value in spent.items():
                seconds[step] = seconds.get(step, 0.0) + value
    finally:
        _MAKER = None
    return out, {}, seconds


def _input_files(curated: loading.Curated, base: Base, converter: ntriples.Converter, cache: Path | None
                 ) -> list[bytes]:
    """describing.input_files, with the lines of each file kept from the last builds (<cache>/describe/), under
    the base, the dataset's version and describe's code (a corpus has tens of thousands of files). They are kept
    in two files: all of them as at some build, and those made since (an edit changes a file or two, and writing
    the lines of 18,000 files again cost a rebuild 0.15 s); the first is written again when the second grows to
    INPUT_FILES_AFTER files, or a tenth of it is of files no longer used."""
    import pickle

    if cache is None:
        return describing.input_files(curated, base, converter.ntriples)
    from .fingerprint import fingerprint

    key = hashlib.sha256(fingerprint(describing) + pickle.dumps(
        (base.iri, str(curated.dataset.get("version")), "input-files 2"))).hexdigest()
    folder = Path(cache) / "describe"

    def kept_in(name: str) -> dict:
        stored = caching.read(folder / name)
        return stored[1] if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key else {}

    whole, recent = kept_in("input-files.pickle"), kept_in("input-files-recent.pickle")
    kept = {**whole, **recent}
    lines = describing.input_files(curated, base, converter.ntriples, kept)
    used = curated.files.items()
    new = {item: kept[item] for item in used if item not in whole}
    if len(new) > INPUT_FILES_AFTER or len(whole) - (len(used) - len(new)) > len(whole) // 10:
        caching.write(folder / "input-files.pickle", (key, {item: kept[item] for item in used}))
        new = {}
    if new != recent:
        caching.write(folder / "input-files-recent.pickle", (key, new))
    return lines


INPUT_FILES_AFTER = 500  # files whose lines are kept apart from the others' before all are written together


# When many documents were made (a build from scratch), the JSON-LD is the longest job of the render: at the same
# priority the three helpers shared the processors evenly and the JSON-LD went on alone at the end, with a core
# idle (1,000 reports on 2 cores: render 29 s, 8 s of it with a core idle). The Turtle and checks helpers are then
# made this much nicer, and yield to it (render 24-25 s). Not in a rebuild: there the Turtle takes longest.
HELPER_NICE = 10


def default_cache(out_dir: Path) -> Path:
    """Where the build keeps what it may reuse next time: beside out/, never in it."""
    return Path(out_dir).resolve().parent / ".ysv-cache"


def run(data_dir: Path, out_dir: Path | None, base: Base, *, on_stage: Callable[[str], None] | None = None,
        write: bool = True, jobs: int | None = None, cache: Path | None = None, pages: Callable | None = None,
        on_warning: Callable[[str], None] | None = None, releases_dir: Path | None = None) -> BuildResult:
    """Build the dataset. Raises loading.DataErrors (bad input) or ValidationFailed (shapes not met); in both
    cases out_dir is not touched (but put back first if a build killed while swapping it in left it set aside:
    writing.restore_abandoned). cache: a folder for what later builds may reuse (None: none). releases_dir: as
    pipeline.build.run's (the kept files are read afresh by every build; nothing made from them is cached).

    The cache is locked for the whole build (caching.Lock): a second build into it waits, up to
    caching.LOCK_WAIT seconds (YSV_CACHE_WAIT), then builds without it; on_warning (default: a line on stderr)
    is told both.

    Python's cyclic garbage collector is paused for the build: with millions of live triples each of its full
    passes walks them all, which made the build grow faster than linearly (2.3x the time at 1,000 reports). The
    build's own objects hold no cycles worth collecting before it ends; the collector is restarted after."""
    if write and out_dir is not None:
        writing.restore_abandoned(Path(out_dir))
    lock = _lock(cache, on_warning or _warn) if cache is not None else None
    if lock is None:
        cache = None
    was_enabled = gc.isenabled()
    gc.disable()
    helpers: tuple = (None,) * 5
    try:
        # five helper processes, forked now while this process is small: they make the JSON-LD and the Turtle,
        # check the graph-wide rules, put the N-Quads together (in a rebuild) and draft the catalogue (a process
        # forked late from a parent holding a million triples ends up with a private copy of much of its memory)
        helpers = tuple(workers.Helper.start() for _ in range(5)) if jobs != 0 else helpers
        return _run(data_dir, out_dir, base, on_stage=on_stage, write=write, jobs=jobs, cache=cache, pages=pages,
                    helpers=helpers, releases_dir=releases_dir)
    finally:
        for helper in helpers:
            if helper is not None:
                helper.close()
        if lock is not None:
            lock.release()
        if was_enabled:
            gc.enable()


def _warn(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _lock(cache: Path, warn: Callable[[str], None]) -> caching.Lock | None:
    """The cache's lock, once no other build holds it; None if another held it longer than the wait (or it
    cannot be locked at all), and the build goes without the cache."""
    wait = caching.LOCK_WAIT
    try:
        wait = max(0.0, float(os.environ.get("YSV_CACHE_WAIT", wait)))
    except ValueError:
        pass
    lock = caching.Lock(cache)
    try:
        if lock.acquire(wait, lambda: warn(f"ysv-graph: waiting for the build cache {cache}: another build is "
                                           f"using it (at most {wait:g} s)")):
            return lock
        reason = f"another build has held it for {wait:g} s"
    except (OSError, ImportError) as exc:
        reason = f"it cannot be locked ({exc})"
    warn(f"ysv-graph: building without the cache {cache}: {reason}")
    return None


def _run(data_dir: Path, out_dir: Path | None, base: Base, *, on_stage, write: bool, jobs: int | None,
         cache: Path | None, pages, helpers: tuple, releases_dir: Path | None = None) -> BuildResult:
    timings: dict[str, float] = {}

    def stage(name: str):
        if on_stage:
            on_stage(name)
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = time.perf_counter() - timings[name]

    stage("load")
    curated = parsing.load(Path(data_dir), jobs, cache, releases_dir)
    done("load")

    # Map, reason, describe: one source document at a time, each kept in the cache (documents.py). A document
    # whose files, and the kinds of the records it names, are as at the last build is not made again: its graph
    # and entailments come back as sorted N-Triples lines, never as rdflib terms. The others are made (mapped,
    # reasoned over, summarised and kept) in parallel processes when there are many (_make_documents).
    stage("map")
    ontology = load_ontology(base)
    reasoner = reasoning.Reasoner(ontology, closure.kept_closure(cache))
    converter = ntriples.Converter()
    ontology_lines = ntriples.sorted_lines(converter, ontology)
    kept_documents = documents.DocumentCache(cache if reasoner.distributes else None,
                                             _settings(base, ontology_lines))
    kinds = curated.kinds()
    every: dict[str, documents.Document] = {}
    for source_id in sorted(curated.sources):
        parse_key = curated.parse_keys.get(source_id)
        document = kept_documents.get(source_id, parse_key) if parse_key is not None else None
        if document is not None and mapping.references_hold(document.references, kinds):
            every[source_id] = document
    made = [source_id for source_id in sorted(curated.sources) if source_id not in every]
    # the graphs last validated, and what was kept of the documents that changed since, before they are made
    # again: a rebuild validates only what changed (rechecking)
    # and what the last build merged of all the documents' lines, to be brought up to date (union.Merged)
    state = rechecking.read_state(cache)
    kept_merge = union.read_merged(cache) if reasoner.distributes else None
    if state is not None and kept_merge is not None and not state.lines:  # the metadata validated last: the merge's
        name = str(base.graph["metadata"])
        if state.digests.get(name) == kept_merge.asserted.members.get(union.META):
            state.lines[name] = kept_merge.metadata
    previous: dict[str, list[bytes] | None] = {}
    before: dict[str, documents.Document | None] = {}
    known = set(state.sources.values()) if state is not None else set()
    known |= set(kept_merge.asserted.members) - {union.META} if kept_merge is not None else set()
    gone = sorted(known - set(curated.sources))
    if len(made) + len(gone) <= RECHECK_DOCUMENTS:
        before = {source_id: kept_documents.previous(source_id) for source_id in made + gone}
    else:
        state = kept_merge = None
    if state is not None:
        for source_id in made + gone:
            name = str(mapping.graph_name(base, source_id))
            document = before[source_id]
            previous[name] = (ntriples.split(document.asserted) if document is not None
                              and document.digest == state.digests.get(name) else None)
    maker = _Maker(curated, base, reasoner, kept_documents)
    made_documents, made_graphs, made_seconds = _make_documents(maker, made, jobs)
    if len(made) >= PARALLEL_DOCUMENTS:  # the Turtle's and the checks' helpers yield to the JSON-LD's
        for helper in helpers[1:3]:
            if helper is not None:
                helper.nice(HELPER_NICE)
    elif cache is not None:  # a rebuild: the helpers read what they will need from the cache meanwhile
        for helper, what in zip((helpers[0], helpers[1], helpers[3], helpers[4]),
                                ("json-ld", "turtle", "n-quads", "catalogue")):
            if helper is not None:
                helper.warm(render.read_ahead, cache, what)
        if helpers[2] is not None:  # and the checks' helper imports what the rules need
            helpers[2].warm(screening.warm_up)
    every.update(made_documents)
    every = {source_id: every[source_id] for source_id in sorted(every)}
    mapped = mapping.map_records(curated, base, skip=frozenset(curated.sources))  # the dataset-wide graph
    metadata = mapped.metadata_graph
    graph_of = {source_id: mapping.graph_name(base, source_id) for source_id in every}
    # each document's lines, split only where asked for (the lines of every document are merged only when no
    # earlier merge can be brought up to date)
    # (a kept document's lines are read from the cache only when asked for: documents.KeptDocument)
    joined_of = ntriples.Joined({source_id: (lambda document=document: document.asserted)
                                 for source_id, document in every.items()},
                                {source_id: document.asserted_size() for source_id, document in every.items()})
    asserted_lines = ntriples.Lines(joined=joined_of)
    mapped_metadata = ntriples.sorted_lines(converter, mapped.graphs[metadata])
    done("map")
    for name, seconds in made_seconds.items():
        timings[f"  of which {name} documents"] = seconds

    stage("reason")
    entailed_metadata = ntriples.sorted_lines(converter, reasoner.entail(mapped.graphs[metadata]))
    # the documents' lines, sorted and distinct, the lines held by more than one document, once for each extra
    # document (for describe), and the entailments, less what is asserted: brought up to date from the last
    # build's (union.Merged), or merged afresh
    merge = (_merge_updated(kept_merge, every, before, made + gone, mapped_metadata, entailed_metadata)
             if kept_merge is not None else None)
    merged_afresh = int(merge is None)
    if merge is None and reasoner.distributes:
        merge = union.Merged.afresh(
            {source_id: (document.digest, asserted_lines[source_id], ntriples.split(document.entailed))
             for source_id, document in every.items()}, mapped_metadata, entailed_metadata)
    if merge is not None:
        shared, entailed_sorted = merge.shared(), merge.entailments()
    else:  # a transitive property joins triples of different documents: the whole graph at once (none was kept)
        whole = set().union(mapped.graphs[metadata], *(made_graphs.get(graph_of[source_id])
                                                       or ntriples.materialise(asserted_lines[source_id])
                                                       for source_id in every))
        candidates = ntriples.sorted_lines(converter, reasoner.entail(whole))
        del whole
        asserted, shared = _merged(asserted_lines.values())
        found = set(candidates)
        found = found.intersection(asserted) | found.intersection(mapped_metadata)
        entailed_sorted = [line for line in candidates if line not in found]
        del found, candidates
    del entailed_metadata
    done("reason")

    stage("describe")
    statistics = describing.merged([document.summary for document in every.values()],
                                   describing.summarise(shared, base))
    del shared
    series = releasing.series(curated.dataset, curated.kept_releases, lambda: {
        str(graph_of[source_id]): joined_of[source_id] for source_id in every}, base.iri)
    describing.describe(curated, mapped.graphs[metadata], statistics, base, series)
    described = ntriples.sorted_lines(converter, mapped.graphs[metadata])
    metadata_lines = _merged([described, _input_files(curated, base, converter, cache)])[0]
    joined = joined_of.renamed(graph_of)
    # the namespaces the data's IRIs begin with, all the writers need of them to choose their prefixes
    iris = (statistics.namespaces | describing.namespaces_of(ntriples.iris(set(ntriples.terms(described))), base)
            | describing.input_files_namespaces(curated, base, converter.ntriples))
    if merge is not None:  # what ysv.nt holds, joined: pieces that put end to end are it (not put together here)
        merge = merge.with_metadata(metadata_lines)
        asserted = writing.Buffers(merge.asserted.pieces())
    else:
        asserted = _merged([asserted, metadata_lines])[0]
    split = {graph_of[source_id]: asserted_lines.lines[source_id] for source_id in asserted_lines.lines}
    lines = ntriples.Lines({**split, metadata: metadata_lines, base.graph["entailments"]: entailed_sorted,
                            base.graph["ontology"]: ontology_lines}, joined,
                           {graph_of[source_id]: document.summary.triples for source_id, document in every.items()})
    del converter
    done("describe")

    # Validation: as soon as the writer has made the N-Triples of the asserted graph, a helper process checks the
    # graph-wide rules and screens every node with shacl (screening.screen_and_check); pyshacl then validates
    # the batches of documents home to any node the screen found results about, and says exactly what is wrong.
    # Nothing is written unless the data conforms.
    stage("validate & render")
    shapes = validation.load_shapes(base)
    processes = max(0, jobs if jobs is not None else (os.cpu_count() or 1))
    metadata = mapped.metadata_graph
    checks: dict = {}

    # after a build that conformed, only the context of the nodes an edit affected is checked (rechecking)
    recheck_key = rechecking.state_key(shapes) if cache is not None else ""
    digests = {str(graph_of[source_id]): document.digest for source_id, document in every.items()}
    digests[str(metadata)] = rechecking.digest(metadata_lines)
    asserted_by_name = ntriples.Lines({str(name): found for name, found in split.items()}
                                      | {str(metadata): metadata_lines},
                                      joined.renamed({name: str(name) for name in joined}))
    found = rechecking.differing(state, digests, asserted_by_name, previous)
    recheck = rechecking.plan(
        state, recheck_key, digests, asserted_by_name, previous,
        {str(graph_of[source_id]): document.summary for source_id, document in every.items()}, found)
    # the Turtle and JSON-LD writers make again only the runs of the subjects whose lines changed (runs.Changes)
    changes = runs.Changes(rechecking.token(digests), rechecking.token(state.digests) if state else None,
                              tuple(sorted({line[:line.find(b" ")] for line in found[1]})) if found else None)
    del previous, found, asserted_by_name, split

    # below VALIDATE_WHOLE_BELOW asserted triples pyshacl validates the whole graph, and its report is published;
    # above it the screen (or, in a rebuild, the recheck) narrows what pyshacl looks at
    # (YSV_VALIDATE_WHOLE_BELOW sets another size: 0 makes even the real data go through the screen, as its tests do)
    below = int(os.environ.get("YSV_VALIDATE_WHOLE_BELOW", screening.VALIDATE_WHOLE_BELOW))
    whole = (len(merge.asserted) if merge is not None else len(asserted)) < below

    def check_whole_graph(ntriples: str) -> None:  # called by the writer as soon as ysv.nt is made
        function, args = ((screening.validate_whole, (ntriples, shapes)) if whole
                          else (rechecking.check, (recheck, shapes)) if recheck is not None
                          else (screening.screen_and_check, (ntriples, shapes, cache)))
        if helpers[2] is not None and (whole or recheck is None or recheck.nodes):
            checks["pending"] = helpers[2].submit(function, *args)
        else:
            checks["done"] = function(*args)

    made_graphs[base.graph["ontology"]] = ontology
    graphs = ntriples.Graphs(made_graphs, lines)  # lines made into triples only when asked for
    outputs = writing.Outputs(base, lines, iris, asserted, metadata,
                              derived=(base.graph["entailments"], base.graph["ontology"]), joined=joined,
                              digests=digests, asserted_count=len(merge.asserted) if merge is not None else None)
    # the folder that becomes out/: the helpers write the big files straight into it (writing.Written)
    staging = writing.staging_folder(Path(out_dir)) if write and out_dir is not None else None
    try:
        render_start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ysv-") as scratch:  # the N-Triples, for the helpers to read
            parts: dict[str, float] = {}
            rendered: dict[str, int] = {}
            drafts: dict = {}

            files = render.render_data(outputs, (helpers[0], helpers[1], helpers[3], helpers[4]),
                                        on_ntriples=check_whole_graph, scratch=Path(scratch),
                                        timings=parts, cache=cache, counts=rendered, drafts=drafts,
                                        changes=changes, staging=staging)
            render_seconds = time.perf_counter() - render_start
            files.update(releasing.files(curated.kept_releases))
            for helper in (*helpers[:2], *helpers[3:]):
                if helper is not None:
                    helper.close()  # done: its memory goes back now
            if pages is not None:  # the static site, from the N-Quads just written, while the checks run
                pages_start = time.perf_counter()
                nquads = files["ysv.nq"]
                files.update(pages(nquads.read(staging) if isinstance(nquads, writing.Written) else nquads, base))
                parts["site"] = time.perf_counter() - pages_start
            waited = time.perf_counter()
            screened = checks["pending"].result() if "pending" in checks else checks["done"]
            waited = time.perf_counter() - waited
        if helpers[2] is not None:
            helpers[2].close()
        confirm_start = time.perf_counter()
        asserted_graphs = ntriples.Graphs({n: g for n, g in made_graphs.items() if n not in outputs.derived},
                                          lines.without(outputs.derived))
        confirmed = batches.confirm(asserted_graphs, shapes, screened, processes, cache, alone=(metadata,))
        confirm_seconds = time.perf_counter() - confirm_start
        result = confirmed.result
        # what the cache holds for batches, and documents, no longer in the data will not be asked for again
        batches.Cache(cache).prune(confirmed.keys)
        kept_documents.prune(set(graph_of))
        done("validate & render")
        timings["  of which render"] = render_seconds
        for name, seconds in parts.items():
            timings[f"    {name}"] = seconds
        timings["  of which whole-graph checks (in a helper)"] = screened.seconds
        timings["  of which waiting for them"] = waited
        timings["  of which pyshacl on flagged batches"] = confirm_seconds
        if not result.conforms:
            raise ValidationFailed(result)

        stage("write")

        def save_cache() -> None:  # what the next build's recheck starts from, and its merge
            if cache is None:
                return
            rechecking.save_state(cache, rechecking.State(  # the metadata's lines: in the merge, if there is one
                recheck_key, digests, {str(name): source_id for source_id, name in graph_of.items()},
                {str(metadata): metadata_lines} if merge is None else {}))
            if merge is not None:  # ysv.nt's lines: a link to the file written (out/'s once swapped in)
                union.save_merged(cache, merge, staging / "ysv.nt" if staging is not None else None)
            else:
                union.forget_merged(cache)

        # the cache is saved while the catalogue and manifest are made, and before out/ is swapped: a build that
        # cannot save it fails with out/ as it was
        with ThreadPoolExecutor(max_workers=1) as pool:
            saved = pool.submit(save_cache)
            files = writing.finish(files, outputs, result.report,
                                   render.kept_catalogue(cache, drafts.get("catalogue")))
            saved.result()
        if write and out_dir is not None:
            writing.write_atomically(Path(out_dir), files, staging)
    except BaseException:  # out/ is left as it was
        if staging is not None:
            for helper in helpers:  # stopped first: none may still be writing into the folder
                if helper is not None:
                    helper.close()
            shutil.rmtree(staging, ignore_errors=True)
        raise
    done("write")

    counts = {
        "records": curated.count,
        "sources": len(curated.sources),
        "asserted triples": outputs.count(),
        "shapes": shape_count(shapes),
        "entailed triples": len(entailed_sorted),
        "ontology triples": len(ontology),
        "validated whole by pyshacl": int(whole),
        "nodes the screen found results about": len(screened.flagged) if screened.flagged is not None else -1,
        "screened (not cached)": int(not screened.cached),
        "nodes rechecked (-1: the whole graph)": len(recheck.nodes) if recheck is not None else -1,
        "batches for pyshacl": confirmed.batches,
        "batches validated (not cached)": confirmed.validated,
        "documents made (not kept)": len(made),
        "documents' lines merged afresh (not updated)": merged_afresh,
        **rendered,
    }
    return BuildResult(files, timings, counts, result, graphs, outputs.derived)

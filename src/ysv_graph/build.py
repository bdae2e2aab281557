"""The build: load & check -> map -> reason -> validate -> write, each stage timed.

The stages only pass data forward; this module is the one place that strings them together.
"""
from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

from rdflib import Graph

from . import describing, documents, loading, mapping, ntriples, reasoning, validation, writing
from .vocab import Base

ROOT = Path(__file__).resolve().parents[2]
ONTOLOGY_DIR = ROOT / "ontology"


class ValidationFailed(Exception):
    def __init__(self, result: validation.ValidationResult):
        super().__init__(f"{len(result.violations)} SHACL violation(s)")
        self.result = result


@dataclass
class BuildResult:
    files: dict[str, bytes]
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    validation: validation.ValidationResult | None = None
    graphs: Mapping = field(default_factory=dict)  # named graph -> triples (every graph of ysv.nq)
    derived: tuple = ()  # the names of the graphs that are not asserted data (entailments, ontology)

    @cached_property
    def asserted(self) -> set:
        """The asserted data (what ysv.nt holds), as rdflib triples."""
        return set().union(*(self.graphs[name] for name in self.graphs if name not in self.derived))


def _merged(parts) -> tuple[list[bytes], list[bytes]]:
    """Sorted lists of lines as one sorted list without repeats, and the repeats (a line held by k of the lists
    comes k - 1 times). Sorted lists put end to end are sorted by merging (Python's sort finds the runs), three
    times as fast as sorting a set of the lines."""
    everything: list[bytes] = []
    for lines in parts:
        everything += lines
    everything.sort()
    distinct = list(dict.fromkeys(everything))
    if len(distinct) == len(everything):
        return distinct, []
    return distinct, [line for line, after in zip(everything, everything[1:]) if line == after]


def _settings(base: Base, ontology_lines: list[bytes]) -> bytes:
    """What every document's graph, entailments and summary depend on besides the document (documents.py): the
    code of the stages that make them, the IRI base, the ontology, and the libraries' versions."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256()
    here = Path(__file__).parent
    for module in ("build.py", "documents.py", "mapping.py", "vocab.py", "reasoning.py", "describing.py",
                   "ntriples.py", "loading.py", "schema.py"):
        digest.update((here / module).read_bytes())
    digest.update(base.iri.encode() + b"\0")
    for package in ("rdflib", "owlrl", "pyoxigraph"):
        digest.update(f"{package} {version(package)}\0".encode())
    digest.update(ntriples.joined(ontology_lines))
    return digest.digest()


def load_ontology(base: Base, ontology_dir: Path = ONTOLOGY_DIR) -> Graph:
    graph = Graph()
    for path in sorted(Path(ontology_dir).glob("*.ttl")):
        graph.parse(data=base.rebase(path.read_text(encoding="utf-8")), format="turtle")
    return graph


def default_cache(out_dir: Path) -> Path:
    """Where the build keeps what it may reuse next time: beside out/, never in it."""
    return Path(out_dir).resolve().parent / ".ysv-cache"


def run(data_dir: Path, out_dir: Path | None, base: Base, *, on_stage: Callable[[str], None] | None = None,
        write: bool = True, jobs: int | None = None, cache: Path | None = None, site: bool = True) -> BuildResult:
    """Build the dataset. Raises loading.DataErrors (bad input) or ValidationFailed (shapes not met); in both
    cases out_dir is not touched. cache: a folder for validation results of unchanged batches (None: none).

    Python's cyclic garbage collector is paused for the build: with millions of live triples each of its full
    passes walks them all, which made the build grow faster than linearly (2.3x the time at 1,000 reports). The
    build's own objects hold no cycles worth collecting before it ends; the collector is restarted after."""
    was_enabled = gc.isenabled()
    gc.disable()
    # three helper processes, forked now while this process is small: they make the JSON-LD and the Turtle, and
    # check the graph-wide rules (a process forked late from a parent holding a million triples ends up with a
    # private copy of much of its memory)
    helpers = tuple(writing.Helper.start() for _ in range(3)) if jobs != 0 else (None, None, None)
    try:
        return _run(data_dir, out_dir, base, on_stage=on_stage, write=write, jobs=jobs, cache=cache, site=site,
                    helpers=helpers)
    finally:
        for helper in helpers:
            if helper is not None:
                helper.close()
        if was_enabled:
            gc.enable()


def _run(data_dir: Path, out_dir: Path | None, base: Base, *, on_stage, write: bool, jobs: int | None,
         cache: Path | None, site: bool, helpers: tuple) -> BuildResult:
    timings: dict[str, float] = {}

    def stage(name: str):
        if on_stage:
            on_stage(name)
        timings[name] = time.perf_counter()

    def done(name: str):
        timings[name] = time.perf_counter() - timings[name]

    stage("load")
    curated = loading.load(Path(data_dir), jobs, cache)
    done("load")

    # Map, reason, describe: one source document at a time, each kept in the cache (documents.py). A document
    # whose files, and the kinds of the records it names, are as at the last build is not made again: its graph
    # and entailments come back as sorted N-Triples lines, never as rdflib terms.
    stage("map")
    ontology = load_ontology(base)
    reasoner = reasoning.Reasoner(ontology, cache)
    converter = ntriples.Converter()
    ontology_lines = ntriples.sorted_lines(converter, ontology)
    kept_documents = documents.DocumentCache(cache if reasoner.distributes else None,
                                             _settings(base, ontology_lines))
    kinds = curated.kinds()
    kept: dict[str, documents.Document] = {}
    for source_id in sorted(curated.sources):
        parse_key = curated.parse_keys.get(source_id)
        document = kept_documents.get(source_id, parse_key) if parse_key is not None else None
        if document is not None and mapping.references_hold(document.references, kinds):
            kept[source_id] = document
    mapped = mapping.map_records(curated, base, skip=frozenset(kept))
    metadata = mapped.metadata_graph
    graph_of = {source_id: mapping.graph_name(base, source_id) for source_id in sorted(curated.sources)}
    asserted_lines = {}  # source document -> its graph's lines
    for source_id, name in graph_of.items():
        asserted_lines[source_id] = (ntriples.split(kept[source_id].asserted) if source_id in kept
                                     else ntriples.sorted_lines(converter, mapped.graphs[name]))
    mapped_metadata = ntriples.sorted_lines(converter, mapped.graphs[metadata])
    done("map")

    stage("reason")
    made = [source_id for source_id in graph_of if source_id not in kept]
    entailed_lines = {source_id: ntriples.split(kept[source_id].entailed) for source_id in kept}
    if reasoner.distributes:
        for source_id in made:
            entailed_lines[source_id] = ntriples.sorted_lines(converter,
                                                              reasoner.entail(mapped.graphs[graph_of[source_id]]))
        entailed = [ntriples.sorted_lines(converter, reasoner.entail(mapped.graphs[metadata]))]
        entailed += entailed_lines.values()
    else:  # a transitive property joins triples of different documents: the whole graph at once (none was kept)
        entailed = [ntriples.sorted_lines(converter, reasoner.entail(mapped.union()))]
    # the documents' lines, sorted and distinct (sorting the sorted lists end to end lets Python's sort merge
    # them), and the lines held by more than one document, once for each extra document (for describe)
    asserted, shared = _merged(asserted_lines.values())
    index = dict.fromkeys(asserted)
    index.update(dict.fromkeys(mapped_metadata))
    entailed_sorted = [line for line in _merged(entailed)[0] if line not in index]  # what is asserted is not
    del index, entailed
    done("reason")

    stage("describe")
    summaries = {source_id: kept[source_id].summary if source_id in kept
                 else describing.summarise(asserted_lines[source_id], base) for source_id in graph_of}
    statistics = describing.merged(list(summaries.values()), describing.summarise(shared, base))
    del shared
    describing.describe(curated, mapped.graphs[metadata], statistics, base)
    metadata_lines = _merged([ntriples.sorted_lines(converter, mapped.graphs[metadata]),
                              describing.input_files(curated, base, converter.ntriples)])[0]
    quads = {graph_of[source_id]: kept[source_id].quads if source_id in kept
             else ntriples.quads(asserted_lines[source_id], graph_of[source_id]) for source_id in graph_of}
    iris = statistics.iris | ntriples.iris(set(ntriples.terms(metadata_lines)))
    asserted = _merged([asserted, metadata_lines])[0]  # what ysv.nt holds
    lines = {graph_of[source_id]: asserted_lines[source_id] for source_id in graph_of}
    lines[metadata] = metadata_lines
    lines[base.graph["entailments"]] = entailed_sorted
    lines[base.graph["ontology"]] = ontology_lines
    del converter
    done("describe")

    # Validation: as soon as the writer has made the N-Triples of the asserted graph, a helper process checks the
    # graph-wide rules and screens every node with shacl (validation.screen_and_check); pyshacl then validates
    # the batches of documents home to any node the screen found results about, and says exactly what is wrong.
    # Nothing is written unless the data conforms.
    stage("validate & render")
    shapes = validation.load_shapes(base)
    processes = max(0, jobs if jobs is not None else (os.cpu_count() or 1))
    metadata = mapped.metadata_graph
    checks: dict = {}

    def check_whole_graph(ntriples: str) -> None:  # called by the writer as soon as ysv.nt is made
        if helpers[2] is not None:
            checks["pending"] = helpers[2].submit(validation.screen_and_check, ntriples, shapes, cache)
        else:
            checks["done"] = validation.screen_and_check(ntriples, shapes, cache)

    made_graphs = {graph_of[source_id]: mapped.graphs[graph_of[source_id]] for source_id in made}
    made_graphs[base.graph["ontology"]] = ontology
    graphs = ntriples.Graphs(made_graphs, lines)  # lines made into triples only when asked for
    outputs = writing.Outputs(base, lines, iris, asserted, metadata, site=site,
                              derived=(base.graph["entailments"], base.graph["ontology"]), quads=quads)
    render_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ysv-") as scratch:  # the N-Triples, for the helpers to read
        parts: dict[str, float] = {}
        rendered: dict[str, int] = {}

        def keep_documents() -> None:  # for the next build (given a cache, under the hash of the folder's files)
            for source_id in made:
                if source_id in curated.parse_keys:
                    name = graph_of[source_id]
                    kept_documents.put(source_id, curated.parse_keys[source_id], documents.Document(
                        ntriples.joined(asserted_lines[source_id]),
                        ntriples.joined(entailed_lines.get(source_id, [])), summaries[source_id],
                        mapped.references.get(source_id, {}), quads[name]))
            kept_documents.prune(set(graph_of))

        files = writing.render_data(outputs, helpers[:2], on_ntriples=check_whole_graph, scratch=Path(scratch),
                                    timings=parts, cache=cache, counts=rendered,
                                    meanwhile=("documents kept for the next build", keep_documents))
        render_seconds = time.perf_counter() - render_start
        for helper in helpers[:2]:
            if helper is not None:
                helper.close()  # done: its memory goes back now
        waited = time.perf_counter()
        screened = checks["pending"].result() if "pending" in checks else checks["done"]
        waited = time.perf_counter() - waited
    if helpers[2] is not None:
        helpers[2].close()
    confirm_start = time.perf_counter()
    asserted_graphs = ntriples.Graphs({n: g for n, g in made_graphs.items() if n not in outputs.derived},
                                      {n: g for n, g in lines.items() if n not in outputs.derived})
    confirmed = validation.confirm(asserted_graphs, shapes, screened, processes, cache, alone=(metadata,))
    confirm_seconds = time.perf_counter() - confirm_start
    result = confirmed.result
    # what the cache holds for batches no longer in the data will not be asked for again
    validation.Cache(cache).prune(confirmed.keys)
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
    files = writing.finish(files, outputs, result.report)
    if write and out_dir is not None:
        writing.write_atomically(Path(out_dir), files)
    done("write")

    counts = {
        "records": curated.count,
        "sources": len(curated.sources),
        "asserted triples": len(asserted),
        "entailed triples": len(entailed_sorted),
        "ontology triples": len(ontology),
        "nodes the screen found results about": len(screened.flagged) if screened.flagged is not None else -1,
        "screened (not cached)": int(not screened.cached),
        "batches for pyshacl": confirmed.batches,
        "batches validated (not cached)": confirmed.validated,
        "documents made (not kept)": len(made),
        **rendered,
    }
    return BuildResult(files, timings, counts, result, graphs, outputs.derived)

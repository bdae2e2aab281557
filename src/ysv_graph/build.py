"""The build: load & check -> map -> reason -> validate -> write, each stage timed.

The stages only pass data forward; this module is the one place that strings them together.
"""
from __future__ import annotations

import gc
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rdflib import Graph

from . import describing, loading, mapping, reasoning, validation, writing
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
    asserted: set | None = None
    graphs: dict = field(default_factory=dict)


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

    stage("map")
    mapped = mapping.map_records(curated, base)
    asserted = mapped.union()
    done("map")

    stage("reason")
    ontology = load_ontology(base)
    entailments = reasoning.reason(ontology, asserted, cache)
    done("reason")

    stage("describe")
    describing.describe(curated, mapped, entailments, base)
    asserted = mapped.union()
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

    graphs: dict = dict(mapped.graphs)
    graphs[base.graph["entailments"]] = entailments
    graphs[base.graph["ontology"]] = ontology
    outputs = writing.Outputs(base, asserted, graphs, metadata, site=site,
                              derived=(base.graph["entailments"], base.graph["ontology"]))
    render_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ysv-") as scratch:  # the N-Triples, for the helpers to read
        parts: dict[str, float] = {}
        rendered: dict[str, int] = {}
        files = writing.render_data(outputs, helpers[:2], on_ntriples=check_whole_graph, scratch=Path(scratch),
                                    timings=parts, cache=cache, counts=rendered)
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
    confirmed = validation.confirm(dict(mapped.graphs), shapes, screened, processes, cache,
                                   alone=(metadata,))
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
        "entailed triples": len(entailments),
        "ontology triples": len(ontology),
        "nodes the screen found results about": len(screened.flagged) if screened.flagged is not None else -1,
        "screened (not cached)": int(not screened.cached),
        "batches for pyshacl": confirmed.batches,
        "batches validated (not cached)": confirmed.validated,
        **rendered,
    }
    return BuildResult(files, timings, counts, result, asserted, graphs)

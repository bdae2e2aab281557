"""The build, plainly: load & check -> map -> reason -> describe -> validate -> write.

Each stage takes what the one before it made and hands its result on; nothing is kept between builds and
nothing runs in another process. This is the whole of what a build does: the incremental build
(ysv_graph.incremental) makes the same files, byte for byte, faster at corpus scale, and is tested against it.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rdflib import Graph

from . import describing, load, mapping, reasoning, releasing, validation, writing
from ..rdf import ntriples
from ..rdf.terms import Base
from ..settings import SETTINGS

# A function that adds files made from the data (such as the static site) before the catalogue and manifest are
# made: pages(the N-Quads' bytes, the base) -> {file name: bytes}. The command line passes the site's.
Pages = Callable[[bytes, Base], Mapping[str, bytes]]


class ValidationFailed(Exception):
    def __init__(self, result: validation.ValidationResult):
        super().__init__(f"{len(result.violations)} SHACL violation(s)")
        self.result = result


@dataclass
class BuildResult:
    files: dict  # name -> bytes, or writing.Written for a file a helper wrote straight into out/
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    validation: validation.ValidationResult | None = None
    graphs: Mapping = field(default_factory=dict)  # named graph -> triples (every graph of ysv.nq)
    derived: tuple = ()  # the names of the graphs that are not asserted data (entailments, ontology)

    @cached_property
    def asserted(self) -> set:
        """The asserted data (what ysv.nt holds), as rdflib triples."""
        return set().union(*(self.graphs[name] for name in self.graphs if name not in self.derived))

    def summary(self, out_dir: Path | str, shapes: int, seconds: float) -> str:
        """The one line a build ends with: what was built and whether it conforms."""
        pages = sum(1 for name in self.files if name.endswith(".html"))
        data = sum(1 for name in self.files if not name.startswith("site/"))  # out/'s own files, not the site's
        conforms = "conforms" if self.validation is None or self.validation.conforms else "does not conform"
        return (f"built {out_dir}/: {self.counts.get('asserted triples', 0):,} triples "
                f"({self.counts.get('entailed triples', 0):,} entailed), {conforms} to {shapes} shapes, "
                f"{data} files and {pages} pages, {seconds:.1f} s")


def load_ontology(base: Base, ontology_dir: Path | None = None) -> Graph:
    graph = Graph()
    for path in sorted(Path(ontology_dir or SETTINGS.ontology_dir).glob("*.ttl")):
        graph.parse(data=base.rebase(path.read_text(encoding="utf-8")), format="turtle")
    return graph


def _sorted_distinct(*parts: list[bytes]) -> list[bytes]:
    return sorted(set().union(*parts))


def run(data_dir: Path, out_dir: Path | None, base: Base, *, pages: Pages | None = None,
        on_stage: Callable[[str], None] | None = None, write: bool = True,
        releases_dir: Path | None = None) -> BuildResult:
    """Build the dataset into out_dir. Raises load.DataErrors (bad input) or ValidationFailed (shapes not met);
    in both cases out_dir is not touched (but put back first if a build killed while swapping it in left it set
    aside: writing.restore_abandoned). releases_dir: the kept earlier releases (releasing.read_kept; None: none)."""
    timings: dict[str, float] = {}
    if write and out_dir is not None:
        writing.restore_abandoned(Path(out_dir))

    def stage(name: str) -> None:
        if on_stage:
            on_stage(name)
        timings[name] = time.perf_counter()

    def done(name: str) -> None:
        timings[name] = time.perf_counter() - timings[name]

    # 1. load & check the curated YAML
    stage("load")
    curated = load.load(Path(data_dir), releases_dir=releases_dir)
    done("load")

    # 2. map the records to RDF: one named graph per source document, one for the dataset's description
    stage("map")
    converter = ntriples.Converter()
    mapped = mapping.map_records(curated, base)
    metadata = mapped.metadata_graph
    documents = {mapping.graph_name(base, source_id): ntriples.sorted_lines(converter, mapped.graphs.get(
        mapping.graph_name(base, source_id), set())) for source_id in sorted(curated.sources)}
    done("map")

    # 3. reason: what the ontology lets us conclude, kept apart from what is asserted
    stage("reason")
    ontology = load_ontology(base)
    entailed = ntriples.sorted_lines(converter, reasoning.Reasoner(ontology).entail(mapped.union()))
    done("reason")

    # 4. describe the dataset (VoID, DCAT, PROV): statistics of the documents' union, and the files read
    stage("describe")
    union = _sorted_distinct(*documents.values())
    statistics = describing.summarise(union, base)
    series = releasing.series(curated.dataset, curated.kept_releases,
                              lambda: {str(name): ntriples.joined(lines) for name, lines in documents.items()}, base.iri)
    describing.describe(curated, mapped.graphs[metadata], statistics, base, series)
    described = ntriples.sorted_lines(converter, mapped.graphs[metadata])
    metadata_lines = _sorted_distinct(described, describing.input_files(curated, base, converter.ntriples))
    namespaces = (statistics.namespaces
                  | describing.namespaces_of(ntriples.iris(set(ntriples.terms(described))), base)
                  | describing.input_files_namespaces(curated, base, converter.ntriples))
    asserted = _sorted_distinct(union, metadata_lines)
    lines = {**documents, metadata: metadata_lines, base.graph["entailments"]: entailed,
             base.graph["ontology"]: ntriples.sorted_lines(converter, ontology)}
    done("describe")

    # 5. validate the whole asserted graph with pyshacl; its report is what is published
    stage("validate")
    shapes = validation.load_shapes(base)
    result = validation.validate(ntriples.materialise(asserted), shapes)
    done("validate")
    if not result.conforms:
        raise ValidationFailed(result)

    # 6. write: the data files, then the pages made from them, then the report, catalogue and manifest
    stage("write")
    outputs = writing.Outputs(base, lines, namespaces, asserted, metadata,
                              derived=(base.graph["entailments"], base.graph["ontology"]))
    files = writing.render(outputs)
    files.update(releasing.files(curated.kept_releases))
    if pages is not None:
        files.update(pages(files["ysv.nq"], base))
    files = writing.finish(files, outputs, result.report)
    if write and out_dir is not None:
        writing.write_atomically(Path(out_dir), files)
    done("write")

    counts = {"records": curated.count, "sources": len(curated.sources), "asserted triples": len(asserted),
              "entailed triples": len(entailed), "ontology triples": len(ontology), "shapes": shape_count(shapes)}
    graphs = ntriples.Graphs({base.graph["ontology"]: ontology}, ntriples.Lines(lines))
    return BuildResult(files, timings, counts, result, graphs, outputs.derived)


def shape_count(shapes: Graph) -> int:
    """How many node shapes the shapes graph declares."""
    from rdflib.namespace import RDF

    from ..rdf.terms import SH

    return len(set(shapes.subjects(RDF.type, SH.NodeShape)))

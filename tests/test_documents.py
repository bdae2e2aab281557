"""Per-document building (documents.py): what is kept of a document, and the pieces the build puts together from
those kept parts, equal what the whole graph gives."""
from __future__ import annotations

import pickle
from collections import Counter

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ysv_graph.incremental import quads as quad_chunks
from ysv_graph.incremental import render
from ysv_graph.incremental import runs
from ysv_graph import workers
from ysv_graph.rdf import gzip as rdf_gzip
from ysv_graph.rdf import turtle
from ysv_graph.incremental import build
from ysv_graph.pipeline import describing
from ysv_graph.incremental import documents
from ysv_graph.pipeline import load as loading
from ysv_graph.pipeline import mapping
from ysv_graph.rdf import ntriples
from ysv_graph.pipeline import reasoning
from ysv_graph.pipeline import writing
from ysv_graph.rdf.terms import Base

from conftest import DATA

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow

ENTAILMENTS = URIRef("https://w3id.org/ysv/graph/entailments")
METADATA = URIRef("https://w3id.org/ysv/graph/metadata")


def _source_graphs(built) -> dict:
    return {name: built.graphs[name] for name in built.graphs
            if name not in built.derived and name != METADATA}


def _reference_statistics(data: set, base: Base) -> dict:
    """VoID's and DCAT's figures of a set of rdflib triples, computed the plain way (what describe states)."""
    types = [(s, o) for s, p, o in data if p == RDF.type]
    links = {}
    for target in describing.LINK_TARGETS:
        linked = [p for _s, p, o in data if isinstance(o, URIRef) and str(o).startswith(target.namespace)]
        links[target.key] = (len(linked), sorted(set(linked)))
    return {
        "triples": len(data),
        "subjects": len({s for s, _p, _o in data}),
        "objects": len({o for _s, _p, o in data}),
        "typed": len({s for s, _o in types if isinstance(s, URIRef)}),
        "areas": sorted({s for s, o in types if o == base.ysv.PoliceForceArea}),
        "classes": dict(Counter(o for _s, o in types)),
        "properties": dict(Counter(p for _s, p, _o in data)),
        "links": links,
        "dates": sorted(o.toPython() for o in {o for _s, _p, o in data
                                                if isinstance(o, Literal) and o.datatype == XSD.date}),
    }


def _from_summary(summary: describing.Summary) -> dict:
    return {
        "triples": summary.triples,
        "subjects": len(summary.subjects),
        "objects": len(summary.objects),
        "typed": len(summary.typed),
        "areas": sorted(URIRef(describing._iri(a)) for a in summary.areas),
        "classes": describing._iri_keys(summary.classes),
        "properties": describing._iri_keys(summary.properties),
        "links": {key: (sum(c.values()), sorted(describing._iri_keys(c))) for key, c in summary.links.items()},
        "dates": sorted(describing._dates(summary.dates)),
    }


def test_summaries_of_documents_merge_into_the_statistics_of_their_union(built):
    base = Base()
    graphs = _source_graphs(built)
    converter = ntriples.Converter()
    parts = [ntriples.sorted_lines(converter, graph) for graph in graphs.values()]
    # a made-up document holding lines of others, so that the union has lines held by three documents
    parts.append(sorted(set(parts[0][::2]) | set(parts[1][1::3]) | set(parts[-1][:5])))
    parts.append(sorted(set(parts[0][::4])))
    seen, shared = set(), []
    for lines in parts:
        shared.extend(seen.intersection(lines))
        seen.update(lines)
    assert len(shared) > 10  # periods described by figures of several documents, and the made-up ones
    merged = describing.merged([describing.summarise(lines, base) for lines in parts],
                               describing.summarise(shared, base))
    union = set().union(*graphs.values())
    expected = _reference_statistics(union, base)
    assert expected["triples"] == 6783 and expected["areas"] and expected["dates"]  # void:triples in out/ysv.nt
    assert all(count for count, _predicates in expected["links"].values())
    assert _from_summary(merged) == expected
    iris = ntriples.iris(ntriples.terms(sorted(set().union(*parts))))
    assert merged.namespaces == describing.namespaces_of(iris, base) and len(merged.namespaces) > 10
    # the namespaces choose the same prefixes as the IRIs themselves
    for prefixes in (base.prefixes(), base.prefixes(per_kind=True)):
        assert turtle.namespaces_used(merged.namespaces, prefixes) == turtle.namespaces_used(iris, prefixes)
        assert 5 < len(turtle.namespaces_used(iris, prefixes)) < len(prefixes)


def test_lines_made_back_into_triples_are_the_same_triples(built):
    converter = ntriples.Converter()
    for graph in (built.asserted, built.graphs[ENTAILMENTS]):
        assert ntriples.materialise(ntriples.sorted_lines(converter, graph)) == set(graph)


def test_iris_of_lines_equal_those_of_the_terms(built):
    converter = ntriples.Converter()
    lines = ntriples.sorted_lines(converter, built.asserted)
    assert ntriples.iris(ntriples.terms(lines)) == turtle.ox_iris(converter.terms.values())
    assert str(XSD.string) in ntriples.iris(ntriples.terms(lines))  # plain literals count as xsd:string


def test_references_name_every_record_a_graph_refers_to_and_hold_only_while_kinds_do():
    curated = loading.load(DATA)
    mapped = mapping.map_records(curated, Base())
    kinds = curated.kinds()
    assert set(mapped.references) == set(curated.sources)
    elsewhere = {source: {key for key in refs if curated.find(key).source != source}
                 for source, refs in mapped.references.items()}
    source = max(elsewhere, key=lambda s: len(elsewhere[s]))
    assert len(elsewhere[source]) >= 3  # a document whose graph names records of other documents
    references = mapped.references[source]
    assert mapping.references_hold(references, kinds)
    key = sorted(elsewhere[source])[0]
    assert not mapping.references_hold(references, {**kinds, key: "groups" if kinds[key] != "groups" else "people"})
    assert not mapping.references_hold(references, {k: v for k, v in kinds.items() if k != key})
    # mapping only the other documents makes none of the skipped one's graph, and the same graphs for the rest
    partial = mapping.map_records(curated, Base(), skip=frozenset({source}))
    assert mapping.graph_name(Base(), source) not in partial.graphs
    assert {n: g for n, g in partial.graphs.items()} == \
        {n: g for n, g in mapped.graphs.items() if n != mapping.graph_name(Base(), source)}


def test_a_kept_document_is_found_only_under_the_same_files_and_settings(tmp_path):
    document = documents.Document(b"<a> <b> <c> .\n", b"", None, {"x": "forces"})
    assert ntriples.split(document.asserted) == [b"<a> <b> <c> ."] and ntriples.split(document.entailed) == []
    kept = documents.DocumentCache(tmp_path, b"settings")
    kept.put("doc", "files-1", document)
    assert kept.get("doc", "files-1").loaded() == document
    # the head is read at once, the lines only when asked for, from the file as it was
    found = kept.get("doc", "files-1")
    assert (found.summary, found.references, found.asserted_size()) == (None, {"x": "forces"}, 14)
    assert found.asserted == document.asserted and found.entailed == b""
    changed = kept.get("doc", "files-1")
    kept.put("doc", "files-1", documents.Document(b"<a> <b> <d> .\n", b"", None, {"x": "forces"}))
    with pytest.raises(documents.ChangedDuringBuild):
        changed.asserted
    assert kept.previous("doc").asserted == b"<a> <b> <d> .\n"
    path = tmp_path / "documents" / "doc.pickle"
    path.write_bytes(path.read_bytes()[:-1])  # cut short: not trusted
    assert kept.get("doc", "files-1") is None and kept.previous("doc") is None
    kept.put("doc", "files-1", document)
    assert kept.get("doc", "files-1").loaded() == document
    assert kept.get("doc", "files-2") is None
    assert documents.DocumentCache(tmp_path, b"other settings").get("doc", "files-1") is None
    assert documents.DocumentCache(None, b"settings").get("doc", "files-1") is None
    (tmp_path / "documents" / "doc.pickle").write_bytes(pickle.dumps("damaged")[:5])
    assert kept.get("doc", "files-1") is None
    kept.put("other", "files-1", document)
    kept.prune({"doc"})
    assert sorted(p.name for p in (tmp_path / "documents").iterdir()) == ["doc.pickle"]


def test_build_settings_change_with_the_base_and_the_ontology():
    def lines(graph):
        return ntriples.sorted_lines(ntriples.Converter(), graph)

    ontology = build.load_ontology(Base())
    settings = build._settings(Base(), lines(ontology))
    other = Base("https://example.org/ysv/")
    assert build._settings(other, lines(build.load_ontology(other))) != settings
    extra = Graph()
    for triple in ontology:
        extra.add(triple)
    extra.add((URIRef("https://w3id.org/ysv/def/Extra"), RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")))
    assert build._settings(Base(), lines(extra)) != settings


def test_published_entailments_equal_owlrl_over_what_was_reasoned_over(built):
    """The build entails document by document (and the metadata graph as mapped); the union, less what is
    asserted, must be exactly what owlrl's full closure adds about the whole asserted data."""
    ontology = build.load_ontology(Base())
    data = mapping.map_records(loading.load(DATA), Base()).union()
    published = set(built.graphs[ENTAILMENTS])
    assert len(published) > 100
    assert published == reasoning.owlrl_data_entailments(ontology, data)


def test_a_transitive_property_stops_entailing_document_by_document():
    ontology = build.load_ontology(Base())
    assert reasoning.Reasoner(ontology).distributes
    transitive = Graph()
    for triple in ontology:
        transitive.add(triple)
    transitive.add((URIRef("https://w3id.org/ysv/def/partOfInspection"), RDF.type,
                    URIRef("http://www.w3.org/2002/07/owl#TransitiveProperty")))
    assert not reasoning.Reasoner(transitive).distributes


@pytest.mark.parametrize("reports", [1])
def test_corpus_entailments_document_by_document_equal_those_of_the_whole(tmp_path, reports):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus.py"
    spec = importlib.util.spec_from_file_location("ysv_benchmarks_corpus_docs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.generate(reports, tmp_path / "corpus", seed=0)
    result = build.run(tmp_path / "corpus", None, Base(), write=False, jobs=0)
    data = mapping.map_records(loading.load(tmp_path / "corpus"), Base()).union()
    expected = reasoning.reason(build.load_ontology(Base()), data)
    assert len(expected) > 200 * reports
    assert set(result.graphs[ENTAILMENTS]) == expected


def test_gzip_of_chunks_reads_back_whole_with_any_reader_and_recompresses_only_what_changed(tmp_path):
    import gzip
    import random
    import shutil
    import subprocess

    rng = random.Random(7)
    words = [f"word{i}".encode() for i in range(400)]
    parts = [(f"<https://example.org/graph/{i}>".encode(),
              b"".join(b"<s%d> <p> \"%s\" .\n" % (i, b" ".join(rng.choices(words, k=12))) for _ in range(300)))
             for i in range(200)]
    whole = b"".join(data for _name, data in parts)
    first = rdf_gzip.gzip_chunks(parts)
    assert gzip.decompress(first) == whole
    if shutil.which("gzip"):  # an independent reader: the gzip command (checks the CRC and length too)
        path = tmp_path / "data.gz"
        path.write_bytes(first)
        assert subprocess.run(["gzip", "-dc", str(path)], capture_output=True, check=True).stdout == whole
    assert len(first) < 1.03 * len(gzip.compress(whole, compresslevel=6, mtime=0))
    chunks = len(rdf_gzip.chunk_ends([name for name, _data in parts]))
    assert 5 < chunks < 40  # about one chunk for 16 parts
    edited = list(parts)
    edited[100] = (parts[100][0], parts[100][1].replace(b"word1 ", b"edited ", 1))
    second = rdf_gzip.gzip_chunks(edited)
    assert gzip.decompress(second) == b"".join(data for _name, data in edited)
    # chunks kept under their parts' keys (the Turtle's: a hash of each run): the same bytes, and a kept chunk's
    # data is not read (nor put together, nor hashed)
    import hashlib

    def keys_of(parts_):
        return [hashlib.sha256(data).digest() for _name, data in parts_]

    by_keys = runs.RenderCache(tmp_path, "test-gzip-keys")
    assert runs.gzip_chunks_kept(parts, by_keys, keys_of(parts)) == first and by_keys.made == chunks
    by_keys = runs.RenderCache(tmp_path, "test-gzip-keys")
    assert runs.gzip_chunks_kept(edited, by_keys, keys_of(edited)) == second and by_keys.made == 1
    unread = [(name, None) for name, _data in edited]  # every chunk kept: no data needed
    by_keys = runs.RenderCache(tmp_path, "test-gzip-keys")
    assert runs.gzip_chunks_kept(unread, by_keys, keys_of(edited)) == second and by_keys.made == 0


def test_n_quads_chunks_kept_by_their_graphs_digests_equal_those_made_afresh(tmp_path):
    """quad_chunks.QuadChunks: ysv.nq and its gzip, made from chunks kept under their graphs' names and digests, are
    the bytes made without a cache; a changed graph's chunk is made again, and a damaged file is not used."""
    import gzip
    import hashlib

    names = [URIRef(f"https://example.org/graph/{i}") for i in range(120)]
    lines = {name: sorted(b"<https://example.org/s/%d> <https://example.org/p> \"%d\" ." % (i, k) for k in range(40))
             for i, name in enumerate(names)}

    def made(cache, lines, digests=None, in_helper=False):
        quads = quad_chunks.QuadChunks(cache)
        chunks = quads.plan(names, digests or {}, {}, lines)
        if in_helper:  # what a rebuild's helper does with the chunks planned (it writes ysv.nq to a file)
            done = quad_chunks.n_quads_file(cache, chunks, str(tmp_path / "ysv.nq"))
            if done is None:
                return None, None, quads.made
            return (tmp_path / "ysv.nq").read_bytes(), done[0], quads.made + done[1]
        ready = quads.read(chunks)
        while ready is None:
            ready = quads.read(quads.plan(names, digests or {}, {}, lines))
        return b"".join(chunk[1] for chunk in ready), quads.gzip(ready), quads.made

    expected = b"".join(ntriples.quads(lines[name], name) for name in names)
    plain = made(None, lines)
    assert plain[0] == expected and gzip.decompress(plain[1]) == expected
    assert plain[1] == rdf_gzip.gzip_chunks([(str(name).encode(), ntriples.quads(lines[name], name))
                                            for name in names])  # the chunks gzip_chunks makes
    first = made(tmp_path, lines)
    assert first[:2] == plain[:2] and first[2] == plain[2] > 3
    digests = {str(name): hashlib.sha256(ntriples.joined(lines[name])).hexdigest() for name in names}
    again = made(tmp_path, lines, digests)  # the caller's digests (documents.Document.digest) are the same hashes
    assert again[:2] == plain[:2] and again[2] == 0
    edited = dict(lines)
    edited[names[50]] = sorted(edited[names[50]] + [b"<https://example.org/s/new> <https://example.org/p> \"x\" ."])
    changed = made(tmp_path, edited)
    assert changed[:2] == made(None, edited)[:2] and changed[2] == 1
    assert made(tmp_path, edited, in_helper=True) == (*changed[:2], 0)
    for path in (tmp_path / "render" / "n-quads").glob("*.chunk"):
        path.write_bytes(b"damaged")
    assert made(tmp_path, edited, in_helper=True)[:2] == (None, None)  # the helper cannot: the build makes them
    assert made(tmp_path, edited)[:2] == changed[:2]
    assert len(list((tmp_path / "render" / "n-quads").glob("*.chunk"))) == plain[2]  # only what was used is kept


def test_big_graphs_are_cut_into_pieces_for_the_n_quads_chunks(tmp_path, monkeypatch):
    """quad_chunks.QuadChunks cuts a graph bigger than SPLIT_BYTES into pieces ended by lines (rdf_gzip.graph_pieces): the
    file and its gzip are still those made without a cache, from scratch and after edits, and an edit of a big
    graph makes again only the chunks of the pieces it touched."""
    import gzip

    monkeypatch.setattr(quad_chunks, "SPLIT_BYTES", 20_000)
    monkeypatch.setattr(rdf_gzip, "SPLIT_BYTES", 20_000)
    monkeypatch.setattr(rdf_gzip, "PIECE_EVERY", 64)
    names = [URIRef(f"https://example.org/graph/{i}") for i in range(40)]
    lines = {name: sorted(b"<https://example.org/s/%d/%d> <https://example.org/p> \"%d\" ." % (i, k, k)
                          for k in range(2000 if i in (3, 17) else 30))
             for i, name in enumerate(names)}

    def made(cache, lines, in_helper=False):
        quads = quad_chunks.QuadChunks(cache)
        chunks = quads.plan(names, {}, {}, lines)
        if in_helper:  # the pieces are cut by the helper
            done = quad_chunks.n_quads_file(cache, chunks, str(tmp_path / "ysv.nq"))
            if done is None:  # a kept chunk could not be read (and is deleted now)
                return None
            return (tmp_path / "ysv.nq").read_bytes(), done[0], quads.made + done[1]
        chunks = quads.read(chunks)
        return b"".join(chunk[1] for chunk in chunks), quads.gzip(chunks), quads.made

    first = made(tmp_path, lines)
    expected = b"".join(ntriples.quads(lines[name], name) for name in names)
    assert first[0] == expected and gzip.decompress(first[1]) == expected
    assert first[2] > 2 * 2000 // 64 * 0.5  # the two big graphs, in pieces
    planned = quad_chunks.QuadChunks(tmp_path).plan(names, {}, {}, lines)
    assert [chunk[3] for chunk in planned if chunk[0] is None] == [None, None]  # cut as before: nothing to send
    assert made(tmp_path, lines, in_helper=True) == (*first[:2], 0)
    piece = next(iter((tmp_path / "render" / "n-quads").glob("*.chunk")))
    piece.write_bytes(b"damaged")  # (a piece's chunk or another: either way, made again)
    assert made(tmp_path, lines, in_helper=True) is None  # the helper cannot read it (and deletes it) ...
    assert made(tmp_path, lines)[:2] == first[:2]  # ... so the build makes it itself
    assert made(tmp_path, lines, in_helper=True) == (*first[:2], 0)
    for edit in range(3):  # a line changed, one added, one removed, in the big graph 17
        edited = dict(lines)
        big = list(lines[names[17]])
        if edit == 0:
            big[500] = big[500].replace(b'"', b'"changed ', 1)
        elif edit == 1:
            big.append(b"<https://example.org/s/17/new> <https://example.org/p> \"new\" .")
        else:
            del big[1000]
        edited[names[17]] = sorted(big)
        again = made(tmp_path, edited, in_helper=edit == 1)
        assert again[:2] == made(None, edited)[:2]  # the bytes of a build without a cache
        assert gzip.decompress(again[1]) == again[0] == b"".join(ntriples.quads(edited[n], n) for n in names)
        assert 1 <= again[2] <= 2
        made(tmp_path, lines)  # back


def test_merged_lines_are_the_sorted_distinct_lines_and_the_repeats():
    """build._merged: sorted lists of lines put together as one sorted list without repeats, and the repeats (a
    line k lists hold comes k - 1 times), against a plain count."""
    import random

    rng = random.Random(5)
    pool = [b"<https://example.org/s/%d> <https://example.org/p> \"%d\" ." % (rng.randrange(300), i)
            for i in range(400)]
    for _ in range(20):
        parts = [sorted(set(rng.sample(pool, rng.randrange(0, 60)))) for _ in range(rng.randrange(0, 8))]
        counts = Counter(line for part in parts for line in part)
        distinct, repeats = build._merged(parts)
        assert distinct == sorted(counts)
        assert repeats == sorted(line for line, n in counts.items() for _ in range(n - 1))


def test_values_read_ahead_are_used_once_and_only_while_their_file_is_unchanged(tmp_path):
    """caching.read_ahead (a rebuild's helpers read their cache files while the main process loads): read() takes
    the value read ahead, once, and not if the file changed since; a missing or damaged file is not read ahead."""
    from ysv_graph.incremental import caching

    path, damaged = tmp_path / "kept.pickle", tmp_path / "damaged.pickle"
    caching.write(path, ["kept"])
    damaged.write_bytes(b"damaged")
    caching.read_ahead([path, damaged, tmp_path / "missing.pickle"])
    assert sorted(caching._AHEAD) == [str(path)]
    ahead = caching._AHEAD[str(path)][1]
    assert caching.read(path) is ahead and caching.read(path) is not ahead  # used once
    caching.read_ahead([path])
    caching.write(path, ["changed"])  # a new file (another inode, size or time): what was read ahead is not used
    assert caching.read(path) == ["changed"]
    assert caching._AHEAD == {}


_WARM_SCRIPT = r"""
from ysv_graph import workers
helper = workers.Helper()
helper.warm(print, "warmed")
helper.warm(int, "not a number")  # fails in the helper: no answer, and the helper goes on
print(helper.submit(pow, 2, 5).result(), flush=True)
helper.close()
"""


def test_a_helper_warmed_sends_no_answer_and_answers_the_next_job():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _WARM_SCRIPT], capture_output=True, check=True, timeout=60)
    assert sorted(done.stdout.decode().split()) == ["32", "warmed"]  # (two processes: in either order)


def test_input_file_lines_equal_what_rdflib_terms_give():
    from rdflib.namespace import DCTERMS, PROV, RDFS

    curated = loading.load(DATA)
    base = Base()
    converter = ntriples.Converter()
    lines = describing.input_files(curated, base, converter.ntriples)
    activity = base.id[f"dataset/ysv/build/{curated.dataset['version']}"]
    spdx = describing.SPDX
    expected = set()
    for path, digest in curated.files.items():
        entity, checksum = base.id[f"dataset/ysv/input/{path}"], base.id[f"dataset/ysv/input/{path}/sha256"]
        expected |= {(activity, PROV.used, entity), (entity, RDF.type, PROV.Entity),
                     (entity, RDFS.label, Literal(f"data/{path}", lang="en")),
                     (entity, DCTERMS.identifier, Literal(f"data/{path}")), (entity, spdx.checksum, checksum),
                     (checksum, RDF.type, spdx.Checksum), (checksum, spdx.algorithm, spdx.checksumAlgorithm_sha256),
                     (checksum, spdx.checksumValue, Literal(digest, datatype=XSD.hexBinary))}
    assert len(curated.files) > 40
    assert lines == ntriples.sorted_lines(ntriples.Converter(), expected)
    # the lines of each file, kept for the next build, give the same lines; a changed file's are made again
    kept: dict = {}
    assert describing.input_files(curated, base, converter.ntriples, kept) == lines
    assert len(kept) == len(curated.files)
    assert describing.input_files(curated, base, ntriples.Converter().ntriples, kept) == lines
    path = sorted(curated.files)[0]
    curated.files[path] = "0" * 64
    changed = describing.input_files(curated, base, converter.ntriples, kept)
    assert changed == describing.input_files(curated, base, converter.ntriples)
    assert len(set(lines) - set(changed)) == 1 and (path, "0" * 64) in kept
    # the namespaces of the lines, found from one file's lines and every file's own IRIs, are those of all
    assert describing.input_files_namespaces(curated, base, converter.ntriples) == describing.namespaces_of(
        ntriples.iris(set(ntriples.terms(changed))), base)
    assert len(describing.namespaces_of(ntriples.iris(set(ntriples.terms(changed))), base)) >= 5
    with pytest.raises(ValueError):
        curated.files["x.yaml"] = "not hex"
        describing.input_files(curated, base, converter.ntriples)


def test_input_file_lines_kept_by_the_build_in_two_files_give_the_lines_made_afresh(tmp_path, monkeypatch):
    """build._input_files: the lines of every file as at some build, and those of the files changed since in a
    second, small file (an edit writes only that one); the first is written again once the second holds more than
    INPUT_FILES_AFTER files, or a tenth of it is of files no longer used. Every build's lines equal those made
    without a cache."""
    monkeypatch.setattr(build, "INPUT_FILES_AFTER", 3)
    curated, base, converter = loading.load(DATA), Base(), ntriples.Converter()
    whole, recent = tmp_path / "describe" / "input-files.pickle", tmp_path / "describe" / "input-files-recent.pickle"

    def check() -> None:
        assert build._input_files(curated, base, converter, tmp_path) == describing.input_files(
            curated, base, converter.ntriples)

    check()
    assert len(pickle.loads(whole.read_bytes())[1]) == len(curated.files) and not recent.exists()
    stamp = whole.stat().st_mtime_ns
    paths = sorted(curated.files)
    for step, path in enumerate(paths[:3]):  # one changed file a build: only the second file is written
        curated.files[path] = f"{step + 1:064x}"
        check()
        assert whole.stat().st_mtime_ns == stamp
        assert len(pickle.loads(recent.read_bytes())[1]) == step + 1
    curated.files[paths[3]] = "f" * 64  # a fourth: all written together again
    check()
    assert whole.stat().st_mtime_ns != stamp and pickle.loads(recent.read_bytes())[1] == {}
    assert set(pickle.loads(whole.read_bytes())[1]) == set(curated.files.items())
    check()  # nothing changed: nothing to add
    for path in paths[: len(paths) // 5]:  # a fifth of the files gone: the unused lines are dropped
        del curated.files[path]
    check()
    assert set(pickle.loads(whole.read_bytes())[1]) == set(curated.files.items())
    recent.write_bytes(b"damaged")
    check()


def test_turtle_of_lines_equals_turtle_of_the_triples(built):
    graph = built.graphs[METADATA]
    prefixes = Base().prefixes(per_kind=True) | writing.EXTRA_PREFIXES
    lines = ntriples.sorted_lines(ntriples.Converter(), graph)
    assert len(lines) > 500
    assert turtle.turtle_of_lines(lines, prefixes) == turtle.turtle(graph, prefixes)


def test_turtle_of_lines_run_by_run_equals_turtle_of_the_whole(built, tmp_path):
    """The catalogue's Turtle is written run by run of subjects and kept (RenderCache): put together, the runs
    are what pyoxigraph writes for the whole, also where an IRI is the start of another (N-Triples order and
    IRI order differ there) and with an edit, after which only the runs it touched are written again."""
    graph = set(built.graphs[METADATA])
    prefixes = Base().prefixes(per_kind=True) | writing.EXTRA_PREFIXES
    ex = "https://w3id.org/ysv/id/file/"
    graph |= {(URIRef(ex + name), URIRef("http://purl.org/dc/terms/title"), Literal(name)) for name in
              ("a", "ab", "a-b", "a/b", "b")}
    lines = ntriples.sorted_lines(ntriples.Converter(), graph)
    whole = turtle.turtle(graph, prefixes)
    kept = runs.RenderCache(tmp_path, "catalog-turtle")
    assert render.turtle_of_lines_kept(lines, prefixes, kept) == whole
    assert kept.made > 10
    graph.add((URIRef(ex + "ab"), URIRef("http://purl.org/dc/terms/description"), Literal("edited")))
    edited = turtle.turtle(graph, prefixes)
    assert edited != whole
    again = runs.RenderCache(tmp_path, "catalog-turtle")
    assert render.turtle_of_lines_kept(ntriples.sorted_lines(ntriples.Converter(), graph), prefixes, again) == edited
    assert again.made == 1


def test_catalogue_draft_with_lines_added_is_the_whole_put_in_order(built, tmp_path):
    """render.CatalogueDraft: the metadata graph's lines, ordered while the helpers work; with the checksum lines
    added (new subjects, new lines of present subjects, lines already there), they are the distinct lines of the
    whole in turtle()'s order, and the Turtle made from them is turtle() of the whole."""
    graph = set(built.graphs[METADATA])
    prefixes = Base().prefixes(per_kind=True) | writing.EXTRA_PREFIXES
    lines = ntriples.sorted_lines(ntriples.Converter(), graph)
    draft = render.CatalogueDraft(lines + lines[:3])  # repeated lines are kept once
    assert draft.lines == sorted(lines, key=turtle.turtle_order)
    dataset = URIRef("https://w3id.org/ysv/id/dataset/ysv")
    extra = {(dataset, URIRef("http://purl.org/dc/terms/extent"), Literal("1")),
             (URIRef("https://w3id.org/ysv/id/dataset/ysv/distribution/nt/sha256"), RDF.type,
              URIRef("https://example.org/new#Thing")),
             (URIRef("https://w3id.org/ysv/id/aaa"), URIRef("http://purl.org/dc/terms/title"), Literal("first"))}
    extra_lines = ntriples.sorted_lines(ntriples.Converter(), extra) + lines[10:12]
    ordered, iris = draft.with_lines(extra_lines)
    assert ordered == sorted(set(lines) | set(extra_lines), key=turtle.turtle_order)
    assert iris == ntriples.iris(set(ntriples.terms(ordered)))
    assert "https://example.org/new#Thing" in iris and "https://example.org/new#Thing" not in draft.iris
    assert draft.lines == sorted(lines, key=turtle.turtle_order)  # the draft itself is unchanged
    kept = runs.RenderCache(tmp_path, "catalog-turtle")
    assert render._turtle_of_ordered(ordered, iris, prefixes, kept) == turtle.turtle(graph | extra, prefixes)


def test_catalogue_draft_made_from_the_last_builds_equals_one_made_afresh(built, tmp_path):
    """render.CatalogueDraft.kept: from the draft kept by the last build, with lines removed (the only line of an
    IRI among them, so that the IRI goes) and added (a new namespace), it equals the draft made from nothing; so
    does one made when the kept draft is damaged or too different."""
    import random

    lines = ntriples.sorted_lines(ntriples.Converter(), set(built.graphs[METADATA]))
    rng = random.Random(3)

    def same(draft, expected_lines):
        afresh = render.CatalogueDraft(expected_lines)
        assert (draft.lines, draft.iris) == (afresh.lines, afresh.iris)

    same(render.CatalogueDraft.kept(lines, tmp_path), lines)
    current = list(lines)
    lonely = b"<https://example.org/only/once> <http://purl.org/dc/terms/title> \"x\" ."
    for step in range(4):
        edited = [line for line in current if rng.random() > 0.01 and line != lonely]
        edited += [b"<https://w3id.org/ysv/id/x%d> <http://purl.org/dc/terms/title> \"%d\" ." % (step, k)
                   for k in range(3)]
        if step % 2 == 0:
            edited.append(lonely)
        if step % 2:  # the lines as a helper gets them: in a file (N-Triples, sorted, as ysv.nq's spill writes)
            spill = tmp_path / f"metadata-{step}.nt"
            spill.write_bytes(ntriples.joined(sorted(set(edited))))
            draft = render.CatalogueDraft.kept(str(spill), tmp_path)
        else:
            draft = render.CatalogueDraft.kept(edited, tmp_path)
        same(draft, edited)
        assert ("https://example.org/only/once" in draft.iris) == (step % 2 == 0)
        current = edited
    (tmp_path / "render" / "catalogue-draft.pickle").write_bytes(b"damaged")
    same(render.CatalogueDraft.kept(lines, tmp_path), lines)
    # a draft kept by other code (another order, say) is not used
    path = tmp_path / "render" / "catalogue-draft.pickle"
    code, ordered, counts = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps((b"other code", ordered[::-1], counts)))
    same(render.CatalogueDraft.kept(lines, tmp_path), lines)
    same(render.CatalogueDraft.kept(lines[: len(lines) // 2], tmp_path), lines[: len(lines) // 2])


_PARALLEL_SCRIPT = r"""
import hashlib, json, sys
from pathlib import Path
from ysv_graph import workers
from ysv_graph.incremental import build
from ysv_graph.pipeline import writing
from ysv_graph.rdf.terms import Base
data, cache, parallel = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "parallel"
if parallel:
    build.PARALLEL_DOCUMENTS = 1
niced = []
nice = workers.Helper.nice
workers.Helper.nice = lambda helper, increment: niced.append(increment) or nice(helper, increment)
result = build.run(data, None, Base(), write=False, jobs=2, cache=cache)
print(json.dumps({"files": {name: hashlib.sha256(data).hexdigest() for name, data in result.files.items()},
                  "made": sorted(map(str, result.graphs.made)), "counts": result.counts, "niced": niced}))
"""


_WRITTEN_SCRIPT = r"""
import json, sys
from pathlib import Path
from ysv_graph.incremental import build
from ysv_graph.pipeline import writing
from ysv_graph.rdf.terms import Base
data, out, cache = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
try:
    result = build.run(data, out, Base(), jobs=2, cache=cache)
except build.ValidationFailed as failed:
    print(json.dumps({"violations": len(failed.result.violations)}))
    sys.exit(0)
print(json.dumps({"written": sorted(name for name, value in result.files.items() if isinstance(value, writing.Written)),
                  "counts": result.counts}))
"""


def test_files_the_helpers_write_straight_into_out_are_those_of_a_build_in_memory(data_copy, tmp_path):
    """With helper processes (a fresh interpreter: see the test below), the Turtle, JSON-LD and N-Quads and their
    gzips are written by the helpers into the folder that becomes out/ (writing.Written), and hashed there for
    the catalogue and the manifest; out/ must hold exactly the files of a build made in memory, from scratch and
    after an edit (when the helpers splice and read kept chunks), and no staging folder may be left behind."""
    import json
    import subprocess
    import sys

    out, cache = tmp_path / "out", tmp_path / "cache"

    def built_into_out() -> dict:
        done = subprocess.run([sys.executable, "-c", _WRITTEN_SCRIPT, str(data_copy), str(out), str(cache)],
                              capture_output=True, check=True)
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    def same_as_in_memory() -> None:
        expected = build.run(data_copy, None, Base(), write=False, jobs=0).files
        on_disk = {str(path.relative_to(out)): path.read_bytes() for path in out.rglob("*") if path.is_file()}
        assert sorted(on_disk) == sorted(expected)
        assert [name for name in sorted(expected) if on_disk[name] != expected[name]] == []

    first = built_into_out()
    assert first["written"] == ["ysv.jsonld", "ysv.nq", "ysv.nq.gz", "ysv.nt", "ysv.ttl", "ysv.ttl.gz"]
    same_as_in_memory()
    findings = data_copy / "hmicfrs-report" / "findings.yaml"
    text = findings.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    findings.write_text(text[:position] + " Edited." + text[position:], encoding="utf-8")
    again = built_into_out()
    assert again["counts"]["Turtle runs kept as they were (not cut again)"] > 0
    assert again["written"] == first["written"]
    same_as_in_memory()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "data", "out"]  # no staging left
    # every kept N-Quads chunk damaged: the helper cannot read them, and the build makes them all itself
    chunks = list((cache / "render" / "n-quads").glob("*.chunk"))
    assert len(chunks) >= 2
    for chunk in chunks:
        chunk.write_bytes(b"damaged")
    findings.write_text(text[:position] + " Edited again." + text[position:], encoding="utf-8")
    built_into_out()
    same_as_in_memory()
    # a build that fails validation after the helpers wrote into the staging folder: out/ untouched, no folder left
    published = {str(path.relative_to(out)): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    findings.write_text(text + ("sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n"
                                "    number: one\n    title: T\n    order: 8\n"), encoding="utf-8")
    assert built_into_out()["violations"] >= 1
    assert {str(path.relative_to(out)): path.read_bytes() for path in out.rglob("*") if path.is_file()} == published
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "data", "out"]


def test_documents_made_in_parallel_processes_give_the_same_build_and_cache(tmp_path):
    """A big corpus has its documents made in a pool of processes (build._make_documents); the real data, made
    so, must give exactly the files of the build made in this process, and keep documents a later build reuses.
    Each build runs in a fresh interpreter: the pool is forked only from a process with no other threads, and
    this test session may have some (the live server's)."""
    import json
    import subprocess
    import sys

    def run(cache: str, how: str) -> dict:
        done = subprocess.run([sys.executable, "-c", _PARALLEL_SCRIPT, str(DATA), str(tmp_path / cache), how],
                              capture_output=True, check=True)
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    in_process = run("one", "in-process")
    assert len(in_process["made"]) > 10  # the documents' graphs, as rdflib triples, came from this process
    parallel = run("two", "parallel")
    assert parallel["made"] == ["https://w3id.org/ysv/graph/ontology"]  # only lines came back from the pool
    made = "documents made (not kept)"
    assert parallel["counts"][made] == in_process["counts"][made] > 10
    assert parallel["files"] == in_process["files"]
    # the Turtle and checks helpers yield to the JSON-LD's when the documents were many (here: more than 1)
    assert in_process["niced"] == [] and parallel["niced"] == [build.HELPER_NICE] * 2
    again = run("two", "parallel")
    assert again["counts"][made] == 0 and again["niced"] == []
    assert again["files"] == in_process["files"]



HELPER_CHECK = """
import os
from ysv_graph import workers
from ysv_graph.incremental import build

assert os.nice(0) < 19  # else no helper could be made nicer than this process
plain, yielding = workers.Helper.start(), workers.Helper.start()
try:
    assert plain is not None and yielding is not None
    assert yielding.nice(build.HELPER_NICE) == min(19, os.nice(0) + build.HELPER_NICE)
    assert plain.submit(os.nice, 0).result() == os.nice(0)
    assert yielding.submit(os.nice, 0).result() == min(19, os.nice(0) + build.HELPER_NICE) > os.nice(0)
    assert yielding.submit(os.getpid).result() not in (os.getpid(), plain.submit(os.getpid).result())
    try:
        yielding.submit(divmod, 1, 0).result()
        raise AssertionError("the exception was not sent back")
    except ZeroDivisionError:
        pass
    assert yielding.submit(divmod, 7, 2).result() == (3, 1)  # still serving after an exception
finally:
    for helper in (plain, yielding):
        helper.close()
print("checked")
"""


def test_helpers_run_functions_at_the_niceness_they_were_given():
    """workers.Helper: runs what it is sent in its own process and sends back the result, or the exception;
    made nicer, it runs at the build's niceness plus that, and the others do not (the Turtle and checks helpers
    yield to the JSON-LD's in a build from scratch, build.HELPER_NICE). In a fresh interpreter: helpers are only
    forked from a process without other threads."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HELPER_CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "checked", done.stderr


def test_crc32_combine_gives_the_crc_of_the_data_put_together():
    """rdf_gzip.crc32_combine (zlib's, which Python's zlib lacks): the gzip of ysv.nq combines its chunks' kept
    CRC-32s instead of reading 285 MB again."""
    import random
    import zlib

    rng = random.Random(13)
    for _ in range(300):
        a = rng.randbytes(rng.choice([0, 1, 7, 100, 5000]))
        b = rng.randbytes(rng.choice([0, 1, 3, 64, 4097, 70000]))
        assert rdf_gzip.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    parts = [rng.randbytes(rng.randint(0, 3000)) for _ in range(50)]
    deflated = [rdf_gzip.deflate_chunk(part) for part in parts]
    crcs = [zlib.crc32(part) if rng.random() < 0.7 else None for part in parts]  # some known, some not
    import gzip

    member = rdf_gzip.gzip_member(parts, deflated, crcs)
    assert member == rdf_gzip.gzip_member(parts, deflated) and gzip.decompress(member) == b"".join(parts)

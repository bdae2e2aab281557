"""A rebuild brings the union of the graphs' lines up to date instead of merging them all again (union.py): the
union, the lines held by several graphs, the entailments and what is asserted of them must always be what they
would be if made afresh."""
from __future__ import annotations

import random
import shutil

import pytest

from ysv_graph.incremental import build
from ysv_graph.incremental import union
from ysv_graph.rdf.terms import Base

from conftest import corpus_module

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _through_the_screen(monkeypatch):
    """These tests are of the path a build above VALIDATE_WHOLE_BELOW takes (screen, batches, recheck): the size
    is set to 0 so that even small data takes it (tests/test_validation_differential.py: it equals pyshacl)."""
    monkeypatch.setenv("YSV_VALIDATE_WHOLE_BELOW", "0")


MERGED_AFRESH = "documents' lines merged afresh (not updated)"


def _lines(rng: random.Random, pool: list[bytes], size: int) -> list[bytes]:
    return sorted(set(rng.sample(pool, min(size, len(pool)))))


def _pool(n: int) -> list[bytes]:
    # lines that begin others ("<s1> ..." and "<s10> ..."), so that the bisection sees neighbours that share a start
    return [b"<s%d> <p%d> \"o%d\" ." % (i % 37, i % 3, i) for i in range(n)]


def _afresh(graphs: dict[str, list[bytes]]) -> union.Union:
    distinct, repeats = union.merged(graphs.values())
    return union.Union.of(distinct, repeats, {name: union._digest(lines) for name, lines in graphs.items()})


def test_line_at_and_holds_agree_with_a_sorted_list():
    rng = random.Random(3)
    for _ in range(200):
        lines = _lines(rng, _pool(120), rng.randint(0, 40))
        data = b"".join(line + b"\n" for line in lines)
        offsets = [sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines) + 1)]
        for key in rng.sample(_pool(130), 20) + [b"", b"<s1>", b"<s1> ", b"~"]:
            i = sum(1 for line in lines if line < key)
            assert union.line_at(data, key) == offsets[i]
            assert union.holds(data, key) == (key in lines)


def test_splicing_lines_in_and_out_gives_the_sorted_lines():
    rng = random.Random(5)
    pool = _pool(150)
    for _ in range(300):
        lines = _lines(rng, pool, rng.randint(0, 50))
        removed = sorted(rng.sample(lines, rng.randint(0, len(lines))))
        added = sorted(set(rng.sample(pool, rng.randint(0, 30))) - set(lines))
        data = b"".join(line + b"\n" for line in lines)
        expected = sorted((set(lines) - set(removed)) | set(added))
        assert union.spliced(data, added, removed) == b"".join(line + b"\n" for line in expected)
    with pytest.raises(union.Inconsistent):
        union.spliced(b"<a> <b> <c> .\n", [], [b"<a> <b> <d> ."])


def test_an_updated_union_is_the_union_made_afresh():
    """Random graphs sharing many lines, changed again and again (lines edited, graphs added and removed, all
    removed): the union, its holders, size and members, and the lines it gained and lost, against the union made
    from nothing."""
    rng = random.Random(11)
    pool = _pool(90)  # few lines for many graphs: most lines are held by several
    for _trial in range(20):
        graphs = {f"g{i}": _lines(rng, pool, rng.randint(0, 25)) for i in range(rng.randint(0, 8))}
        kept = _afresh(graphs)
        for _step in range(15):
            previous = dict(graphs)
            changes = {}
            for name in rng.sample(sorted(graphs), min(len(graphs), rng.randint(0, 3))):
                if rng.random() < 0.2:
                    changes[name] = (graphs.pop(name), None, None)
                else:
                    old = graphs[name]
                    new = _lines(rng, pool, rng.randint(0, 25)) if rng.random() < 0.3 else sorted(
                        (set(old) - set(rng.sample(old, min(len(old), 2)))) | set(rng.sample(pool, 2)))
                    graphs[name] = new
                    changes[name] = (old, union._digest(new), new)
            if rng.random() < 0.4:
                name = f"n{rng.randint(0, 10**6)}"
                graphs[name] = _lines(rng, pool, rng.randint(0, 25))
                changes[name] = (None, union._digest(graphs[name]), graphs[name])
            before = set(_afresh(previous).lines())
            kept, added, removed = kept.updated(changes)
            expected = _afresh(graphs)
            assert b"".join(kept.pieces()) == expected.data  # the pieces ysv.nt is written from (not kept)
            if rng.random() < 0.4:  # else its lines are spliced later, after more updates (put together first)
                assert kept.data == expected.data
            assert kept.holders == expected.holders
            assert kept.members == expected.members
            assert len(kept) == len(expected) == len(expected.lines())
            after = set(expected.lines())
            assert added == sorted(after - before) and removed == sorted(before - after)
            assert all(kept.count(line) == expected.count(line) for line in pool)
        assert kept.data == _afresh(graphs).data


def test_old_lines_that_were_not_counted_are_refused():
    kept = _afresh({"a": [b"<x> <p> <y> ."], "b": [b"<x> <p> <y> ."]})
    with pytest.raises(union.Inconsistent):  # "a" did not hold this line
        kept.updated({"a": ([b"<x> <p> <z> ."], "d", [])})
    with pytest.raises(union.Inconsistent):  # the line is held by two graphs, not three
        kept.updated({"a": ([b"<x> <p> <y> ."], "d", []), "b": ([b"<x> <p> <y> ."], "d", []),
                      "c": ([b"<x> <p> <y> ."], "d", [])})


def _documents(rng, pool, entailed_pool, names):
    return {name: (f"d{rng.random()}", _lines(rng, pool, rng.randint(0, 20)),
                   _lines(rng, entailed_pool, rng.randint(0, 15))) for name in names}


def _finished(merged: union.Merged, metadata: list[bytes]) -> tuple:
    done = merged.with_metadata(metadata)
    return (done.asserted.data, done.asserted.holders, done.asserted.members, len(done.asserted),
            done.entailed.data, done.entailed.holders, done.entailed.members, done.overlap,
            merged.shared(), done.entailments())


def test_merged_brought_up_to_date_equals_merged_afresh():
    """The documents' lines, the metadata's, the entailments of both and what is asserted of them: after random
    changes to documents (edited, gone, new), to the metadata as mapped and described, and to the metadata's
    entailments, everything equals what afresh() and with_metadata() make from nothing. The pools overlap, so
    entailed lines are often asserted, by documents and by the metadata."""
    rng = random.Random(17)
    pool = _pool(70)
    entailed_pool = _pool(50) + [b"<e%d> <p> <q> ." % i for i in range(30)]
    for _trial in range(25):
        docs = _documents(rng, pool, entailed_pool, [f"doc{i}" for i in range(rng.randint(0, 6))])
        mapped, metadata = _lines(rng, pool, 10), _lines(rng, pool, 15)
        entailed_metadata = _lines(rng, entailed_pool, 8)
        kept = union.Merged.afresh(docs, mapped, entailed_metadata).with_metadata(metadata)
        for _step in range(10):
            changes = {}
            for name in rng.sample(sorted(docs), min(len(docs), rng.randint(0, 3))):
                digest, asserted, entailed = docs[name]
                if rng.random() < 0.25:
                    del docs[name]
                    changes[name] = (asserted, entailed, None, None, None)
                else:
                    docs[name] = _documents(rng, pool, entailed_pool, [name])[name]
                    changes[name] = (asserted, entailed, *docs[name])
            if rng.random() < 0.4:
                name = f"new{rng.randint(0, 10**6)}"
                docs.update(_documents(rng, pool, entailed_pool, [name]))
                changes[name] = (None, None, *docs[name])
            if rng.random() < 0.5:
                mapped = _lines(rng, pool, 10)
            if rng.random() < 0.5:
                entailed_metadata = _lines(rng, entailed_pool, 8)
            if rng.random() < 0.7:
                metadata = _lines(rng, pool, 15)
            updated = kept.updated(changes, mapped, entailed_metadata)
            assert _finished(updated, metadata) == _finished(union.Merged.afresh(docs, mapped, entailed_metadata),
                                                             metadata)
            kept = updated.with_metadata(metadata)


def test_what_was_merged_is_kept_and_read_back_only_while_its_files_are_as_saved(tmp_path):
    docs = {"a": ("da", [b"<a> <p> <b> .", b"<c> <p> <d> ."], [b"<a> <q> <b> ."]),
            "b": ("db", [b"<c> <p> <d> ."], [b"<c> <p> <d> .", b"<e> <q> <f> ."])}
    merged = union.Merged.afresh(docs, [b"<m> <p> <n> ."], [b"<m> <q> <n> ."]).with_metadata([b"<m> <p> <n> ."])
    assert union.read_merged(tmp_path) is None
    union.save_merged(tmp_path, merged)
    back = union.read_merged(tmp_path)
    assert back is not None
    assert (back.asserted.data, back.asserted.holders, back.asserted.members, len(back.asserted)) == (
        merged.asserted.data, merged.asserted.holders, merged.asserted.members, len(merged.asserted))
    assert (back.entailed.data, back.metadata, back.mapped, back.entailed_metadata, back.overlap,
            back.entailments()) == (merged.entailed.data, merged.metadata, merged.mapped,
                                    merged.entailed_metadata, merged.overlap, merged.entailments())
    # saved again unchanged: the lines' file is left as it was (not written again)
    entailed_file = tmp_path / "union" / "entailed.nt"
    stamp = entailed_file.stat().st_mtime_ns, entailed_file.stat().st_ino
    union.save_merged(tmp_path, back)
    assert (entailed_file.stat().st_mtime_ns, entailed_file.stat().st_ino) == stamp
    assert union.read_merged(tmp_path) is not None
    # but written again if the file is no longer the one read
    back = union.read_merged(tmp_path)
    entailed_file.write_bytes(b"<x> <y> <z> .\n")
    union.save_merged(tmp_path, back)
    assert union.read_merged(tmp_path).entailed.data == merged.entailed.data
    # linked: the asserted lines' file is the file given (a hard link), not a copy
    nt = tmp_path / "ysv.nt"
    nt.write_bytes(merged.asserted.data)
    union.save_merged(tmp_path, merged, nt)
    assert (tmp_path / "union" / "asserted.nt").stat().st_ino == nt.stat().st_ino
    assert union.read_merged(tmp_path) is not None
    # a lines' file changed since (here: in place, through out/'s link) is not trusted
    with open(nt, "r+b") as handle:
        handle.write(b"<z>")
    assert union.read_merged(tmp_path) is None
    # nor a pair of unions from different builds, nor files in another format
    union.save_merged(tmp_path, merged)
    other = union.Merged.afresh({"a": docs["a"]}, [], []).with_metadata([])
    union.save(tmp_path / "union", "asserted", other.asserted, "another build")
    assert union.read_merged(tmp_path) is None
    (tmp_path / "union" / "entailed.pickle").write_bytes(b"not a pickle")
    assert union.read_merged(tmp_path) is None


def test_a_rebuild_updates_the_merge_and_publishes_what_a_build_from_scratch_publishes(tmp_path):
    """On a synthetic corpus: a document edited, one gone, one added back, a build that fails validation in
    between: every build's files equal those of a build without the cache, and the merge is updated, not made
    again, except after the failed build (its kept documents are not those the merge counted)."""
    corpus, cache = tmp_path / "corpus", tmp_path / "cache"
    corpus_module().generate(2, corpus, seed=0)

    def run(**kw):
        return build.run(corpus, None, Base(), write=False, jobs=0, **kw)

    assert run(cache=cache).counts[MERGED_AFRESH] == 1
    assert run(cache=cache).counts[MERGED_AFRESH] == 0
    findings = corpus / "synthetic-report-0001" / "findings.yaml"
    text = findings.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    findings.write_text(text[:position] + " Edited." + text[position:], encoding="utf-8")
    edited = run(cache=cache)
    assert edited.counts[MERGED_AFRESH] == 0 and edited.files == run().files
    response = corpus / "sussex999-vru-funding"  # a source no other names
    shutil.move(response, tmp_path / response.name)  # a document gone
    gone = run(cache=cache)
    assert gone.counts[MERGED_AFRESH] == 0 and gone.files == run().files and gone.files != edited.files
    shutil.move(tmp_path / response.name, response)  # and back: a document added
    back = run(cache=cache)
    assert back.counts[MERGED_AFRESH] == 0 and back.files == edited.files
    sections = corpus / "synthetic-report-0001" / "sections.yaml"
    good = sections.read_text(encoding="utf-8")
    sections.write_text(good.replace('number: "1"', "number: one", 1), encoding="utf-8")  # shapes refuse it
    assert sections.read_text(encoding="utf-8") != good
    with pytest.raises(build.ValidationFailed):
        run(cache=cache)
    sections.write_text(good, encoding="utf-8")
    mended = run(cache=cache)  # the kept document is the broken one, not the one the merge counted: afresh
    assert mended.counts[MERGED_AFRESH] == 1 and mended.files == edited.files
    assert run(cache=cache).counts[MERGED_AFRESH] == 0


def test_a_merge_is_not_brought_up_to_date_from_other_versions_of_the_documents_than_those_it_counted():
    """A build that failed after making a document keeps it, so the document kept is not the version the merge
    counted: lines that version lacks would stay counted for ever (nothing raises: the counts only drift). The
    build then merges afresh."""
    from ysv_graph.incremental import documents

    counted = {"a": ("d1", [b"<a> <p> <b> .", b"<x> <p> <y> ."], []), "b": ("d2", [b"<c> <p> <d> ."], [])}
    kept = union.Merged.afresh(counted, [], []).with_metadata([])
    now = {"a": documents.Document(b"<a> <p> <b> .\n<x> <p> <y> .\n", b"", None, {}, "d1"),
           "b": documents.Document(b"<c> <p> <d> .\n", b"", None, {}, "d2")}
    failed = documents.Document(b"<a> <p> <b> .\n", b"", None, {}, "d3")  # what a failed build kept of "a"
    assert build._merge_updated(kept, now, {"a": failed}, ["a"], [], []) is None
    same = documents.Document(b"<a> <p> <b> .\n<x> <p> <y> .\n", b"", None, {}, "d1")
    merged = build._merge_updated(kept, now, {"a": same}, ["a"], [], [])
    assert merged is not None and merged.asserted.holders == {}


def _snapshot(folder) -> dict:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def test_a_rebuild_into_out_links_reads_little_and_leaves_out_as_it_was_when_the_cache_cannot_be_saved(
        tmp_path, monkeypatch):
    """Builds written into out/ (as the command does): the kept union's lines are a hard link to out/ysv.nt; a
    rebuild after an edit reads the lines of few kept documents (not every one); a build that cannot save its
    cache fails with out/ as it was and no folder left beside it; and a cache that lost its merge (a build
    killed while saving it) checks the whole graph and merges afresh, publishing the same files."""
    from ysv_graph.incremental import documents

    corpus, cache, out = tmp_path / "corpus", tmp_path / "cache", tmp_path / "out"
    corpus_module().generate(2, corpus, seed=0)

    def run(**kw):
        return build.run(corpus, out, Base(), jobs=0, cache=cache, **kw)

    def scratch() -> dict:
        target = tmp_path / "scratch"
        shutil.rmtree(target, ignore_errors=True)
        build.run(corpus, target, Base(), jobs=0)
        return _snapshot(target)

    run()
    assert (cache / "union" / "asserted.nt").stat().st_ino == (out / "ysv.nt").stat().st_ino
    findings = corpus / "synthetic-report-0001" / "findings.yaml"
    text = findings.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    findings.write_text(text[:position] + " Edited." + text[position:], encoding="utf-8")
    reads = []
    original = documents.KeptDocument._read
    monkeypatch.setattr(documents.KeptDocument, "_read",
                        lambda self: reads.append(self._path.name) or original(self))
    edited = run()
    sources = len([folder for folder in corpus.iterdir() if folder.is_dir()])
    assert edited.counts[MERGED_AFRESH] == 0
    assert 0 < len(set(reads)) < sources / 2  # those ysv.nq's remade chunk holds, and the recheck's: not all
    assert _snapshot(out) == scratch()
    assert (cache / "union" / "asserted.nt").stat().st_ino == (out / "ysv.nt").stat().st_ino
    # the cache cannot be saved (the disk is full, say): the build fails, out/ is as it was
    before = _snapshot(out)
    findings.write_text(text, encoding="utf-8")

    def full(*args, **kw):
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr(union, "save_merged", full)
    with pytest.raises(OSError):
        run()
    monkeypatch.undo()
    assert _snapshot(out) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "corpus", "out", "scratch"]
    # next time it builds: the recheck state was saved (the data had conformed), the merge was not, so it is made
    # afresh; nothing changed since the graphs last found to conform, so nothing is checked
    again = run()
    assert again.counts[MERGED_AFRESH] == 1 and again.counts["nodes rechecked (-1: the whole graph)"] == 0
    assert _snapshot(out) == scratch()
    # a merge lost (a build killed after it saved the recheck state): the same
    union.forget_merged(cache)
    findings.write_text(text[:position] + " Edited again." + text[position:], encoding="utf-8")
    lost = run()
    assert lost.counts[MERGED_AFRESH] == 1 and lost.counts["nodes rechecked (-1: the whole graph)"] == -1
    assert _snapshot(out) == scratch()
    assert run().counts[MERGED_AFRESH] == 0


def test_a_kept_union_that_counts_a_line_it_does_not_hold_is_refused_at_once():
    """A damaged kept union (its counts name a line its lines lack) is found when it is updated, so the build
    merges afresh, rather than when its lines are put together later."""
    kept = union.Union(b"<a> <p> <b> .\n", {"g": "d"}, {b"<z> <p> <z> .": 2})
    with pytest.raises(union.Inconsistent):
        kept.updated({"g": ([b"<z> <p> <z> ."], "e", []), "h": ([b"<z> <p> <z> ."], None, [])})

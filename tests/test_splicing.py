"""A rebuild's Turtle and JSON-LD are made from the runs kept of the last build (kept_runs.KeptRuns): only the spans
of runs holding a changed subject are cut again from the N-Triples (kept_runs._run_list). The result must be,
byte for byte, what the writers make of the whole N-Triples from nothing, whatever the edit: subjects changed,
added (also before the first and after the last, and subjects that end a run), removed (also those that end a
run, so that two runs become one), and edits that change the JSON-LD context."""
from __future__ import annotations

import gzip
import random
import zlib

import pytest

from ysv_graph.incremental import runs as kept_runs
from ysv_graph.rdf import ntriples
from ysv_graph.pipeline import writing
from ysv_graph.rdf.terms import Base

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow

BASE = Base()
TURTLE_PREFIXES = BASE.prefixes(per_kind=True)
JSON_LD_PREFIXES = BASE.prefixes()
TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
TITLE = "<http://purl.org/dc/terms/title>"
LINK = "<http://purl.org/dc/terms/references>"


def _subject(i: int) -> bytes:
    return f"<https://w3id.org/ysv/id/finding/f{i:05d}>".encode()


def _ends_a_run(subject: bytes) -> bool:
    return zlib.crc32(subject) % ntriples.RUN_EVERY == 0


def _lines_of(i: int, version: int = 0) -> list[bytes]:
    s = _subject(i).decode()
    lines = [f'{s} {TITLE} "Finding {i} (version {version})"@en .',
             f"{s} {LINK} <{_subject((i * 7) % 3000).decode()[1:-1]}> ."]
    if i % 3:
        lines.append(f"{s} {TYPE} <https://w3id.org/ysv/def/Finding> .")
    return [line.encode() for line in lines]


def _whole(lines: set[bytes]) -> bytes:
    return ntriples.joined(sorted(lines))


def _from_nothing(path, tmp_path) -> tuple[bytes, bytes, bytes, bytes]:
    """What the writers make of the file without any cache: the Turtle, the context, the JSON-LD and the Turtle's
    gzip (whose chunks end after runs, so a rebuild must cut its runs where a build from nothing does)."""
    turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, None)
    context, json_ld = kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, None)[:2]
    return turtle[0], context, json_ld, turtle[1]


def _first_subjects(path) -> list[bytes]:
    """Where a build from nothing starts its runs."""
    return [run[:run.find(b" ")] for run in ntriples.subject_runs(path.read_bytes().splitlines())]


def _changed_subjects(before: set[bytes], after: set[bytes]) -> tuple[bytes, ...]:
    return tuple(sorted({line[:line.find(b" ")] for line in before ^ after}))


@pytest.fixture
def start(tmp_path):
    lines = {line for i in range(0, 3000, 2) for line in _lines_of(i)}  # the odd numbers are free to be added
    path = tmp_path / "ysv.nt"
    path.write_bytes(_whole(lines))
    cache = tmp_path / "cache"
    changes = kept_runs.Changes(b"token 0")
    kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
    kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, changes)
    return lines, path, cache


def _edits(lines: set[bytes], rng: random.Random) -> set[bytes]:
    """Subjects changed, removed (some that end a run among them) and added (some that end a run, one before the
    first subject and one after the last)."""
    present = sorted({int(line[line.index(b"/finding/f") + 10:line.index(b">")]) for line in lines
                      if line.startswith(b"<https://w3id.org/ysv/id/finding/f")})
    edited = set(lines)
    enders = [i for i in present if _ends_a_run(_subject(i))]
    for i in rng.sample(present, 5) + rng.sample(enders, 2):  # changed or removed
        edited -= {line for line in edited if line.startswith(_subject(i) + b" ")}
        if rng.random() < 0.5:
            edited |= set(_lines_of(i, version=rng.randrange(1, 1000)))
    free = [i for i in range(1, 3000, 2) if i not in present]
    added = rng.sample(free, 4) + rng.sample([i for i in free if _ends_a_run(_subject(i))], 2)
    for i in added:
        edited |= set(_lines_of(i))
    edited.add(b'<https://w3id.org/ysv/id/finding/a-first> ' + TITLE.encode() + b' "First"@en .')
    edited.add(b'<https://w3id.org/ysv/id/finding/zz-last> ' + TITLE.encode() + b' "Last"@en .')
    return edited


@pytest.mark.parametrize("seed", range(6))
def test_spliced_outputs_equal_the_whole_made_from_nothing(start, tmp_path, seed, monkeypatch):
    lines, path, cache = start
    rng = random.Random(seed)
    cut_sizes = []
    for cut in ("turtle_cut", "json_ld_cut"):
        real = getattr(kept_runs, cut)
        monkeypatch.setattr(kept_runs, cut, lambda data, real=real: cut_sizes.append(len(data)) or real(data))
    before, token = lines, b"token 0"
    for step in range(3):  # edits upon edits: each build splices into the runs the last one kept
        after = _edits(before, rng)
        path.write_bytes(_whole(after))
        changes = kept_runs.Changes(f"token {step + 1}".encode(), token, _changed_subjects(before, after))
        cut_sizes.clear()
        turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
        json_ld = kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, changes)
        largest_cut = max(cut_sizes)
        expected = _from_nothing(path, tmp_path)
        assert (turtle[0], json_ld[0], json_ld[1], turtle[1]) == expected
        assert gzip.decompress(turtle[1]) == expected[0]
        for name in ("turtle", "json-ld"):  # the runs kept for the next build are those of a build from nothing
            assert kept_runs.KeptRuns.read(cache, name).firsts == _first_subjects(path)
        runs = len(ntriples.subject_runs(path.read_bytes().splitlines()))
        assert turtle[3] > runs // 2 and json_ld[3] > runs // 2  # most runs were taken as they were ...
        assert 0 < largest_cut < path.stat().st_size // 4  # ... and only small spans of the file cut again
        assert 1 <= turtle[2] <= 40
        before, token = after, changes.now


def test_a_new_property_changes_the_context_and_every_run_is_made_again(start, tmp_path):
    lines, path, cache = start
    after = lines | {b'<https://w3id.org/ysv/id/finding/f00004> <https://w3id.org/ysv/def/brandNew> "1" .'}
    path.write_bytes(_whole(after))
    changes = kept_runs.Changes(b"token 1", b"token 0", _changed_subjects(lines, after))
    json_ld = kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, changes)
    assert b"brandNew" in json_ld[0] and json_ld[3] == 0  # no kept run could be used under the new context
    assert (json_ld[0], json_ld[1]) == _from_nothing(path, tmp_path)[1:3]
    turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
    assert turtle[0] == _from_nothing(path, tmp_path)[0] and turtle[3] > 0  # the Turtle has no context


@pytest.mark.parametrize("before", [b"token 9", None])
def test_runs_kept_of_other_n_triples_are_not_spliced_into(start, tmp_path, before):
    """The kept runs name the N-Triples they were made from; changes counted against other N-Triples (a build
    that failed validation after writing kept runs of data that was never published) mean cutting the whole."""
    lines, path, cache = start
    after = {line for line in lines if not line.startswith(_subject(10) + b" ")}
    path.write_bytes(_whole(after))
    changes = kept_runs.Changes(b"token 1", before, ())  # a wrong (empty) list of subjects: must not be trusted
    turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
    json_ld = kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, changes)
    assert turtle[3] == json_ld[3] == 0
    assert (turtle[0], json_ld[0], json_ld[1], turtle[1]) == _from_nothing(path, tmp_path)


def test_line_at_finds_where_a_subject_starts_by_bisection():
    lines = sorted(line for i in range(0, 200, 2) for line in _lines_of(i))
    data = ntriples.joined(lines)
    for i in range(-1, 202):
        key = _subject(i) if i >= 0 else b"<"
        expected = sum(len(line) + 1 for line in lines if line < key)
        assert ntriples.line_at(data, key) == expected
    assert ntriples.line_at(data, b"~") == len(data)


def test_kept_runs_are_written_in_blocks_and_a_rebuild_writes_only_those_it_changed(start, tmp_path, monkeypatch):
    """kept_runs.KeptRuns.save keeps the bodies in blocks of runs, each a file named by what it holds: after an edit
    of one subject only its block is new (the JSON-LD's bodies are tens of megabytes: rewriting them every build
    cost more than the rest of the splice); a damaged block means no kept runs, and the outputs are still right."""
    lines, path, cache = start
    monkeypatch.setattr(kept_runs, "BLOCK_EVERY", 4)  # this small graph's 50 runs in a dozen blocks
    kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, kept_runs.Changes(b"token 0"))
    folder = cache / "render" / "turtle-blocks"
    before = {p.name: p.stat().st_ino for p in folder.glob("*.block")}
    assert len(before) > 3
    after = {line.replace(b"version 0", b"version 9") if line.startswith(_subject(100) + b" ") else line
             for line in lines}
    path.write_bytes(_whole(after))
    changes = kept_runs.Changes(b"token 1", b"token 0", _changed_subjects(lines, after))
    turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
    now = {p.name: p.stat().st_ino for p in folder.glob("*.block")}
    assert len(set(now) - set(before)) == 1 and len(now) == len(before)  # one block replaced, the old one gone
    assert all(before[name] == now[name] for name in set(now) & set(before))  # the others not rewritten
    assert turtle[0] == _from_nothing(path, tmp_path)[0]
    next(iter(folder.glob("*.block"))).write_bytes(b"damaged")
    assert kept_runs.KeptRuns.read(cache, "turtle") is None
    again = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, kept_runs.Changes(b"token 2", b"token 1", ()))
    assert again[0] == turtle[0] and again[3] == 0  # nothing kept could be trusted: every run cut again


@pytest.mark.parametrize("seed", range(4))
def test_spliced_outputs_with_blank_nodes_and_subjects_that_prefix_others(tmp_path, seed):
    """Blank-node subjects sort before IRIs and one label can begin another (_:b1, _:b10, _:b100): a subject's
    lines still come together and spans still start and end between subjects. Edits remove whole spans of runs,
    and at last every line (an empty file)."""
    rng = random.Random(seed)

    def lines_of(label: str, version: int) -> list[bytes]:
        s = label.encode()
        return [s + b" " + TITLE.encode() + b' "%s %d"@en .' % (s, version),
                s + b" <http://purl.org/dc/terms/references> <https://w3id.org/ysv/id/finding/f00001> ."]

    labels = ([f"_:b{i}" for i in (1, 10, 100, 1000, 11, 110)] + [f"_:n{i}" for i in range(600)]
              + [f"<https://w3id.org/ysv/id/finding/f{i}>" for i in (1, 10, 100, 12, 120)]
              + [f"<https://w3id.org/ysv/id/finding/g{i:04d}>" for i in range(900)])
    present = {label: 0 for label in labels}

    def write() -> set[bytes]:
        lines = {line for label, version in present.items() for line in lines_of(label, version)}
        path.write_bytes(_whole(lines))
        return lines

    path = tmp_path / "ysv.nt"
    cache = tmp_path / "cache"
    before = write()
    token = b"token 0"
    kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, kept_runs.Changes(token))
    kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, kept_runs.Changes(token))
    for step in range(4):
        ordered = sorted(present)
        if step == 3:
            present.clear()  # everything removed
        else:
            start = rng.randrange(len(ordered) - 200)
            for label in ordered[start:start + rng.randrange(50, 200)]:  # a whole stretch of subjects removed
                del present[label]
            for label in rng.sample(sorted(present), 5):
                present[label] += 1
            for label in ("_:b1", "_:b10", "_:b101", f"_:z{step}"):
                present[label] = present.get(label, 0) + 1
        after = write()
        changes = kept_runs.Changes(f"token {step + 1}".encode(), token, _changed_subjects(before, after))
        turtle = kept_runs.kept_turtle(str(path), TURTLE_PREFIXES, cache, changes)
        json_ld = kept_runs.kept_json_ld(str(path), JSON_LD_PREFIXES, cache, changes)
        assert (turtle[0], json_ld[0], json_ld[1], turtle[1]) == _from_nothing(path, tmp_path)
        if after:
            assert kept_runs.KeptRuns.read(cache, "turtle").firsts == _first_subjects(path)
        before, token = after, changes.now

"""The synthetic corpus generator (benchmarks/corpus.py): reproducible, valid, and growing linearly."""
from __future__ import annotations

import gzip
import importlib.util
import inspect
from pathlib import Path

import pytest

from ysv_graph.incremental import runs as kept_runs
from ysv_graph.rdf import ntriples
from ysv_graph.rdf import turtle as rdf_turtle
from ysv_graph.incremental import build
from ysv_graph.incremental import documents
from ysv_graph.incremental import parsing
from ysv_graph.rdf.terms import Base

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _through_the_screen(monkeypatch):
    """These tests are of the path a build above VALIDATE_WHOLE_BELOW takes (screen, batches, recheck): the size
    is set to 0 so that even small data takes it (tests/test_validation_differential.py: it equals pyshacl)."""
    monkeypatch.setenv("YSV_VALIDATE_WHOLE_BELOW", "0")


ROOT = Path(__file__).resolve().parents[1]


def _load_corpus_module():
    spec = importlib.util.spec_from_file_location("ysv_benchmarks_corpus", ROOT / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_module()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Corpora of 0 (the shared data only), 1 and 3 synthetic reports, seed 0."""
    root = tmp_path_factory.mktemp("corpus")
    out = {}
    for n in (0, 1, 3):
        corpus.generate(n, root / f"n{n}", seed=0)
        out[n] = root / f"n{n}"
    return out


@pytest.fixture(scope="module")
def builds(corpora):
    return {n: build.run(folder, None, Base(), write=False) for n, folder in corpora.items()}


def test_same_seed_gives_identical_bytes(corpora, tmp_path):
    corpus.generate(3, tmp_path / "again", seed=0)
    assert _snapshot(tmp_path / "again") == _snapshot(corpora[3])


def test_another_seed_gives_other_reports(corpora, tmp_path):
    corpus.generate(3, tmp_path / "other", seed=1)
    first, other = _snapshot(corpora[3]), _snapshot(tmp_path / "other")
    synthetic = [name for name in first if name.startswith("synthetic-report-0001/")]
    assert synthetic and any(first[name] != other.get(name) for name in synthetic)
    # the copied real data does not depend on the seed
    assert first["hmicfrs-report/findings.yaml"] == other["hmicfrs-report/findings.yaml"]


def test_corpus_holds_the_real_data_and_the_synthetic_folders(corpora):
    folder = corpora[3]
    real = sorted(p.name for p in (ROOT / "data").iterdir() if p.is_dir())
    for name in real:
        assert (folder / name).is_dir(), name
    reports = sorted(p.name for p in folder.glob("synthetic-report-????"))
    assert reports == ["synthetic-report-0001", "synthetic-report-0002", "synthetic-report-0003"]
    assert list(folder.glob("synthetic-report-0001-response-*/responses.yaml"))
    for source in folder.glob("synthetic-*/source.yaml"):
        assert "Synthetic" in source.read_text(encoding="utf-8"), source
    assert "synthetic test corpus of 3 reports, seed 0" in (folder / "dataset.yaml").read_text(encoding="utf-8")


def test_a_smaller_corpus_is_a_prefix_of_a_larger_one(corpora):
    small, large = _snapshot(corpora[1]), _snapshot(corpora[3])
    assert all(large[name] == data for name, data in small.items() if name != "dataset.yaml")


@pytest.mark.parametrize("n", [0, 1, 3])
def test_corpus_builds_and_conforms(builds, n):
    result = builds[n]
    assert result.validation.conforms
    assert result.counts["asserted triples"] > 0


def test_asserted_triples_grow_linearly(builds):
    base = builds[0].counts["asserted triples"]
    one = builds[1].counts["asserted triples"] - base
    per_report_of_three = (builds[3].counts["asserted triples"] - base) / 3
    assert 700 <= one <= 1400, one  # about 1,000 asserted triples per report
    assert abs(one - per_report_of_three) <= 0.2 * per_report_of_three, (one, per_report_of_three)
    assert builds[3].counts["sources"] > builds[1].counts["sources"] > builds[0].counts["sources"]


def test_refuses_to_overwrite_real_data_or_a_foreign_folder(tmp_path):
    with pytest.raises(SystemExit):
        corpus.generate(1, ROOT / "data")
    with pytest.raises(SystemExit):
        corpus.generate(1, ROOT / "out" / "corpus")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit):
        corpus.generate(1, foreign)
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "mine"


def _build(data: Path, out: Path, *extra: str) -> tuple[int, str]:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "ysv_graph", "build", "--data", str(data), "--out", str(out),
                          "--no-site", "--timings", *extra], capture_output=True, text=True)
    return run.returncode, run.stdout + run.stderr


def _count(output: str, row: str) -> int:
    line = next(line for line in output.splitlines() if f"│ {row} " in line)
    return int(line.split("│")[-2])


def test_rebuilds_with_the_cache_equal_builds_from_scratch(corpora, tmp_path):
    """A small corpus built through the CLI, with the cache: a second build does not screen the unchanged graph
    again; after one report is edited it is screened again; every build that succeeds writes exactly what a
    build without any cache writes; after a mistake is made the build fails although the cache holds the
    screen's answer for the graph as it was, and pyshacl's result for the broken batch is cached and gives the
    same report the next time."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(corpora[3], data)
    cache = tmp_path / "cache"
    code, first = _build(data, tmp_path / "out", "--cache", str(cache), "--jobs", "2")
    assert code == 0, first
    assert _count(first, "screened (not cached)") == 1 and _count(first, "batches for pyshacl") == 0
    assert _count(first, "nodes rechecked (-1: the whole graph)") == -1  # nothing validated before: the whole graph
    assert len(list((cache / "screen").glob("*.pickle"))) == 1
    assert len(list((cache / "ontology").glob("*.pickle"))) == 1  # owlrl's closure of the ontology
    made = _count(first, "Turtle runs written (not cached)")
    assert made > 20 and _count(first, "JSON-LD parts made (not cached)") == 2 * made  # a run's usage and nodes
    sources = len([folder for folder in data.iterdir() if folder.is_dir()])
    assert _count(first, "documents made (not kept)") == sources
    assert len(list((cache / "documents").glob("*.pickle"))) == sources
    code, again = _build(data, tmp_path / "out", "--cache", str(cache), "--jobs", "2")
    assert code == 0 and _count(again, "screened (not cached)") == 0
    assert _count(again, "nodes rechecked (-1: the whole graph)") == 0
    assert _count(again, "Turtle runs written (not cached)") == _count(again, "JSON-LD parts made (not cached)") == 0
    assert _count(again, "documents made (not kept)") == 0
    findings = data / "synthetic-report-0002" / "findings.yaml"
    text = findings.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    findings.write_text(text[:position] + " Edited." + text[position:], encoding="utf-8")
    code, edited = _build(data, tmp_path / "out", "--cache", str(cache), "--jobs", "2")
    assert code == 0, edited
    assert _count(edited, "screened (not cached)") == 1
    assert 1 <= _count(edited, "nodes rechecked (-1: the whole graph)") <= 20  # the finding, the file's node, ...
    assert 1 <= _count(edited, "Turtle runs written (not cached)") <= 3  # the finding's run and the metadata's
    assert _count(edited, "documents made (not kept)") == 1  # the edited report's; the others are kept
    assert len(list((cache / "screen").glob("*.pickle"))) == 1  # the whole graph's answer: from the first build
    code, scratch = _build(data, tmp_path / "scratch", "--no-cache", "--jobs", "0")
    assert code == 0, scratch
    assert _snapshot(tmp_path / "out") == _snapshot(tmp_path / "scratch")
    # a section numbered "one" (the loader lets it through; a shape does not): the cached answers for the
    # graph as it was must not hide it
    findings.write_text(text + "sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n"
                        "    number: one\n    title: T\n    order: 8\n", encoding="utf-8")
    code, broken = _build(data, tmp_path / "out", "--cache", str(cache), "--jobs", "2")
    assert code == 1, broken
    assert "violation: https://w3id.org/ysv/id/section/sec-bad-1" in broken
    kept = documents.DocumentCache(cache, b"").previous("synthetic-report-0002")  # made again from the new files
    assert b"/id/section/sec-bad-1>" in kept.asserted
    assert _snapshot(tmp_path / "out") == _snapshot(tmp_path / "scratch")  # out/ left as it was
    pickles = sorted((cache / "validation").glob("*.pickle"))
    assert len(pickles) == 1  # pyshacl's result for the one batch home to the broken section
    code, again = _build(data, tmp_path / "out", "--cache", str(cache), "--jobs", "2")
    assert code == 1
    assert [line for line in again.splitlines() if line.startswith("violation:")] == \
        [line for line in broken.splitlines() if line.startswith("violation:")]
    assert sorted((cache / "validation").glob("*.pickle")) == pickles


def _loaded(curated) -> str:
    return repr(([(k, s.values, str(s.path), s.display, s.lines) for k, s in curated.sources.items()],
                 [(kind, [(r.key, r.values, r.source, str(r.path), r.line, r.lines, r.display)
                          for r in records.values()]) for kind, records in curated.records.items()],
                 curated.files, curated.dataset))


LOAD_BOTH_WAYS = """
import json, sys, threading
from pathlib import Path
from ysv_graph.incremental import parsing
from ysv_graph.pipeline import load as loading

""" + inspect.getsource(_loaded) + """
assert threading.active_count() == 1  # else load() would not fork, and this would compare one process twice
out = []
for threshold in (10**9, 1):  # one process, then the pool
    parsing.PARALLEL_FOLDERS = threshold
    try:
        out.append(["loaded", _loaded(parsing.load(Path(sys.argv[1])))])
    except loading.DataErrors as exc:
        out.append(["errors", [str(e) for e in exc.errors]])
print(json.dumps(out))
"""


def test_parsing_in_parallel_loads_exactly_what_one_process_loads(corpora, tmp_path):
    """A big corpus is parsed by a pool of processes (parsing.PARALLEL_FOLDERS); the records, their order, the
    file checksums and, for bad data, the errors and their order must be those of parsing in one process. Run
    in a fresh process: load() forks only where no other thread runs."""
    import json
    import shutil
    import subprocess
    import sys

    def both(folder: Path):
        run = subprocess.run([sys.executable, "-c", LOAD_BOTH_WAYS, str(folder)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    sequential, parallel = both(corpora[3])
    assert sequential[0] == "loaded" and sequential == parallel
    data = tmp_path / "data"
    shutil.copytree(corpora[3], data)
    # mistakes in several folders: an id defined twice (in two folders), a field of the wrong type, bad YAML
    (data / "synthetic-report-0003" / "zz-extra.yaml").write_text(
        "sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n    number: one\n    title: T\n"
        "    order: 8\n", encoding="utf-8")
    (data / "synthetic-report-0001" / "zz-extra.yaml").write_text(
        "sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n    number: 1\n    title: T\n"
        "    order: 8\n  - id: sec-bad-2\n    report: syv-inspection-report\n    number: 2\n    title: U\n"
        "    order: x\n", encoding="utf-8")
    (data / "synthetic-report-0002" / "zz-broken.yaml").write_text("sections: [\n", encoding="utf-8")
    sequential, parallel = both(data)
    assert sequential[0] == "errors" and len(sequential[1]) >= 3
    assert any("already defined" in line for line in sequential[1])
    assert sequential == parallel



def _load_or_errors(data: Path, cache: Path | None) -> str:
    from ysv_graph.pipeline import load as loading
    try:
        return _loaded(parsing.load(data, 0, cache))
    except loading.DataErrors as exc:
        return "\n".join(str(e) for e in exc.errors)


def test_folder_keys_come_from_the_stat_index_while_the_files_stat_the_same(corpora, tmp_path, monkeypatch):
    """parsing.ParseCache._keys: a folder's files are read and hashed only when their stat (names, sizes, times,
    inodes) changed, or changed too recently to be trusted; the keys are always those hashing gives."""
    import os
    import shutil
    import time

    from ysv_graph.pipeline import load as loading

    data, cache = tmp_path / "data", tmp_path / "cache"
    shutil.copytree(corpora[1], data)
    folders = sorted(p.name for p in data.iterdir() if p.is_dir())
    hashed: list[str] = []
    folder_key = parsing._folder_key
    monkeypatch.setattr(parsing, "_folder_key", lambda folder, code: hashed.append(folder.name)
                        or folder_key(folder, code))
    first = parsing.load(data, 0, cache)
    assert sorted(hashed) == folders  # the files were copied a moment ago: too recent to trust their stat
    hashed.clear()
    parsing.load(data, 0, cache)
    assert sorted(hashed) == folders
    time.sleep(parsing.ParseCache.RACY_NS / 1e9 + 0.2)
    hashed.clear()
    parsing.load(data, 0, cache)
    assert sorted(hashed) == folders  # the index is kept now
    hashed.clear()
    again = parsing.load(data, 0, cache)
    assert hashed == [] and again.parse_keys == first.parse_keys
    # the same size and modification time, other bytes: the change time tells
    path = sorted((data / "synthetic-report-0001").glob("findings.yaml"))[0]
    stat, text = path.stat(), path.read_bytes()
    position = text.index(b"statement: ") + len(b"statement: ")
    path.write_bytes(text[:position] + (b"X" if text[position:position + 1] != b"X" else b"Y") + text[position + 1:])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    hashed.clear()
    changed = parsing.load(data, 0, cache)
    assert hashed == ["synthetic-report-0001"]
    assert changed.parse_keys["synthetic-report-0001"] != first.parse_keys["synthetic-report-0001"]
    assert {k: v for k, v in changed.parse_keys.items() if k != "synthetic-report-0001"} == \
        {k: v for k, v in first.parse_keys.items() if k != "synthetic-report-0001"}


def test_yaml_files_are_listed_as_rglob_lists_them(tmp_path):
    """loading._yaml_files lists with os.walk what sorted(rglob("*.yaml")) finds, in the same order: nested and
    hidden folders, names that sort differently as strings and as paths, no *.yml, no symlinked folders."""
    import os

    from ysv_graph.pipeline import load as loading

    for name in ("dataset.yaml", "a/source.yaml", "a/x.yml", "a-b/source.yaml", "a/b/deep.yaml", "a.b/c.yaml",
                 ".hidden/source.yaml", "a/.dot.yaml", "z/notes.txt", "A/upper.yaml"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x: 1\n")
    (tmp_path / "folder.yaml").mkdir()  # rglob matches folders too
    os.symlink(tmp_path / "a", tmp_path / "linked")  # and does not go into linked folders
    os.symlink(tmp_path / "a", tmp_path / "linked.yaml")  # but lists them
    expected = [str(p.relative_to(tmp_path)) for p in sorted(tmp_path.rglob("*.yaml"))]
    assert "a/b/deep.yaml" in expected and "linked/source.yaml" not in expected and "linked.yaml" in expected
    assert loading._yaml_files(tmp_path) == expected


def test_references_are_checked_again_only_in_changed_folders_while_ids_and_kinds_stay(corpora, tmp_path,
                                                                                         monkeypatch):
    """parsing.ReferenceCache: after a load that passed, the next checks the references of the folders whose
    files changed only, while the source folders and every id's kind are the same; any other change checks every
    folder. Whatever is checked, the outcome is what a load without the cache gives."""
    import shutil

    from ysv_graph.pipeline import load as loading

    data, cache = tmp_path / "data", tmp_path / "cache"
    shutil.copytree(corpora[1], data)
    checked: list = []
    check = loading._check_references
    monkeypatch.setattr(loading, "_check_references",
                        lambda curated, errors, only=None: checked.append(only) or check(curated, errors, only))

    def load() -> tuple[set[str] | None, str]:
        checked.clear()
        through_cache = _load_or_errors(data, cache)
        only = checked[0]
        assert through_cache == _load_or_errors(data, None)
        return only, through_cache

    assert load()[0] is None  # nothing kept yet
    assert load()[0] == set()
    path = data / "synthetic-report-0001" / "recommendations.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("addressed_to: [chief-constables]", "addressed_to: [no-such-body]", 1),
                    encoding="utf-8")
    only, errors = load()
    assert only == {"synthetic-report-0001"} and "unknown id 'no-such-body'" in errors
    path.write_text(text, encoding="utf-8")
    assert load()[0] == set()  # as at the last load that passed
    # a record that an unchanged folder names goes (its id changes): the ids changed, so every folder is checked,
    # and the unchanged folder's references to it no longer hold
    path.write_text(text.replace("id: syv-s0001-rec-1\n", "id: syv-s0001-rec-1-renamed\n", 1), encoding="utf-8")
    only, errors = load()
    assert only is None
    assert "synthetic-report-0001-response-warwickshire" in errors and "unknown id 'syv-s0001-rec-1'" in errors
    path.write_text(text, encoding="utf-8")
    assert load()[0] == set()
    # a folder that others name goes: the sources changed, so every folder is checked, and the others' references
    # to it no longer hold
    shutil.rmtree(data / "synthetic-report-0001-response-warwickshire")
    only, errors = load()
    assert only is None and "no source folder is called 'synthetic-report-0001-response-warwickshire'" in errors


def test_parse_cache_loads_what_parsing_loads_and_parses_only_changed_folders(corpora, tmp_path, monkeypatch):
    """parsing.ParseCache: a folder whose files are unchanged is not parsed again, and what the cache gives is
    exactly what parsing gives, records, checksums and errors alike, whatever was changed, moved or damaged."""
    import shutil

    from ysv_graph.pipeline import load as loading

    data, cache = tmp_path / "data", tmp_path / "cache"
    shutil.copytree(corpora[3], data)
    folders = sorted(p.name for p in data.iterdir() if p.is_dir())
    parsed: list[str] = []
    parse = loading._parse_folder
    monkeypatch.setattr(loading, "_parse_folder",
                        lambda folder, root: parsed.append(folder.name) or parse(folder, root))

    def load_twice() -> str:
        """Loaded through the cache; checked against a load without it."""
        parsed.clear()
        through_cache = _load_or_errors(data, cache)
        fresh_parsed = list(parsed)
        assert through_cache == _load_or_errors(data, None)
        parsed[:] = fresh_parsed
        return through_cache

    first = load_twice()
    assert first.startswith("([") and parsed == folders
    assert load_twice() == first and parsed == []
    assert len(list((cache / "load").glob("*.pickle"))) == len(folders)

    report = data / "synthetic-report-0002"
    edited = sorted(report.glob("*.yaml"))[-1]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert load_twice() != first and parsed == ["synthetic-report-0002"]  # its checksum changed, nothing else
    (report / "zz-broken.yaml").write_text("sections: [\n", encoding="utf-8")
    broken = load_twice()
    assert "zz-broken.yaml" in broken and parsed == ["synthetic-report-0002"]
    assert load_twice() == broken and parsed == []  # the errors come back from the cache, the same
    (report / "zz-broken.yaml").unlink()
    (data / "zz-extra").mkdir()
    shutil.copy(report / "source.yaml", data / "zz-extra" / "source.yaml")
    assert load_twice().startswith("([") and parsed == ["synthetic-report-0002", "zz-extra"]
    shutil.rmtree(data / "zz-extra")
    assert load_twice().startswith("([") and parsed == []
    assert len(list((cache / "load").glob("*.pickle"))) == len(folders)  # entries of changed or gone folders pruned

    entry = sorted((cache / "load").glob("*.pickle"))[0]
    entry.write_bytes(b"not a pickle")
    load_twice()
    assert len(parsed) == 1  # the damaged entry's folder, parsed again

    moved = tmp_path / "moved"
    data.rename(moved)
    data = moved  # files are named by where the data folder is: a moved folder is parsed again
    assert load_twice().count(str(moved)) > 0 and sorted(parsed) == sorted(p.name for p in moved.iterdir()
                                                                             if p.is_dir())


def test_turtle_and_json_ld_made_run_by_run_equal_the_whole_and_the_cache_remakes_only_what_changed(
        builds, tmp_path):
    """kept_runs.kept_turtle and kept_json_ld cut the sorted N-Triples into runs of subjects and render each on its own
    (RenderCache keeps them between builds). Put together, they must be exactly what pyoxigraph's Turtle writer
    and jsonld.dumps make of the whole graph; after an edit, only the runs holding changed subjects are made
    again, and the result is again exactly that of the whole."""
    import pyoxigraph as ox

    from ysv_graph.rdf import jsonld
    from ysv_graph.pipeline import writing

    base = Base()
    ttl_prefixes, json_prefixes = base.prefixes(per_kind=True), base.prefixes()

    def reference(nt: bytes) -> tuple[bytes, bytes]:
        lines = nt.replace(rdf_turtle.TYPE_PREDICATE, rdf_turtle.TYPE_MARKER).splitlines()
        lines.sort()
        ordered = ntriples.joined(lines).replace(rdf_turtle.TYPE_MARKER, rdf_turtle.TYPE_PREDICATE)
        turtle = ox.serialize(ox.parse(ordered, format=ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.TURTLE,
                              prefixes=ttl_prefixes)
        return turtle, jsonld.dumps(nt, jsonld.build_context(jsonld.read(nt), json_prefixes))

    nt = builds[3].files["ysv.nt"]
    path = tmp_path / "ysv.nt"
    path.write_bytes(nt)
    turtle, json_ld = reference(nt)
    runs = len(ntriples.subject_runs(nt.splitlines()))
    assert runs > 20  # enough runs that keeping them matters
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):  # without a cache; filling it; from it
        made_turtle = kept_runs.kept_turtle(str(path), ttl_prefixes, cache)
        made_json = kept_runs.kept_json_ld(str(path), json_prefixes, cache)
        assert made_turtle[0] == turtle and made_json[1] == json_ld
        assert gzip.decompress(made_turtle[1]) == turtle
    assert made_turtle[2] == 0 and made_json[2] == 0  # the last time, everything came from the cache
    real_digest = kept_runs.writers_digest
    try:  # other writers' code (or another pyoxigraph): nothing is taken from the cache
        kept_runs.writers_digest = lambda: b"other code"
        assert kept_runs.kept_turtle(str(path), ttl_prefixes, tmp_path / "cache")[2] == runs
        assert kept_runs.kept_json_ld(str(path), json_prefixes, tmp_path / "cache")[2] == 2 * runs
    finally:
        kept_runs.writers_digest = real_digest
    for _ in range(2):  # back to this code: its runs are made again (the cache kept only the last build's)
        made_turtle = kept_runs.kept_turtle(str(path), ttl_prefixes, tmp_path / "cache")
        made_json = kept_runs.kept_json_ld(str(path), json_prefixes, tmp_path / "cache")
    assert made_turtle[2] == 0 and made_json[2] == 0

    # an edit: one finding's description changed, one subject added (with a property no other subject has, so
    # the JSON-LD context changes too), one subject removed
    lines = nt.splitlines()
    finding = next(line for line in lines if b"/id/finding/" in line.split(b" ")[0] and b"/terms/description>" in line)
    gone = next(line for line in lines if b"/id/figure/" in line.split(b" ")[0]).split(b" ")[0]
    edited = [line.replace(b'"@en', b' Edited."@en') if line == finding else line
              for line in lines if not line.startswith(gone + b" ")]
    edited.append(b'<https://w3id.org/ysv/id/finding/new> <https://w3id.org/ysv/def/brandNew> "1" .')
    edited.sort()
    nt2 = ntriples.joined(edited)
    path.write_bytes(nt2)
    turtle2, json_ld2 = reference(nt2)
    assert turtle2 != turtle and json_ld2 != json_ld
    made_turtle = kept_runs.kept_turtle(str(path), ttl_prefixes, tmp_path / "cache")
    assert made_turtle[0] == turtle2 and 1 <= made_turtle[2] <= 3  # the runs of the three subjects touched
    made_json = kept_runs.kept_json_ld(str(path), json_prefixes, tmp_path / "cache")
    assert made_json[1] == json_ld2
    assert made_json[2] > runs  # a new context: every run's nodes made again (plus the changed runs' usage)


def test_runs_end_where_their_subjects_say():
    """ntriples.subject_runs: whole subjects in each run, every line kept in order, and the ends of runs set by the
    subjects alone, so adding a subject changes only the run it falls in."""
    import zlib

    from ysv_graph.pipeline import writing

    subjects = [f"<https://example.org/s/{i:05d}>".encode() for i in range(2000)]
    lines = [s + b" <https://example.org/p> \"%d\" ." % k for s in subjects for k in range(3)]
    runs = ntriples.subject_runs(lines)
    assert b"".join(runs) == ntriples.joined(lines)
    for run in runs[:-1]:
        last = run.splitlines()[-1].split(b" ")[0]
        assert zlib.crc32(last) % ntriples.RUN_EVERY == 0
        assert all(line.split(b" ")[0] != last for line in runs[runs.index(run) + 1].splitlines())
    extra = b"<https://example.org/s/00500x> <https://example.org/p> \"x\" ."
    again = ntriples.subject_runs(sorted(lines + [extra]))
    assert len(set(again) - set(runs)) == 1 and len(set(runs) - set(again)) == 1
    assert 20 < len(runs) < 200  # about one run every RUN_EVERY subjects


def test_runs_of_sorted_lines_found_by_bisection_equal_those_found_line_by_line():
    """ntriples.subject_runs finds a subject's lines by galloping bisection in sorted lines (in_order) and line by line
    otherwise: the same runs, for subjects that are prefixes of others (_:b1, _:b10, _:b1-x; <a1> and <a10>),
    with one line or many (more than the first gallop's 8), and for every run length."""
    import random
    import zlib

    from ysv_graph.pipeline import writing

    def line_by_line(lines: list[bytes], every: int) -> list[bytes]:  # the code before bisection, for reference
        runs, start, subject = [], 0, None
        for i, line in enumerate(lines):
            this = line[:line.find(b" ")]
            if this != subject:
                if subject is not None and zlib.crc32(subject) % every == 0:
                    runs.append(ntriples.joined(lines[start:i]))
                    start = i
                subject = this
        if start < len(lines):
            runs.append(ntriples.joined(lines[start:]))
        return runs

    chooser = random.Random(5)
    for _ in range(200):
        subjects = {chooser.choice([b"<https://example.org/a", b"_:b"]) + str(chooser.randint(0, 60)).encode()
                    + chooser.choice([b"", b"-x", b"0"]) for _ in range(chooser.randint(0, 30))}
        subjects = {s + b">" if s.startswith(b"<") else s for s in subjects}
        lines = sorted({s + b" <https://example.org/p%d> \"o\" ." % chooser.randint(0, 40)
                        for s in subjects for _ in range(chooser.choice([1, 2, 9, 40]))})
        for every in (1, 2, 3, ntriples.RUN_EVERY):
            original = ntriples.RUN_EVERY
            ntriples.RUN_EVERY = every
            try:
                found = ntriples.subject_runs(lines)
                assert found == ntriples.subject_runs(lines, in_order=False) == line_by_line(lines, every)
            finally:
                ntriples.RUN_EVERY = original
            assert b"".join(found) == ntriples.joined(lines)

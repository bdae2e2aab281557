"""The build's promises under bad input, kills and concurrency (defects 8-13 of the build's security review).

8.  An empty or comment-only source.yaml is a data error (exit 2, `file:line: field`), never a folder left out.
9.  An empty dataset.yaml likewise, never a traceback.
10. Every value the later stages cannot handle (over-long ids, booleans other than true/false, year 0000, dates
    past what a period can end on, huge or negative numbers, non-text ids, control characters, IRIs the writers
    refuse) is a data error naming file, line and field, before mapping.
11. A build killed at either rename of the swap never loses the published dataset: the next build, even a failing
    one, leaves a complete out/.
12. A killed build's helper processes end with it.
13. Builds sharing a cache take turns (a lock), or go without the cache and say so; temporary names are unique.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ysv_graph.cli import main
from ysv_graph.pipeline import schema, writing

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MODES = {"plain": ["--no-cache", "--jobs", "0"], "incremental": []}


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _complete(folder: Path) -> bool:
    """out/ as published: a manifest.json listing every other file with its size and SHA-256, each as listed."""
    try:
        listed = json.loads((folder / "manifest.json").read_bytes())["files"]
    except (OSError, ValueError, KeyError):
        return False
    files = {name for name in _snapshot(folder) if name != "manifest.json"}
    return bool(listed) and set(listed) == files and all(
        (folder / name).stat().st_size == entry["bytes"]
        and hashlib.sha256((folder / name).read_bytes()).hexdigest() == entry["sha256"]
        for name, entry in listed.items())


def _build(data: Path, out: Path, mode: str, capsys) -> tuple[int, list[str]]:
    """A build in this process: its exit code and the lines of stderr that are errors (not the summary)."""
    status = main(["build", "--data", str(data), "--out", str(out), *MODES[mode]])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return status, [line for line in lines if not line.startswith(("ysv-graph:", "… "))]


def _one_error(data: Path, tmp_path: Path, mode: str, capsys) -> str:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "ysv.ttl").write_text("previous build\n")
    status, errors = _build(data, out, mode, capsys)
    assert status == 2, errors
    assert len(errors) == 1, errors
    assert _snapshot(out) == {"ysv.ttl": b"previous build\n"}
    return errors[0]


# --- 8 and 9: empty files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("content", ["", "# nothing here yet\n", "\n\n# a comment\n"])
def test_an_empty_source_yaml_is_a_data_error_not_a_folder_left_out(data_copy, tmp_path, capsys, content, mode):
    folder = data_copy / "zz-new-source"  # referred to by no other folder: nothing else would notice it missing
    folder.mkdir()
    (folder / "source.yaml").write_text(content, encoding="utf-8")
    (folder / "groups.yaml").write_text("groups:\n  - id: zz-group\n    name: A group\n", encoding="utf-8")
    error = _one_error(data_copy, tmp_path, mode, capsys)
    assert re.match(r"^data/zz-new-source/source\.yaml:1: source: is required in source\.yaml", error), error


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("content", ["", "# the dataset is described later\n"])
def test_an_empty_dataset_yaml_is_a_data_error_not_a_traceback(data_copy, tmp_path, capsys, content, mode):
    (data_copy / "dataset.yaml").write_text(content, encoding="utf-8")
    error = _one_error(data_copy, tmp_path, mode, capsys)
    assert re.match(r"^data/dataset\.yaml:1: dataset: is required in dataset\.yaml", error), error


# --- 10: values the later stages cannot handle ------------------------------------------------------------------

VRU = "vrus:\n  - id: vru-test\n    name: V\n    area: E23000001\n    funded_from: {}\n"
FORCE = "forces:\n  - id: test-force\n    name: F\n    area: E23000001\n    territorial: {}\n"
FIGURE = "figures:\n  - id: fig-test\n    label: L\n    value: {}\n    unit: offence\n"
SECTION = "sections:\n  - id: sec-test\n    report: syv-inspection-report\n    title: T\n    order: {}\n"
GROUP = "groups:\n  - id: {}\n    name: G\n"
ORGANISATION = "organisations:\n  - id: test-org\n    name: O\n    kind: other\n    homepage: {}\n"
BAD_VALUES = {
    # name: (the file's content, "line: field: message" expected after the file's name)
    "id of 300 characters": (GROUP.format("a" * 300), r"2: id: 'a+…a+' is 300 characters long; an id has at most 100"),
    "id of 5,000 characters": (GROUP.format("b" * 5000), r"2: id: 'b+…b+' is 5000 characters long"),
    "element id of 300 characters": (
        "definitions:\n  - id: def-test\n    label: L\n    definition: D\n    elements:\n"
        "      - id: " + "e" * 300 + "\n        label: x\n", r"6: elements\.id: 'e+…e+' is 300 characters long"),
    "id kept for the index pages": (GROUP.format("index"), r"2: id: 'index' is kept for the site's index pages"),
    "!!bool maybe": (FORCE.format("!!bool maybe"), r"5: territorial: 'maybe' is not true or false"),
    "yes for true": (FORCE.format("yes"), r"5: territorial: 'yes' is not true or false"),
    "False for false": (FORCE.format("False"), r"5: territorial: 'False' is not true or false"),
    "quoted true": (FORCE.format('"true"'), r"5: territorial: 'true' is not true or false"),
    "year 0000": (VRU.format("0000"), r"5: funded_from: '0000' is outside the years 1000 to 2999"),
    "figure year 0000": (FIGURE.format(3) + "    year: 0000\n", r"6: year: '0000' is outside the years"),
    "financial year 0999-1000": (FIGURE.format(3) + "    financial_year: 0999-1000\n",
                                 r"6: financial_year: '0999-1000' is outside the years"),
    "date 2023-02-30": (FIGURE.format(3) + "    period_start: 2023-02-01\n    period_end: 2023-02-30\n",
                        r"7: period_end: '2023-02-30' is not a real calendar date"),
    "a period ending 9999-12-31": (FIGURE.format(3) + "    period_start: 2023-01-01\n    period_end: 9999-12-31\n",
                                   r"7: period_end: '9999-12-31' is outside the years 1000 to 2999"),
    "an integer of 5,000 digits": (SECTION.format("9" * 5000), r"5: order: '9+…9+' has more than 15 digits"),
    "an integer of 16 digits": (SECTION.format("1" * 16), r"5: order: '1{16}' has more than 15 digits"),
    "a negative count": (SECTION.format(-1), r"5: order: '-1' is not a whole number of 0 or more"),
    "a figure of 5,000 digits": (FIGURE.format("7" * 5000), r"4: value: '7+…7+' has more than 15 digits before"),
    "a figure below 0": (FIGURE.format(-5), r"4: value: '-5' is below 0"),
    "NaN": (FIGURE.format(".nan"), r"4: value: '\.nan' is not a number"),
    "infinity": (FIGURE.format(".inf"), r"4: value: '\.inf' is not a number"),
    "an id YAML reads as a number": (GROUP.format("12"), r"2: id: '12' is read by YAML as a number, not as text"),
    "an id YAML reads as a boolean": (GROUP.format("true"), r"2: id: 'true' is read by YAML as true or false"),
    "an id YAML reads as a date": (GROUP.format("2023-01-01"), r"2: id: '2023-01-01' is read by YAML as a date"),
    "an id that is a list": (GROUP.format("[a, b]"), r"2: id: expected a single id value"),
    "an id that is empty": (GROUP.format("~"), r"2: id: is empty"),
    "a tag YAML does not resolve": (GROUP.format("!!binary aGVsbG8="), r"2: id: the YAML tag !!binary is not allowed"),
    "a NUL character": ('groups:\n  - id: test-group\n    name: "a\\0b"\n', r"3: name: holds the control character U\+0000"),
    "an IRI with a bad escape": (ORGANISATION.format("http://a%zz/"), r"5: homepage: 'http://a%zz/' is not a web address"),
    "an IRI with two #": (ORGANISATION.format("http://ex.org/#a#b"), r"5: homepage: .* is not a web address"),
}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_value_later_stages_cannot_handle_is_a_data_error(case, mode, data_copy, tmp_path, capsys):
    content, expected = BAD_VALUES[case]
    (data_copy / "hmicfrs-report" / "zz-test.yaml").write_text(content, encoding="utf-8")
    error = _one_error(data_copy, tmp_path, mode, capsys)
    assert re.match(r"^data/hmicfrs-report/zz-test\.yaml:" + expected, error), error


def test_a_released_time_past_the_years_is_a_data_error(data_copy, tmp_path, capsys):
    path = data_copy / "dataset.yaml"
    text = path.read_text(encoding="utf-8")
    released = re.search(r"^  released: \S+$", text, re.M).group()  # this release's time, whatever it is
    path.write_text(text.replace(released, "  released: 9999-12-31T23:59:59Z"), encoding="utf-8")
    error = _one_error(data_copy, tmp_path, "plain", capsys)
    assert re.match(r"^data/dataset\.yaml:\d+: released: '9999-12-31T23:59:59Z' is outside the years", error), error


def test_a_source_folder_with_an_over_long_name_is_a_data_error(data_copy, tmp_path, capsys):
    name = "s" * (schema.MAX_ID_LENGTH + 1)
    shutil.copytree(data_copy / "yef-website", data_copy / name)
    shutil.rmtree(data_copy / "yef-website")
    error = _one_error(data_copy, tmp_path, "incremental", capsys)
    assert error.startswith(f"data/{name}:0: folder: ") and "an id has at most 100" in error, error


@pytest.mark.parametrize("where", ["extra.yaml", "hmicfrs-report/folder.yaml/"])
def test_yaml_that_would_be_left_out_or_crash_is_a_data_error(data_copy, tmp_path, capsys, where):
    """Records in data/*.yaml beside dataset.yaml were never read; a folder named *.yaml crashed the loader."""
    if where.endswith("/"):
        (data_copy / where).mkdir()
    else:
        (data_copy / where).write_text("groups:\n  - id: zz-group\n    name: A group\n", encoding="utf-8")
    error = _one_error(data_copy, tmp_path, "plain", capsys)
    assert error.startswith(f"data/{where.rstrip('/')}:0: file: "), error


def test_the_longest_real_id_fits_and_an_id_of_the_maximum_length_builds(data_copy, tmp_path, capsys):
    """The limit leaves room: the real ids are at most half of it, and a record with an id of exactly the maximum
    is built, its page written (site/doc/group/<id>.html)."""
    ids = re.findall(r"^\s*-?\s*id: (\S+)", "\n".join(p.read_text(encoding="utf-8") for p in DATA.rglob("*.yaml")),
                     re.M)
    assert ids and max(map(len, ids)) <= schema.MAX_ID_LENGTH // 2
    key = "g" * schema.MAX_ID_LENGTH
    (data_copy / "hmicfrs-report" / "zz-test.yaml").write_text(GROUP.format(key), encoding="utf-8")
    status, errors = _build(data_copy, tmp_path / "out", "plain", capsys)
    assert status == 0, errors
    assert (tmp_path / "out" / "site" / "doc" / "group" / f"{key}.html").is_file()


def test_every_value_that_passes_the_loader_is_one_the_schema_converts():
    """The loader's checks are the schema's (schema.convert), and they refuse values, not types: spot checks of
    the boundaries."""
    year, count = schema.Field("year"), schema.Field("int")
    assert schema.convert(year, "1000", "tag:yaml.org,2002:int") == 1000
    assert schema.convert(year, "2999", "tag:yaml.org,2002:int") == 2999
    assert schema.convert(count, "9" * 15, "tag:yaml.org,2002:int") == 10 ** 15 - 1
    assert schema.convert(schema.Field("bool"), "true", "tag:yaml.org,2002:bool") is True
    for spec, raw, tag in ((year, "0999", "tag:yaml.org,2002:int"), (count, "1" * 16, "tag:yaml.org,2002:int"),
                           (schema.Field("bool"), "on", "tag:yaml.org,2002:bool")):
        with pytest.raises(schema.BadValue):
            schema.convert(spec, raw, tag)


# --- 11: a kill during the swap ----------------------------------------------------------------------------------

KILL_AT_RENAME = textwrap.dedent("""
    # test-only: a build that kills itself (SIGKILL: nothing runs after) at the Nth os.rename of its own process,
    # before or after it is done; os.rename is what Path.rename calls
    import os, signal, sys

    n, when = int(sys.argv[1]), sys.argv[2]
    real, me, calls = os.rename, os.getpid(), [0]

    def rename(*args, **kwargs):
        if os.getpid() == me:
            calls[0] += 1
            if calls[0] == n and when == "before":
                os.kill(me, signal.SIGKILL)
        real(*args, **kwargs)
        if os.getpid() == me and calls[0] == n and when == "after":
            os.kill(me, signal.SIGKILL)

    os.rename = rename
    from ysv_graph.cli import main
    sys.exit(main(sys.argv[3:]))
""")


@pytest.mark.slow
@pytest.mark.parametrize("rename, when, then", [(1, "before", "plain"), (1, "after", "incremental"),
                                                (2, "before", "incremental"), (2, "after", "plain")])
def test_a_build_killed_at_either_rename_of_the_swap_never_loses_out(tmp_path, built_out, capsys, rename, when,
                                                                      then, data_copy):
    """out/ is renamed aside (rename 1), then the new folder is renamed in (rename 2). Killed between them there
    is no out/: the next build, even one that fails on bad data, puts the set-aside copy back; a later build that
    passes leaves nothing beside out/."""
    out = tmp_path / "out"
    shutil.copytree(built_out, out)
    published = _snapshot(out)
    script = tmp_path / "kill_at_rename.py"
    script.write_text(KILL_AT_RENAME, encoding="utf-8")
    killed = subprocess.run([sys.executable, str(script), str(rename), when, "build", "--data", str(DATA),
                             "--out", str(out), "--base", "https://example.org/ysv/"], cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert out.exists() == ((rename, when) not in ((1, "after"), (2, "before")))  # killed between the renames

    (data_copy / "hmicfrs-report" / "zz-test.yaml").write_text("groups:\n  - id: zz-group\n", encoding="utf-8")
    status, errors = _build(data_copy, out, then, capsys)  # a build that fails on bad data (no name)
    assert status == 2 and len(errors) == 1, errors
    assert _complete(out)
    if rename == 2 and when == "after":  # the new dataset was in place
        assert b"https://example.org/ysv/" in (out / "ysv.nt").read_bytes()
    else:  # the published one, put back
        assert _snapshot(out) == published

    status, errors = _build(DATA, out, then, capsys)
    assert status == 0, errors
    assert _snapshot(out) == published
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == []


def test_a_set_aside_copy_that_is_not_complete_is_not_put_back(tmp_path):
    """Only a copy whose manifest holds is put back: what is left of an old out/ whose deletion was cut short is
    deleted as before."""
    out = tmp_path / "out"
    writing.write_atomically(out, {"a.txt": b"x", "manifest.json": json.dumps({"files": {"a.txt": {
        "bytes": 1, "sha256": hashlib.sha256(b"x").hexdigest()}}}).encode()})
    gone = 4194305  # above the largest process id Linux gives (2**22)
    out.rename(tmp_path / f".out.old-{gone}-whole")
    partial = tmp_path / f".out.old-{gone}-partial"
    shutil.copytree(tmp_path / f".out.old-{gone}-whole", partial)
    (partial / "a.txt").unlink()
    assert writing.restore_abandoned(out) == f".out.old-{gone}-whole"
    assert (out / "a.txt").read_bytes() == b"x"
    assert writing.remove_abandoned(out) == [partial.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_concurrent_swaps_into_one_out_do_not_fail(tmp_path):
    """Two builds swapping into the same out/ at once: renamed in turn (a lock on out/'s folder), out/ always one
    build's whole files."""
    out, failures = tmp_path / "out", []

    def swap(writer: int) -> None:
        try:
            for i in range(15):
                data = f"{writer}-{i}".encode()
                writing.write_atomically(out, {"a.txt": data, "b.txt": data})
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=swap, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert (out / "a.txt").read_bytes() == (out / "b.txt").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- 12: helpers end with a killed build -------------------------------------------------------------------------

def _children(pid: int) -> set[tuple[int, str]]:
    """The processes whose parent is pid, with their start times (so that a reused id is not mistaken)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add((int(entry.name), fields[19]))
    return found


def _alive(process: tuple[int, str]) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        fields = (Path("/proc") / str(process[0]) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == process[1] and fields[0] not in ("Z", "X")


def _descendants(pid: int) -> set[tuple[int, str]]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def _kill_and_watch(process: subprocess.Popen, helpers: set) -> float:
    """SIGKILL the process; seconds until every helper had ended (fails after 5)."""
    process.kill()
    process.wait()
    start = time.monotonic()
    while any(_alive(helper) for helper in helpers):
        assert time.monotonic() - start < 5, f"helpers still running: {[h for h in helpers if _alive(h)]}"
        time.sleep(0.02)
    return time.monotonic() - start


HELPERS = textwrap.dedent("""
    import sys, time
    from ysv_graph import workers

    helpers = [workers.Helper() for _ in range(3)] + [workers.Helper.start()]
    helpers[0].submit(time.sleep, 60)  # one busy, the others idle
    print("ready", flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_helpers_end_when_the_process_that_forked_them_is_killed(tmp_path):
    script = tmp_path / "helpers.py"
    script.write_text(HELPERS, encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert process.stdout.readline() == b"ready\n"
        helpers = _descendants(process.pid)
        assert len(helpers) == 4
    finally:
        seconds = _kill_and_watch(process, helpers)
    assert seconds < 5


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_build_killed_leaves_no_helper_running(tmp_path):
    """The incremental build forks five helpers at its start; kill -9 the build while they run."""
    for attempt in range(3):
        out = tmp_path / f"out-{attempt}"
        process = subprocess.Popen([sys.executable, "-m", "ysv_graph", "build", "--data", str(DATA), "--out",
                                    str(out), "--no-site"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        helpers: set = set()
        while process.poll() is None and len(helpers) < 5:
            helpers |= _descendants(process.pid)
            time.sleep(0.005)
        if process.poll() is None:
            assert _kill_and_watch(process, helpers) < 5
            return
        process.wait()
    pytest.fail("the build ended before its helpers were seen, three times")


# --- 13: builds sharing a cache -----------------------------------------------------------------------------------

def _subprocess_build(out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ysv_graph", "build", "--data", str(DATA), "--out", str(out),
                             *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_concurrent_builds_into_one_out_with_one_cache_both_succeed(tmp_path, built):
    out = tmp_path / "out"
    builds = [_subprocess_build(out) for _ in range(3)]
    results = [(build.wait(), build.stderr.read().decode()) for build in builds]
    assert [status for status, _ in results] == [0, 0, 0], results
    assert _snapshot(out) == {name: data for name, data in built.files.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ysv-cache", "out"]
    assert [p for p in (tmp_path / ".ysv-cache").rglob("*") if p.name.endswith(".tmp")] == []


def _hold(cache: Path):
    import fcntl

    cache.mkdir(parents=True, exist_ok=True)
    handle = os.open(cache / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


@pytest.mark.slow
def test_a_build_waits_for_the_cache_another_build_holds(tmp_path, built):
    out, cache = tmp_path / "out", tmp_path / ".ysv-cache"
    handle = _hold(cache)
    try:
        build = _subprocess_build(out)
        time.sleep(3)
        assert build.poll() is None and not out.exists()  # waiting
    finally:
        os.close(handle)
    assert build.wait() == 0
    assert "ysv-graph: waiting for the build cache" in build.stderr.read().decode()
    assert _snapshot(out) == dict(built.files)
    assert (cache / "documents").is_dir()  # it used the cache


@pytest.mark.slow
def test_a_build_that_cannot_have_the_cache_in_time_builds_without_it(tmp_path, built):
    out, cache = tmp_path / "out", tmp_path / ".ysv-cache"
    handle = _hold(cache)
    try:
        build = _subprocess_build(out, env={"YSV_CACHE_WAIT": "0.5"})
        assert build.wait() == 0
    finally:
        os.close(handle)
    assert f"ysv-graph: building without the cache {cache}" in build.stderr.read().decode()
    assert _snapshot(out) == dict(built.files)
    assert sorted(p.name for p in cache.iterdir()) == ["lock"]  # nothing written into it


def test_cache_files_are_written_under_names_no_other_writer_uses(tmp_path):
    """Two writers of one cache file at once (the fixed '.name.tmp' let one rename the other's away:
    FileNotFoundError)."""
    from ysv_graph.incremental import caching

    path, failures = tmp_path / "union" / "asserted.pickle", []

    def write(value: int) -> None:
        try:
            for _ in range(300):
                caching.write(path, [value] * 1000)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert caching.read(path) in [[n] * 1000 for n in range(4)]
    assert sorted(p.name for p in path.parent.iterdir()) == ["asserted.pickle"]


def test_temporary_files_a_killed_build_left_in_the_cache_are_deleted_by_the_next_lock(tmp_path):
    from ysv_graph.incremental import caching

    left = tmp_path / "cache" / "union" / ".asserted.pickle.4194305-abcdef.tmp"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half")
    lock = caching.Lock(tmp_path / "cache")
    assert lock.acquire(0)
    try:
        assert not left.exists()
        assert not caching.Lock(tmp_path / "cache").acquire(0.1)  # held
    finally:
        lock.release()
    assert caching.Lock(tmp_path / "cache").acquire(0)

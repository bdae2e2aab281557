"""Bad curated data: one line naming file, line and field; exit 2; the previous out/ untouched."""
from __future__ import annotations

import re

import pytest

from ysv_graph.cli import main

CASES = {
    # name: (file content, expected "line: field" and a fragment of the message)
    "malformed yaml": (
        "findings:\n  - id: finding-x\n    label: [unclosed\n",
        r"4: yaml: not valid YAML"),
    "missing required field": (
        "groups:\n  - id: test-group\n    description: A group with no name.\n",
        r"2: name: is required in a record of groups"),
    "unknown id": (
        "groups:\n  - id: test-group\n    name: Test group\n    sources: [no-such-source]\n",
        r"4: sources: no source folder is called 'no-such-source'"),
    "unknown reference": (
        "people:\n  - id: test-person\n    name: A Person\n    member_of: no-such-organisation\n",
        r"4: member_of: unknown id 'no-such-organisation'"),
    "duplicate id": (
        "organisations:\n  - id: hmicfrs\n    name: Another inspectorate\n    kind: inspectorate\n",
        r"2: id: 'hmicfrs' is already defined at data/"),
    "bad date": (
        "responses:\n  - id: test-response\n    title: T\n    report: syv-inspection-report\n"
        "    author: hmicfrs\n    url: https://example.org/r\n    issued: 2023-02-30\n",
        r"7: issued: '2023-02-30' is not a real calendar date"),
    "date in the wrong form": (
        "responses:\n  - id: test-response\n    title: T\n    report: syv-inspection-report\n"
        "    author: hmicfrs\n    url: https://example.org/r\n    issued: 26/04/2023\n",
        r"7: issued: '26/04/2023' is not a date written YYYY-MM-DD"),
    "unknown field": (
        "groups:\n  - id: test-group\n    name: Test group\n    nmae: typo\n",
        r"4: nmae: is not a field of a record of groups"),
    "wrong kind of reference": (
        "recommendations:\n  - id: rec-test\n    report: syv-inspection-report\n    status: undescribed\n"
        "    addressed_to: [syv-inspection-report]\n",
        r"5: addressed_to: 'syv-inspection-report' is a record of reports"),
    "bad enum": (
        "figures:\n  - id: fig-test\n    label: A test figure\n    value: 3\n    unit: furlongs\n",
        r"5: unit: 'furlongs' is not one of:"),
}
# the validation screen (shacl) does not check the lexical form of xsd:gYear; the loader keeps every gYear well
# formed (a VRU's funded_from is the only one)
CASES["a year that is not four digits"] = (
    "vrus:\n  - id: vru-test\n    name: Test VRU\n    area: E23000001\n    funded_from: 20199\n",
    r"5: funded_from: '20199' is not a year such as 2019")
CASES["more named areas than stated"] = (
    "inspections:\n  - id: test-inspection\n    title: T\n    carried_out_by: [hmicfrs]\n    areas_inspected: 1\n"
    "    inspected_areas: [E23000001, E23000002]\n    inspected_areas_status: complete\n",
    r"6: inspected_areas: names 2 areas but areas_inspected is 1")


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_and_out_is_untouched(case, data_copy, tmp_path, capsys):
    content, expected = CASES[case]
    bad = data_copy / "hmicfrs-report" / "zz-test.yaml"
    bad.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ysv.ttl").write_text("previous build\n")
    before = _snapshot(out)

    status = main(["build", "--data", str(data_copy), "--out", str(out)])

    assert status == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith(("ysv-graph:", "… "))]
    assert len(errors) == 1, lines
    assert re.match(r"^data/hmicfrs-report/zz-test\.yaml:" + expected, errors[0]), errors[0]
    assert _snapshot(out) == before
    # no staging folder left behind (the build cache beside out/ keeps what was parsed of the folders)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ysv-cache", "data", "out"]


def test_missing_source_yaml(data_copy, tmp_path, capsys):
    (data_copy / "new-source").mkdir()
    (data_copy / "new-source" / "facts.yaml").write_text("groups: []\n")
    assert main(["build", "--data", str(data_copy), "--out", str(tmp_path / "out")]) == 2
    assert "data/new-source:0: source.yaml: every source folder needs a source.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_base_iri(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "out"), "--base", "ftp://example.org/x"]) == 2
    assert "--base" in capsys.readouterr().err


def test_dataset_yaml_mistakes(data_copy, tmp_path, capsys):
    path = data_copy / "dataset.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("about: syv-inspection-report", "about: no-such-report"), encoding="utf-8")
    assert main(["build", "--data", str(data_copy), "--out", str(tmp_path / "out")]) == 2
    assert "data/dataset.yaml:1: about: 'no-such-report' is not the id of a report" in capsys.readouterr().err
    released = re.search(r"^  released: \S+$", text, re.M).group()  # this release's time, whatever it is
    path.write_text(text.replace(released, "  released: yesterday"), encoding="utf-8")
    assert main(["build", "--data", str(data_copy), "--out", str(tmp_path / "out")]) == 2
    assert "released: 'yesterday' is not a UTC time" in capsys.readouterr().err
    path.unlink()
    assert main(["build", "--data", str(data_copy), "--out", str(tmp_path / "out")]) == 2
    assert "data/dataset.yaml:0: dataset.yaml: the data folder needs a dataset.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_broken_shapes_are_an_error_not_a_crash(tmp_path, monkeypatch, capsys, jobs):
    from ysv_graph.pipeline import validation

    shapes = tmp_path / "shapes"
    shapes.mkdir()
    (shapes / "broken.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .\n"
        "ex:S a sh:NodeShape ; sh:targetNode ex:x ;\n"
        "  sh:sparql [ sh:select \"SELECT $this WHERE { { SELECT ?x WHERE { ?x ?p ?o } } }\" ] .\n",
        encoding="utf-8")
    monkeypatch.setattr(validation, "SHAPES_DIR", shapes)
    out = tmp_path / "out"
    assert main(["build", "--out", str(out), "--jobs", jobs]) == 2
    assert "the shapes in shapes/ cannot be used" in capsys.readouterr().err
    assert not out.exists()


def test_serve_needs_a_built_dataset(tmp_path, capsys):
    assert main(["serve", "--out", str(tmp_path / "nothing")]) == 2
    assert "run 'ysv-graph build' first" in capsys.readouterr().err


def test_the_folders_a_killed_build_left_beside_out_are_removed_by_the_next(tmp_path):
    """A build killed while its staging folder existed (SIGKILL, or out of memory) leaves it beside out/, with up
    to 600 MB of a corpus's dumps; the next build deletes the staging folders, and old out/ folders set aside,
    whose process is gone (named with its id), and leaves alone those of a running process and other names."""
    import os

    from ysv_graph.pipeline import writing

    out = tmp_path / "out"
    gone = 4194305  # above the largest process id Linux gives (2**22)
    for name in (f".out.tmp-{gone}-abc", f".out.old-{gone}-def"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ysv.nq").write_bytes(b"partial")
    running = f".out.tmp-{os.getpid()}-xyz"
    (tmp_path / running).mkdir()
    (tmp_path / ".out.tmp-abc").mkdir()  # a name these builds do not make
    writing.write_atomically(out, {"a.txt": b"x"})
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([".out.tmp-abc", running, "out"])
    assert (out / "a.txt").read_bytes() == b"x"

"""The build as a whole: the committed out/ is current, output is deterministic, failures leave out/ alone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ysv_graph.pipeline import writing
from ysv_graph.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_committed_out_is_what_the_build_produces(built):
    """out/ is the published dataset: rebuild and compare byte for byte (run `ysv-graph build` to refresh)."""
    committed = _snapshot(ROOT / "out")
    assert sorted(committed) == sorted(built.files)
    stale = [name for name, data in built.files.items() if committed[name] != data]
    assert not stale, f"out/ is stale, rebuild it: {stale}"


def _build_in_subprocess(out: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "ysv_graph", "build", "--out", str(out)], cwd=ROOT, env=env,
                   check=True, capture_output=True)


@pytest.mark.slow
def test_same_inputs_give_identical_bytes_whatever_the_hash_seed(tmp_path):
    _build_in_subprocess(tmp_path / "a", "1")
    _build_in_subprocess(tmp_path / "b", "4242")
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


def test_ysv_ttl_conforms_on_its_own(built_out, capsys):
    assert main(["validate", str(built_out / "ysv.ttl")]) == 0
    assert "conforms" in capsys.readouterr().out


def test_validate_reports_a_violation_with_exit_1(built_out, tmp_path, capsys):
    text = (built_out / "ysv.nt").read_text(encoding="utf-8")
    deadline = '<https://w3id.org/ysv/def/deadline> "2024-03-31"^^<http://www.w3.org/2001/XMLSchema#date>'
    assert deadline in text
    broken = tmp_path / "broken.nt"
    broken.write_text(text.replace(deadline, deadline.replace("#date>", "#string>")), encoding="utf-8")
    assert main(["validate", str(broken)]) == 1
    output = capsys.readouterr().out
    assert "recommendation/rec-outcome-22-training: https://w3id.org/ysv/def/deadline:" in output
    # and the deadline now stated is not the one its statement node backs (ysvsh:Dataset-figuresDatesCounts...)
    assert "dataset/ysv: https://w3id.org/ysv/def/deadline: https://w3id.org/ysv/id/recommendation/" in output
    assert "2 violation(s)" in output


def test_validate_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.ttl")]) == 2
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle <", encoding="utf-8")
    assert main(["validate", str(bad)]) == 2


def test_a_shape_violation_fails_the_build_with_exit_1_and_out_untouched(data_copy, tmp_path, capsys):
    # passes the loader (any text is a section number) but not the shapes (numbers look like 1.2)
    extra = data_copy / "hmicfrs-report" / "zz-section.yaml"
    extra.write_text("sections:\n  - id: sec-test\n    report: syv-inspection-report\n    number: one point two\n"
                     "    title: A test section\n    order: 9\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ysv.ttl").write_text("previous\n")
    assert main(["build", "--data", str(data_copy), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "violation: https://w3id.org/ysv/id/section/sec-test: http://purl.org/dc/terms/identifier:" in err
    assert _snapshot(out) == {"ysv.ttl": b"previous\n"}


def test_a_failure_while_writing_leaves_out_untouched(tmp_path, monkeypatch, built):
    out = tmp_path / "out"
    out.mkdir()
    (out / "ysv.ttl").write_text("previous\n")
    calls = {"n": 0}
    real = Path.write_bytes

    def failing(self, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(OSError):
        writing.write_atomically(out, built.files)
    monkeypatch.undo()
    assert _snapshot(out) == {"ysv.ttl": b"previous\n"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_base_iri_is_configurable(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", "--out", str(out), "--base", "https://data.example.gov.uk/ysv/"]) == 0
    nquads = (out / "ysv.nq").read_text(encoding="utf-8")
    assert "https://w3id.org/ysv/" not in nquads
    assert "<https://data.example.gov.uk/ysv/id/finding/finding-vru-early-evidence>" in nquads
    assert "<https://data.example.gov.uk/ysv/def/Finding>" in nquads
    assert "<https://data.example.gov.uk/ysv/graph/entailments>" in nquads
    assert main(["validate", str(out / "ysv.ttl"), "--base", "https://data.example.gov.uk/ysv/"]) == 0


def test_manifest_lists_every_file_with_its_checksum(built):
    import hashlib
    import json
    manifest = json.loads(built.files["manifest.json"])
    assert sorted(manifest["files"]) == sorted(n for n in built.files if n != "manifest.json")
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256(built.files[name]).hexdigest()
        assert entry["bytes"] == len(built.files[name])
    assert manifest["files"]["ysv.ttl"]["triples"] == len(built.asserted)


def test_stats_and_query_commands(built_out, capsys):
    assert main(["stats", "--out", str(built_out)]) == 0
    text = capsys.readouterr().out
    assert "graph/entailments" in text and "PoliceForceArea" in text
    bad = built_out.parent / "bad.rq"
    bad.write_text("SELECT ?x WHERE { ?x ", encoding="utf-8")
    assert main(["query", str(bad), "--out", str(built_out)]) == 2
    assert "query" in capsys.readouterr().err
    assert main(["query", "no-such-query", "--out", str(built_out)]) == 2

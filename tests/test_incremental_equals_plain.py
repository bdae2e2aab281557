"""The plain pipeline (`build --no-cache --jobs 0`) and the incremental build make the same out/, byte for byte.

The incremental build's caches, helpers and screen are only speed: these tests are what lets them exist."""
from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from ysv_graph.cli import main

from conftest import DATA


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _same(a: Path, b: Path) -> None:
    left, right = _files(a), _files(b)
    assert sorted(left) == sorted(right)
    differing = [name for name in left if left[name] != right[name]]
    assert not differing, differing[:10]


def test_plain_and_incremental_builds_write_identical_files(tmp_path, capsys):
    assert main(["build", "--no-cache", "--jobs", "0", "--out", str(tmp_path / "plain" / "out")]) == 0
    plain_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["build", "--out", str(tmp_path / "incremental" / "out")]) == 0  # cache beside it, helpers on
    incremental_line = capsys.readouterr().out.strip().splitlines()[-1]
    _same(tmp_path / "plain" / "out", tmp_path / "incremental" / "out")
    # a rebuild from the cache, and one after an edit undone, still equal the plain build
    assert main(["build", "--out", str(tmp_path / "incremental" / "out")]) == 0
    _same(tmp_path / "plain" / "out", tmp_path / "incremental" / "out")
    # the same counts; only the folder and the seconds differ
    assert plain_line.split(": ", 1)[1].rsplit(",", 1)[0] == incremental_line.split(": ", 1)[1].rsplit(",", 1)[0]


def test_an_edit_rebuilt_incrementally_equals_the_plain_build_of_the_edited_data(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    out = tmp_path / "incremental" / "out"
    assert main(["build", "--data", str(data), "--out", str(out)]) == 0
    path = data / "pq-answer-2023-06-27" / "vrus.yaml"
    text = path.read_text(encoding="utf-8")
    assert "Cleveland Unit for the Reduction of Violence" in text
    path.write_text(text.replace("Cleveland Unit for the Reduction of Violence",
                                 "Cleveland Unit for the Reduction of Violence (edited)", 1), encoding="utf-8")
    assert main(["build", "--data", str(data), "--out", str(out)]) == 0
    assert main(["build", "--data", str(data), "--no-cache", "--jobs", "0", "--out", str(tmp_path / "p" / "out")]) == 0
    _same(tmp_path / "p" / "out", out)
    assert not filecmp.cmp(out / "ysv.nt", DATA.parent / "out" / "ysv.nt", shallow=False)  # the edit is in it

"""What the command line prints: one line after a build, the stage table only when asked, the shipped queries."""
from __future__ import annotations

import re

from ysv_graph.cli import main

from conftest import OUT


def test_build_ends_with_one_plain_line_and_no_table(tmp_path, capsys):
    assert main(["build", "--no-cache", "--jobs", "0", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr()
    lines = printed.out.strip().splitlines()
    assert len(lines) == 1, lines
    found = re.fullmatch(r"built (\S+)/: ([\d,]+) triples \(([\d,]+) entailed\), conforms to (\d+) shapes, "
                         r"(\d+) files and (\d+) pages, [\d.]+ s", lines[0])
    assert found, lines[0]
    # the figures are the published dataset's: ysv.nt's lines, the entailments graph, the shapes, the files
    assert int(found.group(2).replace(",", "")) == (OUT / "ysv.nt").read_bytes().count(b"\n")
    pages = sum(1 for _ in (tmp_path / "out" / "site").rglob("*.html"))
    assert int(found.group(6)) == pages
    out = tmp_path / "out"  # the files of out/ but the site's (the kept releases' copies included)
    assert int(found.group(5)) == sum(1 for p in out.rglob("*") if p.is_file() and p.relative_to(out).parts[0] != "site")
    assert "stage" not in printed.out and "…" not in printed.err


def test_timings_print_the_stages_and_their_table(tmp_path, capsys):
    assert main(["build", "--no-cache", "--jobs", "0", "--timings", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr()
    assert "… validate" in printed.err
    assert "stage" in printed.out and "asserted triples" in printed.out
    assert printed.out.strip().splitlines()[-1].startswith("built ")


def test_query_without_a_name_lists_the_shipped_queries_with_their_questions(capsys):
    assert main(["query"]) == 0
    listed = capsys.readouterr().out
    assert "outcome-22" in listed and "What is the official wording of crime outcome 22" in listed


def test_an_unknown_query_lists_them_and_fails(capsys):
    assert main(["query", "no-such-query"]) == 2
    printed = capsys.readouterr().err
    assert "no query called 'no-such-query'" in printed and "forces-without-vru" in printed

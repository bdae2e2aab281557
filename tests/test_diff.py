"""`ysv-graph diff OLD NEW` on two real commits of this repository, with the expected changes written by hand from
`git show 37478fa -- data/` and `git show 7b84474 -- data/`; RDF Patch read back and applied; folders and exit codes."""
from __future__ import annotations

import subprocess

import pyoxigraph as ox
import pytest

from ysv_graph.cli import main
from ysv_graph.rdf import diff

from conftest import ROOT

ID, GRAPH = "https://w3id.org/ysv/id/", "https://w3id.org/ysv/graph/source/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL, NAME = "http://www.w3.org/2000/01/rdf-schema#label", "http://xmlns.com/foaf/0.1/name"
SOURCE = "http://purl.org/dc/terms/source"


def _revision(rev: str) -> str:
    """The commit rev names; the test fails (never skips) when the clone lacks it."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", rev + "^{commit}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"revision {rev} is not in this clone of the repository: these tests need its full history "
                    "(git fetch --unshallow)")
    return done.stdout.strip()


def _show(rev: str, path: str = "out/ysv.nq") -> bytes:
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{_revision(rev)}:{path}"], capture_output=True,
                          check=True).stdout


def _person(key: str, source: str, name: str, extra: list[tuple[str, ox.Literal]]) -> set[ox.Quad]:
    """The quads a `people:` record with a name (and a role or note) maps to, written out by hand."""
    s, g = ox.NamedNode(ID + "person/" + key), ox.NamedNode(GRAPH + source)
    triples = [(SOURCE, ox.NamedNode(ID + "source/" + source)),
               (RDF_TYPE, ox.NamedNode("http://www.w3.org/ns/prov#Agent")),
               (RDF_TYPE, ox.NamedNode("http://xmlns.com/foaf/0.1/Person")),
               (LABEL, ox.Literal(name, language="en")), (NAME, ox.Literal(name, language="en"))] + extra
    return {ox.Quad(s, ox.NamedNode(p), o, g) for p, o in triples}


# 37478fa added data/pq-answer-2023-06-27/people.yaml (Chris Philp, with a note) and
# data/humberside-pcc-funding-news/people.yaml (Jonathan Evison, with a role)
ADDED_37478FA = _person("chris-philp", "pq-answer-2023-06-27", "Chris Philp", [
    ("http://www.w3.org/2004/02/skos/core#editorialNote", ox.Literal(
        "The government minister who gave this written answer; the sources do not give his office.", language="en"))
]) | _person("jonathan-evison", "humberside-pcc-funding-news", "Jonathan Evison", [
    ("https://schema.org/jobTitle", ox.Literal("Police and Crime Commissioner for Humberside", language="en"))])


def _compare(old: str, new: str, kinds=None) -> diff.Difference:
    return diff.compare(diff.read_nquads(_show(old)), diff.read_nquads(_show(new)), "https://w3id.org/ysv/", kinds)


def test_the_source_graphs_of_37478fa_gain_exactly_the_two_people():
    found = _compare("37478fa^", "37478fa", {"source"})
    assert [c.graph for c in found.changes] == [GRAPH + "humberside-pcc-funding-news", GRAPH + "pq-answer-2023-06-27"]
    assert found.removed == 0
    assert {q for c in found.changes for q in c.added} == ADDED_37478FA
    assert len(ADDED_37478FA) == 12
    # the metadata graph changed too (two more input files, new counts); the entailments did not
    everything = _compare("37478fa^", "37478fa")
    kinds = {diff.graph_kind(c.graph, "https://w3id.org/ysv/") for c in everything.changes}
    assert kinds == {"source", "metadata"}


def test_the_text_for_people_names_kind_id_property_and_value(capsys):
    assert main(["diff", "37478fa^", "37478fa", "--graphs", "source", "--repo", str(ROOT)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "graph source/humberside-pcc-funding-news: 6 added, 0 removed",
        '+ person jonathan-evison jobTitle "Police and Crime Commissioner for Humberside"',
        '+ person jonathan-evison label "Jonathan Evison"',
        '+ person jonathan-evison name "Jonathan Evison"',
        "+ person jonathan-evison source source humberside-pcc-funding-news",
        "+ person jonathan-evison type Agent",
        "+ person jonathan-evison type Person",
        "graph source/pq-answer-2023-06-27: 6 added, 0 removed",
        '+ person chris-philp editorialNote "The government minister who gave this written answer; the sources do '
        'not give his office."',
        '+ person chris-philp label "Chris Philp"',
        '+ person chris-philp name "Chris Philp"',
        "+ person chris-philp source source pq-answer-2023-06-27",
        "+ person chris-philp type Agent",
        "+ person chris-philp type Person",
        "12 added, 0 removed in 2 of 50 graphs compared",
    ]


def test_a_changed_value_is_a_line_removed_then_a_line_added(capsys):
    # 7b84474 reworded theme-svros's definition (data/hmicfrs-report/themes.yaml) and added fig-yef-endowment
    assert main(["diff", "7b84474^", "7b84474", "--graphs", "source", "--repo", str(ROOT)]) == 1
    out = capsys.readouterr().out.splitlines()
    at = out.index('- theme theme-svros definition "The planned pilot of court orders that give the police new '
                   'powers to look for offensive weapons."')
    assert out[at + 1] == ('+ theme theme-svros definition "The planned trial of court orders that would let '
                           'officers search for weapons in new ways."')
    assert "+ figure fig-yef-endowment value 200000000" in out
    assert "+ figure fig-yef-endowment subject organisation home-office" in out


def _apply(patch: str, quads: set[ox.Quad]) -> set[ox.Quad]:
    """Apply an RDF Patch (one transaction of A and D rows), each row's quad read by pyoxigraph's N-Quads parser."""
    rows = patch.splitlines()
    assert rows[0] == "TX ." and rows[-1] == "TC ."
    out = set(quads)
    for row in rows[1:-1]:
        op, quad_text = row.split(" ", 1)
        (quad,) = ox.parse(quad_text.encode(), format=ox.RdfFormat.N_QUADS)
        assert op in ("A", "D")
        if op == "A":
            assert quad not in out
            out.add(quad)
        else:
            assert quad in out
            out.remove(quad)
    return out


@pytest.mark.parametrize("old, new", [("37478fa^", "37478fa"), ("7b84474^", "7b84474")])
def test_the_rdf_patch_applied_to_old_gives_new(old, new, capsys):
    assert main(["diff", old, new, "--format", "patch", "--repo", str(ROOT)]) == 1
    patch = capsys.readouterr().out
    assert _apply(patch, diff.read_nquads(_show(old))) == diff.read_nquads(_show(new))
    assert "\nD " in patch and "\nA " in patch  # both kinds of row (the metadata's counts change)


def test_added_and_removed_are_n_quads_of_each_side(capsys):
    assert main(["diff", "37478fa^", "37478fa", "--format", "added", "--graphs", "source", "--repo", str(ROOT)]) == 1
    assert set(ox.parse(capsys.readouterr().out.encode(), format=ox.RdfFormat.N_QUADS)) == ADDED_37478FA
    assert main(["diff", "37478fa^", "37478fa", "--format", "removed", "--graphs", "source", "--repo",
                 str(ROOT)]) == 1
    assert capsys.readouterr().out == ""


def test_folders_gzips_and_exit_codes(tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "ysv.nq").write_bytes(_show("37478fa^"))
    import gzip

    (new / "ysv.nq.gz").write_bytes(gzip.compress(_show("37478fa")))
    assert main(["diff", str(old), str(new), "--graphs", "source", "--format", "added"]) == 1
    assert set(ox.parse(capsys.readouterr().out.encode(), format=ox.RdfFormat.N_QUADS)) == ADDED_37478FA
    assert main(["diff", str(old), str(old)]) == 0  # the same: exit 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 added, 0 removed in 0 of 53 graphs compared"
    assert main(["diff", str(old), "no-such-revision-or-folder", "--repo", str(ROOT)]) == 2
    assert "no such folder, and not a revision" in capsys.readouterr().err
    assert main(["diff", "--repo", str(ROOT), str(old), "--", "-x"]) == 2  # never passed to git as an option
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ysv.nq").write_bytes(b"this is not N-Quads\n")
    assert main(["diff", str(old), str(tmp_path / "bad")]) == 2
    assert "not N-Quads" in capsys.readouterr().err

"""A rebuild validates only what changed (rechecking.py): it must find exactly what a full check finds.

tests/test_shapes.py runs every constraint's negative test through rechecking.plan/check too; here: the build's
use of it (the state it keeps, when it falls back to the whole graph), and an edit that changes a node's type,
which the nodes pointing at it see."""
from __future__ import annotations

from collections import Counter

import pytest
from rdflib import URIRef
from rdflib.namespace import RDF

from ysv_graph.incremental import build
from ysv_graph.rdf import ntriples
from ysv_graph.incremental import rechecking
from ysv_graph.pipeline import validation
from ysv_graph.incremental import screening
from ysv_graph.rdf.terms import SH, Base

# builds of corpora, servers, browsers or helper processes: seconds each (pytest -m "not slow" skips them)
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _through_the_screen(monkeypatch):
    """These tests are of the path a build above VALIDATE_WHOLE_BELOW takes (screen, batches, recheck): the size
    is set to 0 so that even small data takes it (tests/test_validation_differential.py: it equals pyshacl)."""
    monkeypatch.setenv("YSV_VALIDATE_WHOLE_BELOW", "0")


RECHECKED = "nodes rechecked (-1: the whole graph)"
KEPT_RUNS = "Turtle runs kept as they were (not cut again)"
MADE_CHUNKS = "N-Quads chunks made (not cached)"
BAD_SECTION = ("sections:\n  - id: sec-bad-1\n    report: syv-inspection-report\n"
               "    number: one\n    title: T\n    order: 8\n")


def _summary(violations) -> list:
    return sorted((v.focus, v.path, v.shape, v.component, v.message) for v in violations)


def test_a_rebuild_checks_only_what_changed_and_finds_what_a_full_check_finds(data_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    whole_graph_checks = []
    screen_and_check = screening.screen_and_check
    monkeypatch.setattr(screening, "screen_and_check",
                        lambda *args, **kw: whole_graph_checks.append(1) or screen_and_check(*args, **kw))

    def run(**kw):
        return build.run(data_copy, None, Base(), write=False, jobs=0, **kw)

    first = run(cache=cache)
    assert first.counts[RECHECKED] == -1 and whole_graph_checks == [1]
    assert run(cache=cache).counts[RECHECKED] == 0  # nothing changed: nothing checked
    findings = data_copy / "hmicfrs-report" / "findings.yaml"
    text = findings.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    edited_text = text[:position] + " Edited." + text[position:]
    findings.write_text(edited_text, encoding="utf-8")
    edited = run(cache=cache)
    assert 1 <= edited.counts[RECHECKED] <= 20 and whole_graph_checks == [1]
    assert edited.counts[KEPT_RUNS] > 0  # the Turtle made from the runs kept of the last build (test_splicing)
    # ysv.nq from the chunks kept: only those of the graphs that changed (the edited one, the metadata) are made
    assert 1 <= edited.counts[MADE_CHUNKS] <= 2 < first.counts[MADE_CHUNKS]
    assert edited.files == run().files  # = a build without the cache (which checks the whole graph)
    assert whole_graph_checks == [1, 1]
    # a section numbered "one" (the loader lets it through, a shape does not): found by the recheck alone, with
    # exactly the violations a full check reports
    findings.write_text(edited_text + BAD_SECTION, encoding="utf-8")
    with pytest.raises(build.ValidationFailed) as rechecked:
        run(cache=cache)
    assert whole_graph_checks == [1, 1]
    with pytest.raises(build.ValidationFailed) as full:
        run()
    assert _summary(rechecked.value.result.violations) == _summary(full.value.result.violations)
    assert any("sec-bad-1" in v.focus for v in full.value.result.violations)
    # the failed build kept the broken document, which is not what was last validated: the whole graph again
    with pytest.raises(build.ValidationFailed):
        run(cache=cache)
    assert whole_graph_checks == [1, 1, 1, 1]  # (the build without the cache, and this one)
    # mended: the graphs are those last found to conform, so nothing is checked; the runs the writers kept are
    # those of the broken data (written before validation failed), so they are not spliced into
    findings.write_text(edited_text, encoding="utf-8")
    mended = run(cache=cache)
    assert mended.counts[RECHECKED] == 0 and mended.counts[KEPT_RUNS] == 0
    assert mended.files == edited.files
    assert run(cache=cache).counts[KEPT_RUNS] > 0  # and from then on, they are again


def test_changed_shapes_or_a_missing_state_check_the_whole_graph(built):
    lines = {name: ["<a> <b> <c> ."] for name in ("g1", "g2")}
    lines = {name: [line.encode() for line in graph] for name, graph in lines.items()}
    digests = {name: rechecking.digest(graph) for name, graph in lines.items()}
    state = rechecking.State("key", digests, {}, lines)
    assert rechecking.plan(None, "key", digests, lines, {}, {}) is None
    assert rechecking.plan(state, "other key", digests, lines, {}, {}) is None
    unchanged = rechecking.plan(state, "key", digests, lines, {}, {})
    assert unchanged is not None and unchanged.nodes == set() and unchanged.changed == []
    # a changed document graph whose earlier lines are not known (no kept document of that digest)
    state = rechecking.State("key", digests, {}, {})
    new = {**lines, "g1": [b"<a> <b> <d> ."]}
    assert rechecking.plan(state, "key", {n: rechecking.digest(g) for n, g in new.items()}, new,
                           {"g1": None}, {}) is None
    recheck = rechecking.plan(state, "key", {n: rechecking.digest(g) for n, g in new.items()}, new,
                              {"g1": lines["g1"]}, {})
    assert recheck.nodes == {b"<a>", b"<c>", b"<d>"} and recheck.changed == ["g1"]
    blank = {**lines, "g1": [b"_:x <b> <d> ."]}
    assert rechecking.plan(state, "key", {n: rechecking.digest(g) for n, g in blank.items()}, blank,
                           {"g1": lines["g1"]}, {}) is None


def test_a_node_that_loses_its_type_is_seen_by_the_nodes_pointing_at_it(built):
    """Removing a node's rdf:type breaks the sh:class constraints of the nodes that point at it: they are not in
    the lines that changed, and must be rechecked all the same."""
    shapes = validation.load_shapes(Base())
    graphs = {name: set(built.graphs[name]) for name in built.graphs if name not in built.derived}
    incoming = Counter(o for graph in graphs.values() for _s, p, o in graph if p != RDF.type
                       and isinstance(o, URIRef) and "/id/report/" in str(o))
    target = incoming.most_common(1)[0][0]
    after = {name: {t for t in graph if not (t[0] == target and t[1] == RDF.type)} for name, graph in graphs.items()}
    whole = validation.validate({t for graph in after.values() for t in graph}, shapes)
    pointing = {v.focus for v in whole.violations} - {str(target)}
    assert len(pointing) >= 3  # nodes other than the retyped one now fail

    def lines(graphs):
        converter = ntriples.Converter()
        return {str(name): ntriples.sorted_lines(converter, graph) for name, graph in graphs.items()}

    before, now = lines(graphs), lines(after)
    state = rechecking.State("k", {n: rechecking.digest(g) for n, g in before.items()}, {}, before)
    recheck = rechecking.plan(state, "k", {n: rechecking.digest(g) for n, g in now.items()}, now, {}, {})
    screened = rechecking.check(recheck, shapes)
    sparql = [v for v in whole.violations if v.component == str(SH.SPARQLConstraintComponent)]
    assert _summary(screened.graph_wide.violations) == _summary(sparql)
    assert set(screened.flagged) == {f"<{v.focus}>" for v in whole.violations if v not in sparql}
    assert {f"<{node}>" for node in pointing} <= set(screened.flagged)


def test_lines_touching_nodes_are_those_with_them_as_subject_or_object():
    """rechecking._touching finds a node's lines as subject by bisection and as object by searching for
    " <node> .": the same lines as splitting every line, for nodes that are subjects, objects, both, a prefix of
    another IRI, and a datatype (which is never an object: "^^<...>" has no space before it)."""
    lines = sorted([
        b'<https://e.org/a> <https://e.org/p> <https://e.org/b> .',
        b'<https://e.org/a> <https://e.org/q> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
        b'<https://e.org/a> <https://e.org/q> "text <https://e.org/b> ." .',
        b'<https://e.org/ab> <https://e.org/p> <https://e.org/a> .',
        b'<https://e.org/b> <https://e.org/p> <https://e.org/a> .',
        b'<https://e.org/b> <https://e.org/p> <https://e.org/ab> .',
        b'<https://e.org/c> <https://e.org/p> <http://www.w3.org/2001/XMLSchema#integer> .',
    ])
    graphs = {"one": lines, "two": lines[2:5]}

    def by_splitting(nodes, objects=True):
        about = [line for graph in graphs.values() for line in graph if line.split(b" ")[0] in nodes]
        incoming = [line for graph in graphs.values() for line in graph
                    if objects and line.split(b" ", 2)[2][:-2] in nodes]
        return Counter(about), Counter(incoming)

    for nodes in ({b"<https://e.org/a>"}, {b"<https://e.org/b>"}, {b"<https://e.org/ab>", b"<https://e.org/c>"},
                  {b"<http://www.w3.org/2001/XMLSchema#integer>"}, {b"<https://e.org/none>"}):
        for objects in (True, False):
            about, incoming = rechecking._touching(nodes, graphs, {}, objects)
            assert (Counter(about), Counter(incoming)) == by_splitting(nodes, objects)
    about, incoming = rechecking._touching({b"<https://e.org/b>"}, graphs, {})
    assert len(about) == 3 and incoming == [lines[0]]  # not the literal that holds " <https://e.org/b> ."

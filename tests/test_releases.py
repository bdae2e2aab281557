"""Releases: dataset.yaml's releases: checked, `ysv-graph release`, the series in the metadata graph, the kept
files in out/releases/, plain == incremental with kept releases, and the server's ?version=."""
from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from starlette.testclient import TestClient

from ysv_graph.cli import main
from ysv_graph.pipeline import load
from ysv_graph.rdf.terms import Base
from ysv_graph.serve.app import create_app

from conftest import DATA
from test_incremental_equals_plain import _same

ID = "https://w3id.org/ysv/id/"
DCAT, DCT = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"
METADATA = ox.NamedNode("https://w3id.org/ysv/graph/metadata")
RELEASE = ID + "dataset/ysv/release/"

DATASET_YAML = """dataset:
  title: Test releases
  description: A test.
  about: syv-inspection-report
  version: {version}
  issued: 2026-01-01
  released: {released}T00:00:00Z
  contact_name: tests
  licence: http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/
{extra}"""


def _data(tmp_path: Path, version: str = "0.1.0", released: str = "2026-11-28", extra: str = "") -> Path:
    data = tmp_path / "data"
    if not data.exists():
        shutil.copytree(DATA, data)
    (data / "dataset.yaml").write_text(DATASET_YAML.format(version=version, released=released, extra=extra),
                                       encoding="utf-8")
    return data


def _errors(data: Path, releases: Path | None = None) -> list[str]:
    with pytest.raises(load.DataErrors) as caught:
        load.load(data, releases_dir=releases)
    return [f"{e.path.rsplit('/', 1)[-1]}:{e.line}: {e.field}" for e in caught.value.errors]


# --- dataset.yaml's releases: ----------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    ("  releases:\n    - {version: 0.1.0, issued: 2026-01-01}\n    - {version: 0.1.0, issued: 2026-02-01}\n",
     "dataset.yaml:12: releases.version"),  # listed twice
    ("  releases:\n    - {version: 0.2.0, issued: 2026-01-01}\n", "dataset.yaml:11: releases.version"),  # current
    ("  releases:\n    - {version: 0.1.0, issued: 2026-12-25}\n", "dataset.yaml:11: releases.issued"),  # later
    ("  releases:\n    - {version: 0.1.0, issued: 2025-12-31}\n", "dataset.yaml:11: releases.issued"),  # early
    ("  releases:\n    - {version: 0.1.5, issued: 2026-01-01}\n    - {version: 0.1.0, issued: 2026-02-01}\n",
     "dataset.yaml:12: releases.version"),  # not oldest first
    ("  releases:\n    - {version: 0.1.0, issued: 2026-03-01}\n    - {version: 0.1.5, issued: 2026-02-01}\n",
     "dataset.yaml:12: releases.issued"),  # dates out of order
    ("  releases:\n    - {version: 0.3.0, issued: 2026-01-01}\n", "dataset.yaml:11: releases.version"),  # after
    ("  releases:\n    - {version: v1, issued: 2026-01-01}\n", "dataset.yaml:11: version"),  # malformed
    ("  releases:\n    - {version: 0.1.0}\n", "dataset.yaml:11: issued"),  # no date
    ("  releases:\n    - {version: 0.1.0, issued: 2026-01-01, by: me}\n", "dataset.yaml:11: by"),  # unknown field
])
def test_mistakes_in_the_releases_are_data_errors(tmp_path, extra, expected):
    data = _data(tmp_path, version="0.2.0", extra=extra)
    assert _errors(data) == [expected]


def test_earlier_releases_listed_oldest_first_load(tmp_path):
    data = _data(tmp_path, version="0.2.0", extra="  releases:\n    - version: 0.1.0\n      issued: 2026-01-01\n"
                                                  "      changes: The first.\n")
    releases = load.load(data).dataset["releases"]
    assert [(r["version"], str(r["issued"]), r["changes"]) for r in releases] == [("0.1.0", "2026-01-01",
                                                                                   "The first.")]


# --- a release cut, the next one built ------------------------------------------------------------------------

PERSON = "people:\n  - id: test-person\n    name: Test Person\n    role: Tester\n"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory):
    """0.1.0 built and kept with `ysv-graph release`; then a person added, the version raised to 0.2.0 with 0.1.0
    listed, and built (plain) with the kept release."""
    tmp = tmp_path_factory.mktemp("releases")
    data = _data(tmp)
    first = tmp / "first"
    assert main(["build", "--data", str(data), "--out", str(first), "--no-cache", "--jobs", "0", "--no-site"]) == 0
    assert main(["release", "--data", str(data), "--out", str(first)]) == 0
    kept = tmp / "releases" / "0.1.0" / "ysv.nq.gz"
    assert kept.read_bytes() == (first / "ysv.nq.gz").read_bytes()
    (data / "pq-answer-2023-06-27" / "test-people.yaml").write_text(PERSON, encoding="utf-8")
    _data(tmp, version="0.2.0", released="2026-12-01",
          extra="  changes: A test person.\n  releases:\n    - version: 0.1.0\n      issued: 2026-11-28\n"
                "      changes: The first.\n")
    second = tmp / "second"
    assert main(["build", "--data", str(data), "--out", str(second), "--no-cache", "--jobs", "0", "--no-site"]) == 0
    return tmp, data, first, second


def _metadata(out: Path) -> set[tuple[str, str, str]]:
    quads = ox.parse((out / "ysv.nq").read_bytes(), format=ox.RdfFormat.N_QUADS)
    return {(q.subject.value, q.predicate.value, q.object.value) for q in quads if q.graph_name == METADATA}


def test_the_series_its_releases_and_what_changed(two_releases):
    _tmp, _data_dir, first, second = two_releases
    meta = _metadata(second)
    series, old, new = ID + "dataset/ysv/series", RELEASE + "0.1.0", RELEASE + "0.2.0"
    assert (series, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", DCAT + "DatasetSeries") in meta
    assert (series, DCAT + "first", old) in meta and (series, DCAT + "last", new) in meta
    assert (new, DCAT + "prev", old) in meta and not any(s == old and p == DCAT + "prev" for s, p, _o in meta)
    assert {(s, o) for s, p, o in meta if p == DCAT + "version"} == {(old, "0.1.0"), (new, "0.2.0")}
    assert {(s, o) for s, p, o in meta if p == DCT + "issued" and s.startswith(RELEASE)} == {
        (old, "2026-11-28"), (new, "2026-12-01")}
    assert (ID + "dataset/ysv", DCAT + "hasCurrentVersion", new) in meta
    # the person adds 6 triples to its source's graph: dct:source, two types, rdfs:label, foaf:name, jobTitle
    assert (new, "https://w3id.org/ysv/def/triplesAdded", "6") in meta
    assert (new, "https://w3id.org/ysv/def/triplesRemoved", "0") in meta
    assert (new, "http://www.w3.org/ns/adms#versionNotes", "A test person.") in meta
    assert (old, "http://www.w3.org/ns/adms#versionNotes", "The first.") in meta
    # the kept file: copied unchanged, described with its address, size and checksum
    assert (second / "releases" / "0.1.0" / "ysv.nq.gz").read_bytes() == (first / "ysv.nq.gz").read_bytes()
    dist = RELEASE + "0.1.0/distribution/n-quads-gzip"
    assert (dist, DCAT + "downloadURL", "https://w3id.org/ysv/download/releases/0.1.0/ysv.nq.gz") in meta
    assert (dist, DCAT + "byteSize", str(len((first / "ysv.nq.gz").read_bytes()))) in meta
    assert "releases/0.1.0/ysv.nq.gz" in (second / "manifest.json").read_text()
    # the first build, with no earlier release, has a series of one
    first_meta = _metadata(first)
    assert (series, DCAT + "first", old) in first_meta and (series, DCAT + "last", old) in first_meta
    assert not any(p == "https://w3id.org/ysv/def/triplesAdded" for _s, p, _o in first_meta)


def test_the_incremental_build_with_kept_releases_equals_the_plain_one(two_releases, tmp_path):
    _tmp, data, _first, second = two_releases
    out = tmp_path / "incremental" / "out"
    releases = tmp_path / "no-releases"  # first built with no kept release, so its cache knows none...
    releases.mkdir()
    assert main(["build", "--data", str(data), "--out", str(out), "--releases", str(releases), "--no-site"]) == 0
    assert not (out / "releases").exists()
    assert main(["build", "--data", str(data), "--out", str(out), "--no-site"]) == 0  # ...then rebuilt with it
    _same(second, out)


def test_release_never_overwrites_and_checks_the_version(two_releases, capsys):
    tmp, data, first, second = two_releases
    assert main(["release", "--data", str(data), "--out", str(first)]) == 2  # out/ is 0.1.0, the data 0.2.0
    assert "holds release 0.1.0" in capsys.readouterr().err
    kept = tmp / "releases" / "0.1.0" / "ysv.nq.gz"
    before = kept.read_bytes()
    other = tmp / "other-releases"
    (other / "0.2.0").mkdir(parents=True)
    (other / "0.2.0" / "ysv.nq.gz").write_bytes(before)  # a different file under the version being kept
    assert main(["release", "--data", str(data), "--out", str(second), "--releases", str(other)]) == 2
    assert "already holds a different release" in capsys.readouterr().err
    assert (other / "0.2.0" / "ysv.nq.gz").read_bytes() == before
    assert kept.read_bytes() == before


def test_kept_files_that_do_not_belong_are_data_errors(two_releases, tmp_path):
    _tmp, data, first, _second = two_releases
    releases = tmp_path / "releases"
    (releases / "0.0.9").mkdir(parents=True)  # not listed in dataset.yaml
    (releases / "0.0.9" / "ysv.nq.gz").write_bytes((first / "ysv.nq.gz").read_bytes())
    assert _errors(data, releases) == ["0.0.9:0: releases"]
    shutil.rmtree(releases / "0.0.9")
    (releases / "0.1.0").mkdir()
    (releases / "0.1.0" / "ysv.nq.gz").write_bytes(b"not gzip")
    assert _errors(data, releases) == ["ysv.nq.gz:0: releases"]
    second = tmp_path / "second"
    assert main(["build", "--data", str(data), "--out", str(second), "--no-cache", "--jobs", "0", "--no-site",
                 "--releases", str(tmp_path / "none")]) == 0
    (releases / "0.1.0" / "ysv.nq.gz").write_bytes((second / "ysv.nq.gz").read_bytes())  # 0.2.0's data
    assert _errors(data, releases) == ["ysv.nq.gz:0: releases"]


# --- the server ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(two_releases):
    _tmp, _data_dir, _first, second = two_releases
    with TestClient(create_app(second, Base(), workers=1)) as test_client:
        yield test_client


def test_a_kept_release_answers_for_what_it_held(client):
    # chris-philp is in both releases; test-person only in 0.2.0
    page = client.get("/doc/person/chris-philp?version=0.1.0", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "This is release 0.1.0 of the dataset; the current release is 0.2.0" in page.text
    turtle = client.get("/doc/person/chris-philp?version=0.1.0", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    triples = {(q.subject, q.predicate, q.object) for q in ox.parse(turtle.content, format=ox.RdfFormat.TURTLE)}
    assert (ox.NamedNode(ID + "person/chris-philp"), ox.NamedNode("http://xmlns.com/foaf/0.1/name"),
            ox.Literal("Chris Philp", language="en")) in triples
    assert client.get("/doc/person/test-person?version=0.1.0").status_code == 404
    assert client.get("/doc/person/test-person?version=0.2.0").status_code == 200  # the current release
    assert client.get("/doc/person/test-person").status_code == 200
    assert client.get("/doc/person/chris-philp.nt?version=0.1.0").headers["content-type"] == "application/n-triples"
    download = client.get("/download/releases/0.1.0/ysv.nq.gz")
    assert download.status_code == 200 and download.content[:2] == b"\x1f\x8b"


@pytest.mark.parametrize("version, status", [("9.9.9", 404), ("latest", 400), ("1" * 5000, 400), ("", 400),
                                             ("0.1.0/../x", 400), ("<script>", 400), ("0.1.0\x00", 400)])
def test_other_versions_get_the_list_of_those_held(client, version, status):
    for accept in ("text/html", "text/plain"):
        response = client.get("/doc/person/chris-philp", params={"version": version}, headers={"Accept": accept})
        assert response.status_code == status
        assert "Versions held: 0.1.0 (kept), 0.2.0 (current)." in response.text
        assert "<script>" not in response.text

"""Releases: the earlier releases data/dataset.yaml lists, the kept copies of their data, and what changed.

A release's version and date come only from data/dataset.yaml: `version`/`issued` are the release being built,
`releases:` the earlier ones, oldest first. A kept release is `releases/<version>/ysv.nq.gz` (an exact copy of
that release's out/ysv.nq.gz, made by `ysv-graph release`); the build copies it into out/releases/ unchanged and
describes it (describing.py). Loading checks both (load.py turns the problems found here into DataErrors).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ..rdf import diff
from .schema import VERSION_PATTERN

KEPT_FILE = "ysv.nq.gz"
SCHEMA_VERSION = "https://schema.org/version"
DATASET_PATH = "id/dataset/ysv"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check(values: dict, lines: dict[str, int]) -> list[tuple[int, str, str]]:
    """The mistakes in dataset.yaml's releases (values and the lines of the dataset's fields, as read), each as
    (line, field, message): a version listed twice, the current version listed as earlier, releases out of
    order (oldest first, in version and date), one dated after the current release (`released`) or before the
    first (the dataset's `issued`)."""
    problems: list[tuple[int, str, str]] = []
    current, first = values.get("version"), values.get("issued")
    issued = values["released"].date() if values.get("released") else None
    seen: dict[str, int] = {}
    before = None
    for release in values.get("releases", []):
        version, line = release.get("version"), release["lines"].get("version", release["line"])
        if version is None:
            continue
        if version in seen:
            problems.append((line, "releases.version", f"'{version}' is listed twice (also on line {seen[version]})"))
            continue
        seen[version] = line
        if version == current:
            problems.append((line, "releases.version", f"'{version}' is the release being built (dataset: "
                                                       "version); list only earlier releases here"))
            continue
        if current is not None and version_key(version) > version_key(current):
            problems.append((line, "releases.version", f"'{version}' comes after the release being built "
                                                       f"({current}); list only earlier releases here"))
        if issued is not None and release.get("issued") and release["issued"] > issued:
            problems.append((release["lines"]["issued"], "releases.issued",
                             f"{release['issued']} is after the current release's date ({issued}, released:)"))
        if first is not None and release.get("issued") and release["issued"] < first:
            problems.append((release["lines"]["issued"], "releases.issued",
                             f"{release['issued']} is before the first release's date ({first}, issued:)"))
        if before is not None:
            if version_key(version) < version_key(before["version"]):
                problems.append((line, "releases.version", f"'{version}' is listed after '{before['version']}': "
                                                           "list the releases oldest first"))
            elif release.get("issued") and before.get("issued") and release["issued"] < before["issued"]:
                problems.append((release["lines"]["issued"], "releases.issued",
                                 f"{release['issued']} is before the date of '{before['version']}', listed "
                                 f"before it ({before['issued']}): list the releases oldest first"))
        before = release
    return problems


@dataclass(frozen=True)
class Kept:
    """A kept release's file: its version, bytes (gzipped N-Quads), SHA-256 and quads."""

    version: str
    data: bytes = field(repr=False)
    sha256: str
    quads: frozenset = field(repr=False)


def read_kept(releases_dir: Path | None, dataset: dict) -> tuple[dict[str, Kept], list[tuple[str, str]]]:
    """The kept releases under releases_dir (None: none) that dataset.yaml lists as earlier releases, by version,
    and the problems found, each as (path, message): a folder that is not a version listed in dataset.yaml (a
    folder of the current version is left alone: `ysv-graph release` makes it before the version is bumped), no
    ysv.nq.gz in it, a file that is not gzipped N-Quads or that does not state the version of its folder."""
    kept: dict[str, Kept] = {}
    problems: list[tuple[str, str]] = []
    if releases_dir is None or not Path(releases_dir).is_dir():
        return kept, problems
    listed = {release["version"] for release in dataset.get("releases", []) if "version" in release}
    for folder in sorted(p for p in Path(releases_dir).iterdir() if not p.name.startswith(".")):
        if not folder.is_dir():
            continue
        if not re.match(VERSION_PATTERN, folder.name):
            problems.append((str(folder), "a kept release's folder is named by its version, such as 0.1.0"))
            continue
        if folder.name == dataset.get("version"):
            continue
        if folder.name not in listed:
            problems.append((str(folder), f"release {folder.name} is kept but not listed under releases: in "
                                          "data/dataset.yaml"))
            continue
        path = folder / KEPT_FILE
        if not path.is_file():
            problems.append((str(folder), f"a kept release's folder holds its {KEPT_FILE}"))
            continue
        data = path.read_bytes()
        try:
            quads = diff.read_nquads(data) if data[:2] == b"\x1f\x8b" else None
        except ValueError as exc:
            problems.append((str(path), str(exc)))
            continue
        if quads is None:
            problems.append((str(path), "not a gzip file"))
            continue
        stated = stated_version(quads)
        if stated != folder.name:
            problems.append((str(path), f"holds release {stated}, not {folder.name}" if stated else
                             "does not state its version (schema:version of the dataset)"))
            continue
        kept[folder.name] = Kept(folder.name, data, hashlib.sha256(data).hexdigest(), frozenset(quads))
    return kept, problems


def stated_version(quads) -> str | None:
    """The version a release's quads give their dataset (schema:version of …/id/dataset/ysv), or None."""
    for q in quads:
        if (q.predicate.value == SCHEMA_VERSION and isinstance(q.subject, ox.NamedNode)
                and q.subject.value.endswith("/" + DATASET_PATH) and isinstance(q.object, ox.Literal)):
            return q.object.value
    return None


@dataclass(frozen=True)
class Release:
    """One release of the series, oldest first: the earlier ones from dataset.yaml, then the current one."""

    version: str
    issued: dt.date
    changes: str | None
    kept: Kept | None  # its kept file (None for the current release and for one not kept)
    current: bool = False
    # what changed since the release before it, in the source documents' graphs: (triples added, removed), when
    # the data of both is at hand (the current build's, or a kept file)
    summary: tuple[int, int] | None = None


def series(dataset: dict, kept: Mapping[str, Kept], current_sources: Callable[[], Mapping[str, bytes]],
           base: str) -> list[Release]:
    """Every release, oldest first, each with its change summary where both it and the one before it are at hand.
    current_sources: the current build's source-document graphs (IRI -> N-Triples), asked for only if the
    release before the current one is kept."""
    listed = [Release(r["version"], r["issued"], r.get("changes"), kept.get(r["version"]))
              for r in dataset.get("releases", [])]
    listed.append(Release(dataset["version"], dataset["released"].date(), dataset.get("changes"), None,
                          current=True))
    out: list[Release] = []
    for i, release in enumerate(listed):
        before = listed[i - 1] if i else None
        summary = None
        if before is not None and before.kept is not None and (release.kept is not None or release.current):
            new = release.kept.quads if release.kept is not None else diff.quads_of_graphs(current_sources())
            found = diff.compare(before.kept.quads, new, base, {"source"})
            summary = (found.added, found.removed)
        out.append(Release(release.version, release.issued, release.changes, release.kept, release.current,
                           summary))
    return out


def files(kept: Mapping[str, Kept]) -> dict[str, bytes]:
    """The kept releases' files as the build writes them into out/: releases/<version>/ysv.nq.gz, unchanged."""
    return {f"releases/{version}/{KEPT_FILE}": kept[version].data for version in sorted(kept, key=version_key)}

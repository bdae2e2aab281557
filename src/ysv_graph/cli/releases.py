"""`ysv-graph diff OLD NEW` (what changed between two releases) and `ysv-graph release` (keep out/'s data as a
release)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from ..rdf import diff
from ..rdf.terms import DEFAULT_BASE, Base
from .console import EXIT_ERROR, EXIT_INVALID, EXIT_OK, err

DIFF_HELP = """Compare two releases quad by quad, per named graph. OLD and NEW are each a folder holding ysv.nq (or
ysv.nq.gz), such as out/ or releases/0.1.0/, or else a git revision of the repository (--repo), whose committed
out/ysv.nq is read with `git show` (nothing is checked out). Exit status, as diff's: 0 no differences, 1
differences, 2 an error."""

FORMATS_HELP = ("text: for people, per graph a heading and one line a change (default); patch: RDF Patch (TX, "
                "D for each quad removed, A for each quad added, TC); added / removed: the quads only in NEW / "
                "only in OLD, as N-Quads")


class SideError(Exception):
    """An argument that is neither a folder holding ysv.nq nor a git revision."""


def _git(repo: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def read_side(spec: str, repo: Path) -> tuple[bytes, dict | None, str]:
    """The N-Quads (maybe gzipped) of one side, its manifest (None if it has none) and how to name it."""
    folder = Path(spec)
    if folder.is_dir():
        for name in ("ysv.nq", "ysv.nq.gz"):
            if (folder / name).is_file():
                manifest = folder / "manifest.json"
                try:
                    listed = json.loads(manifest.read_bytes()) if manifest.is_file() else None
                except ValueError:
                    listed = None
                return (folder / name).read_bytes(), listed, str(folder / name)
        raise SideError(f"{spec}: the folder holds neither ysv.nq nor ysv.nq.gz")
    if spec.startswith("-") or not spec.strip():
        raise SideError(f"{spec!r} is not a folder or a git revision")
    commit = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", spec + "^{commit}")
    if commit is None:
        raise SideError(f"{spec}: no such folder, and not a revision of the git repository {repo}")
    sha = commit.decode().strip()
    for name in ("out/ysv.nq", "out/ysv.nq.gz"):
        data = _git(repo, "show", f"{sha}:{name}")
        if data is not None:
            listed = _git(repo, "show", f"{sha}:out/manifest.json")
            try:
                manifest = json.loads(listed) if listed is not None else None
            except ValueError:
                manifest = None
            return data, manifest, f"{spec} ({sha[:12]}):{name}"
    raise SideError(f"{spec}: the revision {sha[:12]} has no out/ysv.nq committed")


def _diff(args) -> int:
    repo = Path(args.repo)
    try:
        old_data, _old_manifest, old_name = read_side(args.old, repo)
        new_data, new_manifest, new_name = read_side(args.new, repo)
    except SideError as exc:
        err.print(f"ysv-graph: diff: {exc}", markup=False)
        return EXIT_ERROR
    try:
        base = Base(args.base or (new_manifest or {}).get("base") or DEFAULT_BASE).iri
    except ValueError as exc:
        err.print(f"ysv-graph: diff: --base: {exc}", markup=False)
        return EXIT_ERROR
    quads = {}
    for side, data, name in (("old", old_data, old_name), ("new", new_data, new_name)):
        try:
            quads[side] = diff.read_nquads(data)
        except ValueError as exc:
            err.print(f"ysv-graph: diff: {name}: {exc}", markup=False)
            return EXIT_ERROR
    found = diff.compare(quads["old"], quads["new"], base, diff.GRAPH_SELECTIONS[args.graphs])
    if args.format == "text":
        text = f"--- {old_name}\n+++ {new_name}\n" + diff.as_text(
            found, base, diff.labels_of(quads["old"] | quads["new"], base))
    elif args.format == "patch":
        text = diff.as_patch(found)
    else:
        text = diff.as_nquads(q for change in found.changes
                              for q in (change.added if args.format == "added" else change.removed))
    import sys

    sys.stdout.write(text)
    sys.stdout.flush()
    return EXIT_OK if not found.changes else EXIT_INVALID


def _release(args) -> int:
    """Keep out/ysv.nq.gz as releases/<version>/ysv.nq.gz, once out/ is a build of dataset.yaml's version."""
    from ..pipeline import load as loading
    from ..pipeline import releasing

    try:
        dataset = loading.load(Path(args.data)).dataset
    except loading.DataErrors as exc:
        for error in exc.errors:
            err.print(str(error), markup=False)
        err.print("ysv-graph: release: the curated data has errors; nothing kept", markup=False)
        return EXIT_ERROR
    version = dataset["version"]
    source = Path(args.out) / releasing.KEPT_FILE
    if not source.is_file():
        err.print(f"ysv-graph: release: {source} not found; run 'ysv-graph build' first", markup=False)
        return EXIT_ERROR
    data = source.read_bytes()
    try:
        stated = releasing.stated_version(diff.read_nquads(data))
    except ValueError as exc:
        err.print(f"ysv-graph: release: {source}: {exc}", markup=False)
        return EXIT_ERROR
    if stated != version:
        err.print(f"ysv-graph: release: {source} holds release {stated}, but {args.data}/dataset.yaml is at "
                  f"{version}; run 'ysv-graph build' first", markup=False)
        return EXIT_ERROR
    target = Path(args.releases or Path(args.data).parent / "releases") / version / releasing.KEPT_FILE
    if target.exists():
        if target.read_bytes() == data:
            print(f"release {version} is already kept as {target}")
            return EXIT_OK
        err.print(f"ysv-graph: release: {target} already holds a different release {version}; it is never "
                  "overwritten (publish a new version instead)", markup=False)
        return EXIT_ERROR
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".ysv-release-", delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, target)
    os.chmod(target, 0o644)
    print(f"kept release {version} as {target} ({len(data):,} bytes). Next: commit it; to start the next release, "
          f"list {version} under releases: in {args.data}/dataset.yaml and raise version and released")
    return EXIT_OK


def add_commands(sub) -> None:
    """Register diff and release with the command line's subparsers."""
    d = sub.add_parser("diff", help="what was added and removed between two releases (folders or git revisions)",
                       description=DIFF_HELP)
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--repo", default=".", help="the git repository of revisions (default: .)")
    d.add_argument("--format", choices=("text", "patch", "added", "removed"), default="text", help=FORMATS_HELP)
    d.add_argument("--graphs", choices=tuple(diff.GRAPH_SELECTIONS), default="all",
                   help="which named graphs to compare: all (default), asserted (the source documents' and the "
                        "metadata), source (the source documents' only: the metadata changes with every build's "
                        "checksums, the entailments follow the data)")
    d.add_argument("--base", default=None,
                   help="the base IRI of the data (default: NEW's manifest.json's, else " + DEFAULT_BASE + ")")
    d.set_defaults(func=_diff)

    r = sub.add_parser("release", help="keep out/ysv.nq.gz as releases/<version>/ysv.nq.gz (the version of "
                                       "data/dataset.yaml; never overwrites a different file)")
    r.add_argument("--data", default="data", help="folder of curated YAML (default: data)")
    r.add_argument("--out", default="out", help="the built folder (default: out)")
    r.add_argument("--releases", default=None, metavar="DIR",
                   help="the kept releases (default: releases beside the data folder)")
    r.set_defaults(func=_release)


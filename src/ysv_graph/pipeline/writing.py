"""Stage 5: write out/ — every file or none.

render() makes the data files from the build's N-Triples lines (the dumps, Turtle, JSON-LD and their gzips);
finish() adds the validation report, the catalogue and the manifest; write_atomically() writes them into a fresh
folder beside out/ and swaps it in only when all are written, so a failed build never leaves out/ half-changed.
Serialisation goes through pyoxigraph (fast, and stable: the same input gives the same bytes whatever
PYTHONHASHSEED is); triples are sorted before writing.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef

from . import describing
from ..rdf import jsonld
from ..rdf.gzip import nquads_chunks, nquads_gzip
from ..rdf.ntriples import Converter, count_lines as _count_lines, joined as _joined
from ..rdf.ntriples import sorted_lines as _sorted_graph_lines
from ..rdf.terms import Base
from ..rdf.turtle import canonical_turtle, namespaces_used, turtle_document, turtle_of_lines, used_prefixes

EXTRA_PREFIXES = {"spdx": str(describing.SPDX), "vcard": str(describing.VCARD)}



@dataclass
class Outputs:
    """What the build hands to the writer: every named graph as its sorted, distinct N-Triples lines (see
    ntriples.sorted_lines; a graph kept from an earlier build never becomes rdflib terms again)."""

    base: Base
    lines: dict[URIRef, list[bytes]]  # named graph -> its lines, for ysv.nq
    iris: set[str]  # every IRI of the asserted data and the datatypes of its literals (see ntriples.iris), or the
    # namespaces among the prefixes' that begin them (describing.namespaces_of): the same prefixes are used
    asserted: list | bytes  # the sorted, distinct lines of the asserted graphs (what ysv.nt holds), or them joined
    # (bytes, or Buffers: pieces that put end to end are the joined lines)
    metadata_graph: URIRef | None = None
    derived: tuple = ()  # names of the graphs in `lines` that are not part of the asserted data
    joined: dict | None = None  # named graph -> its lines joined (ntriples.joined), where the caller has them; a
    # ntriples.Joined reads them only where they are needed
    digests: dict | None = None  # str(named graph) -> SHA-256 (hex) of its joined lines, where the caller has it
    asserted_count: int | None = None  # how many lines `asserted` has, where the caller knows

    def count(self) -> int:
        """How many lines ysv.nt has."""
        if self.asserted_count is None:
            self.asserted_count = (self.asserted.count(b"\n") if isinstance(self.asserted, bytes)
                                   else sum(bytes(piece).count(b"\n") for piece in self.asserted)
                                   if isinstance(self.asserted, Buffers) else len(self.asserted))
        return self.asserted_count


@dataclass(frozen=True)
class Written:
    """A file a helper process wrote straight into the folder that becomes out/ (write_atomically's staging
    folder), so that its bytes never pass through the build's main process: its name there, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def read(self, folder: Path) -> bytes:
        return (Path(folder) / self.name).read_bytes()


def deliver(data: "bytes | list[bytes]", name: str, into: str | None) -> "bytes | Written":
    """The file's bytes, or, given the staging folder (into), the file written there (Written). data: the bytes,
    or pieces to be put one after another (written so, without joining them, into the staging folder)."""
    pieces = [data] if isinstance(data, bytes) else data
    if into is None:
        return data if isinstance(data, bytes) else b"".join(pieces)
    digest = hashlib.sha256()
    with open(Path(into) / name, "wb") as handle:
        for piece in pieces:
            handle.write(piece)
            digest.update(piece)
    return Written(name, sum(map(len, pieces)), digest.hexdigest())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_of(pieces) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


class Buffers(tuple):
    """Pieces of bytes (bytes, or views of bytes) that put end to end are a file: Outputs.asserted, in a rebuild
    (union.Union.pieces)."""


def staging_folder(out_dir: Path) -> Path:
    """A fresh folder beside out_dir, to be filled and swapped in for it by write_atomically (the caller deletes
    it if the build fails before that). Its name holds this process's id, so that the folders of a build that
    was killed (by SIGKILL, or for want of memory: nothing could delete them) are deleted by the next build
    (remove_abandoned)."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the published folder is readable by all
    return staging


@contextmanager
def swap_lock(out_dir: Path):
    """Held while out_dir is swapped, restored or its abandoned neighbours deleted: an exclusive flock on the folder
    that holds out_dir (no file is made for it), so that two builds into the same out/ (or one that finds out/
    missing) never rename the same folders at once. Where there is no flock, nothing is held."""
    try:
        import fcntl

        handle = os.open(Path(out_dir).parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # (releases the lock)


def _abandoned(out_dir: Path) -> list[tuple[Path, str]]:
    """The staging folders ("tmp") and old out/ folders set aside ("old") beside out_dir whose build process is no
    longer running, in name order."""
    import re

    pattern = re.compile(re.escape(f".{out_dir.name}.") + r"(tmp|old)-(\d+)-")
    found = []
    for entry in sorted(out_dir.parent.glob(f".{out_dir.name}.*-*-*")):
        match = pattern.match(entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            os.kill(int(match.group(2)), 0)
            continue  # that process runs (or runs as another user): its folder is left alone
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):
            continue
        found.append((entry, match.group(1)))
    return found


def is_complete(folder: Path) -> bool:
    """Whether folder holds a whole published dataset: its manifest.json lists files, and each is there with the
    size and SHA-256 the manifest gives."""
    folder = Path(folder)
    try:
        listed = json.loads((folder / "manifest.json").read_bytes())["files"]
        for name, entry in listed.items():
            path = folder / name
            if ".." in Path(name).parts or path.stat().st_size != entry["bytes"]:
                return False
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            if digest.hexdigest() != entry["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return bool(listed)


def _restore(out_dir: Path, abandoned: list[tuple[Path, str]]) -> Path | None:
    """(With the swap lock held.) If out_dir is missing, put back the newest complete old out/ that a build killed
    between write_atomically's two renames set aside: the only complete copy of the published dataset."""
    if out_dir.exists() or out_dir.is_symlink():
        return None
    olds = sorted((entry for entry, kind in abandoned if kind == "old"), key=lambda e: e.stat().st_mtime_ns,
                  reverse=True)
    for entry in olds:
        if is_complete(entry):
            entry.rename(out_dir)
            return entry
    return None


def restore_abandoned(out_dir: Path) -> str | None:
    """Put out_dir back if a killed build left it set aside (see _restore); the name of the folder put back. Every
    build calls this first, so that even one that then fails leaves a complete out/."""
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() or not out_dir.parent.is_dir():
        return None
    with swap_lock(out_dir):
        restored = _restore(out_dir, _abandoned(out_dir))
    return restored.name if restored is not None else None


def remove_abandoned(out_dir: Path) -> list[str]:
    """Delete the staging folders (and the old out/ set aside by write_atomically) beside out_dir whose build
    process is no longer running, once out_dir is put back if it was missing (restore_abandoned: an old out/ is
    never deleted while it is the only complete copy); the names of those deleted."""
    out_dir = Path(out_dir).resolve()
    removed = []
    with swap_lock(out_dir):
        abandoned = _abandoned(out_dir)
        restored = _restore(out_dir, abandoned)
        for entry, _kind in abandoned:
            if entry != restored:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
    return removed


def render(outputs: Outputs) -> dict[str, bytes]:
    """The data files, which do not depend on the validation report: ysv.nt (the sorted, distinct lines of the
    asserted graphs), ysv.nq (every named graph's lines, graph after graph in IRI order), the Turtle, the JSON-LD
    and its context, and the gzips of the Turtle and the N-Quads."""
    names = sorted(outputs.lines, key=str)
    asserted = outputs.asserted if isinstance(outputs.asserted, bytes) else (
        b"".join(outputs.asserted) if isinstance(outputs.asserted, Buffers) else _joined(outputs.asserted))
    iris = sorted(outputs.iris)
    files: dict[str, bytes] = {"ysv.nt": asserted}
    chunks = nquads_chunks([(str(name), _joined(list(outputs.lines[name]))) for name in names])
    files["ysv.nq"] = b"".join(chunks)
    files["ysv.nq.gz"] = nquads_gzip(chunks)
    files["ysv.ttl"], files["ysv.ttl.gz"] = turtle_document(
        asserted, namespaces_used(iris, outputs.base.prefixes(per_kind=True)))
    context, files["ysv.jsonld"] = jsonld.json_ld_document(asserted, namespaces_used(iris, outputs.base.prefixes()))
    files["context.jsonld"] = json_bytes(context)
    return files


def catalogue_turtle(outputs: Outputs, extra: list[bytes]) -> bytes:
    """catalog.ttl: the metadata graph's lines and the catalogue's own (the files' sizes and checksums)."""
    prefixes = outputs.base.prefixes(per_kind=True) | EXTRA_PREFIXES
    return turtle_of_lines(sorted(set(outputs.lines[outputs.metadata_graph]).union(extra)), prefixes)


def finish(files: dict, outputs: Outputs, report: Graph, catalogue=catalogue_turtle) -> dict:
    """Add the validation report, the catalogue (sizes and checksums of the other files) and the manifest.
    catalogue(outputs, extra lines) makes catalog.ttl (the incremental build passes one that keeps its runs)."""
    files = dict(files)
    shacl_prefixes = {"sh": "http://www.w3.org/ns/shacl#", **outputs.base.prefixes(),
                      "ysvsh": outputs.base.iri + "def/shapes/"}
    files["validation.ttl"] = canonical_turtle(report, used_prefixes(report, shacl_prefixes))
    # each file hashed once, for the catalogue and the manifest (a helper hashed those it wrote)
    sums = describing.checksums({name: data for name, data in files.items() if not isinstance(data, Written)})
    sums.update({name: (data.size, data.sha256) for name, data in files.items() if isinstance(data, Written)})
    if outputs.metadata_graph is not None:
        extra = _sorted_graph_lines(Converter(), describing.catalogue(sums, outputs.base))
        files["catalog.ttl"] = catalogue(outputs, extra)
        sums.update(describing.checksums({"catalog.ttl": files["catalog.ttl"]}))
    triples = {name: _count(name, outputs, report) for name in files}  # each counted once
    manifest = {
        "dataset": outputs.base.iri + "id/dataset/ysv",
        "base": outputs.base.iri,
        "graphs": {str(name): _count_lines(outputs.lines, name) for name in sorted(outputs.lines)},
        "files": {
            name: {"bytes": sums[name][0], "sha256": sums[name][1],
                   **({"triples": triples[name]} if triples[name] is not None else {})}
            for name in sorted(files)
        },
    }
    files["manifest.json"] = json_bytes(manifest)
    return files


def _count(name: str, outputs: Outputs, report: Graph) -> int | None:
    if name in ("ysv.ttl", "ysv.nt", "ysv.jsonld", "ysv.ttl.gz"):
        return outputs.count()
    if name in ("ysv.nq", "ysv.nq.gz"):
        return sum(_count_lines(outputs.lines, graph) for graph in outputs.lines)
    if name == "validation.ttl":
        return len(report)
    return None


def json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def write_atomically(out_dir: Path, files: dict, staging: Path | None = None) -> None:
    """Write files into a fresh folder, then swap it for out_dir. On any failure out_dir is left as it was.
    staging: the fresh folder (staging_folder), if the build made it earlier and helpers wrote some files there
    (Written); by default one is made here."""
    out_dir = Path(out_dir).resolve()
    staging = Path(staging) if staging is not None else staging_folder(out_dir)
    try:
        for name, data in files.items():
            if isinstance(data, Written) and (name != data.name or (staging / name).stat().st_size != data.size):
                raise RuntimeError(f"{name} is not in {staging} as the helper that wrote it said")
        for folder in sorted({(staging / name).parent for name in files}):
            folder.mkdir(parents=True, exist_ok=True)
        # creating a file costs a round trip to the disk; threads overlap them (about 10x faster for the site)
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in pool.map(lambda item: (staging / item[0]).write_bytes(item[1]),
                              [(name, data) for name, data in files.items() if not isinstance(data, Written)]):
                pass
        old = None
        # a build killed between these two renames leaves no out/, and the old one set aside (named with its
        # process id): the next build puts it back (restore_abandoned) before it deletes anything
        with swap_lock(out_dir):
            if out_dir.exists():
                old = out_dir.parent / f".{out_dir.name}.old-{staging.name.split('.tmp-', 1)[-1]}"  # pid-random
                out_dir.rename(old)
            try:
                staging.rename(out_dir)
            except BaseException:
                if old is not None:
                    old.rename(out_dir)
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

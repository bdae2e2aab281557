"""Loading a big corpus fast: each source folder's parse kept between builds, folders parsed in parallel, and the
references checked again only where files changed. pipeline.load.load does the loading; this module hands it a
parser (ParseCache) and a record of the references checked (ReferenceCache) through its two small hooks.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import yaml

from . import caching
from .. import workers
from ..pipeline import load as loading
from ..pipeline.load import COMPOSER, Curated


class ReferenceCache:
    """Which folders' references were last found to hold (<cache>/load/references.index). Whether a record's
    references hold depends only on the record and on what it may refer to: the source folders and every
    record's id and kind. While those are as at the last load that passed, only the folders whose files changed
    since (a parse key not seen then) are checked again; otherwise, every folder is (a corpus has some 300,000
    references, a second to check)."""

    def __init__(self, cache: Path | None):
        self.path = Path(cache) / "load" / "references.index" if cache is not None else None  # kept by _prune

    @staticmethod
    def _world(curated: Curated) -> tuple:
        return tuple(sorted(curated.sources)), curated.kinds()

    def unchecked(self, curated: Curated) -> set[str] | None:
        """The folders to check: None for all of them."""
        stored = caching.read(self.path) if self.path is not None else None
        if not (isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[1], set)
                and stored[0] == self._world(curated)):
            return None
        return {source_id for source_id, key in curated.parse_keys.items() if key not in stored[1]}

    def keep(self, curated: Curated) -> None:
        """After a load that passed every check."""
        if self.path is not None and curated.parse_keys:
            caching.write(self.path, (self._world(curated), set(curated.parse_keys.values())))


# Parsing in parallel pays from about this many folders (a process pool costs ~0.1 s to start and its results
# must be sent back); the real dataset, with a few dozen, is parsed in this process.
PARALLEL_FOLDERS = 200


def _parse_folders(folders: list[Path], data_dir: Path, processes: int | None = None) -> list:
    """loading._parse_folder for every folder, in order: shared across helper processes (workers.map; default: one
    a core) when there are many folders, else in this process."""
    import os
    from functools import partial

    processes = processes if processes is not None else (os.cpu_count() or 1)
    if len(folders) < PARALLEL_FOLDERS:
        processes = 0
    return workers.map(partial(_parse_one, data_dir), folders, processes, chunks_each=16)


def _parse_one(data_dir: Path, folder: Path) -> tuple[list, dict]:
    return loading._parse_folder(folder, data_dir)


class ParseCache:
    """What loading._parse_folder made of each folder, kept between builds in <cache>/load/ under a hash of everything
    its answer depends on: the folder's path and the names and bytes of its files, the path of the data folder
    (the events name files by it), and the loader's own code and YAML library (so a changed check parses
    again). Reading and hashing the files is a tenth of parsing them. Entries of folders that are no longer
    there, or have changed, are deleted at each load; a damaged entry is parsed again rather than trusted."""

    def __init__(self, cache: Path | None, processes: int | None = None):
        self.folder = Path(cache) / "load" if cache is not None else None
        self.processes = processes
        self.keys: list[str] = []  # of the folders last parsed (none without a cache)

    def parse(self, folders: list[Path], data_dir: Path) -> list[tuple[list, dict]]:
        processes = self.processes
        if self.folder is None:
            return _parse_folders(folders, data_dir, processes)
        code = _loader_digest(data_dir)
        keys = self.keys = self._keys(folders, code)
        results: list = [self._get(key) for key in keys]
        missing = [i for i, result in enumerate(results) if result is None]
        for i, result in zip(missing, _parse_folders([folders[i] for i in missing], data_dir, processes)):
            results[i] = result
            self._put(keys[i], result)
        self._prune(set(keys))
        return results

    # a file changed less than this long before its folder's key was kept could change again within the same
    # tick of the file system's clock without its size or times changing: such a folder is not trusted to stat
    RACY_NS = 2_000_000_000

    def _keys(self, folders: list[Path], code: bytes) -> list[str]:
        """Each folder's key. Reading and hashing every file of a big corpus takes a second or more, so the key of
        each folder is kept with the stat of its files (names, sizes, modification and change times, inodes, as
        git's index does): while those are the same, the files are not read again."""
        # not a *.pickle, so that _prune leaves it
        path = self.folder / "stat.index"  # type: ignore[operator]
        stored = caching.read(path)
        index = stored[1] if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == code else {}
        now = time.time_ns()
        keys, kept = [], {}
        for folder in folders:
            signature = _folder_stat(folder)
            entry = index.get(folder.name)
            key = entry[1] if entry is not None and entry[0] == signature else _folder_key(folder, code)
            keys.append(key)
            if signature is not None and max((item[3] for item in signature), default=0) < now - self.RACY_NS:
                kept[folder.name] = (signature, key)
        if kept != index:
            caching.write(path, (code, kept))
        return keys

    def _get(self, key: str) -> tuple[list, dict] | None:
        result = caching.read(self.folder / f"{key}.pickle")  # type: ignore[operator]
        return result if isinstance(result, tuple) and len(result) == 2 else None

    def _put(self, key: str, result: tuple[list, dict]) -> None:
        caching.write(self.folder / f"{key}.pickle", result)  # type: ignore[operator]

    def _prune(self, keep: set[str]) -> None:
        caching.prune(self.folder, keep)  # type: ignore[arg-type]


def _loader_digest(data_dir: Path) -> bytes:
    """What every folder's parse depends on besides the folder itself."""
    from ..pipeline import backing, schema
    from .fingerprint import fingerprint

    digest = hashlib.sha256(fingerprint(loading, schema, backing))
    import pyoxigraph  # its IRI parser checks the web addresses (schema.convert)

    digest.update(f"\0{yaml.__version__}\0{COMPOSER.__name__}\0{pyoxigraph.__version__}\0{data_dir}\0".encode())
    return digest.digest()


def _folder_stat(folder: Path) -> tuple | None:
    """The stat of everything in a folder: (name, size, modification time, change time, inode) for each entry,
    in name order; None if it cannot be read."""
    import os

    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        return tuple((e.name, (st := e.stat(follow_symlinks=True)).st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                     for e in entries)
    except OSError:
        return None


def _folder_key(folder: Path, code: bytes) -> str:
    """The key of one folder's parse: its name, and the name of everything in it with the bytes of its files."""
    digest = hashlib.sha256(code)
    digest.update(folder.name.encode() + b"\0")
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            digest.update(b"not a file")
        digest.update(b"\0")
    return digest.hexdigest()


def load(data_dir: Path, processes: int | None = None, cache: Path | None = None,
         releases_dir: Path | None = None) -> Curated:
    """pipeline.load.load with each folder's parse kept in the cache (ParseCache), folders parsed in parallel
    processes for a big corpus (processes: how many; default one a core; 0 or 1: this process only), and the
    references checked again only in the folders that changed (ReferenceCache)."""
    return loading.load(data_dir, parser=ParseCache(cache, processes), references=ReferenceCache(cache),
                        releases_dir=releases_dir)

"""Files of the build cache (.ysv-cache/, beside out/): values kept as pickles between builds.

Each stage that keeps something names its own folder and keys; this module only reads and writes the files. A
file is written to a temporary name and renamed, so a reader sees a whole file or none, and one that cannot be
read back (missing, damaged, written by other code) reads as None: the stage then computes the value again.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

# what unpickling a damaged or foreign file can raise
UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError,
              IndexError, KeyError)
_UNREADABLE = UNREADABLE


# values read ahead (read_ahead) in this process: path -> (the file's stat when read, the value)
_AHEAD: dict[str, tuple] = {}


def signature(path: Path) -> tuple | None:
    """What a file is known by between builds: its size, modification time and inode (None if there is none)."""
    try:
        return signature_of(os.stat(path))
    except OSError:
        return None


def signature_of(stat: os.stat_result) -> tuple:
    """signature() from a file's stat (os.stat, os.fstat)."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def read(path: Path) -> Any | None:
    """The value kept in path, or None if there is none that can be read. A value read ahead is used once, if the
    file has not changed since."""
    ahead = _AHEAD.pop(str(path), None)
    if ahead is not None and ahead[0] == signature(path):
        return ahead[1]
    try:
        return pickle.loads(Path(path).read_bytes())
    except _UNREADABLE:
        return None


def read_ahead(paths) -> int:
    """Read these files' values now, for read() to use later in this process (a helper process reads what it
    will need while the build's main process is still busy with earlier stages); how many were read."""
    for path in paths:
        known = signature(path)
        value = read(path)
        if known is not None and value is not None:
            _AHEAD[str(path)] = (known, value)
    return len(_AHEAD)


def write(path: Path, value: Any) -> None:
    write_pickled(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def write_pickled(path: Path, data: bytes) -> None:
    """Keep a value already pickled (pickle.dumps)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_beside(path)
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def temporary_beside(path: Path) -> Path:
    """A name no other process or thread uses, beside path, for a file to be renamed to path once written: the
    process's id and random letters (a fixed name let two builds rename each other's file away). A build killed
    while writing one leaves it behind; the next to lock the cache deletes it (Lock)."""
    import secrets

    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}{TEMPORARY}")


TEMPORARY = ".tmp"  # how the names of temporary_beside end


# How long a build waits for another build to let go of the cache before it builds without it (seconds; the
# environment variable YSV_CACHE_WAIT sets another).
LOCK_WAIT = 120.0


class Lock:
    """The cache's lock: an exclusive flock on <cache>/lock, held by a build for as long as it reads and writes the
    cache (its helpers write into it on its behalf). A second build into the same cache waits for it."""

    NAME = "lock"

    def __init__(self, cache: Path):
        self.cache, self.handle = Path(cache), None

    def acquire(self, wait: float, on_wait=None) -> bool:
        """Take the lock, waiting up to wait seconds (on_wait() is called once if it must wait); False if it could
        not be had in that time. Taken, the temporary files killed builds left in the cache are deleted."""
        import fcntl
        import time

        self.cache.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.cache / self.NAME, os.O_RDWR | os.O_CREAT, 0o644)
        deadline, waited = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(handle)
                    return False
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(0.05)
        self.handle = handle
        self._remove_temporaries()
        return True

    def release(self) -> None:
        """Let go (the helpers forked while it was held share it: LOCK_UN lets go for them too)."""
        import fcntl

        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            os.close(self.handle)
            self.handle = None

    def _remove_temporaries(self) -> None:
        """With the lock held no other build writes here: every temporary file is one a killed build left."""
        for root, _folders, names in os.walk(self.cache):
            for name in names:
                if name.startswith(".") and name.endswith(TEMPORARY):
                    Path(root, name).unlink(missing_ok=True)


def prune(folder: Path, keep: set[str], patterns: tuple[str, ...] = ("*.pickle",)) -> int:
    """Delete the files of folder (matching patterns) whose name without suffix is not in keep; how many."""
    folder = Path(folder)
    removed = 0
    if folder.is_dir():
        for pattern in patterns:
            for path in folder.glob(pattern):
                if path.stem not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
    return removed

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
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


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

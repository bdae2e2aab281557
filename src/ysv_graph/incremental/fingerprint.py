"""Fingerprints of code: what a kept artefact depends on besides its input.

A cache key names the modules and packages that made the artefact (as imported objects, never as file names typed
into the code), and this module hashes their source. Moving or renaming a file then changes nothing but the
fingerprint, and a module the key forgets to name is a visible omission in one call rather than a stale path.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from types import ModuleType


@lru_cache(maxsize=None)
def _source_digest(path: str) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()


def _files(module: ModuleType) -> list[Path]:
    """The source files of a module, or of every module in a package (its sub-packages included)."""
    file = getattr(module, "__file__", None)
    if file is None:
        raise ValueError(f"{module.__name__} has no source file to fingerprint")
    if Path(file).name == "__init__.py":
        return sorted(Path(file).parent.rglob("*.py"))
    return [Path(file)]


def fingerprint(*modules: ModuleType, extra: str = "") -> bytes:
    """A SHA-256 digest of the source of these modules and packages (by their dotted names and contents, in the
    order given), and of extra (library versions, settings)."""
    digest = hashlib.sha256()
    for module in modules:
        root = Path(module.__file__).parent if Path(module.__file__).name == "__init__.py" else None
        for path in _files(module):
            name = module.__name__ + ("/" + path.relative_to(root).as_posix() if root is not None else "")
            digest.update(name.encode() + b"\0" + _source_digest(str(path)))
    digest.update(extra.encode())
    return digest.digest()

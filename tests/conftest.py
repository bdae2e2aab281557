"""Shared fixtures: one in-memory build of the real data per test session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ysv_graph import build
from ysv_graph.vocab import Base

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
OUT = ROOT / "out"


@pytest.fixture(scope="session")
def built():
    """The real data built in memory (nothing written)."""
    return build.run(DATA, None, Base(), write=False)


@pytest.fixture(scope="session")
def built_out(tmp_path_factory, built):
    """The real data built into a temporary out/ folder."""
    out = tmp_path_factory.mktemp("built") / "out"
    from ysv_graph import writing
    writing.write_atomically(out, built.files)
    return out


@pytest.fixture()
def data_copy(tmp_path):
    """A writable copy of data/ to mutate."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target

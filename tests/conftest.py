"""Shared fixtures: one in-memory build of the real data per test session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ysv_graph.incremental import build
from ysv_graph.rdf.terms import Base

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
OUT = ROOT / "out"


def corpus_module():
    """benchmarks/corpus.py (the synthetic corpus's generator), loaded once as a module."""
    import importlib.util
    import sys

    name = "ysv_benchmarks_corpus_for_tests"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "corpus.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def built():
    """The real data built in memory by the plain pipeline, with the static site (nothing written)."""
    from ysv_graph.pipeline import build as plain
    from ysv_graph.serve.site import render_site

    return plain.run(DATA, None, Base(), pages=render_site, write=False, releases_dir=ROOT / "releases")


@pytest.fixture(scope="session")
def built_out(tmp_path_factory, built):
    """The real data built into a temporary out/ folder."""
    out = tmp_path_factory.mktemp("built") / "out"
    from ysv_graph.pipeline import writing
    writing.write_atomically(out, built.files)
    return out


@pytest.fixture()
def data_copy(tmp_path):
    """A writable copy of data/ to mutate."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


@pytest.fixture(scope="session")
def live_server(built_out):
    """The real app on uvicorn, on a free loopback port, for the browser and raw-HTTP tests."""
    import socket
    import threading
    import time

    import uvicorn

    from ysv_graph.serve.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(built_out, query_timeout=5.0), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)

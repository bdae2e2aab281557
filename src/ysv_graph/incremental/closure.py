"""The ontology's OWL 2 RL closure kept between builds (a third of a second, a sixth of building the real data).

kept_closure(cache) is what the incremental build hands to pipeline.reasoning.Reasoner as its `close` hook.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from rdflib import BNode, Graph

from . import caching
from ..pipeline.reasoning import _close, close_ontology


def kept_closure(cache: Path | None):
    """The close hook for Reasoner: the closure kept in this process (close_ontology), and, given a cache folder,
    in a file named by a hash of the ontology and the owlrl version. An ontology with blank nodes is not kept on
    disk: they would not read back as the same nodes."""
    return close_ontology if cache is None else partial(_closure_from_cache, cache=Path(cache))


_KEPT: dict[frozenset, Graph] = {}


def _closure_from_cache(ontology: Graph, cache: Path) -> Graph:
    key = frozenset(ontology)
    if key not in _KEPT:
        _KEPT.clear()
        _KEPT[key] = _read_or_close(ontology, cache)
    return _KEPT[key]


def _read_or_close(ontology: Graph, cache: Path) -> Graph:
    import hashlib
    from importlib.metadata import version

    if any(isinstance(term, BNode) for triple in ontology for term in triple):
        return _close(ontology)
    lines = sorted(ontology.serialize(format="nt", encoding="utf-8").splitlines())
    digest = hashlib.sha256(f"owlrl {version('owlrl')}\n".encode() + b"\n".join(lines)).hexdigest()
    folder = cache / "ontology"
    path = folder / f"{digest}.pickle"  # not N-Triples: owlrl's closure has triples about literals
    kept = caching.read(path)
    if isinstance(kept, list):
        closed = Graph()
        try:
            for triple in kept:
                closed.add(triple)
        except Exception:  # noqa: BLE001 - not triples: closed again below
            closed = Graph()
        if len(closed) >= len(ontology):  # a closure holds at least the ontology; anything less is damaged
            return closed
    closed = _close(ontology)
    if not any(isinstance(term, BNode) for triple in closed for term in triple):
        caching.prune(folder, {digest})  # one ontology is built with at a time: only its closure is kept
        caching.write(path, sorted(closed))
    return closed

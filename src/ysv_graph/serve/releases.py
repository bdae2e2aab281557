"""`/doc/{kind}/{id}?version=V`: a resource as it was in a kept release (out/releases/V/ysv.nq.gz).

A kept release is loaded when first asked for, and at most KEEP of them stay in memory. An unknown version gives
404 and a malformed one 400, each with the plain list of the versions this server holds.
"""
from __future__ import annotations

import gzip
import html
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from . import negotiation
from .negotiation import RESOURCE_FORMATS
from .pages import Linker, Pages, iri_for_doc_path
from .repository import Repository
from ..rdf.terms import Base

VERSION = re.compile(r"[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}")
KEEP = 3  # kept releases held in memory at once
SCHEMA_VERSION = "https://schema.org/version"


class Releases:
    """The kept releases under out/releases/, each loaded on first use (the KEEP most recently used are held)."""

    def __init__(self, out_dir: Path, base: Base, current: str | None):
        self.base, self.current = base, current
        folder = Path(out_dir) / "releases"
        found = [p.parent.name for p in folder.glob("*/ysv.nq.gz")] if folder.is_dir() else []
        self.files = {v: folder / v / "ysv.nq.gz" for v in found if VERSION.fullmatch(v)}
        self.loaded: OrderedDict[str, tuple[Repository, Pages]] = OrderedDict()

    def held(self) -> str:
        """The versions this server holds, in words."""
        kept = sorted(self.files, key=lambda v: tuple(int(p) for p in v.split(".")))
        listed = [f"{v} (kept)" for v in kept] + ([f"{self.current} (current)"] if self.current else [])
        return "Versions held: " + (", ".join(listed) if listed else "none") + "."

    def release(self, version: str) -> tuple[Repository, Pages]:
        if version in self.loaded:
            self.loaded.move_to_end(version)
            return self.loaded[version]
        quads = ox.parse(gzip.decompress(self.files[version].read_bytes()), format=ox.RdfFormat.N_QUADS)
        repo = Repository.from_quads(quads, self.base)
        self.loaded[version] = (repo, Pages(repo))
        while len(self.loaded) > KEEP:
            self.loaded.popitem(last=False)
        return self.loaded[version]

    def answer(self, request: Request, path: str, error: Callable[..., Response]) -> Response | None:
        """The response to /doc/{path}?version=V; None when V is the current release (answered as usual)."""
        version = request.query_params.get("version", "")
        if version == self.current:
            return None
        if len(version) > 40 or not VERSION.fullmatch(version):
            return error(request, 400, f"Bad request: a version is written like 0.1.0. {self.held()}")
        if version not in self.files:
            return error(request, 404, f"Release {version} is not held here. {self.held()}")
        path, explicit = negotiation.split_suffix(path)
        if path.endswith("/"):
            return error(request, 404, f"Index pages are of the current release only. {self.held()}")
        fmt = negotiation.resource_format(request.headers.get("accept"), explicit)
        if fmt is None:
            return error(request, 406, "Available as: " + ", ".join(f.media_type for f in RESOURCE_FORMATS))
        repo, pages = self.release(version)
        for iri in iri_for_doc_path(self.base, path):
            try:
                node = ox.NamedNode(iri)
            except ValueError:
                continue
            if not repo.is_described(node):
                continue
            headers = {"Vary": "Accept"} if explicit is None else {}
            if fmt.rdf_format is None:
                note = (f'<p class="note" role="note">This is release {html.escape(version)} of the dataset; the '
                        f'current release is {html.escape(self.current or "unknown")}. Links lead to the '
                        f'current release.</p>')
                page = pages.resource(iri, Linker(repo)).replace('<main id="main">', '<main id="main">\n' + note, 1)
                return Response(page, media_type="text/html; charset=utf-8", headers=headers)
            body = ox.serialize(repo.describe(node), format=fmt.rdf_format)
            media = negotiation.content_type(fmt.media_type)
            return Response(body, media_type=media, headers=headers)
        return error(request, 404, f"Nothing was known about {iri_for_doc_path(self.base, path)[0]} in release "
                                   f"{version}. {self.held()}")


def current_version(repo: Repository, base: Base) -> str | None:
    """The version of the release the server publishes (schema:version of the dataset)."""
    value = repo.value(ox.NamedNode(base.iri + "id/dataset/ysv"), SCHEMA_VERSION)
    return value.value if value is not None else None

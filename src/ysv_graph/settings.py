"""Where the project's data lives: one settings object, so no module works out paths of its own.

The ontology, the shapes and the shipped queries are kept at the top of the repository (ontology/, shapes/,
queries/), beside src/; the HTML templates are package data, found through importlib.resources. A deployment
that keeps the ontology, shapes or queries elsewhere sets YSV_HOME to the folder that holds them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


def _home() -> Path:
    configured = os.environ.get("YSV_HOME")
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parents[2]  # src/ysv_graph/settings.py -> the repository


@dataclass(frozen=True)
class Settings:
    home: Path

    @property
    def ontology_dir(self) -> Path:
        return self.home / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.home / "shapes"

    @property
    def queries_dir(self) -> Path:
        return self.home / "queries"

    @property
    def templates_dir(self) -> Path:
        return Path(str(resources.files("ysv_graph.serve") / "templates"))


SETTINGS = Settings(_home())

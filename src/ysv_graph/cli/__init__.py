"""The command line: ysv-graph build | validate | query | serve | publish | stats."""
from .main import entry, main

__all__ = ["entry", "main"]

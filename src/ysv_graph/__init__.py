"""ysv-graph: the HMICFRS serious youth violence inspection (8 March 2023) as validated linked data."""

__version__ = "0.1.0"

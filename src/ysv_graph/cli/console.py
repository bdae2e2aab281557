"""What every command prints through, and the exit codes (as pySHACL's): 0 success / conforms, 1 the data does
not conform (or a store holds other triples), 2 an error (bad curated data, a missing file, a bad query)."""
from __future__ import annotations

from rich.console import Console

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

"""The validation screen's process: `shacl` (a SHACL engine in Rust) run on its own, fed over a pipe.

screening.Screen starts this module with `python -m ysv_graph.incremental.screen` and sends it length-prefixed frames on
stdin: first the shapes as N-Triples, then one graph of data per frame, as N-Triples or as the path of an
N-Triples file (a frame starting with FILE). For each frame it answers
with one frame: b"ok\\n" followed by the distinct focus nodes of the results (N-Triples syntax, one a line), or
b"error\\n" and a message.

Why a process of its own, started fresh rather than forked: `shacl` runs on rayon's global thread pool, and a
process forked from one whose pool had started waits forever for threads that fork did not copy. Nothing here
imports more than `shacl`, so it starts in a few milliseconds.
"""
from __future__ import annotations

import sys

from ..workers import read_frame, write_frame

FILE = b"file\n"  # a frame that starts so names an N-Triples file to read, rather than holding the data


def serve(stdin, stdout) -> None:
    try:
        import shacl

        shapes_nt = read_frame(stdin)
        if shapes_nt is None:
            return
        shapes = shacl.Shapes.from_text(shapes_nt.decode("utf-8"), "ntriples")
    except Exception as exc:  # noqa: BLE001 - told to the parent, which does without the screen
        write_frame(stdout, b"error\n" + f"{type(exc).__name__}: {exc}".encode())
        return
    write_frame(stdout, b"ok\n")
    while True:
        data = read_frame(stdin)
        if data is None:
            return
        try:
            if data.startswith(FILE):
                report = shapes.validate_file(data[len(FILE):].decode("utf-8"))
            else:
                report = shapes.validate_text(data.decode("utf-8"), "ntriples")
            nodes = sorted({result.focus_node for result in report.results})
            write_frame(stdout, b"ok\n" + "\n".join(nodes).encode("utf-8"))
        except Exception as exc:  # noqa: BLE001 - the parent has pyshacl validate this batch instead
            write_frame(stdout, b"error\n" + f"{type(exc).__name__}: {exc}".encode())


if __name__ == "__main__":  # pragma: no cover - runs in the screen's process
    if len(sys.argv) > 2:  # the build's process id: the screen ends with it (and when its stdin closes)
        from ..workers import Helper

        Helper.die_with_parent(int(sys.argv[1]), sys.argv[2] == "1")
    serve(sys.stdin.buffer, sys.stdout.buffer)

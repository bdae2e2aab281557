"""Worker processes: the one mechanism ysv-graph uses to run work beside its main process.

- Helper: a process forked from this one that runs the functions sent to it, one at a time, and sends back their
  results (or their exceptions). The build forks its helpers at its start, while the main process is still small:
  a process forked late, from a parent holding a million triples, ends up with a private copy of much of the
  parent's memory (every page the parent changes after the fork is copied), which was measured to matter at
  corpus scale.
- map(): a function over many items, spread across a few helpers forked for the purpose (parsing a corpus's
  folders, making its documents, validating its batches), each given its next chunk as soon as it is free.
- Frames: how a worker that is a program of its own (the SHACL screen; the server's SPARQL workers) talks over its
  stdin and stdout: an 8-byte length, then that many bytes.
"""
from __future__ import annotations

import struct

HEADER = struct.Struct(">Q")


def read_frame(stream) -> bytes | None:
    """The next frame from a binary stream, or None at its end (or a frame cut short)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def write_frame(stream, data: bytes) -> None:
    stream.write(HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


async def read_frame_async(reader) -> bytes:
    """The next frame from an asyncio StreamReader (asyncio.IncompleteReadError at its end)."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return await reader.readexactly(size)


def frame(data: bytes) -> bytes:
    """A frame's bytes, to write to an asyncio stream."""
    return HEADER.pack(len(data)) + data


class Helper:
    """A process forked at the start of the build, while this one is still small, that runs functions sent to
    it (one at a time) and sends back their results. A process forked late, from a parent holding a million
    triples, ends up with a private copy of much of the parent's memory (every page the parent changes after
    the fork is copied), so the JSON-LD is made here instead."""

    def __init__(self) -> None:
        import multiprocessing as mp

        context = mp.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    @staticmethod
    def _serve(conn) -> None:  # pragma: no cover - runs in the helper process
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            function, args, *answer = message
            if answer == [False]:  # (warm: no answer is awaited, and a failure only means less was done ahead)
                try:
                    function(*args)
                except Exception:  # noqa: BLE001
                    pass
                continue
            try:
                conn.send((True, function(*args)))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                conn.send((False, exc))

    def submit(self, function, *args) -> "Helper":
        self.conn.send((function, args))
        return self

    def warm(self, function, *args) -> None:
        """Have the helper run function(*args) when it is free, with no answer (see read_ahead)."""
        self.conn.send((function, args, False))

    def nice(self, increment: int) -> int | None:
        """Add increment to the helper's niceness (os.nice), so that it yields the processors to the processes
        of the build that were not made nicer; its niceness now, or None where the system refused (it is only a
        matter of speed). Only while the helper is idle: its answers come back in the order asked."""
        import os

        try:
            return self.submit(os.nice, increment).result()
        except OSError:
            return None

    def result(self):
        try:
            ok, value = self.conn.recv()
        except EOFError:
            raise RuntimeError("the helper process died") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the helper (it gives its memory back); again is harmless."""
        if self.process is None:
            return
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()
        self.process = None

    @classmethod
    def start(cls) -> "Helper | None":
        """A helper, if forking is possible and safe here (no other threads), else None."""
        import multiprocessing as mp
        import threading

        if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
            return cls()
        return None


def can_fork() -> bool:
    """Whether forking is possible and safe here: the platform has it and no other thread runs."""
    import multiprocessing as mp
    import threading

    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


def map(function, items: list, processes: int, chunks_each: int = 4) -> list:  # noqa: A001 - workers.map
    """[function(item) for item in items], in order, spread across `processes` helpers forked now (they see this
    process's memory as it is: a function may read what the caller set up before calling). The items go in
    chunks of about len(items) / (processes * chunks_each), each to the next helper that is free. In this process
    instead when processes < 2 or forking is not safe here."""
    from multiprocessing.connection import wait

    if processes < 2 or len(items) < 2 or not can_fork():
        return [function(item) for item in items]
    size = max(1, -(-len(items) // (processes * chunks_each)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    helpers = [Helper() for _ in range(min(processes, len(chunks)))]
    results: list = [None] * len(chunks)
    running: dict = {}  # a helper's connection -> (the helper, the chunk's index)
    todo = list(range(len(chunks)))
    try:
        for helper in helpers:
            index = todo.pop(0)
            helper.submit(_apply, function, chunks[index])
            running[helper.conn] = (helper, index)
        while running:
            for conn in wait(list(running)):
                helper, index = running.pop(conn)
                results[index] = helper.result()
                if todo:
                    index = todo.pop(0)
                    helper.submit(_apply, function, chunks[index])
                    running[helper.conn] = (helper, index)
    finally:
        for helper in helpers:
            helper.close()
    return [value for chunk in results for value in chunk]


def _apply(function, chunk: list) -> list:
    return [function(item) for item in chunk]

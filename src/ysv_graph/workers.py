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

    # How often (seconds) an idle helper looks whether its parent still runs, where the kernel cannot be asked to
    # end it with its parent (see die_with_parent).
    PARENT_POLL = 1.0

    def __init__(self) -> None:
        import multiprocessing as mp
        import os
        import threading

        context = mp.get_context("fork")
        self.conn, child = context.Pipe()
        # the kernel's signal on the parent's death comes when the *thread* that forked exits: asked for only when
        # that is the main thread (which ends with the process)
        on_death = threading.current_thread() is threading.main_thread()
        self.process = context.Process(target=self._serve, args=(child, os.getpid(), on_death), daemon=True)
        self.process.start()
        child.close()

    @staticmethod
    def die_with_parent(parent: int, on_death: bool = True) -> None:
        """Make this process (a helper, or another of the build's, such as the screen's) end when its parent,
        whose id is parent, does: the parent may be killed (SIGKILL, out of memory) with no chance to stop it,
        and a helper left running would hold its memory and files for ever, re-parented to PID 1. On Linux the
        kernel sends SIGKILL when it dies (prctl PR_SET_PDEATHSIG; on_death=False: not asked for); if the parent
        is gone already, this process exits now. Where there is no prctl, the helper looks every PARENT_POLL
        seconds while idle whether its parent changed, and exits if so (and when its pipe closes)."""
        import os
        import sys

        if on_death and sys.platform.startswith("linux"):
            try:
                import ctypes
                import signal

                ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
            except (OSError, AttributeError):  # no libc, no prctl: the polling stays
                pass
        if os.getppid() != parent:  # died before the request took effect
            os._exit(0)

    @staticmethod
    def _serve(conn, parent: int | None = None, on_death: bool = True) -> None:  # pragma: no cover - in the helper
        import os

        if parent is not None:
            Helper.die_with_parent(parent, on_death)
        while True:
            try:
                while parent is not None and not conn.poll(Helper.PARENT_POLL):
                    if os.getppid() != parent:  # the parent died: nobody will ask anything again
                        os._exit(0)
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

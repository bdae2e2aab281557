"""Worker processes: the one mechanism the build uses to run work beside its main process.

A Helper is a process forked at the start of the build, while the main process is still small, that runs the
functions sent to it one at a time and sends back their results (or their exceptions). A process forked late,
from a parent holding a million triples, ends up with a private copy of much of the parent's memory (every page
the parent changes after the fork is copied): that was measured to matter at corpus scale, so the build forks
its helpers first. map() spreads a function over items across a few helpers (loading and making documents).
"""
from __future__ import annotations


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

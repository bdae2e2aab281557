"""SPARQL query execution for the server: a pool of worker processes, each with its own pyoxigraph store.

A query runs in a worker process so that one running past the timeout can be stopped for real (the process is
killed and replaced); the HTTP layer answers 503. pyoxigraph is the only SPARQL engine on the request path.
"""
from __future__ import annotations

import asyncio
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .negotiation import GRAPH_FORMATS, SOLUTIONS_FORMATS
from ..workers import frame, read_frame, read_frame_async, write_frame

UPDATE_RE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[A-Za-z0-9_.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)


def looks_like_update(text: str) -> bool:
    stripped = re.sub(r"#[^\n]*", "", text)  # comments
    return bool(UPDATE_RE.match(stripped))


@dataclass
class Outcome:
    status: int
    content_type: str
    body: bytes


def execute(store: ox.Store, query: str, default_graphs: list[str], named_graphs: list[str],
            solutions_type: str | None, graph_type: str | None) -> Outcome:
    """Run one query on a store and serialise the result in the negotiated format."""
    options: dict = {}
    if default_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
    else:
        options["use_default_graph_as_union"] = True
    if named_graphs:
        options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
    try:
        result = store.query(query, **options)
        if isinstance(result, (ox.QuerySolutions, ox.QueryBoolean)):
            if solutions_type is None:
                return Outcome(406, "text/plain; charset=utf-8",
                               b"SELECT and ASK results are available as: " + ", ".join(SOLUTIONS_FORMATS).encode())
            body = result.serialize(format=SOLUTIONS_FORMATS[solutions_type])
            return Outcome(200, solutions_type + ("; charset=utf-8" if solutions_type.startswith("text/") else ""),
                           body)
        if graph_type is None:
            return Outcome(406, "text/plain; charset=utf-8",
                           b"CONSTRUCT and DESCRIBE results are available as: " + ", ".join(GRAPH_FORMATS).encode())
        body = ox.serialize(list(result), format=GRAPH_FORMATS[graph_type])
        return Outcome(200, graph_type + ("; charset=utf-8" if graph_type.startswith("text/") else ""), body)
    except SyntaxError as exc:
        return Outcome(400, "text/plain; charset=utf-8", f"Malformed query: {exc}".encode())
    except (OSError, ValueError, RuntimeError) as exc:
        return Outcome(400, "text/plain; charset=utf-8", f"Query failed: {exc}".encode())


def _worker_main(nquads: str) -> None:  # pragma: no cover - runs in a child process
    """Serve requests from the parent on stdin/stdout, each a frame (workers.write_frame) holding a pickled tuple."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    store = ox.Store()
    store.bulk_load(path=nquads, format=ox.RdfFormat.N_QUADS)
    _send(stdout, "ready")
    while True:
        data = read_frame(stdin)
        if data is None:
            return
        outcome = execute(store, *pickle.loads(data))
        _send(stdout, (outcome.status, outcome.content_type, outcome.body))


def _send(stream, value) -> None:
    write_frame(stream, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process

    @classmethod
    async def start(cls, nquads: str) -> "_Worker":
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ysv_graph.serve.sparql", nquads,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = cls(process)
        if await asyncio.wait_for(worker.receive(), 60) != "ready":
            raise RuntimeError("SPARQL worker did not start")
        return worker

    async def receive(self):
        return pickle.loads(await read_frame_async(self.process.stdout))

    async def ask(self, request: tuple):
        self.process.stdin.write(frame(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)))
        await self.process.stdin.drain()
        return await self.receive()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


class QueryTimeout(Exception):
    pass


class QueryPool:
    """N worker processes; a request waits for a free one, runs, and is killed if it passes the timeout."""

    def __init__(self, nquads: Path, workers: int = 2, timeout: float = 10.0):
        self.nquads, self.size, self.timeout = str(nquads), max(1, workers), timeout
        self.idle: asyncio.Queue[_Worker] | None = None
        self.workers: list[_Worker] = []
        self._pending: set[asyncio.Task] = set()

    async def start(self) -> None:
        self.idle = asyncio.Queue()
        for worker in await asyncio.gather(*(_Worker.start(self.nquads) for _ in range(self.size))):
            self.workers.append(worker)
            self.idle.put_nowait(worker)

    async def stop(self) -> None:
        for task in list(self._pending):
            await task
        for worker in self.workers:
            worker.kill()
            await worker.process.wait()
        self.workers.clear()

    async def run(self, query: str, default_graphs: list[str], named_graphs: list[str],
                  solutions_type: str | None, graph_type: str | None) -> Outcome:
        assert self.idle is not None, "pool not started"
        worker = await self.idle.get()
        try:
            status, content_type, body = await asyncio.wait_for(
                worker.ask((query, default_graphs, named_graphs, solutions_type, graph_type)), self.timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            # answer now; a fresh worker starts in the background
            worker.kill()
            self.workers.remove(worker)
            task = asyncio.get_running_loop().create_task(self._start_one())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            if isinstance(exc, asyncio.TimeoutError):
                raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped") from None
            raise
        self.idle.put_nowait(worker)
        return Outcome(status, content_type, body)

    async def _start_one(self) -> None:
        fresh = await _Worker.start(self.nquads)
        self.workers.append(fresh)
        self.idle.put_nowait(fresh)


if __name__ == "__main__":  # pragma: no cover
    _worker_main(sys.argv[1])

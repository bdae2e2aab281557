"""SPARQL query execution for the server: a supervised pool of worker processes, each with its own pyoxigraph store.

A query runs in a worker process so that one running past its deadline can be stopped for real (the process is
killed); the HTTP layer answers 503. pyoxigraph is the only SPARQL engine on the request path.

- Every worker is watched: one that exits for any reason (killed by the timeout, by an operator, by the kernel) is
  replaced, with a growing pause between attempts if starting one keeps failing. A request whose worker died
  under it is answered 503; a worker found dead before it was sent the query is skipped.
- A request has one deadline, the query timeout counted from the request's start: waiting for a free worker counts
  against it. At most `max_queue` requests wait; beyond that, and at the deadline, the answer is 503 (Retry-After).
- Queries are checked in the worker before they run: federated queries (SERVICE) are refused unless the operator
  allowed them, and a query's own FROM / FROM NAMED clauses choose its dataset (else the default graph is the union
  of all named graphs).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import pickle
import re
import select
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .negotiation import GRAPH_FORMATS, SOLUTIONS_FORMATS
from ..workers import frame, read_frame, read_frame_async, write_frame

log = logging.getLogger("ysv_graph.serve")

UPDATE_RE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[A-Za-z0-9_.-]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)

FEDERATION_REFUSED = ("Federated queries (SERVICE) are not allowed on this endpoint: the server sends no requests "
                      "to other hosts. The operator can allow them with `ysv-graph serve --allow-federation`.")


def looks_like_update(text: str) -> bool:
    stripped = re.sub(r"#[^\n]*", "", text)  # comments
    return bool(UPDATE_RE.match(stripped))


# --- what a query asks for, read from its tokens (and, where it may name SERVICE, from rdflib's parse) ----------------
# The lexical rules of SPARQL 1.1 (section 19.8): comments, the four kinds of string, IRIs, variables, language tags;
# anything else is a name (keyword, prefixed name, number, blank node label) or one character of punctuation.
_STOP = r"\s{}()\[\],;.<>\"'#=!&|+*/^?$@"
_LEXER = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<comment>\#[^\r\n]*)"
    r"|(?P<string>\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|\\.))*\"\"\"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r"|\"(?:[^\"\\\r\n]|\\.)*\"|'(?:[^'\\\r\n]|\\.)*')"
    r"|(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)"
    r"|(?P<var>[?$][\w\u00b7\u0300-\u036f\u203f\u2040]*)"
    r"|(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)"
    rf"|(?P<name>[^{_STOP}](?:[^{_STOP.replace('.', '')}]*[^{_STOP}])?)"
    r"|(?P<other>.)", re.DOTALL)
_SERVICE_WORD = re.compile(r"\bservice\b", re.IGNORECASE)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of every token but white space and comments."""
    return [(match.lastgroup, match.group()) for match in _LEXER.finditer(text)
            if match.lastgroup not in ("space", "comment")]


@dataclass(frozen=True)
class QueryShape:
    federated: bool  # it has (or may have: see is_federated) a SERVICE pattern
    dataset: bool  # it has FROM or FROM NAMED


def shape(query: str) -> QueryShape:
    found = tokens(query)
    keywords = {text.upper() for kind, text in found if kind == "name"}
    return QueryShape(federated=is_federated(query, found, keywords), dataset="FROM" in keywords)


def is_federated(query: str, found: list[tuple[str, str]], keywords: set[str]) -> bool:
    """Whether the query has a SERVICE pattern. A bare SERVICE token is enough. Where the word appears elsewhere (in
    an IRI, a prefixed name, after a \\u escape), rdflib's SPARQL parser decides; if it cannot parse the query, the
    word anywhere outside strings and comments counts (this errs towards refusing)."""
    if "SERVICE" in keywords:
        return True
    unescaped = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16))
                                    if int(m.group(1) or m.group(2), 16) < 0x110000 else "", query)
    if not (_SERVICE_WORD.search(query) or _SERVICE_WORD.search(unescaped)):
        return False
    try:
        return _rdflib_has_service(query)
    except Exception:  # noqa: BLE001 - rdflib could not parse it: err towards refusing
        return any(_SERVICE_WORD.search(text) for kind, text in tokens(unescaped) + found
                   if kind not in ("string", "comment"))


def _rdflib_has_service(query: str) -> bool:
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [parseQuery(query)]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return True
            stack.extend(dict.values(node))
        elif isinstance(node, (list, tuple, ParseResults)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
    return False


@dataclass
class Outcome:
    status: int
    content_type: str
    body: bytes


def _text(status: int, message: str) -> Outcome:
    return Outcome(status, "text/plain; charset=utf-8", message.encode("utf-8"))


def execute(store: ox.Store, query: str, default_graphs: list[str], named_graphs: list[str],
            solutions_type: str | None, graph_type: str | None, allow_federation: bool = False) -> Outcome:
    """Run one query on a store and serialise the result in the negotiated format.

    The dataset: the protocol's default-graph-uri / named-graph-uri when given (they override the query's own);
    else the query's FROM / FROM NAMED; else the union of all named graphs as the default graph."""
    try:
        query_shape = shape(query)
    except RecursionError:
        return _text(400, "Malformed query: it is nested too deeply")
    if query_shape.federated and not allow_federation:
        return _text(400, FEDERATION_REFUSED)
    options: dict = {}
    try:
        if default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        elif named_graphs or not query_shape.dataset:
            options["use_default_graph_as_union"] = True
        if named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
    except ValueError as exc:
        return _text(400, f"Bad graph IRI: {exc}")
    try:
        result = store.query(query, **options)
        if isinstance(result, (ox.QuerySolutions, ox.QueryBoolean)):
            if solutions_type is None:
                return _text(406, "SELECT and ASK results are available as: " + ", ".join(SOLUTIONS_FORMATS))
            body = result.serialize(format=SOLUTIONS_FORMATS[solutions_type])
            return Outcome(200, solutions_type + ("; charset=utf-8" if solutions_type.startswith("text/") else ""),
                           body)
        if graph_type is None:
            return _text(406, "CONSTRUCT and DESCRIBE results are available as: " + ", ".join(GRAPH_FORMATS))
        body = ox.serialize(list(result), format=GRAPH_FORMATS[graph_type])
        return Outcome(200, graph_type + ("; charset=utf-8" if graph_type.startswith("text/") else ""), body)
    except SyntaxError as exc:
        return _text(400, f"Malformed query: {exc}")
    except Exception as exc:  # noqa: BLE001 - the engine's errors (OSError, ValueError, RuntimeError, ...)
        return _text(400, f"Query failed: {exc}")


def _worker_main(nquads: str) -> None:  # pragma: no cover - runs in a child process
    """Serve requests from the parent on stdin/stdout, each a frame (workers.write_frame) holding a pickled tuple."""
    import signal

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server stops its workers
    _exit_with_parent()
    store = ox.Store()
    store.bulk_load(path=nquads, format=ox.RdfFormat.N_QUADS)
    _rdflib_has_service("ASK {}")  # load rdflib's parser now (a few hundred ms), not on the first request needing it
    _send(stdout, "ready")
    while True:
        data = read_frame(stdin)
        if data is None:
            return
        outcome = execute(store, *pickle.loads(data))
        _send(stdout, (outcome.status, outcome.content_type, outcome.body))


def _exit_with_parent() -> None:  # pragma: no cover - runs in a child process
    """End this worker when the server that started it is gone, even in the middle of a long query."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _send(stream, value) -> None:
    write_frame(stream, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


# --- the parent's side ---------------------------------------------------------------------------------------------

class QueryUnavailable(Exception):
    """The query could not be answered now (503); retry_after is the Retry-After header's seconds."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class QueryTimeout(QueryUnavailable):
    """The request's deadline passed (waiting for a worker, or running)."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        self.dead = False
        try:  # readable as soon as the process exits, before the event loop's child watcher has reaped it
            self._pidfd: int | None = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # not Linux (5.3+): returncode alone, set when the process is reaped
            self._pidfd = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        if self.dead or self.process.returncode is not None:
            return False
        if self._pidfd is not None and select.select([self._pidfd], [], [], 0)[0]:
            self.dead = True  # it has exited; its watcher will see it too
            return False
        return True

    @classmethod
    async def start(cls, nquads: str) -> "_Worker":
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ysv_graph.serve.sparql", nquads,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = cls(process)
        try:
            if await asyncio.wait_for(worker.receive(), 60) != "ready":
                raise RuntimeError("SPARQL worker did not start")
        except BaseException:
            worker.kill()
            raise
        return worker

    async def send(self, request: tuple) -> None:
        self.process.stdin.write(frame(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)))
        await self.process.stdin.drain()

    async def receive(self):
        return pickle.loads(await read_frame_async(self.process.stdout))

    def close(self) -> None:
        """Close the pipe to an exited worker (else the transport is closed when collected, maybe loop-less)."""
        try:
            self.process.stdin.close()
        except (OSError, RuntimeError):  # pragma: no cover
            pass
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def kill(self) -> None:
        self.dead = True
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass


# what a dead worker looks like to the parent: a broken pipe (asyncio), a closed handle (uvloop), a cut-off reply
_LOST = (asyncio.IncompleteReadError, ConnectionError, OSError, RuntimeError, EOFError, pickle.UnpicklingError)


class QueryPool:
    """`workers` supervised processes; a request waits (bounded) for a free one, runs, and is stopped at its
    deadline."""

    def __init__(self, nquads: Path, workers: int = 2, timeout: float = 10.0, max_queue: int = 32,
                 allow_federation: bool = False):
        self.nquads, self.size, self.timeout = str(nquads), max(1, workers), timeout
        self.max_queue, self.allow_federation = max(0, max_queue), allow_federation
        self.workers: list[_Worker] = []  # started and not yet seen to exit
        self.restarts = 0
        self.closing = False
        self._idle: collections.deque[_Worker] = collections.deque()
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._tasks: set[asyncio.Task] = set()
        self._started: set[_Worker] = set()  # every worker started and not yet seen to exit
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def retry_after(self) -> int:
        return max(1, min(10, math.ceil(self.timeout)))

    def pids(self) -> list[int]:
        return sorted(worker.pid for worker in self.workers if worker.alive)

    # --- life ----------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        started = await asyncio.gather(*(self._start_worker() for _ in range(self.size)), return_exceptions=True)
        failures = [s for s in started if isinstance(s, BaseException)]
        for worker in started:
            if not isinstance(worker, BaseException):
                self._adopt(worker)
        if failures:
            await self.stop()
            raise failures[0]

    async def _start_worker(self) -> _Worker:
        worker = await _Worker.start(self.nquads)
        self._started.add(worker)
        return worker

    def _adopt(self, worker: _Worker) -> None:
        self.workers.append(worker)
        self._spawn(self._watch(worker))
        self._release(worker)

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, worker: _Worker) -> None:
        """Wait for the worker to exit, for whatever reason, and have it replaced."""
        await worker.process.wait()
        worker.dead = True
        worker.close()
        self._started.discard(worker)
        if worker in self.workers:
            self.workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if not self.closing:
            log.warning("SPARQL worker %d exited (%s); starting another", worker.pid, worker.process.returncode)
            self._spawn(self._replace())

    async def _replace(self) -> None:
        pause = 0.1
        while not self.closing:
            try:
                worker = await self._start_worker()
            except Exception as exc:  # noqa: BLE001 - keep trying, more slowly
                log.error("could not start a SPARQL worker (%s); trying again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            if self.closing:
                worker.kill()
                return
            self.restarts += 1
            self._adopt(worker)
            return

    def abort(self) -> None:
        """Stop now (the server is shutting down): waiting requests and running queries are answered 503."""
        self.closing = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(QueryUnavailable("the server is shutting down", self.retry_after))
        for worker in list(self.workers):
            worker.kill()

    def abort_threadsafe(self) -> None:
        """abort(), from a signal handler or another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.abort)

    async def stop(self) -> None:
        self.abort()
        for worker in list(self._started):
            worker.kill()
        for worker in list(self._started):
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except asyncio.TimeoutError:  # pragma: no cover
                pass
            worker.close()
        self._started.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.workers.clear()
        self._idle.clear()

    # --- requests ------------------------------------------------------------------------------------------------
    def _release(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _forget(self, waiter: asyncio.Future) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            self._release(waiter.result())  # it was handed a worker just as it gave up
        else:
            waiter.cancel()

    async def _acquire(self, deadline: float) -> _Worker:
        loop = asyncio.get_running_loop()
        while True:
            while self._idle:
                worker = self._idle.popleft()
                if worker.alive:
                    return worker
            if self.closing:
                raise QueryUnavailable("the server is shutting down", self.retry_after)
            if len(self._waiters) >= self.max_queue:
                raise QueryUnavailable(f"the server is busy ({len(self._waiters)} queries are waiting for a "
                                       f"worker); try again later", self.retry_after)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._no_worker()
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait((waiter,), timeout=remaining)
            except BaseException:
                self._forget(waiter)
                raise
            if not waiter.done():
                self._forget(waiter)
                raise self._no_worker()
            worker = waiter.result()  # raises QueryUnavailable when the pool was aborted
            if worker.alive:
                return worker

    def _no_worker(self) -> QueryTimeout:
        if not any(worker.alive for worker in self.workers):
            return QueryTimeout(f"no SPARQL worker became free within the {self.timeout:g} s a query may take: "
                                "they are being restarted; try again", self.retry_after)
        return QueryTimeout(f"no SPARQL worker became free within the {self.timeout:g} s a query may take: the "
                            "server is busy; try again later", self.retry_after)

    async def run(self, query: str, default_graphs: list[str], named_graphs: list[str],
                  solutions_type: str | None, graph_type: str | None, deadline: float | None = None) -> Outcome:
        """The query's outcome, by `deadline` (the event loop's clock; default: the timeout from now)."""
        if self._loop is None:
            raise RuntimeError("pool not started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout if deadline is None else deadline
        request = (query, default_graphs, named_graphs, solutions_type, graph_type, self.allow_federation)
        for _attempt in range(self.size + 2):
            worker = await self._acquire(deadline)
            if not worker.alive:  # it exited while it waited to be handed out
                continue
            if deadline - loop.time() <= 0:  # no time left to run it: the worker goes back unharmed
                self._release(worker)
                raise self._no_worker()
            try:
                await worker.send(request)
            except _LOST:  # it had died before it was sent the query: take another
                worker.kill()
                continue
            except BaseException:
                worker.kill()
                raise
            try:
                reply = await asyncio.wait_for(worker.receive(), max(deadline - loop.time(), 0.001))
            except asyncio.TimeoutError:
                worker.kill()  # stopped for real; its watcher starts another
                raise QueryTimeout(f"the query did not finish within {self.timeout:g} s (time spent waiting for a "
                                   f"worker included) and was stopped", self.retry_after) from None
            except _LOST:
                worker.kill()
                if self.closing:
                    raise QueryUnavailable("the server is shutting down", self.retry_after) from None
                raise QueryUnavailable("the worker running the query stopped before it answered; another is "
                                       "being started, try again", 1) from None
            except BaseException:  # cancelled: its answer would arrive for the next request, so it goes
                worker.kill()
                raise
            self._release(worker)
            return Outcome(*reply)
        raise QueryUnavailable("no SPARQL worker is running; they are being restarted, try again", 1)


if __name__ == "__main__":  # pragma: no cover
    _worker_main(sys.argv[1])

"""Benchmark `ysv-graph serve` against the Oxigraph server, side by side, in one run.

Every server runs as a subprocess on a free loopback port and holds the same out/ysv.nq:

  ysv-graph         `ysv-graph serve --out out`: SPARQL at /sparql (worker processes with in-memory pyoxigraph)
  oxigraph-rocksdb  `oxigraph load --location TMP --file out/ysv.nq`, then `oxigraph serve-read-only
                    --location TMP --union-default-graph` (on disk, RocksDB); SPARQL at /query
  oxigraph-mem      `oxigraph serve --union-default-graph` (in memory, like ysv-graph's workers), ysv.nq POSTed
                    to its /store; SPARQL at /query

--union-default-graph makes Oxigraph's default graph the union of the named graphs, which is what ysv-graph's
endpoint answers; before measuring, every query runs once on each server and the row counts are compared.

Workloads, each at 1, 8 and 32 concurrent clients, for a fixed time per cell after a warm-up:

  sparql  every queries/*.rq round-robin, POST application/sparql-query, Accept application/sparql-results+json
  doc     /doc/ lookups of findings, VRUs, police forces and recommendations as text/html and text/turtle
          (ysv-graph only: Oxigraph has no /doc/)

For each cell: requests/s, p50/p99 latency (ms), errors (a non-200 answer, a wrong media type or a transport
error), the server's CPU time per request (all its processes; for ysv-graph split into the HTTP process and the
SPARQL workers), the load generator's CPU and the CPU used by anything else on the machine.

    .venv/bin/python benchmarks/serve.py [--seconds 4] [--warmup 1] [--clients 1,8,32]
                                         [--oxigraph rocksdb,memory] [--workers N] [--json]

Targets: ysv-graph SPARQL throughput >= 0.8 x Oxigraph's at each concurrency; p99 < 50 ms at 32 clients;
0 errors. The load generator (asyncio + httpx, one keep-alive connection per client) runs on the same machine
and competes with the server for CPU, which caps the throughput both servers can show.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_BASE = "https://w3id.org/ysv/"
SPARQL_JSON = "application/sparql-results+json"
DOC_KINDS = ("finding", "vru", "police-force", "recommendation")
DOC_ACCEPTS = ("text/html", "text/turtle")
TARGET_RATIO, TARGET_P99_MS = 0.8, 50.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_tool(name: str) -> str:
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"benchmarks/serve.py: {name!r} not found next to {sys.executable} or on PATH")
    return found


# --- CPU accounting from /proc ---------------------------------------------------------------------------------

def _proc_stat(pid: int | str) -> tuple[int, int] | None:
    """(process group, utime+stime ticks) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("latin-1")
    except OSError:
        return None
    rest = text.rpartition(")")[2].split()
    return int(rest[2]), int(rest[11]) + int(rest[12])


def group_ticks(pgid: int) -> dict[int, int]:
    """CPU ticks of every live process in a process group (our server and, for ysv-graph, its workers)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(entry)
            if stat is not None and stat[0] == pgid:
                out[int(entry)] = stat[1]
    return out


def machine_busy_ticks() -> int:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle


@dataclass
class CpuSnapshot:
    server: dict[int, int]
    loadgen: int
    machine: int
    wall: float


def snapshot(pgid: int) -> CpuSnapshot:
    own = _proc_stat(os.getpid())
    return CpuSnapshot(group_ticks(pgid), own[1] if own else 0, machine_busy_ticks(), time.perf_counter())


# --- servers ---------------------------------------------------------------------------------------------------

class Server:
    """A server subprocess in its own process group (so Ctrl-C in the terminal reaches only us, and stopping it
    also stops its children)."""

    name = "server"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = free_port()
        self.stderr = tempfile.TemporaryFile()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the leader's pid is the group id

    def spawn(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, start_new_session=True)

    def wait_ready(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with status {self.proc.returncode}:\n{self.errors()}")
                try:
                    if client.get(self.base_url + path).status_code < 500:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on {self.base_url} within {timeout:g} s:\n{self.errors()}")

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.pgid
        if self.proc.poll() is None:
            with _suppress_lookup():
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with _suppress_lookup():
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # anything left in the group (e.g. a SPARQL worker whose parent died first)
        if group_ticks(pgid):
            with _suppress_lookup():
                os.killpg(pgid, signal.SIGKILL)
        self.proc = None


class _suppress_lookup:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        return kind is not None and issubclass(kind, (ProcessLookupError, PermissionError))


class YsvGraph(Server):
    name = "ysv-graph"
    sparql_path = "/sparql"

    def __init__(self, out_dir: Path, workers: int | None) -> None:
        super().__init__()
        self.out_dir, self.workers = out_dir, workers

    def start(self) -> None:
        argv = [find_tool("ysv-graph"), "serve", "--out", str(self.out_dir), "--host", "127.0.0.1",
                "--port", str(self.port)]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        self.spawn(argv)
        self.wait_ready("/")


class Oxigraph(Server):
    """storage "rocksdb": `oxigraph load --location TMP` then `oxigraph serve-read-only --location TMP` (on-disk
    RocksDB, as a deployment would run it); storage "memory": `oxigraph serve` without --location (in-memory, like
    the pyoxigraph stores in ysv-graph's workers), loaded by POSTing ysv.nq to its /store."""

    sparql_path = "/query"

    def __init__(self, nquads: Path, storage: str) -> None:
        super().__init__()
        self.nquads, self.storage = nquads, storage
        self.name = f"oxigraph-{'mem' if storage == 'memory' else 'rocksdb'}"
        self.tmp = tempfile.mkdtemp(prefix="ysv-bench-oxigraph-") if storage == "rocksdb" else None

    def start(self) -> None:
        tool = find_tool("oxigraph")
        bind = ["--bind", f"127.0.0.1:{self.port}", "--union-default-graph"]
        if self.storage == "memory":
            self.spawn([tool, "serve", *bind])
            self.wait_ready("/")
            response = httpx.post(self.base_url + "/store", content=self.nquads.read_bytes(), timeout=300,
                                  headers={"Content-Type": "application/n-quads"})
            if response.status_code not in (200, 201, 204):
                raise RuntimeError(f"loading {self.nquads} into {self.name} failed: HTTP {response.status_code} "
                                   f"{response.text[:500]}")
            return
        loaded = subprocess.run([tool, "load", "--location", self.tmp, "--file", str(self.nquads)],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        if loaded.returncode != 0:
            raise RuntimeError(f"oxigraph load failed ({loaded.returncode}):\n{loaded.stderr[-4000:]}")
        self.spawn([tool, "serve-read-only", "--location", self.tmp, *bind])
        self.wait_ready("/")

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)


def tool_version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- workloads -------------------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes | None
    expect_type: str  # the media type a correct answer has


def sparql_requests(server: Server, queries: list[tuple[str, str]]) -> list[Request]:
    headers = {"Accept": SPARQL_JSON, "Content-Type": "application/sparql-query"}
    return [Request("POST", server.sparql_path, headers, text.encode("utf-8"), SPARQL_JSON) for _, text in queries]


def doc_requests(paths: list[str]) -> list[Request]:
    pairs = [(path, accept) for path in paths for accept in DOC_ACCEPTS]
    random.Random(0).shuffle(pairs)  # interleave kinds and media types, the same order every run
    return [Request("GET", path, {"Accept": accept}, None, accept) for path, accept in pairs]


def list_doc_paths(server: YsvGraph) -> list[str]:
    """/doc/ paths of the findings, VRUs, forces and recommendations, found with a SPARQL query."""
    filters = " || ".join(f'STRSTARTS(STR(?s), "{DEFAULT_BASE}id/{kind}/")' for kind in DOC_KINDS)
    query = f"SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER({filters}) }} ORDER BY ?s"
    response = httpx.post(server.base_url + "/sparql", content=query.encode(), timeout=30,
                          headers={"Accept": SPARQL_JSON, "Content-Type": "application/sparql-query"})
    response.raise_for_status()
    paths = []
    for binding in response.json()["results"]["bindings"]:
        rest = binding["s"]["value"][len(DEFAULT_BASE + "id/"):]
        if "#" not in rest and "?" not in rest and rest.count("/") == 1:
            paths.append("/doc/" + rest)
    return paths


def _count_rows(response: httpx.Response) -> int | str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    data = response.json()
    if "boolean" in data:
        return int(bool(data["boolean"]))
    return len(data["results"]["bindings"])


def compare_answers(ysv: YsvGraph, oxi: Oxigraph, queries: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Run every query once on both; the row counts should agree (also a first warm-up)."""
    warnings, agree = [], 0
    with httpx.Client(timeout=30) as client:
        for name, text in queries:
            counts = []
            for server in (ysv, oxi):
                try:
                    response = client.post(server.base_url + server.sparql_path, content=text.encode(),
                                           headers={"Accept": SPARQL_JSON, "Content-Type": "application/sparql-query"})
                    counts.append(_count_rows(response))
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    counts.append(f"error {type(exc).__name__}")
            if counts[0] == counts[1] and isinstance(counts[0], int):
                agree += 1
            else:
                warnings.append(f"WARNING: {name}.rq: ysv-graph returned {counts[0]} rows, {oxi.name} {counts[1]}")
    return agree, warnings


def check_docs(server: YsvGraph, requests: list[Request]) -> list[str]:
    bad = []
    with httpx.Client(timeout=30) as client:
        for req in requests:
            response = client.get(server.base_url + req.path, headers=req.headers)
            if response.status_code != 200 or not response.headers.get("content-type", "").startswith(req.expect_type):
                bad.append(f"WARNING: GET {req.path} ({req.headers['Accept']}) -> {response.status_code} "
                           f"{response.headers.get('content-type', '')}")
    return bad


# --- the load generator ----------------------------------------------------------------------------------------

@dataclass
class Cell:
    server: str
    workload: str
    clients: int
    seconds: float
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu_ms_per_req: float = 0.0
    http_process_cpu_ms_per_req: float | None = None  # ysv-graph: the uvicorn process alone
    workers_cpu_ms_per_req: float | None = None  # ysv-graph: the SPARQL worker processes
    server_cpu_cores: float = 0.0  # average cores busy in the server's processes
    loadgen_cpu_cores: float = 0.0
    other_cpu_cores: float = 0.0  # everything else on the machine
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-q * len(sorted_values) // 100)))  # nearest rank
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_cell(server: Server, workload: str, requests: list[Request], clients: int, seconds: float,
                   warmup: float, timeout: float) -> Cell:
    counter = itertools.count()
    start = time.perf_counter()
    measure_from, measure_to = start + warmup, start + warmup + seconds
    samples: list[tuple[float, float, str | None]] = []  # (finished, latency s, error or None)
    snaps: list[CpuSnapshot] = []

    async def client_loop(index: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=timeout) as client:
            while time.perf_counter() < measure_to:
                req = requests[next(counter) % len(requests)]
                t0 = time.perf_counter()
                problem = None
                try:
                    response = await client.request(req.method, req.path, headers=req.headers, content=req.body)
                    body = response.content
                    if response.status_code != 200:
                        problem = f"HTTP {response.status_code} {req.method} {req.path}: {body[:120]!r}"
                    elif not response.headers.get("content-type", "").startswith(req.expect_type):
                        problem = f"media type {response.headers.get('content-type')!r} for {req.path}"
                    elif not body:
                        problem = f"empty body for {req.path}"
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__} {req.method} {req.path}: {exc}"
                t1 = time.perf_counter()
                samples.append((t1, t1 - t0, problem))

    async def sampler() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        snaps.append(snapshot(server.pgid))
        await asyncio.sleep(max(0.0, measure_to - time.perf_counter()))
        snaps.append(snapshot(server.pgid))

    await asyncio.gather(sampler(), *(client_loop(i) for i in range(clients)))

    measured = [s for s in samples if measure_from <= s[0] <= measure_to]
    latencies = sorted(s[1] * 1000 for s in measured)
    errors = [s[2] for s in measured if s[2] is not None]
    before, after = snaps
    window = after.wall - before.wall
    pids = set(after.server)
    server_ticks = {pid: after.server[pid] - before.server.get(pid, 0) for pid in pids}
    total_server = sum(server_ticks.values()) / CLK_TCK
    loadgen = (after.loadgen - before.loadgen) / CLK_TCK
    machine = (after.machine - before.machine) / CLK_TCK
    n = len(measured)
    cell = Cell(server.name, workload, clients, round(window, 3), requests=n, errors=len(errors),
                rps=n / window if window > 0 else 0.0, p50_ms=percentile(latencies, 50),
                p99_ms=percentile(latencies, 99), max_ms=latencies[-1] if latencies else float("nan"),
                server_cpu_ms_per_req=1000 * total_server / n if n else float("nan"),
                server_cpu_cores=total_server / window, loadgen_cpu_cores=loadgen / window,
                other_cpu_cores=max(0.0, machine - total_server - loadgen) / window,
                error_samples=sorted(set(errors))[:5])
    if isinstance(server, YsvGraph) and n:
        leader = server.pgid
        http_ticks = server_ticks.get(leader, 0) / CLK_TCK
        cell.http_process_cpu_ms_per_req = 1000 * http_ticks / n
        cell.workers_cpu_ms_per_req = 1000 * (total_server - http_ticks) / n
    return cell


# --- output ----------------------------------------------------------------------------------------------------

def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def table(cells: list[Cell]) -> str:
    head = ["server", "workload", "clients", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors",
            "srv CPU ms/req", "(http/workers)", "CPU cores srv/loadgen/other"]
    rows = []
    for c in cells:
        split = "-"
        if c.http_process_cpu_ms_per_req is not None:
            split = f"{fmt(c.http_process_cpu_ms_per_req, 2)}/{fmt(c.workers_cpu_ms_per_req, 2)}"
        rows.append([c.server, c.workload, str(c.clients), str(c.requests), fmt(c.rps), fmt(c.p50_ms, 2),
                     fmt(c.p99_ms, 2), fmt(c.max_ms, 1), str(c.errors), fmt(c.server_cpu_ms_per_req, 2), split,
                     f"{c.server_cpu_cores:.2f}/{c.loadgen_cpu_cores:.2f}/{c.other_cpu_cores:.2f}"])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    left = {0, 1}

    def line(cols: list[str]) -> str:
        return "  ".join(col.ljust(w) if i in left else col.rjust(w) for i, (col, w) in enumerate(zip(cols, widths)))

    out = [line(head), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def evaluate(cells: list[Cell], clients: list[int], oxigraphs: list[str]) -> tuple[dict, list[dict]]:
    by = {(c.server, c.workload, c.clients): c for c in cells}
    ratios: dict[str, dict[int, float]] = {}
    targets = []
    for oxi_name in oxigraphs:
        for n in clients:
            ysv, oxi = by.get(("ysv-graph", "sparql", n)), by.get((oxi_name, "sparql", n))
            if ysv and oxi and oxi.rps > 0:
                ratio = ratios.setdefault(oxi_name, {})[n] = ysv.rps / oxi.rps
                targets.append({"name": f"ysv-graph/{oxi_name} SPARQL req/s at {n} client{'s' * (n != 1)}",
                                "value": round(ratio, 3), "target": f">= {TARGET_RATIO}",
                                "pass": ratio >= TARGET_RATIO})
    top = max(clients)
    for workload in ("sparql", "doc"):
        cell = by.get(("ysv-graph", workload, top))
        if cell:
            targets.append({"name": f"ysv-graph {workload} p99 at {top} client{'s' * (top != 1)} (ms)",
                            "value": round(cell.p99_ms, 2), "target": f"< {TARGET_P99_MS:g}",
                            "pass": cell.p99_ms < TARGET_P99_MS})
    ysv_errors = sum(c.errors for c in cells if c.server == "ysv-graph")
    targets.append({"name": "ysv-graph errors (all cells)", "value": ysv_errors, "target": "0",
                    "pass": ysv_errors == 0})
    oxi_errors = sum(c.errors for c in cells if c.server != "ysv-graph")
    targets.append({"name": "oxigraph errors (all cells, for reference)", "value": oxi_errors, "target": "0",
                    "pass": oxi_errors == 0})
    return ratios, targets


# --- main ------------------------------------------------------------------------------------------------------

def _no_nan(value):
    """JSON has no NaN: an empty cell's percentiles become null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def parse_clients(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of integers, got {text!r}") from None
    if not values or any(v < 1 or v > 512 for v in values):
        raise argparse.ArgumentTypeError("client counts must be between 1 and 512")
    return values


def parse_storages(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or any(v not in ("rocksdb", "memory") for v in values):
        raise argparse.ArgumentTypeError("expected rocksdb, memory or rocksdb,memory")
    return list(dict.fromkeys(values))


def positive(text: str) -> float:
    value = float(text)
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("expected a number of seconds in (0, 600]")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=positive, default=4.0, help="measured seconds per cell (default 4)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each cell (default 1)")
    parser.add_argument("--clients", type=parse_clients, default=[1, 8, 32],
                        help="concurrent clients, comma-separated (default 1,8,32)")
    parser.add_argument("--oxigraph", type=parse_storages, default=["rocksdb", "memory"],
                        help="Oxigraph storages to compare with, comma-separated: rocksdb (oxigraph load + "
                             "serve-read-only), memory (oxigraph serve, in-memory) (default rocksdb,memory)")
    parser.add_argument("--out", default=str(ROOT / "out"), help="the built out/ folder (default: the repo's out/)")
    parser.add_argument("--workers", type=int, default=None,
                        help="pass --workers to ysv-graph serve (default: its own default)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (default 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.warmup > 60:
        parser.error("--warmup must be between 0 and 60 seconds")

    out_dir = Path(args.out).resolve()
    nquads = out_dir / "ysv.nq"
    if not nquads.is_file():
        parser.error(f"{nquads} not found; run 'ysv-graph build' first")
    queries = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "queries").glob("*.rq"))]
    if not queries:
        parser.error("no queries/*.rq found")

    # Ctrl-C, SIGTERM and SIGHUP all end up in the finally below, which stops the servers (SIGINT is set
    # explicitly because a shell starting us in the background without job control leaves it ignored).
    def interrupt(signum, frame):
        os.kill(os.getpid(), signal.SIGINT)  # handled like Ctrl-C, also inside asyncio.run

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    ysv = YsvGraph(out_dir, args.workers)
    oxis = [Oxigraph(nquads, storage) for storage in args.oxigraph]
    warnings: list[str] = []
    cells: list[Cell] = []
    startup: dict[str, float] = {}
    agreement: dict[str, int] = {}
    try:
        log(f"starting ysv-graph serve on {ysv.base_url} ...")
        t = time.perf_counter()
        ysv.start()
        startup[ysv.name] = time.perf_counter() - t
        for oxi in oxis:
            log(f"starting {oxi.name} on {oxi.base_url} and loading {nquads.name} ...")
            t = time.perf_counter()
            oxi.start()
            startup[oxi.name] = time.perf_counter() - t
            agreement[oxi.name], mismatches = compare_answers(ysv, oxi, queries)
            warnings += mismatches

        paths = list_doc_paths(ysv)
        docs = doc_requests(paths)
        warnings += check_docs(ysv, docs)
        if not paths:
            warnings.append("WARNING: no /doc/ paths found for " + ", ".join(DOC_KINDS))
        kinds = {kind: sum(p.startswith(f"/doc/{kind}/") for p in paths) for kind in DOC_KINDS}

        plan = [(ysv, "sparql", sparql_requests(ysv, queries))]
        plan += [(oxi, "sparql", sparql_requests(oxi, queries)) for oxi in oxis]
        if docs:
            plan.append((ysv, "doc", docs))
        for server, workload, requests in plan:
            for n in args.clients:
                log(f"  {server.name:16} {workload:6} {n:3} client(s): {args.warmup:g} s warm-up + {args.seconds:g} s")
                cell = asyncio.run(run_cell(server, workload, requests, n, args.seconds, args.warmup, args.timeout))
                cells.append(cell)
                for sample in cell.error_samples:
                    warnings.append(f"WARNING: {server.name} {workload} x{n}: {sample}")
                if server.proc is None or server.proc.poll() is not None:
                    raise RuntimeError(f"{server.name} exited during the benchmark:\n{server.errors()}")
    except KeyboardInterrupt:
        log("interrupted; stopping the servers")
        return 130
    except (RuntimeError, OSError, httpx.HTTPError) as exc:
        log(f"benchmarks/serve.py: {type(exc).__name__}: {exc}")
        return 1
    finally:
        for server in (ysv, *oxis):
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {server.name}: {exc}")

    busy = [c for c in cells if c.other_cpu_cores > 0.25]
    if busy:
        worst = max(busy, key=lambda c: c.other_cpu_cores)
        warnings.append(f"WARNING: other processes on this machine used CPU during {len(busy)} of {len(cells)} cells "
                        f"(up to {worst.other_cpu_cores:.2f} cores, {worst.server} {worst.workload} x{worst.clients}); "
                        f"the figures are noisy - rerun on an idle machine to confirm")
    ratios, targets = evaluate(cells, args.clients, [oxi.name for oxi in oxis])
    cpus = os.cpu_count() or 0
    note = (f"The load generator (this Python process: asyncio + httpx, one keep-alive connection per client) runs "
            f"on the same {cpus}-CPU machine and competes with the server for CPU; the 'CPU cores' column shows "
            f"how much the server, the load generator and everything else used. Absolute req/s are lower bounds, "
            f"and ratios are compressed towards 1 when the load generator is the bottleneck. ysv-graph's SPARQL "
            f"workers hold in-memory pyoxigraph stores: oxigraph-mem is the like-for-like engine comparison, "
            f"oxigraph-rocksdb the on-disk deployment.")
    result = {
        "machine": {"cpus": cpus, "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
        "versions": {"oxigraph": tool_version([find_tool("oxigraph"), "--version"]),
                     "ysv-graph": tool_version([find_tool("ysv-graph"), "--version"]), "httpx": httpx.__version__},
        "config": {"seconds": args.seconds, "warmup": args.warmup, "clients": args.clients,
                   "queries": [name for name, _ in queries], "doc_paths": len(paths), "doc_kinds": kinds,
                   "doc_accepts": list(DOC_ACCEPTS), "ysv_graph_workers": args.workers,
                   "oxigraph": {oxi.name: ("serve --union-default-graph (in memory, loaded via POST /store)"
                                           if oxi.storage == "memory" else
                                           "load --location TMP; serve-read-only --location TMP "
                                           "--union-default-graph") + "; queries POSTed to /query"
                                for oxi in oxis}},
        "startup_s": {k: round(v, 2) for k, v in startup.items()},
        "answers": {"queries_compared": len(queries), "row_counts_agree": agreement},
        "results": [asdict(c) for c in cells],
        "ratios_sparql_rps": {name: {str(k): round(v, 3) for k, v in r.items()} for name, r in ratios.items()},
        "targets": targets,
        "warnings": warnings,
        "note": note,
    }
    if args.json:
        print(json.dumps(_no_nan(result), indent=2))
        return 0

    print(f"ysv-graph serve vs Oxigraph server - {cpus} CPUs, Python {platform.python_version()}, "
          f"{result['versions']['oxigraph']}, httpx {httpx.__version__}")
    print(f"{args.seconds:g} s measured per cell after {args.warmup:g} s warm-up; clients {args.clients}; startup: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in startup.items()))
    print(f"sparql: {len(queries)} queries/*.rq round-robin, POST application/sparql-query, Accept {SPARQL_JSON}")
    for oxi in oxis:
        print(f"        {oxi.name}: {result['config']['oxigraph'][oxi.name]}; "
              f"row counts agree with ysv-graph on {agreement[oxi.name]}/{len(queries)} queries")
    print(f"doc:    {len(paths)} /doc/ paths ({', '.join(f'{v} {k}' for k, v in kinds.items())}) x "
          f"{' + '.join(DOC_ACCEPTS)} (ysv-graph only; Oxigraph has no /doc/)")
    print()
    print(table(cells))
    print()
    for name, r in ratios.items():
        print(f"ysv-graph / {name} SPARQL throughput: " +
              ", ".join(f"{n} client{'s' * (n != 1)}: {v:.2f}" for n, v in r.items()))
    print()
    print("targets:")
    for t in targets:
        print(f"  [{'PASS' if t['pass'] else 'MISS'}] {t['name']}: {t['value']} (target {t['target']})")
    if warnings:
        print()
        print("\n".join(warnings))
    print()
    print("note: " + textwrap.fill(note, 116, subsequent_indent="      "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

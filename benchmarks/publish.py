"""Benchmark `ysv-graph publish` against Oxigraph's own bulk loader (`oxigraph load`), in the same run, on the same
files: out/ysv.nq and a synthetic graph of one million triples (generated deterministically into a temporary
folder).

    .venv/bin/python benchmarks/publish.py [--triples 1000000] [--runs 3] [--skip-replace]

For each file, --runs times (medians reported; the runs alternate between the two):
- `oxigraph load --location NEW_DIR --file FILE` (a fresh process, wall time);
- `ysv-graph publish --store URL --nquads FILE` to a fresh `oxigraph serve` on 127.0.0.1 (the server is started
  before the clock starts; the publish runs in its own process, whose peak RSS is read with os.wait4): reading
  the file, sending every graph, and reading every graph back from the store to compare it with what was sent;
- unless --skip-replace, once, the same publish again onto the now full store: every graph is then replaced in one
  transaction (what keeps a graph from being half-written), which Oxigraph does far more slowly than a bulk load.

Targets (issue 4): first publish at least 0.5x the throughput of `oxigraph load`; peak RSS of publish under 500 MB
for the million-triple graph.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
SYN = "https://example.org/ysv-bench/"


def synthetic(path: Path, n: int) -> None:
    """n triples in one named graph: things with types, labels, numbers, dates, links (deterministic)."""
    graph = f"<{SYN}graph/synthetic>"
    xsd = "http://www.w3.org/2001/XMLSchema#"
    with open(path, "w", encoding="utf-8") as handle:
        lines = []
        for i in range(n):
            s, k = divmod(i, 10)
            subject = f"<{SYN}id/thing/{s}>"
            if k == 0:
                rest = f"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{SYN}def/Thing{s % 50}>"
            elif k == 1:
                rest = f'<http://www.w3.org/2000/01/rdf-schema#label> "thing number {s}"@en'
            elif k == 2:
                rest = f'<{SYN}def/count> "{(s * 7919) % 100003}"^^<{xsd}integer>'
            elif k == 3:
                rest = f"<{SYN}def/next> <{SYN}id/thing/{s + 1}>"
            elif k == 4:
                rest = f'<{SYN}def/date> "20{10 + s % 15:02d}-{1 + s % 12:02d}-{1 + s % 28:02d}"^^<{xsd}date>'
            elif k == 5:
                rest = f"<{SYN}def/related> <{SYN}id/thing/{(s * 31) % 100000}>"
            elif k == 6:
                rest = (f'<http://purl.org/dc/terms/description> "A synthetic description \\"{s}\\" with some text '
                        'to make the literal longer than a few bytes"')
            elif k == 7:
                rest = f'<{SYN}def/score> "{s % 1000}.{s % 97}"^^<{xsd}decimal>'
            elif k == 8:
                rest = f'<http://www.w3.org/2004/02/skos/core#notation> "N{s:08d}"'
            else:
                rest = f"<{SYN}def/group> <{SYN}id/group/{s % 1000}>"
            lines.append(f"{subject} {rest} {graph} .\n")
            if len(lines) == 50_000:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def oxigraph_load(path: Path, location: Path) -> float:
    start = time.perf_counter()
    subprocess.run([OXIGRAPH, "load", "--location", str(location), "--file", str(path)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


class Server:
    def __init__(self, location: Path):
        self.port = free_port()
        self.process = subprocess.Popen([OXIGRAPH, "serve", "--location", str(location), "--bind",
                                         f"127.0.0.1:{self.port}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/query", params={"query": "ASK {}"}).status_code == 200:
                    return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("oxigraph serve did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def publish(path: Path, store: str) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `ysv-graph publish` in a fresh process."""
    start = time.perf_counter()
    # YSV_STORE_RETRY_SECONDS bounds each request, the PUT of a million triples (over a minute when it replaces a
    # full graph) included
    env = {**os.environ, "YSV_STORE_RETRY_SECONDS": os.environ.get("YSV_STORE_RETRY_SECONDS", "3600")}
    proc = subprocess.Popen([sys.executable, "-m", "ysv_graph", "publish", "--store", store, "--nquads", str(path)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"publish failed ({status}): {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of load and first publish (median)")
    parser.add_argument("--skip-replace", action="store_true", help="do not time publishing onto a full store")
    args = parser.parse_args()
    if OXIGRAPH is None:
        raise SystemExit("the oxigraph server is not installed: pip install -e '.[test]'")
    version = subprocess.run([OXIGRAPH, "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ysv-bench-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        synthetic(tmp / "synthetic.nq", args.triples)
        generated = time.perf_counter() - start
        files = [("out/ysv.nq", ROOT / "out" / "ysv.nq"), (f"synthetic {args.triples:,}", tmp / "synthetic.nq")]
        for index, (name, path) in enumerate(files):
            triples = count_lines(path)
            loads, publishes = [], []
            for run in range(args.runs):  # alternate the two, each on a fresh database
                loads.append(oxigraph_load(path, tmp / f"load-{index}-{run}"))
                shutil.rmtree(tmp / f"load-{index}-{run}", ignore_errors=True)
                server = Server(tmp / f"serve-{index}-{run}")
                try:
                    store = f"http://127.0.0.1:{server.port}/store"
                    publishes.append(publish(path, store))
                    if run == args.runs - 1 and not args.skip_replace:
                        replace = publish(path, store)
                finally:
                    server.stop()
                shutil.rmtree(tmp / f"serve-{index}-{run}", ignore_errors=True)
            load_s = statistics.median(loads)
            pub_s = statistics.median(wall for wall, _ in publishes)
            rss = max(r for _, r in publishes)
            rows.append((name, f"first publish (median {args.runs})", triples, load_s, pub_s, rss))
            if not args.skip_replace:
                rows.append((name, "publish again (replace)", triples, load_s, replace[0], replace[1]))

    print(f"ysv-graph publish vs oxigraph load ({version}), {os.cpu_count()} cores; synthetic file generated in "
          f"{generated:.1f} s")
    header = (f"{'file':<20} {'run':<26} {'triples':>9}  {'load s':>7} {'load t/s':>9}  {'publish s':>9} "
              f"{'publish t/s':>11}  {'ratio':>5}  {'peak RSS':>8}")
    print(header)
    print("-" * len(header))
    for name, run, triples, load_s, pub_s, rss in rows:
        print(f"{name:<20} {run:<26} {triples:>9,}  {load_s:>7.2f} {triples / load_s:>9,.0f}  {pub_s:>9.2f} "
              f"{triples / pub_s:>11,.0f}  {load_s / pub_s:>4.2f}x  {rss / 1024:>5.0f} MiB")
    big = [r for r in rows if r[0].startswith("synthetic") and r[1].startswith("first publish")][0]
    ratio, rss = big[3] / big[4], big[5] / 1024
    print(f"target: first publish >= 0.5x oxigraph load throughput ({big[2]:,} triples): {ratio:.2f}x "
          f"{'met' if ratio >= 0.5 else 'NOT met'}")
    print(f"target: publish peak RSS < 500 MB ({big[2]:,} triples): {rss * 1.048576:.0f} MB "
          f"{'met' if rss * 1.048576 < 500 else 'NOT met'}")


if __name__ == "__main__":
    main()

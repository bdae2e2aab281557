"""Benchmark `ysv-graph build`: whole-command wall time and peak RSS (median of N runs, each a fresh process),
then each stage's time (median) and peak Python allocation (tracemalloc, a separate run).

    .venv/bin/python benchmarks/build.py [--runs 5] [--data data]

Target (issue 2): the whole build in at most 2.0 s wall, median of 5, on the 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def whole_command(runs: int, data: Path, warm: bool = False) -> tuple[list[float], list[int]]:
    """Wall time and peak RSS of `ysv-graph build`, each run in a fresh process: into a fresh folder each time
    (no cache), or, warm, again and again into one folder after a first build, with the cache beside it (the
    edit-and-build loop of a curator)."""
    walls, rss = [], []
    with tempfile.TemporaryDirectory() as shared:
        if warm:
            subprocess.run([sys.executable, "-m", "ysv_graph", "build", "--data", str(data), "--out",
                            str(Path(shared) / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
        for _ in range(runs):
            _one_run(data, shared if warm else None, walls, rss)
    return walls, rss


def _one_run(data: Path, folder: str | None, walls: list, rss: list) -> None:
    with tempfile.TemporaryDirectory() as fresh:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "ysv_graph", "build", "--data", str(data),
                                 "--out", str(Path(folder or fresh) / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        if status != 0:
            raise SystemExit(f"build failed with status {status}")
        rss.append(usage.ru_maxrss)  # KiB on Linux


def stages(runs: int, data: Path) -> tuple[dict[str, list[float]], dict[str, float]]:
    from ysv_graph.incremental import build
    from ysv_graph.rdf.terms import Base

    times: dict[str, list[float]] = {}
    for _ in range(runs):
        result = build.run(data, None, Base(), write=False, releases_dir=data.parent / "releases")
        for name, seconds in result.timings.items():
            times.setdefault(name, []).append(seconds)

    peaks: dict[str, float] = {}
    tracemalloc.start()

    def on_stage(name: str) -> None:
        if on_stage.current:
            peaks[on_stage.current] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.reset_peak()
        on_stage.current = name

    on_stage.current = None
    build.run(data, None, Base(), write=False, on_stage=on_stage, releases_dir=data.parent / "releases")
    peaks[on_stage.current] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return times, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    args = parser.parse_args()

    walls, rss = whole_command(args.runs, args.data)
    times, peaks = stages(args.runs, args.data)
    print(f"ysv-graph build, {args.runs} runs, {os.cpu_count()} cores")
    print(f"{'whole command (wall)':<24} median {statistics.median(walls):.3f} s   "
          f"min {min(walls):.3f} s   max {max(walls):.3f} s   target <= 2.0 s")
    print(f"{'whole command peak RSS':<24} median {statistics.median(rss) / 1024:.0f} MiB")
    warm, _rss = whole_command(args.runs, args.data, warm=True)
    print(f"{'again, cache warm (wall)':<24} median {statistics.median(warm):.3f} s   "
          f"min {min(warm):.3f} s   max {max(warm):.3f} s   (rebuilt into the same folder)")
    print(f"{'stage':<22} {'median s':>9} {'peak MiB':>9}   (in-process, so the ontology closure is cached after "
          f"the first run; peak = Python allocations in the stage)")
    for name, values in times.items():
        peak = f"{peaks[name]:>9.1f}" if name in peaks else f"{'':>9}"
        print(f"{name:<22} {statistics.median(values):>9.3f} {peak}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Demux throughput: the native core and the pure-Python reference, beside a memcpy of
the same bytes, measured in one run (the minimum time of N runs). Not a test.

    python bench/demux_bench.py [--minutes 3] [--runs 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_input import make  # noqa: E402

from kvsmux.media import Demuxer, demux  # noqa: E402


def best_of(runs: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def feed_in_chunks(data: bytes, chunk: int):
    d = Demuxer()
    view = memoryview(data)
    for i in range(0, len(data), chunk):
        d.feed(view[i:i + chunk])
    d.close()
    return d.result()


def environment() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpu": cpu, "python": platform.python_version(), "commit": commit, "numpy": np.__version__}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0, help="length of the generated input")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pure-runs", type=int, default=1, help="runs of the (slow) pure-Python backend")
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args()

    rows = []
    for name, path in make(a.minutes).items():
        data = path.read_bytes()
        mb = len(data) / 1e6
        arr = np.frombuffer(data, dtype=np.uint8)
        t_copy, _ = best_of(a.runs, lambda: arr.copy())
        t_native, result = best_of(a.runs, lambda: demux(data))
        assert result.error is None, result.error
        frames = sum(len(f.frames) for f in result.fragments)
        t_feed, _ = best_of(a.runs, lambda: feed_in_chunks(data, 64 * 1024))
        t_pure, pure = best_of(a.pure_runs, lambda: demux(data, backend="pure"))
        assert pure.fragments == result.fragments
        for label, t in (("memcpy", t_copy), ("native demux (whole buffer)", t_native),
                         ("native demux (64 KiB chunks)", t_feed), ("pure-Python demux", t_pure)):
            rows.append({"input": name, "size_mb": round(mb, 1), "what": label, "seconds": t,
                         "mb_per_s": mb / t, "frames_per_s": None if label == "memcpy" else frames / t,
                         "fraction_of_memcpy": t_copy / t})
    env = environment()
    print(f"# {env['cpu']}, Python {env['python']}, commit {env['commit']}, best of {a.runs} runs")
    print(f"{'input':<18}{'MB':>7}  {'what':<30}{'MB/s':>11}{'frames/s':>14}{'× memcpy':>10}")
    for r in rows:
        fps = f"{r['frames_per_s']:,.0f}" if r["frames_per_s"] else "-"
        print(f"{r['input']:<18}{r['size_mb']:>7}  {r['what']:<30}{r['mb_per_s']:>11,.0f}{fps:>14}"
              f"{r['fraction_of_memcpy']:>10.3f}")
    if a.json:
        a.json.write_text(json.dumps({"environment": env, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""MKV -> fMP4, MPEG-TS and MP4 throughput: the native core, the pure-Python reference,
FFmpeg stream copy (the ffmpeg CLI and PyAV in process), and memcpy as the ceiling, all
in one run on the same generated inputs (the minimum time of N runs). Not a test.

    python bench/package_bench.py [--minutes 3] [--runs 3] [--json out.json]

Targets for the native core (issue 3): fMP4 >= 50 % of memcpy bandwidth, TS >= 25 %,
and at least 10x FFmpeg stream copy for both.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demux_bench import best_of, environment  # noqa: E402
from make_input import make  # noqa: E402

from kvsmux.media import to_fmp4, to_mp4, to_ts  # noqa: E402

FFMPEG_FORMATS = {"fmp4": ["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof"],
                  "ts": ["-f", "mpegts"], "mp4": ["-f", "mp4"]}
WRITERS = {"fmp4": to_fmp4, "ts": to_ts, "mp4": to_mp4}


def materialize(pkg) -> int:
    """Makes every output contiguous once, as a consumer of bytes would: the native Output
    flattens into its buffer; the pure one (no buffer protocol before Python 3.12) joins."""
    outputs = [s.output for s in ([pkg.init] if pkg.init else []) + pkg.segments]
    return sum(len(memoryview(o)) if hasattr(o, "parts") and not hasattr(o, "_pieces") else len(bytes(o))
               for o in outputs)


def scatter_only(pkg) -> int:
    """The scatter lists alone (headers generated, media referenced): what writev() needs."""
    return sum(len(p) for s in ([pkg.init] if pkg.init else []) + pkg.segments for p in s.parts())


def ffmpeg_copy(path: Path, container: str, out: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-map", "0", "-c", "copy",
                    *FFMPEG_FORMATS[container], str(out)], check=True)


def pyav_copy(path: Path, container: str, out: Path) -> None:
    import av
    fmt = {"fmp4": "mp4", "ts": "mpegts", "mp4": "mp4"}[container]
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"} if container == "fmp4" else {}
    with av.open(str(path)) as src, av.open(str(out), "w", format=fmt, options=options) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            dst.mux(packet)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pure-runs", type=int, default=1)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in make(a.minutes).items():
            data = path.read_bytes()
            mb = len(data) / 1e6
            arr = np.frombuffer(data, dtype=np.uint8)
            t_copy, _ = best_of(a.runs, lambda: arr.copy())
            rows.append({"input": name, "what": "memcpy", "container": "-", "seconds": t_copy, "mb_per_s": mb / t_copy})
            for container, writer in WRITERS.items():
                out = Path(tmp) / f"out.{container}"
                measured = {
                    "native": best_of(a.runs, lambda: materialize(writer(data)))[0],
                    "native, parts()": best_of(a.runs, lambda: scatter_only(writer(data)))[0],
                    "pure": best_of(a.pure_runs, lambda: materialize(writer(data, backend="pure")))[0],
                    "ffmpeg CLI copy": best_of(a.runs, lambda: ffmpeg_copy(path, container, out))[0],
                    "PyAV copy": best_of(a.runs, lambda: pyav_copy(path, container, out))[0],
                }
                for what, t in measured.items():
                    rows.append({"input": name, "what": what, "container": container, "seconds": t,
                                 "mb_per_s": mb / t, "of_memcpy": t_copy / t,
                                 "x_ffmpeg": measured["ffmpeg CLI copy"] / t})
    env = environment()
    print(f"# {env['cpu']}, Python {env['python']}, commit {env['commit']}, best of {a.runs} runs")
    print(f"{'input':<18}{'to':<6}{'what':<18}{'MB/s':>10}{'% memcpy':>10}{'x ffmpeg CLI':>14}")
    for r in rows:
        if r["what"] == "memcpy":
            print(f"{r['input']:<18}{'-':<6}{'memcpy':<18}{r['mb_per_s']:>10,.0f}")
            continue
        print(f"{r['input']:<18}{r['container']:<6}{r['what']:<18}{r['mb_per_s']:>10,.0f}"
              f"{100 * r['of_memcpy']:>9.1f}%{r['x_ffmpeg']:>14.1f}")
    if a.json:
        a.json.write_text(json.dumps({"environment": env, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""The ``kvsmux`` command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _probe(args: argparse.Namespace) -> int:
    from kvsmux.probe import probe
    status = 0
    for path in args.files:
        try:
            text, code = probe(path, as_json=args.json, backend=args.backend)
        except OSError as e:
            print(f"kvsmux probe: {path}: {e.strerror or e}", file=sys.stderr)
            return 2
        print(text)
        status = max(status, code)
    return status


def _repackage(args: argparse.Namespace) -> int:
    import time

    from kvsmux.media.repackage import repackage
    missing = [p for p in args.inputs if not p.is_file()]
    if missing:
        print(f"kvsmux repackage: no such file: {missing[0]}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    results = repackage(args.inputs, args.to, args.out, jobs=args.jobs, backend=args.backend,
                        progress=not args.quiet and sys.stderr.isatty())
    seconds = time.perf_counter() - t0
    failed = [r for r in results if r.error]
    for r in results:
        status = f"FAILED {r.error}" if r.error else f"{r.segments} segment(s), {r.bytes_out:,} bytes"
        print(f"{r.source} -> {r.output}: {status}")
    done = sum(r.bytes_in for r in results if not r.error)
    print(f"{len(results) - len(failed)} of {len(results)} file(s), {done / 1e6:.1f} MB in {seconds:.2f} s: "
          f"{done / 1e6 / seconds if seconds else 0:.0f} MB/s")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvsmux", description="A self-hostable Kinesis Video Streams.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("probe", help="show the tracks, fragments and tags of Matroska files",
                       description="Show the tracks, fragments (clusters), frames and tags of Matroska/WebM "
                                   "files. Exits 1 when a file is malformed (after printing what was read).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE.mkv")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.add_argument("--backend", choices=("native", "pure"), default="native",
                   help="the C++ core (default) or the pure-Python reference")
    p.set_defaults(func=_probe)
    r = sub.add_parser("repackage", help="repackage Matroska files as HLS fMP4, HLS TS or MP4",
                       description="Repackage Matroska files over a process pool: --to fmp4 writes "
                                   "OUT/<name>/index.m3u8 with init.mp4 and .m4s segments, --to ts "
                                   "index.m3u8 with .ts segments, --to mp4 OUT/<name>.mp4. Exits 1 if any file fails.")
    r.add_argument("inputs", nargs="+", type=Path, metavar="IN.mkv")
    r.add_argument("--to", choices=("fmp4", "ts", "mp4"), required=True)
    r.add_argument("--out", type=Path, required=True, metavar="DIR")
    r.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per CPU)")
    r.add_argument("--backend", choices=("native", "pure"), default="native")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_repackage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

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


def _serve(args: argparse.Namespace) -> int:
    from kvsmux.server.run import serve
    try:
        serve(data_dir=args.data, host=args.host, port=args.port, auth=not args.no_auth, credentials=args.credentials,
              region=args.region, url=args.url, log_level=args.log_level)
    except (OSError, ValueError) as e:
        print(f"kvsmux serve: {e}", file=sys.stderr)
        return 2
    return 0


def _put(args: argparse.Namespace) -> int:
    import json

    from botocore.exceptions import BotoCoreError, ClientError

    from kvsmux.put import put_file
    try:
        acks = put_file(args.file, args.stream, endpoint_url=args.endpoint_url, region=args.region,
                        realtime=args.realtime, retention_hours=args.retention_hours,
                        timecode_type=args.timecode_type)
        errors = 0
        for ack in acks:
            errors += ack.get("EventType") == "ERROR"
            print(json.dumps(ack), flush=True)
    except (ClientError, BotoCoreError, OSError) as e:
        print(f"kvsmux put: {e}", file=sys.stderr)
        return 2
    return 1 if errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvsmux", description="A self-hostable Kinesis Video Streams.")
    sub = parser.add_subparsers(dest="command", required=True)
    from kvsmux.server.run import DEFAULT_HOST, DEFAULT_PORT
    s = sub.add_parser("serve", help="run the Kinesis Video Streams server",
                       description="Serve the KVS API (kinesisvideo, kinesis-video-archived-media, "
                                   "kinesis-video-media, PutMedia) over HTTP, on an embedded store (SQLite + files).")
    s.add_argument("--data", type=Path, default=Path("kvsmux-data"), metavar="DIR",
                   help="data directory (default: ./kvsmux-data)")
    s.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    s.add_argument("--credentials", type=Path, metavar="FILE",
                   help="access keys to accept, one 'ACCESS_KEY_ID SECRET_ACCESS_KEY' per line "
                        "(default: this environment's AWS credentials)")
    s.add_argument("--no-auth", action="store_true", help="do not check request signatures")
    s.add_argument("--region", default="us-east-1", help="region in ARNs (default: us-east-1)")
    s.add_argument("--url", help="base URL clients use to reach this server, returned by GetDataEndpoint "
                                 "(default: http://HOST:PORT)")
    s.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    s.set_defaults(func=_serve)
    u = sub.add_parser("put", help="upload an MKV file with PutMedia, printing the acks",
                       description="Upload an MKV file to a stream with PutMedia (creating the stream when it is "
                                   "missing, as the producer SDKs do) and print each ack as a JSON line as it comes. "
                                   "Signs with this environment's AWS credentials when there are any. Exits 1 if "
                                   "any ack is an ERROR.")
    u.add_argument("file", type=Path, metavar="FILE.mkv")
    u.add_argument("--stream", required=True, help="stream name")
    u.add_argument("--endpoint-url", default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
                   help=f"control-plane URL (default: http://{DEFAULT_HOST}:{DEFAULT_PORT})")
    u.add_argument("--region", default="us-east-1")
    u.add_argument("--realtime", action="store_true", help="send each cluster when its timestamp comes, like a camera")
    u.add_argument("--retention-hours", type=int, default=24, help="retention of a stream this creates (default 24)")
    u.add_argument("--timecode-type", choices=("RELATIVE", "ABSOLUTE"), default="RELATIVE",
                   help="RELATIVE (default): cluster times count from now; ABSOLUTE: they are epoch times")
    u.set_defaults(func=_put)
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

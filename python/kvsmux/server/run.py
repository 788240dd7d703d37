# SPDX-License-Identifier: Apache-2.0
"""Running the server: what ``kvsmux serve`` does."""
from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4567


def public_url(host: str, port: int) -> str:
    """The base URL clients reach this server at (GetDataEndpoint returns it)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def serve(*, data_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: bool = True,
          credentials: Path | None = None, region: str = "us-east-1", url: str | None = None,
          log_level: str = "info") -> None:
    import uvicorn

    from kvsmux.api.context import Config
    from kvsmux.server.app import create_app
    from kvsmux.server.sigv4 import load_keys

    base_url = url or public_url(host, port)
    keys = load_keys(credentials) if auth else None
    app = create_app(data_dir=data_dir, auth=auth, keys=keys, config=Config(region=region, endpoint_url=base_url))
    print(f"kvsmux serving Kinesis Video Streams at {base_url} (data: {data_dir.resolve()}, region {region})",
          file=sys.stderr)
    if not auth:
        print("kvsmux: --no-auth: requests are NOT signature-checked; anyone who can reach this port may use it",
              file=sys.stderr)
    elif not keys:
        print("kvsmux: no AWS credentials found (--credentials FILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
              "~/.aws/credentials): every signed request will be refused; use --no-auth to accept any",
              file=sys.stderr)
    else:
        print(f"kvsmux: SigV4 checked against {len(keys)} access key(s): {', '.join(sorted(keys))}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on",
                h11_max_incomplete_event_size=64 * 1024, timeout_keep_alive=30)

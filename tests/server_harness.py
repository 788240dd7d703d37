# SPDX-License-Identifier: Apache-2.0
"""A real kvsmux server for tests: uvicorn on a free loopback port, in a thread of the
test process, over a Kvs the test can still reach (clock, store)."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import uvicorn

from kvsmux.api.context import Config
from kvsmux.api.service import Kvs
from kvsmux.server import create_app

#: The access key the test server accepts (boto3 clients in tests sign with it).
ACCESS_KEY, SECRET_KEY = "AKIDKVSMUXTEST", "kvsmux-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(self, kvs: Kvs, port: int, thread: threading.Thread, server: uvicorn.Server) -> None:
        self.kvs = kvs
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._thread = thread
        self._server = server

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextlib.contextmanager
def running_server(kvs: Kvs, *, auth: bool = True, keys: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """Serves ``kvs`` until the block ends. ``kvs.config.endpoint_url`` is set to the
    server's URL (GetDataEndpoint returns it)."""
    port = free_port()
    kvs.config.endpoint_url = f"http://127.0.0.1:{port}"
    app = create_app(kvs, auth=auth, keys=keys if keys is not None else {ACCESS_KEY: SECRET_KEY})
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                            h11_max_incomplete_event_size=64 * 1024, timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"kvsmux-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    running = RunningServer(kvs, port, thread, server)
    try:
        yield running
    finally:
        running.stop()
        app._pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def serving(data_dir: Path, config: Config | None = None, **server_options: Any) -> Iterator[RunningServer]:
    """A Kvs over ``data_dir`` served by :func:`running_server` (``server_options``: auth,
    keys) until the block ends; the store is closed after the server stops."""
    kvs = Kvs(data_dir, config=config)
    try:
        with running_server(kvs, **server_options) as server:
            yield server
    finally:
        kvs.close()


def remote_client(url: str, **kwargs: Any) -> Any:
    """A kvsmux.RemoteClient (boto3-equivalent clients) signed with the test key."""
    import kvsmux
    from botocore.config import Config as BotocoreConfig
    return kvsmux.RemoteClient(url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                               config=BotocoreConfig(retries={"mode": "standard", "max_attempts": 1}), **kwargs)


def boto3_client(service: str, url: str) -> Any:
    """``boto3.client(service)`` pointed at a test server, signed with the test key."""
    import boto3
    from botocore.config import Config as BotocoreConfig
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=BotocoreConfig(retries={"mode": "standard", "max_attempts": 1}))

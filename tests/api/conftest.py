# SPDX-License-Identifier: Apache-2.0
"""The scenario suite's view of KVS: boto3-compatible clients for the three services, a
clock the test moves, and the service behind them.

Every test that uses ``api`` or ``make_api`` runs twice (issue 5), with the same
scenario and the same expectations:

- ``[inprocess]``: :class:`kvsmux.Client` over a data directory (botocore clients answered
  in-process);
- ``[http]``: the same :class:`kvsmux.api.service.Kvs` served by the HTTP server
  (``tests/server_harness.py``: uvicorn in a thread, SigV4 on) and reached with
  :class:`kvsmux.RemoteClient` (botocore over the network, PutMedia over :mod:`kvsmux.put`).

Either way ``api.kvs`` is the service itself (store, live buffer, config) and
``api.clock`` its ManualClock, so tests can plant data and move time. Quotas are off
(tests of quotas turn them on with ``make_api(config=Config(...))``).

``@pytest.mark.inprocess`` keeps a test to the in-process client: for tests that drive
``kvsmux.api.ingest.open_session`` themselves (an HTTP run would test nothing more), and
for the two that count connection leases of responses the client never reads (a server
has written such a small response to the socket and ended it whatever the client does).
HTTP servers are stopped in the background after each test; the session waits for them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
from typing import Any, Callable

import pytest

import kvsmux
from kvsmux.api.context import Config, ManualClock
from kvsmux.api.service import Kvs
from kvsmux.api.spec import SERVICES
from tests.server_harness import boto3_client, remote_client, running_server

TRANSPORTS = ["inprocess", "http"]

#: Servers being stopped in the background (see make_api); the session waits for them.
_stopping: list[threading.Thread] = []


def pytest_configure(config):
    config.addinivalue_line("markers", "inprocess: run only against the in-process client, not over HTTP")


def pytest_generate_tests(metafunc):
    """``transport`` (and so ``make_api``/``api``) is parametrized over TRANSPORTS, or only
    "inprocess" for tests marked ``inprocess``."""
    if "transport" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("inprocess") is not None
        metafunc.parametrize("transport", ["inprocess"] if only else TRANSPORTS)


@dataclasses.dataclass
class Api:
    video: Any      # boto3.client('kinesisvideo') look-alike
    archived: Any   # boto3.client('kinesis-video-archived-media')
    media: Any      # boto3.client('kinesis-video-media')
    client: Any     # kvsmux.Client or kvsmux.RemoteClient: the union client
    clock: ManualClock
    kvs: Kvs        # the service behind the clients (the served one, over HTTP)
    transport: str  # "inprocess" or "http"

    @property
    def endpoint_url(self) -> str:
        """What GetDataEndpoint answers: the configured endpoint (the server's own URL over HTTP)."""
        return self.kvs.config.endpoint_url

    def put_media(self, **kwargs: Any) -> list[dict]:
        """PutMedia to the end; the acknowledgements."""
        return list(self.client.put_media(**kwargs))

    def create_stream(self, name: str = "cam", retention_hours: int = 24, **kwargs: Any) -> str:
        return self.video.create_stream(StreamName=name, DataRetentionInHours=retention_hours, **kwargs)["StreamARN"]


@pytest.fixture
def make_api(transport, tmp_path) -> Callable[..., Api]:
    made: list[Api] = []
    servers = contextlib.ExitStack()

    def make(*, config: Config | None = None, in_memory: bool = False, seed: int = 7) -> Api:
        config = dataclasses.replace(config) if config is not None else Config(limits=False)
        clock = ManualClock()
        data = None if in_memory else tmp_path / f"data{len(made)}"
        kvs = Kvs(data, config=config, clock=clock, rng=random.Random(seed))
        if transport == "inprocess":
            client: Any = kvsmux.Client(kvs=kvs)
        else:
            configured = config.endpoint_url
            servers.callback(kvs.close)  # after the server has stopped (the stack unwinds in reverse)
            server = servers.enter_context(running_server(kvs))
            if configured != Config().endpoint_url:  # the test chose what the service advertises
                kvs.config.endpoint_url = configured
            client = remote_client(server.url)
        if transport == "http":  # real boto3 clients, exactly as a user makes them
            video, archived, media = (boto3_client(service, server.url) for service in SERVICES)
        else:
            video, archived, media = (client.services[service] for service in SERVICES)
        api = Api(video, archived, media, client, clock, kvs, transport)
        made.append(api)
        return api

    yield make
    for api in made:
        api.client.close()
    if transport == "http":
        # uvicorn needs ~0.15 s to stop (its 0.1 s tick, then a 0.1 s pause in shutdown):
        # the servers stop, and their services close, while the next test runs.
        stopping = threading.Thread(target=servers.close, name="kvsmux-test-server-stop", daemon=True)
        stopping.start()
        _stopping.append(stopping)


@pytest.fixture(scope="session", autouse=True)
def _servers_stopped():
    yield
    for thread in _stopping:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a test server did not stop"


@pytest.fixture
def api(make_api) -> Api:
    return make_api()

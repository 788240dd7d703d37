# SPDX-License-Identifier: Apache-2.0
"""The scenario suite's view of KVS: boto3-compatible clients for the three services, a
clock the test moves, and the service behind them.

``api`` is the in-process client over a data directory, quotas off (tests of quotas turn
them on with ``make_api(config=Config(...))``). The same tests run against the HTTP
server (issue 5) by giving this fixture another implementation.
"""
from __future__ import annotations

import dataclasses
import random
from typing import Any, Callable

import pytest

import kvsmux
from kvsmux.api.context import Config, ManualClock


@dataclasses.dataclass
class Api:
    video: Any      # boto3.client('kinesisvideo') look-alike
    archived: Any   # boto3.client('kinesis-video-archived-media')
    media: Any      # boto3.client('kinesis-video-media')
    client: kvsmux.Client
    clock: ManualClock

    @property
    def kvs(self) -> Any:
        return self.client.kvs

    def put_media(self, **kwargs: Any) -> list[dict]:
        """PutMedia to the end; the acknowledgements."""
        return list(self.client.put_media(**kwargs))

    def create_stream(self, name: str = "cam", retention_hours: int = 24, **kwargs: Any) -> str:
        return self.video.create_stream(StreamName=name, DataRetentionInHours=retention_hours, **kwargs)["StreamARN"]


@pytest.fixture
def make_api(tmp_path) -> Callable[..., Api]:
    made: list[Api] = []

    def make(*, config: Config | None = None, in_memory: bool = False, seed: int = 7) -> Api:
        config = config or Config(limits=False)
        clock = ManualClock()
        data = None if in_memory else tmp_path / f"data{len(made)}"
        client = kvsmux.Client(data, config=config, clock=clock, rng=random.Random(seed))
        api = Api(client.services["kinesisvideo"], client.services["kinesis-video-archived-media"],
                  client.services["kinesis-video-media"], client, clock)
        made.append(api)
        return api

    yield make
    for api in made:
        api.client.close()


@pytest.fixture
def api(make_api) -> Api:
    return make_api()

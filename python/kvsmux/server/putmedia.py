# SPDX-License-Identifier: Apache-2.0
"""``POST /putMedia`` full duplex (KVS-WIRE-FACTS §4.1, §4.2, §14).

The headers are checked (stream, timecode type, producer start timestamp, signature with
the empty-payload hash the producer SDKs sign), then the 200 goes out before a single
body byte is read (embedded producers wait for it; ``Expect: 100-continue`` is answered
by that 200). Body chunks are fed to the ingest session as they arrive, and every ack is
one HTTP chunk: compact JSON and a newline. IDLE acks go out while the producer is
quiet; after ``idle_timeout_seconds`` of silence, or at the end of the body, the last
acks are sent and the response ends. A producer that disconnects keeps what was complete.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from kvsmux.api.errors import KvsError
from kvsmux.api.acks import AckError, error_ack
from kvsmux.api.ingest import open_session
from kvsmux.server.asgi import Receive, Send, header, send_chunk, send_error, start_stream


log = logging.getLogger("kvsmux.server")


def _ack_bytes(ack: dict) -> bytes:
    return json.dumps(ack, separators=(",", ":")).encode() + b"\n"


async def _step(app: Any, session: Any, fn: Any, *args: Any) -> list[dict]:
    """One session call on the pool; a failure of ours ends the upload with ERROR 5000."""
    try:
        return await app.run(fn, *args)
    except Exception:
        log.exception("PutMedia on stream %s failed", session.stream.name)
        session.done = True
        return [error_ack(AckError.INTERNAL_ERROR, *session.open_ids())]


async def put_media(app: Any, scope: dict, receive: Receive, send: Send, rid: str) -> None:
    kvs = app.kvs
    request = {"StreamName": header(scope, "x-amzn-stream-name"), "StreamARN": header(scope, "x-amzn-stream-arn"),
               "FragmentTimecodeType": header(scope, "x-amzn-fragment-timecode-type") or "ABSOLUTE",
               "ProducerStartTimestamp": header(scope, "x-amzn-producer-start-timestamp")}
    try:
        session = await app.run(open_session, kvs, **request)
    except KvsError as e:
        await send_error(send, e.http_status, e.code, e.message, rid)
        return
    try:
        await start_stream(send, 200, {"content-type": "application/json", "x-amzn-RequestId": rid})
        config = kvs.config
        pending: asyncio.Task | None = None
        quiet_since = time.monotonic()
        while not session.done:
            if pending is None:
                pending = asyncio.ensure_future(receive())
            done, _ = await asyncio.wait({pending}, timeout=config.idle_ack_interval_seconds)
            if not done:
                if time.monotonic() - quiet_since >= config.idle_timeout_seconds:
                    acks = await _step(app, session, session.finish)
                else:
                    acks = [session.idle_ack()]
                for ack in acks:
                    await send_chunk(send, _ack_bytes(ack))
                continue
            message, pending = pending.result(), None
            if message["type"] == "http.disconnect":
                await app.run(session.abort)
                return
            body = message.get("body", b"")
            acks = []
            if body:
                quiet_since = time.monotonic()
                acks += await _step(app, session, session.feed, body)
            if not message.get("more_body", False):
                acks += await _step(app, session, session.finish)
            for ack in acks:
                await send_chunk(send, _ack_bytes(ack))
        if pending is not None:
            pending.cancel()
        # The stream's PutMedia connection is given back before the response ends: a
        # producer that reconnects at once must not find it still taken.
        await app.run(session.close)
        await send_chunk(send, b"", more=False)
    finally:
        await app.run(session.close)

# SPDX-License-Identifier: Apache-2.0
"""The ASGI application: the AWS rest-json routes of the three KVS services, PutMedia,
the HLS/DASH player GETs (:mod:`kvsmux.server.playback`), errors in the AWS wire format,
SigV4 and CORS (KVS-WIRE-FACTS §1, §2, §6).

Requests become :func:`kvsmux.api.protocol.handle` calls, run on a thread pool because
the store blocks (SQLite, fsync); streamed payloads (GetMedia, GetMediaForFragmentList,
GetClip) are pulled chunk by chunk on the pool and written as they come, and closed when
the client goes away so their connection quota is given back.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
from typing import Any, Callable

from kvsmux.api.protocol import handle, routes
from kvsmux.api.service import Kvs
from kvsmux.server.asgi import (BodyTooLarge, Receive, Send, header, header_list, read_body, request_id,
                                send_chunk, send_error, send_wire, start_stream)
from kvsmux.server import playback
from kvsmux.server.putmedia import put_media
from kvsmux.server.sigv4 import AuthError, Verifier

log = logging.getLogger("kvsmux.server")

#: The largest JSON request body accepted (GetMediaForFragmentList with 1000 numbers is ~50 KB).
MAX_BODY_BYTES = 1024 * 1024
#: The largest request head (request line and headers) accepted. uvicorn's h11 limit
#: (h11_max_incomplete_event_size) only applies to a head still arriving, so a larger one
#: sent in one burst gets through to here.
MAX_HEAD_BYTES = 64 * 1024
#: A request body must arrive within this many seconds.
BODY_TIMEOUT_SECONDS = 30.0


class KvsApp:
    """``create_app(...)`` returns one of these; it is a plain ASGI 3 callable."""

    def __init__(self, kvs: Kvs, verifier: Verifier | None) -> None:
        self.kvs = kvs
        self.verifier = verifier
        # Streamed payloads hold a thread while they wait for new fragments; the pool is
        # sized so that many of them cannot starve ordinary requests.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=256, thread_name_prefix="kvsmux")

    async def run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn`` on the pool (it may block)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.kvs.close()

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        rid = request_id()
        method, path = scope["method"], scope["path"]
        try:
            if _head_size(scope) > MAX_HEAD_BYTES:
                await send_error(send, 431, "RequestHeaderFieldsTooLargeException",
                                 f"The request line and headers are larger than {MAX_HEAD_BYTES} bytes.", rid)
            elif method == "OPTIONS":
                await self._preflight(scope, send)
            elif path == "/putMedia" and method == "POST":
                if await self._authorized(scope, b"", send, rid, streamed=True):
                    await put_media(self, scope, receive, send, rid)
            elif path in playback.ROUTES:  # unsigned: the SessionToken authorizes them
                await playback.serve(self, scope, send, rid)
            elif path in routes() or path == "/putMedia":
                await self._api(scope, receive, send, rid)
            else:
                await send_error(send, 404, "UnknownOperationException", f"No resource at {method} {path}", rid)
        except Exception:
            log.exception("%s %s failed", method, path)
            raise

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _preflight(self, scope: dict, send: Send) -> None:
        """CORS preflight, for browser pages and players on other origins."""
        asked = header(scope, "access-control-request-headers") or "*"
        await send({"type": "http.response.start", "status": 204, "headers": [
            (b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", asked.encode("latin-1")), (b"access-control-max-age", b"86400"),
            (b"x-amzn-requestid", request_id().encode())]})
        await send({"type": "http.response.body", "body": b""})

    async def _authorized(self, scope: dict, body: bytes, send: Send, rid: str, streamed: bool = False) -> bool:
        if self.verifier is None:
            return True
        try:
            query = scope.get("query_string", b"").decode("latin-1")
            self.verifier.verify(scope["method"], scope["path"], query, header_list(scope), body, streamed=streamed)
        except AuthError as e:
            await send_error(send, e.status, e.code, e.message, rid)
            return False
        return True

    async def _api(self, scope: dict, receive: Receive, send: Send, rid: str) -> None:
        method, path = scope["method"], scope["path"]
        if method != "POST" and path == "/putMedia":  # not in the models, so not in the protocol's routes
            await send_error(send, 405, "MethodNotAllowedException", f"PutMedia takes POST, not {method}", rid)
            return
        if method != "POST":  # the protocol answers 405 with the right message
            await send_wire(send, handle(self.kvs, method, path, b"", request_id=rid))
            return
        try:
            body = await read_body(receive, MAX_BODY_BYTES, BODY_TIMEOUT_SECONDS)
        except BodyTooLarge:
            await send_error(send, 413, "RequestEntityTooLargeException",
                             f"The request body is larger than {MAX_BODY_BYTES} bytes.", rid)
            return
        except asyncio.TimeoutError:
            await send_error(send, 408, "RequestTimeoutException",
                             f"The request body did not arrive within {BODY_TIMEOUT_SECONDS:.0f} s.", rid)
            return
        if body is None or not await self._authorized(scope, body, send, rid):
            return
        wire = await self.run(handle, self.kvs, method, path, body, request_id=rid)
        if not wire.streaming:
            await send_wire(send, wire)
            return
        await self._stream(wire, receive, send)

    async def _stream(self, wire: Any, receive: Receive, send: Send) -> None:
        """Writes a streamed payload chunk by chunk until it ends or the client goes away."""
        payload = wire.body
        gone = asyncio.ensure_future(receive())  # resolves with http.disconnect
        try:
            await start_stream(send, wire.status, wire.headers)
            while True:
                step = asyncio.ensure_future(self.run(next, payload, None))
                done, _ = await asyncio.wait({step, gone}, return_when=asyncio.FIRST_COMPLETED)
                if gone in done and gone.result()["type"] == "http.disconnect":
                    break
                if gone in done:  # more body from the client: ignore it and keep listening
                    gone = asyncio.ensure_future(receive())
                chunk = await step
                if chunk is None:
                    await send_chunk(send, b"", more=False)
                    return
                await send_chunk(send, chunk)
        finally:
            gone.cancel()
            close = getattr(payload, "close", None)
            if close is not None:
                await self.run(close)


def _head_size(scope: dict) -> int:
    path = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
    return len(path) + len(scope.get("query_string", b"")) + sum(len(k) + len(v) + 4 for k, v in scope["headers"])


def create_app(kvs: Kvs | None = None, *, data_dir: Any = None, auth: bool = True,
               keys: dict[str, str] | None = None, **kvs_args: Any) -> KvsApp:
    """The kvsmux ASGI app, for uvicorn or any ASGI server. Give a :class:`Kvs`, or a
    ``data_dir`` (None: in memory) and Kvs arguments (``config``, ``clock``, ``rng``).
    ``auth=False`` accepts unsigned requests; otherwise ``keys`` (access key id -> secret;
    default: the AWS credentials of this process's environment) sign-check every request."""
    from kvsmux.server.sigv4 import load_keys
    kvs = kvs or Kvs(data_dir, **kvs_args)
    verifier = Verifier(keys if keys is not None else load_keys(None)) if auth else None
    return KvsApp(kvs, verifier)

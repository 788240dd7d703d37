# SPDX-License-Identifier: Apache-2.0
"""Small ASGI helpers: headers, bounded body reads, JSON and streamed responses."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

from kvsmux.api.protocol import WireResponse, json_error

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

#: CORS for browser players and pages on other origins (KVS-WIRE-FACTS §6.2).
CORS_HEADERS = [(b"access-control-allow-origin", b"*"),
                (b"access-control-expose-headers", b"x-amzn-RequestId, x-amzn-ErrorType, Content-Type")]


class BodyTooLarge(Exception):
    pass


def header_list(scope: dict) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]


def header(scope: dict, name: str) -> str | None:
    key = name.lower().encode()
    for k, v in scope["headers"]:
        if k == key:
            return v.decode("latin-1")
    return None


def request_id() -> str:
    return str(uuid.uuid4())


async def read_body(receive: Receive, limit: int, timeout: float) -> bytes | None:
    """The whole request body; BodyTooLarge past ``limit``; None if the client went away;
    asyncio.TimeoutError if it does not arrive within ``timeout`` seconds."""
    async def read() -> bytes | None:
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)
    return await asyncio.wait_for(read(), timeout)


def _headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()] + CORS_HEADERS


async def send_wire(send: Send, wire: WireResponse) -> None:
    """A JSON (non-streaming) response."""
    body = wire.body if isinstance(wire.body, (bytes, bytearray)) else b"".join(wire.body)
    headers = {**wire.headers, "content-length": str(len(body))}
    await send({"type": "http.response.start", "status": wire.status, "headers": _headers(headers)})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, code: str, message: str, rid: str | None = None) -> None:
    await send_wire(send, json_error(status, code, message, rid or request_id()))


async def start_stream(send: Send, status: int, headers: dict[str, str]) -> None:
    """The status and headers of a response whose body follows in chunks."""
    await send({"type": "http.response.start", "status": status, "headers": _headers(headers)})


async def send_chunk(send: Send, data: Any, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": bytes(data) if not isinstance(data, bytes) else data,
                "more_body": more})

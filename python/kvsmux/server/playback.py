# SPDX-License-Identifier: Apache-2.0
"""The player routes: what HLS and DASH players GET under ``/hls/v1/`` and ``/dash/v1/``
(KVS-WIRE-FACTS §6.2, §7). Unsigned: the SessionToken in the query authorizes them.

Query parameters: ``SessionToken``, ``TrackNumber`` (default 1), ``FragmentNumber``, and
``SequenceNumber`` on init fragments (the header an HLS ``EXT-X-MAP`` names). GET and HEAD;
media answers honour a single-range ``Range: bytes=...`` (206 with Content-Range, 416 when
it cannot be satisfied; a malformed or multi-range header is ignored and the whole body
sent). Errors are JSON with ``x-amzn-ErrorType``; NotAuthorizedException (expired, altered,
foreign or missing token) is sent as **403**, as players observe it (§6.2), not the
model's 401. The work runs on the app's thread pool.

Gaps: no ``ETag`` / conditional requests; no ``Cache-Control``.
"""
from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

from kvsmux.api import dash, hls, player
from kvsmux.api.errors import KvsError
from kvsmux.api.protocol import json_error
from kvsmux.api.sessions import SERVICE
from kvsmux.server.asgi import Send, header, send_error, send_wire, start_stream

log = logging.getLogger("kvsmux.server")

DASH_CONTENT_TYPE = "application/dash+xml"
#: path -> (session kind, resource)
ROUTES = {
    "/hls/v1/getHLSMasterPlaylist.m3u8": ("HLS", "master"),
    "/hls/v1/getHLSMediaPlaylist.m3u8": ("HLS", "media"),
    "/hls/v1/getMP4InitFragment.mp4": ("HLS", "init"),
    "/hls/v1/getMP4MediaFragment.mp4": ("HLS", "fragment"),
    "/hls/v1/getTSFragment.ts": ("HLS", "ts"),
    "/dash/v1/getDASHManifest.mpd": ("DASH", "manifest"),
    "/dash/v1/getMP4InitFragment.mp4": ("DASH", "init"),
    "/dash/v1/getMP4MediaFragment.mp4": ("DASH", "fragment"),
}
_NUMBER = re.compile(r"[0-9]{1,9}")
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def _number(query: dict[str, str], name: str, default: int | None) -> int | None:
    value = query.get(name)
    if value is None:
        return default
    if not _NUMBER.fullmatch(value) or (name == "TrackNumber" and int(value) == 0):
        raise KvsError("InvalidArgumentException", f"{name} must be a positive integer.", service=SERVICE)
    return int(value)


def _dash_manifest(kvs: Any, token: str | None) -> str:
    session = player.open_session(kvs, token, "GetDASHManifest", "DASH")  # the token and the 5 TPS
    return dash.manifest(kvs, session, token=token)  # the token as the player sent it, in every URL


def resource(kvs: Any, kind: str, name: str, query: dict[str, str]) -> player.PlayerResource:
    """One player request, answered (blocking: run it on the pool)."""
    token = query.get("SessionToken")
    if name == "master":
        return player.PlayerResource(hls.master_playlist(kvs, token).encode(), hls.CONTENT_TYPE)
    if name == "manifest":
        return player.PlayerResource(_dash_manifest(kvs, token).encode(), DASH_CONTENT_TYPE)
    track = _number(query, "TrackNumber", 1)
    if name == "media":
        return player.PlayerResource(hls.media_playlist(kvs, token, track).encode(), hls.CONTENT_TYPE)
    if name == "init":
        return player.init_fragment(kvs, token, track, _number(query, "SequenceNumber", None), kind)
    if name == "fragment":
        return player.media_fragment(kvs, token, query.get("FragmentNumber"), track, kind)
    return player.ts_fragment(kvs, token, query.get("FragmentNumber"), kind)


def byte_range(value: str | None, total: int) -> tuple[int, int] | None | bool:
    """``Range`` (RFC 9110 §14.2) against a body of ``total`` bytes: (first, last) inclusive;
    None to send everything (no header, or one this server ignores); False when it cannot
    be satisfied."""
    if value is None:
        return None
    m = _RANGE.fullmatch(value.strip().replace(" ", ""))
    if m is None or (not m.group(1) and not m.group(2)):
        return None  # other units, several ranges, or malformed: ignored
    first, last = m.group(1), m.group(2)
    if not first:  # a suffix: the last N bytes
        n = int(last)
        return (max(0, total - n), total - 1) if n and total else False
    start = int(first)
    end = min(int(last), total - 1) if last else total - 1
    if last and int(last) < start:
        return None  # invalid range-spec: ignored
    return (start, end) if start < total else False


def _slices(parts: list[memoryview], first: int, last: int) -> list[memoryview]:
    out, pos = [], 0
    for p in parts:
        size = len(p)
        lo, hi = max(first - pos, 0), min(last + 1 - pos, size)
        if lo < hi:
            out.append(p[lo:hi])
        pos += size
    return out


async def serve(app: Any, scope: dict, send: Send, rid: str) -> None:
    """Answers one request to a path of ROUTES."""
    method = scope["method"]
    kind, name = ROUTES[scope["path"]]
    if method not in ("GET", "HEAD"):
        wire = json_error(405, "MethodNotAllowedException", f"{scope['path']} takes GET or HEAD, not {method}", rid)
        wire.headers["Allow"] = "GET, HEAD, OPTIONS"
        await send_wire(send, wire)
        return
    query: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                             keep_blank_values=True):
        query.setdefault(key, value)  # the first of repeated parameters
    try:
        result = await app.run(resource, app.kvs, kind, name, query)
    except KvsError as e:
        status = 403 if e.code == "NotAuthorizedException" else e.http_status
        await send_error(send, status, e.code, e.message, rid)
        return
    except Exception:
        log.exception("%s %s failed", method, scope["path"])
        await send_error(send, 500, "InternalFailure", "The service had an internal error.", rid)
        return
    parts = [p for p in result.parts() if len(p)]
    total = sum(len(p) for p in parts)
    headers = {"Content-Type": result.content_type, "x-amzn-RequestId": rid}
    status = 200
    if result.content_type in (player.MP4, player.TS):
        headers["Accept-Ranges"] = "bytes"
        wanted = byte_range(header(scope, "range"), total)
        if wanted is False:
            wire = json_error(416, "InvalidArgumentException", "The requested range cannot be satisfied.", rid)
            wire.headers["Content-Range"] = f"bytes */{total}"
            await send_wire(send, wire)
            return
        if wanted is not None:
            status = 206
            headers["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{total}"
            parts = _slices(parts, *wanted)
            total = wanted[1] - wanted[0] + 1
    headers["Content-Length"] = str(total)
    await start_stream(send, status, headers)
    if method == "GET":
        for p in parts:
            await send({"type": "http.response.body", "body": p, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})

# SPDX-License-Identifier: Apache-2.0
"""HTTP/1.1 by hand, for tests that must control every byte a client sends (PutMedia's
chunked upload, Expect: 100-continue, stalled or oversized requests) and see every byte
the server answers (status line, headers, each response chunk).

Also an independent SigV4 signer (hashlib/hmac, not botocore), so the server's verifier
is checked against a second implementation of the algorithm.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import socket
import time
import urllib.parse
from typing import Any, Iterable

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclasses.dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # names lower-cased, in the order received
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str | None:
        value = self.header("x-amzn-errortype")
        return value.split(":")[0] if value is not None else None


class Conn:
    """One client connection to 127.0.0.1:port."""

    def __init__(self, port: int, timeout: float = 15.0) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    # -- sending ---------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_head(self, method: str, path: str, headers: Iterable[tuple[str, str]]) -> None:
        self.send(head_bytes(method, path, headers))

    def send_chunk(self, data: bytes) -> None:
        if data:
            self.send(b"%x\r\n" % len(data) + bytes(data) + b"\r\n")

    def end_chunks(self) -> None:
        self.send(b"0\r\n\r\n")

    # -- receiving -------------------------------------------------------------------------

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.buf += data

    def read_line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, skip_informational: bool = True) -> Response:
        """The status line and headers (1xx responses skipped unless asked)."""
        while True:
            line = self.read_line().decode("latin-1")
            version, status, *reason = line.split(" ", 2)
            assert version == "HTTP/1.1", line
            headers = []
            while True:
                h = self.read_line().decode("latin-1")
                if not h:
                    break
                name, _, value = h.partition(":")
                headers.append((name.strip().lower(), value.strip()))
            response = Response(int(status), reason[0] if reason else "", headers)
            if skip_informational and 100 <= response.status < 200:
                continue
            return response

    def read_chunk(self) -> bytes | None:
        """One chunk of a chunked response body, exactly as framed; None after the last."""
        size_line = self.read_line().decode("latin-1")
        size = int(size_line.split(";")[0].strip(), 16)
        if size == 0:
            while self.read_line():  # trailers
                pass
            return None
        data = self.read_exact(size)
        assert self.read_exact(2) == b"\r\n", "chunk not followed by CRLF"
        return data

    def read_body(self, response: Response, method: str = "POST") -> bytes:
        if method == "HEAD":
            return b""
        if response.chunked:
            parts = []
            while (chunk := self.read_chunk()) is not None:
                parts.append(chunk)
            return b"".join(parts)
        length = response.header("content-length")
        if length is not None:
            return self.read_exact(int(length))
        if response.status in (204, 304):
            return b""
        parts = [bytes(self.buf)]
        self.buf.clear()
        while data := self.sock.recv(65536):
            parts.append(data)
        return b"".join(parts)

    def read_response(self, method: str = "POST") -> Response:
        response = self.read_head()
        response.body = self.read_body(response, method)
        return response

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "Conn":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def head_bytes(method: str, path: str, headers: Iterable[tuple[str, str]]) -> bytes:
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


def request(port: int, method: str, path: str, body: bytes | str | None = b"", headers: Iterable = (),
            *, host: str | None = None, timeout: float = 15.0) -> Response:
    """One request on a fresh connection (Content-Length body unless ``body`` is None)."""
    if isinstance(body, str):
        body = body.encode()
    all_headers = list(headers)
    if not any(k.lower() == "host" for k, _ in all_headers):
        all_headers.insert(0, ("Host", host or f"127.0.0.1:{port}"))
    if body is not None and not any(k.lower() == "content-length" for k, _ in all_headers):
        all_headers.append(("Content-Length", str(len(body))))
    with Conn(port, timeout) as c:
        c.send(head_bytes(method, path, all_headers) + (body or b""))
        return c.read_response(method)


def api(port: int, path: str, params: Any = None, *, auth: tuple[str, str] | None = None,
        region: str = "us-east-1", headers: Iterable = ()) -> Response:
    """A JSON API request as boto3 sends it; signed with ``auth`` = (key id, secret)."""
    body = params if isinstance(params, (bytes, str)) else json.dumps(params or {})
    body = body.encode() if isinstance(body, str) else body
    hs = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/json"), *headers]
    if auth is not None:
        hs = sign("POST", path, hs, body, key=auth[0], secret=auth[1], region=region)
    return request(port, "POST", path, body, hs)


# -- SigV4, by hand (AWS "Signature Version 4 signing process") ---------------------------------------------


def amz_date(when: float | None = None) -> str:
    t = datetime.datetime.fromtimestamp(time.time() if when is None else when, tz=datetime.timezone.utc)
    return t.strftime("%Y%m%dT%H%M%SZ")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes = b"", *, key: str, secret: str,
         region: str = "us-east-1", service: str = "kinesisvideo", date: str | None = None,
         scope_date: str | None = None, signed: list[str] | None = None, payload_hash: str | None = None,
         query: str = "") -> list[tuple[str, str]]:
    """``headers`` plus X-Amz-Date and Authorization. ``signed`` lists the headers to sign
    (default: every header given, and x-amz-date); ``payload_hash`` defaults to SHA-256 of
    ``body``; ``scope_date`` to the date part of ``date`` (which defaults to now)."""
    date = date or amz_date()
    scope_date = scope_date or date[:8]
    headers = [(k, v) for k, v in headers if k.lower() not in ("x-amz-date", "authorization")]
    headers.append(("X-Amz-Date", date))
    values: dict[str, list[str]] = {}
    for k, v in headers:
        values.setdefault(k.lower(), []).append(" ".join(v.split()))
    names = sorted({n.lower() for n in signed} | {"x-amz-date"}) if signed is not None else sorted(values)
    canonical_headers = "".join(f"{n}:{','.join(values.get(n, []))}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_query = "&".join(sorted(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query, canonical_headers,
                           signed_headers, payload_hash or hashlib.sha256(body).hexdigest()])
    scope = f"{scope_date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), scope_date), region), service), "aws4_request")
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers.append(("Authorization", f"AWS4-HMAC-SHA256 Credential={key}/{scope}, "
                                     f"SignedHeaders={signed_headers}, Signature={signature}"))
    return headers

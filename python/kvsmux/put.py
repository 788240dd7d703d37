# SPDX-License-Identifier: Apache-2.0
"""A PutMedia client (KVS-WIRE-FACTS §4): MKV up as a chunked HTTP body, acks back while
it uploads (full duplex), SigV4-signed like the producer SDKs (empty-payload hash).

>>> for ack in put_media_http("http://127.0.0.1:4567", open("cam.mkv", "rb"), stream_name="cam"):
...     print(ack)

Errors KVS answers before the upload (unknown stream, a second producer) raise the same
``ClientError`` subclasses as :class:`kvsmux.Client`.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Any, Iterator

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CHUNK_BYTES = 64 * 1024


def _chunks(payload: Any) -> Iterator[bytes]:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        view = memoryview(payload).cast("B")
        for i in range(0, len(view), CHUNK_BYTES):
            yield bytes(view[i:i + CHUNK_BYTES])
    elif hasattr(payload, "read"):
        while chunk := payload.read(CHUNK_BYTES):
            yield chunk
    else:
        yield from payload


def realtime_chunks(data: bytes) -> Iterator[bytes]:
    """``data`` (an MKV file) paced like a live producer: each cluster is sent when its
    timestamp comes, relative to the first one."""
    from kvsmux.media import demux
    result = demux(data)
    if not result.fragments:
        yield data
        return
    start = time.monotonic()
    first_ns = result.fragments[0].timestamp_ns
    sent = 0
    for fragment in result.fragments:
        delay = (fragment.timestamp_ns - first_ns) / 1e9 - (time.monotonic() - start)
        if delay > 0:
            time.sleep(delay)
        end = sum(fragment.byte_range)
        yield data[sent:end]
        sent = end
    if sent < len(data):
        yield data[sent:]


def invalid_argument(message: str) -> Exception:
    """The InvalidArgumentException the server would answer, for a request that cannot be
    sent as it is (the same error :class:`kvsmux.Client` raises)."""
    from kvsmux.client import exceptions
    error = {"Error": {"Code": "InvalidArgumentException", "Message": message},
             "ResponseMetadata": {"HTTPStatusCode": 400}}
    return exceptions().from_code("InvalidArgumentException")(error, "PutMedia")


def _header_value(name: str, value: Any) -> str:
    """A string header value as given (the server judges it); anything HTTP cannot carry
    (not a string, line breaks, non-ASCII) is refused here."""
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise invalid_argument(f"{name} {value!r} is not a valid value for this request.")
    return value


def _format_start(value: Any) -> str | None:
    """``x-amzn-producer-start-timestamp``: a string as given; a number, or a datetime (naive
    means UTC, as for every other timestamp parameter), as seconds with milliseconds."""
    if value is None or isinstance(value, str):
        return value
    from kvsmux.api.errors import KvsError
    from kvsmux.api.ingest import parse_start_timestamp
    try:
        ms = parse_start_timestamp(value)
    except KvsError as e:
        raise invalid_argument(e.message) from None
    return f"{ms // 1000}.{ms % 1000:03d}"


def _signed_headers(method: str, url: str, headers: dict[str, str], credentials: Credentials | None,
                    region: str) -> dict[str, str]:
    if credentials is None:
        return headers
    request = AWSRequest(method=method, url=url, headers=headers, data=b"")
    SigV4Auth(credentials, "kinesisvideo", region).add_auth(request)  # payload hash of b"", as the SDKs sign
    return dict(request.headers.items())


def _error(response: http.client.HTTPResponse) -> Exception:
    from kvsmux.client import exceptions
    body = response.read()
    try:
        message = json.loads(body).get("Message") or json.loads(body).get("message") or ""
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace")
    code = (response.getheader("x-amzn-ErrorType") or str(response.status)).split(":")[0]
    error = {"Error": {"Code": code, "Message": message},
             "ResponseMetadata": {"HTTPStatusCode": response.status,
                                  "RequestId": response.getheader("x-amzn-RequestId")}}
    return exceptions().from_code(code)(error, "PutMedia")


def put_media_http(endpoint_url: str, payload: Any, *, stream_name: str | None = None, stream_arn: str | None = None,
                   fragment_timecode_type: str = "ABSOLUTE", producer_start_timestamp: Any = None,
                   credentials: Credentials | None = None, region: str = "us-east-1",
                   timeout: float = 60.0) -> Iterator[dict]:
    """Uploads ``payload`` (bytes, a binary file or an iterable of chunks) to
    ``endpoint_url``/putMedia and yields the acks as they arrive. The request is sent and
    its 200 awaited before the first body byte, as embedded producers do."""
    url = endpoint_url.rstrip("/") + "/putMedia"
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    headers = {"Host": parts.netloc,
               "x-amzn-fragment-timecode-type": _header_value("FragmentTimecodeType", fragment_timecode_type),
               "x-amzn-fragment-acknowledgment-required": "1", "Transfer-Encoding": "chunked",
               "Content-Type": "application/json", "User-Agent": "kvsmux-put"}
    if stream_name is not None:
        headers["x-amzn-stream-name"] = _header_value("StreamName", stream_name)
    if stream_arn is not None:
        headers["x-amzn-stream-arn"] = _header_value("StreamARN", stream_arn)
    start = _format_start(producer_start_timestamp)
    if start is not None:
        headers["x-amzn-producer-start-timestamp"] = _header_value("ProducerStartTimestamp", start)
    headers = _signed_headers("POST", url, headers, credentials, region)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    if parts.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
    return _exchange(sock, parts.path or "/putMedia", headers, payload)


def _exchange(sock: socket.socket, path: str, headers: dict[str, str], payload: Any) -> Iterator[dict]:
    try:
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode("latin-1"))
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        if response.status != 200:
            raise _error(response)
    except BaseException:
        sock.close()
        raise
    acks = _acks(sock, response, payload)
    next(acks)  # started: closing or dropping it, even before its first ack, ends the request
    return acks


_END = object()


def _shutdown(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:
        pass


def _acks(sock: socket.socket, response: http.client.HTTPResponse, payload: Any) -> Iterator[dict]:
    """The acks as they arrive, while a thread uploads ``payload``. A payload that fails
    (any exception, OSError included) cuts the body short, which is all HTTP can say: the
    server keeps the complete fragments, and the payload's exception is raised after the
    last ack. Closing the iterator ends the request at once, whatever the payload is doing."""
    failure: list[BaseException] = []

    def upload() -> None:
        chunks = _chunks(payload)
        while True:
            try:
                chunk = next(chunks, _END)
            except BaseException as e:  # the payload failed, not the connection
                failure.append(e)
                _shutdown(sock, socket.SHUT_WR)  # no last chunk: the server sees a cut-off body
                return
            try:
                if chunk is _END:
                    sock.sendall(b"0\r\n\r\n")
                    return
                if chunk:
                    sock.sendall(b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n")
            except OSError:
                return  # the request is over (the server ended it after an ERROR ack, or it was closed)

    writer = threading.Thread(target=upload, name="kvsmux-put-upload", daemon=True)
    try:
        yield {}  # primed (see _exchange); the upload starts with the first ack asked for, as in kvsmux.Client
        writer.start()
        try:
            while line := response.readline():
                line = line.strip()
                if line:
                    yield json.loads(line)
        except (OSError, http.client.HTTPException):
            if not failure:  # else the connection ended because the upload was cut off
                raise
    finally:
        response.close()
        _shutdown(sock, socket.SHUT_RDWR)  # wakes the upload thread if it is sending
        sock.close()
    if failure:
        raise failure[0]


def put_file(path: Any, stream: str, *, endpoint_url: str, region: str = "us-east-1", realtime: bool = False,
             retention_hours: int = 24, timecode_type: str = "RELATIVE") -> Iterator[dict]:
    """What ``kvsmux put`` does: DescribeStream (CreateStream when it is missing, as the
    producer SDKs do), GetDataEndpoint for PUT_MEDIA, then PutMedia of the file, paced in
    real time if asked. RELATIVE timecodes count from now."""
    from kvsmux.client import RemoteClient
    data = open(path, "rb").read()
    client = RemoteClient(endpoint_url, region_name=region)
    try:
        client.describe_stream(StreamName=stream)
    except client.exceptions.ResourceNotFoundException:
        client.create_stream(StreamName=stream, DataRetentionInHours=retention_hours)
    payload = realtime_chunks(data) if realtime else data
    return client.put_media(StreamName=stream, Payload=payload, FragmentTimecodeType=timecode_type,
                            ProducerStartTimestamp=time.time() if timecode_type == "RELATIVE" else None)

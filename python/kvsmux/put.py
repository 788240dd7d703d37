# SPDX-License-Identifier: Apache-2.0
"""A PutMedia client (KVS-WIRE-FACTS §4): MKV up as a chunked HTTP body, acks back while
it uploads (full duplex), SigV4-signed like the producer SDKs (empty-payload hash).

>>> for ack in put_media_http("http://127.0.0.1:4567", open("cam.mkv", "rb"), stream_name="cam"):
...     print(ack)

Errors KVS answers before the upload (unknown stream, a second producer) raise the same
``ClientError`` subclasses as :class:`kvsmux.Client`.
"""
from __future__ import annotations

import datetime
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Any, Iterable, Iterator

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


def _format_start(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = value.timestamp()
    ms = round(float(value) * 1000)
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
    headers = {"Host": parts.netloc, "x-amzn-fragment-timecode-type": fragment_timecode_type,
               "x-amzn-fragment-acknowledgment-required": "1", "Transfer-Encoding": "chunked",
               "Content-Type": "application/json", "User-Agent": "kvsmux-put"}
    if stream_name is not None:
        headers["x-amzn-stream-name"] = stream_name
    if stream_arn is not None:
        headers["x-amzn-stream-arn"] = stream_arn
    start = _format_start(producer_start_timestamp)
    if start is not None:
        headers["x-amzn-producer-start-timestamp"] = start
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
    return _acks(sock, response, payload)


def _acks(sock: socket.socket, response: http.client.HTTPResponse, payload: Any) -> Iterator[dict]:
    failure: list[BaseException] = []

    def upload() -> None:
        try:
            for chunk in _chunks(payload):
                if chunk:
                    sock.sendall(b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server ended the request (after an ERROR ack): the acks say why
        except BaseException as e:  # the payload failed: end the body so the server finishes
            failure.append(e)
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    writer = threading.Thread(target=upload, name="kvsmux-put-upload", daemon=True)
    writer.start()
    try:
        while line := response.readline():
            line = line.strip()
            if line:
                yield json.loads(line)
    finally:
        response.close()
        sock.close()
        writer.join(timeout=5)
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

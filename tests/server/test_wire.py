# SPDX-License-Identifier: Apache-2.0
"""The HTTP wire format and robustness of the server (KVS-WIRE-FACTS §1, §2, §5.1, §12):
every operation path answers with JSON and never a 5xx; unknown or wrong-case paths and
wrong methods get JSON errors with ``x-amzn-ErrorType``; every response has a request id;
timestamps are epoch seconds (ms) out and any JSON number in; bad bodies are
InvalidArgumentException; oversized, slow and stalled clients do not hurt others; CORS;
GetMedia streams live over HTTP and gives its connection back when the client leaves."""
from __future__ import annotations

import decimal
import json
import re
import socket
import threading
import time

import botocore.session
import pytest

import kvsmux.server.app
from kvsmux.api.context import Config
from kvsmux.media import demux
from kvsmux.put import put_media_http
from tests.conftest import DATA
from tests.server import rawhttp as rh
from tests.server_harness import ACCESS_KEY, SECRET_KEY, serving

FIXTURE = DATA / "valid" / "h264_aac_gst_unknown_clusters.mkv"
SERVICES = ("kinesisvideo", "kinesis-video-archived-media", "kinesis-video-media")
START = "1700000000.123"  # RELATIVE producer start: fragments at .123, .644, 1.144, 1.644
PRODUCER_TIMES = ["1700000000.123", "1700000000.644", "1700000001.144", "1700000001.644"]


def model_operations() -> list[tuple[str, str, str, str]]:
    """(service, operation, method, path) from botocore's own models, not kvsmux's routes."""
    session = botocore.session.get_session()
    out = []
    for service in SERVICES:
        model = session.get_service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            out.append((service, name, http["method"], http["requestUri"]))
    return out


def modelled_errors(service: str, operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    return {shape.name for shape in model.error_shapes}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("wire") / "data", Config(limits=False), auth=False) as s:
        assert rh.api(s.port, "/createStream", {"StreamName": "wire", "DataRetentionInHours": 24}).status == 200
        acks = list(put_media_http(s.url, FIXTURE.read_bytes(), stream_name="wire",
                                   fragment_timecode_type="RELATIVE", producer_start_timestamp=START))
        assert [a["EventType"] for a in acks].count("PERSISTED") == 4
        yield s


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("wire-auth") / "data", Config(limits=False), auth=True) as s:
        yield s


def assert_json_error(response: rh.Response, status: int, code: str | None = None) -> dict:
    assert response.status == status, (response.status, response.headers, response.body)
    assert response.header("content-type") == "application/json"
    assert response.error_type, response.headers
    if code is not None:
        assert response.error_type == code
    assert response.header("x-amzn-requestid")
    body = response.json()
    assert isinstance(body.get("Message"), str) and body["Message"], body
    return body


def ok(response: rh.Response) -> rh.Response:
    assert response.status == 200, (response.status, response.body)
    return response


# -- paths, methods, bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("service, operation, method, path", model_operations(),
                         ids=[f"{s}.{o}" for s, o, _, _ in model_operations()])
def test_every_operation_answers_an_empty_request_without_a_5xx(server, service, operation, method, path):
    assert method == "POST"
    for body in (b"{}", b""):
        response = rh.request(server.port, "POST", path, body, [("Content-Type", "application/json")])
        assert response.status < 500, (response.status, response.body)
        assert response.header("x-amzn-requestid")
        if response.status == 200:
            assert response.header("content-type") == "application/json"
            assert isinstance(response.json(), dict)
        else:
            assert response.status in (400, 404), response.status
            assert_json_error(response, response.status)
            # a code the operation's model has, so boto3 raises client.exceptions.<Code>
            assert response.error_type in modelled_errors(service, operation), (response.error_type, operation)


@pytest.mark.parametrize("path", ["/DescribeStream", "/describestream", "/DESCRIBESTREAM", "/tagResource",
                                  "/listTagsForResource", "/GetHLSStreamingSessionURL", "/getmedia", "/PutMedia",
                                  "/putmedia", "/"])
def test_wrong_case_and_unknown_paths_are_json_404(server, path):
    assert_json_error(rh.api(server.port, path, {"StreamName": "wire"}), 404)


@pytest.mark.parametrize("path", ["/nope", "/describeStream/", "/describeStream/extra", "//describeStream",
                                  "/2017-09-30/describeStream", "/hls/v1/nothing.m3u8", "/favicon.ico"])
def test_unknown_paths_are_json_404(server, path):
    assert_json_error(rh.api(server.port, path, {"StreamName": "wire"}), 404)
    assert_json_error(rh.request(server.port, "GET", path, None), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/describeStream", "/ListTagsForResource", "/getMedia", "/listFragments",
                                  "/putMedia"])
def test_other_methods_on_api_paths_are_json_405(server, method, path):
    assert_json_error(rh.request(server.port, method, path, None if method == "GET" else b"{}"), 405,
                      "MethodNotAllowedException")


def test_head_on_an_api_path_is_405_without_a_body(server):
    response = rh.request(server.port, "HEAD", "/describeStream", None)
    assert response.status == 405 and response.error_type == "MethodNotAllowedException"
    assert response.header("x-amzn-requestid")


@pytest.mark.parametrize("body", [b"{", b"{\"StreamName\": \"wire\"", b"[]", b"[{\"StreamName\": \"wire\"}]",
                                  b"\"wire\"", b"null", b"42", b"\xff\xfe{}", b"{\"StreamName\": \"wire\"} x",
                                  b"{\"StreamName\": NaN}", b"{\"StreamName\": Infinity}",
                                  b"{\"StreamName\": " + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                  b"{\"StreamName\": " + b"{\"a\":" * 990 + b"1" + b"}" * 990 + b"}",
                                  b"{\"StreamName\": " + b"9" * 5000 + b"}"],
                         ids=lambda b: repr(b[:30]) + (f"..{len(b)}" if len(b) > 30 else ""))
def test_malformed_bodies_are_invalid_argument(server, body):
    assert_json_error(rh.api(server.port, "/describeStream", body), 400, "InvalidArgumentException")


@pytest.mark.parametrize("path, params", [
    ("/describeStream", {"StreamName": 5}),
    ("/describeStream", {"StreamName": ["wire"]}),
    ("/createStream", {"StreamName": "typed", "DataRetentionInHours": "24"}),
    ("/createStream", {"StreamName": "typed", "DataRetentionInHours": 1.5}),
    ("/createStream", {"StreamName": "typed", "DataRetentionInHours": True}),
    ("/createStream", {"StreamName": "typed", "Tags": ["a", "b"]}),
    ("/createStream", {"StreamName": "typed", "Tags": {"a": 1}}),
    ("/listFragments", {"StreamName": "wire", "MaxResults": "10", "FragmentSelector": {
        "FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 2e9}}}),
    ("/listFragments", {"StreamName": "wire", "FragmentSelector": {
        "FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": "yesterday",
                                                                       "EndTimestamp": 2e9}}}),
    ("/listFragments", {"StreamName": "wire", "FragmentSelector": "SERVER_TIMESTAMP"}),
    ("/getMediaForFragmentList", {"StreamName": "wire", "Fragments": "123"}),
    ("/getMedia", {"StreamName": "wire", "StartSelector": {"StartSelectorType": 1}}),
])
def test_wrong_member_types_are_invalid_argument(server, path, params):
    assert_json_error(rh.api(server.port, path, params), 400, "InvalidArgumentException")
    if path == "/createStream":
        assert rh.api(server.port, "/describeStream", {"StreamName": "typed"}).status == 404


def _range(kind: str, start: float, end: float) -> dict:
    return {"FragmentSelectorType": kind, "TimestampRange": {"StartTimestamp": start, "EndTimestamp": end}}


@pytest.mark.parametrize("path, params", [
    ("/listFragments", {"StreamName": "wire", "FragmentSelector": _range("SERVER_TIMESTAMP", 1e300, 1e301)}),
    ("/listFragments", {"StreamName": "wire", "FragmentSelector": _range("PRODUCER_TIMESTAMP", -1e18, 2e9)}),
    ("/listFragments", {"StreamName": "wire", "FragmentSelector": _range("SERVER_TIMESTAMP", 0, 253402300800)}),
    ("/getMedia", {"StreamName": "wire", "StartSelector": {"StartSelectorType": "SERVER_TIMESTAMP",
                                                           "StartTimestamp": 1e300}}),
    ("/getMedia", {"StreamName": "wire", "StartSelector": {"StartSelectorType": "PRODUCER_TIMESTAMP",
                                                           "StartTimestamp": -1e16}}),
    ("/getClip", {"StreamName": "wire", "ClipFragmentSelector": _range("SERVER_TIMESTAMP", 1e300, 1e301)}),
])
def test_timestamps_outside_years_1_to_9999_are_invalid_argument(server, path, params):
    """Numbers no datetime can hold (and no SQLite integer, in ms) are refused, not a 500."""
    assert_json_error(rh.api(server.port, path, params), 400, "InvalidArgumentException")


def test_far_but_representable_timestamps_are_fine(server):
    selector = {"FragmentSelectorType": "PRODUCER_TIMESTAMP",
                "TimestampRange": {"StartTimestamp": -62135596800, "EndTimestamp": 253402300799.999}}
    fragments = ok(rh.api(server.port, "/listFragments", {"StreamName": "wire", "FragmentSelector": selector}))
    assert len(fragments.json()["Fragments"]) == 4


# -- request ids and timestamps -------------------------------------------------------------------------------


def test_every_response_has_a_request_id(server, auth_server):
    responses = {
        "200": rh.api(server.port, "/listStreams", {}),
        "400": rh.api(server.port, "/describeStream", b"{"),
        "404 stream": rh.api(server.port, "/describeStream", {"StreamName": "absent"}),
        "404 path": rh.api(server.port, "/nope", {}),
        "405": rh.request(server.port, "GET", "/describeStream", None),
        "403": rh.api(auth_server.port, "/listStreams", {}),
        "413": rh.api(server.port, "/listStreams", b" " * (2 * 1024 * 1024)),
        "204 preflight": rh.request(server.port, "OPTIONS", "/describeStream", None,
                                    [("Origin", "http://player.example"),
                                     ("Access-Control-Request-Method", "POST")]),
    }
    with rh.Conn(server.port) as conn:  # PutMedia's 200 (errors before streaming are covered above)
        conn.send_head("POST", "/putMedia", [("Host", "x"), ("Transfer-Encoding", "chunked"),
                                             ("x-amzn-stream-name", "wire")])
        responses["putMedia 200"] = conn.read_head()
        conn.end_chunks()
        conn.read_body(responses["putMedia 200"])
    with rh.Conn(server.port) as conn:  # a streamed payload's 200
        body = json.dumps({"StreamName": "wire", "StartSelector": {"StartSelectorType": "EARLIEST"}}).encode()
        conn.send(rh.head_bytes("POST", "/getMedia", [("Host", "x"), ("Content-Length", str(len(body)))]) + body)
        responses["getMedia 200"] = conn.read_head()
    statuses = {name: r.status for name, r in responses.items()}
    assert statuses == {"200": 200, "400": 400, "404 stream": 404, "404 path": 404, "405": 405, "403": 403,
                        "413": 413, "204 preflight": 204, "putMedia 200": 200, "getMedia 200": 200}, statuses
    ids = [r.header("x-amzn-requestid") for r in responses.values()]
    assert all(ids), {name: r.headers for name, r in responses.items()}
    assert len(set(ids)) == len(ids)
    uuid_like = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    assert all(uuid_like.match(i) for i in ids), ids


def _number_tokens(raw: bytes, key: str) -> list[str]:
    return re.findall(rf'"{key}":\s*(-?[0-9][0-9.eE+-]*)', raw.decode())


def _decimals(token: str) -> int:
    return max(0, -decimal.Decimal(token).as_tuple().exponent)


def test_response_timestamps_are_epoch_seconds_with_milliseconds(server):
    before = time.time()
    raw = ok(rh.api(server.port, "/createStream", {"StreamName": "stamped", "DataRetentionInHours": 1})).body
    after = time.time()
    raw = ok(rh.api(server.port, "/describeStream", {"StreamName": "stamped"})).body
    [created] = _number_tokens(raw, "CreationTime")
    assert _decimals(created) <= 3, created
    assert before - 1 <= float(created) <= after + 1
    assert isinstance(json.loads(raw)["StreamInfo"]["CreationTime"], (int, float))

    selector = {"FragmentSelectorType": "PRODUCER_TIMESTAMP",
                "TimestampRange": {"StartTimestamp": 1.6e9, "EndTimestamp": 1.8e9}}
    raw = ok(rh.api(server.port, "/listFragments", {"StreamName": "wire", "FragmentSelector": selector})).body
    producer = sorted(_number_tokens(raw, "ProducerTimestamp"), key=decimal.Decimal)
    server_times = _number_tokens(raw, "ServerTimestamp")
    assert len(producer) == len(server_times) == 4
    assert all(_decimals(t) <= 3 for t in producer + server_times), (producer, server_times)
    # exactly the producer start + the cluster timecodes (ms), as decimals
    assert [decimal.Decimal(t) for t in producer] == [decimal.Decimal(t) for t in PRODUCER_TIMES]


@pytest.mark.parametrize("start, end, expected", [
    ("1700000000", "1700000001", PRODUCER_TIMES[:2]),                      # integers
    ("1700000000.5", "1700000001.2", PRODUCER_TIMES[1:3]),                 # fractions
    ("1.7E9", "1.7000000007E9", PRODUCER_TIMES[:2]),                       # exponent form
    ("1.7000000011E9", "1.70000000165e+9", PRODUCER_TIMES[2:]),            # exponent with fraction, e+
    ("17000000006.44e-1", "1700000000.644", PRODUCER_TIMES[1:2]),         # inclusive bounds
    ("1700000000.123", "1700000001.644", PRODUCER_TIMES),
    ("1.8E9", "1.9E9", []),
])
def test_request_timestamps_in_any_json_number_form(server, start, end, expected):
    raw = ('{"StreamName":"wire","FragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP",'
           f'"TimestampRange":{{"StartTimestamp":{start},"EndTimestamp":{end}}}}}}}')
    json.loads(raw)  # valid JSON
    fragments = ok(rh.api(server.port, "/listFragments", raw)).json()["Fragments"]
    got = sorted((decimal.Decimal(str(f["ProducerTimestamp"])) for f in fragments))
    assert got == [decimal.Decimal(t) for t in expected], (start, end, got)


# -- oversized, slow and stalled clients ----------------------------------------------------------------------


def test_a_5_mb_body_is_refused_quickly(server):
    size = 5 * 1024 * 1024
    started = time.monotonic()
    with rh.Conn(server.port, timeout=10) as conn:
        conn.send(rh.head_bytes("POST", "/createStream", [("Host", "x"), ("Content-Type", "application/json"),
                                                          ("Content-Length", str(size))]))
        sent = []

        def push() -> None:
            try:
                for _ in range(size // 65536):
                    conn.sock.sendall(b" " * 65536)
                    sent.append(1)
            except OSError:
                pass

        writer = threading.Thread(target=push, daemon=True)
        writer.start()
        response = conn.read_response()
        elapsed = time.monotonic() - started
        conn.close()
        writer.join(5)
    assert_json_error(response, 413)
    assert elapsed < 2.0, elapsed
    assert ok(rh.api(server.port, "/listStreams", {}))


def test_a_body_just_under_the_limit_is_read(server):
    padding = b" " * (kvsmux.server.app.MAX_BODY_BYTES - 100)
    response = rh.api(server.port, "/describeStream", b'{"StreamName": "wire"}' + padding)
    assert ok(response).json()["StreamInfo"]["StreamName"] == "wire"


@pytest.mark.parametrize("shape", ["one 100 KB header", "2000 headers", "100 KB request line", "1 MB header",
                                   "100 KB header in 1 KB pieces"])
def test_huge_headers_are_refused_and_others_still_served(server, shape):
    """A head over 64 KB gets 431 when it arrives at once, and a closed connection (uvicorn's
    h11 limit) when it trickles in; either way nothing reaches an operation."""
    big = {"one 100 KB header": [("X-Big", "a" * 100_000)], "1 MB header": [("X-Big", "a" * 1_000_000)],
           "100 KB header in 1 KB pieces": [("X-Big", "a" * 100_000)],
           "2000 headers": [(f"X-H{i}", "b" * 40) for i in range(2000)]}.get(shape, [])
    path = "/listStreams?" + "q" * 100_000 if shape == "100 KB request line" else "/listStreams"
    head = rh.head_bytes("POST", path, [("Host", "x"), *big, ("Content-Length", "2")]) + b"{}"
    piece = 1000 if "pieces" in shape else len(head)
    started = time.monotonic()
    with rh.Conn(server.port, timeout=5) as conn:
        try:
            for i in range(0, len(head), piece):
                conn.send(head[i:i + piece])
            response = conn.read_response()
            assert response.status in (400, 413, 431), response
            if response.status == 431:
                assert_json_error(response, 431)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            pass  # closed without an answer: also a refusal
    assert time.monotonic() - started < 3
    assert ok(rh.api(server.port, "/listStreams", {}))


def test_slowloris_does_not_block_other_clients(server, monkeypatch):
    monkeypatch.setattr(kvsmux.server.app, "BODY_TIMEOUT_SECONDS", 1.0)
    stop = threading.Event()
    partial_line = b"POST /describeStream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 200
    slow = [rh.Conn(server.port) for _ in range(30)]
    stalled = [rh.Conn(server.port) for _ in range(5)]

    def drip() -> None:  # one byte per socket, every 0.2 s: never a whole request
        i = 0
        while not stop.is_set() and i < len(partial_line):
            for conn in slow:
                try:
                    conn.send(partial_line[i:i + 1])
                except OSError:
                    pass
            i += 1
            stop.wait(0.2)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        # clients whose headers are complete but whose JSON body stalls
        for conn in stalled:
            conn.send(rh.head_bytes("POST", "/describeStream", [("Host", "x"), ("Content-Type", "application/json"),
                                                                ("Content-Length", "100")]) + b'{"Stream')
        stalled_at = time.monotonic()
        time.sleep(0.3)
        for _ in range(10):  # everyone else is answered at once
            started = time.monotonic()
            assert ok(rh.api(server.port, "/describeStream", {"StreamName": "wire"}))
            assert time.monotonic() - started < 1.0
        with rh.Conn(server.port) as other:
            other.send_head("POST", "/putMedia", [("Host", "x"), ("Transfer-Encoding", "chunked"),
                                                  ("x-amzn-stream-name", "wire")])
            assert other.read_head().status == 200
            other.end_chunks()
        for conn in stalled:  # the stalled bodies get an error (408) or a closed connection
            conn.sock.settimeout(5)
            try:
                response = conn.read_response()
                assert response.status in (400, 408), response
                assert response.header("x-amzn-requestid")
            except (EOFError, ConnectionResetError):
                pass
        assert time.monotonic() - stalled_at < 4.0
    finally:
        stop.set()
        dripper.join(5)
        for conn in slow + stalled:
            conn.close()
    assert ok(rh.api(server.port, "/listStreams", {}))


# -- CORS -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["open", "auth"])
def test_cors_preflight(server, auth_server, which):
    port = (server if which == "open" else auth_server).port
    response = rh.request(port, "OPTIONS", "/getMediaForFragmentList", None, [
        ("Origin", "http://player.example"), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "authorization,content-type,x-amz-date")])
    assert response.status == 204  # a preflight carries no signature, even with auth on
    assert response.header("access-control-allow-origin") == "*"
    assert "POST" in response.header("access-control-allow-methods")
    allowed = {h.strip().lower() for h in response.header("access-control-allow-headers").split(",")}
    assert {"authorization", "content-type", "x-amz-date"} <= allowed or allowed == {"*"}
    assert response.body == b""


def test_responses_carry_cors_headers(server, auth_server):
    for response in [rh.api(server.port, "/describeStream", {"StreamName": "wire"}),
                     rh.api(server.port, "/describeStream", {"StreamName": "absent"}),
                     rh.api(server.port, "/nope", {}),
                     rh.request(server.port, "GET", "/describeStream", None),
                     rh.api(auth_server.port, "/listStreams", {}),
                     rh.api(auth_server.port, "/listStreams", {}, auth=(ACCESS_KEY, SECRET_KEY))]:
        assert response.header("access-control-allow-origin") == "*", response
        exposed = (response.header("access-control-expose-headers") or "").lower()
        assert "x-amzn-requestid" in exposed and "x-amzn-errortype" in exposed


# -- streaming ------------------------------------------------------------------------------------------------


def _open_get_media(port: int, stream: str, selector: dict) -> tuple[rh.Conn, rh.Response]:
    conn = rh.Conn(port, timeout=10)
    body = json.dumps({"StreamName": stream, "StartSelector": selector}).encode()
    conn.send(rh.head_bytes("POST", "/getMedia", [("Host", "x"), ("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(body)))]) + body)
    return conn, conn.read_head()


def test_get_media_delivers_a_fragment_put_while_it_is_open(server):
    ok(rh.api(server.port, "/createStream", {"StreamName": "live", "DataRetentionInHours": 1}))
    conn, head = _open_get_media(server.port, "live", {"StartSelectorType": "NOW"})
    with conn:
        assert head.status == 200 and head.chunked  # the response is open before there is anything to send
        assert head.header("content-type") == "video/webm"
        assert head.header("access-control-allow-origin") == "*"
        data = FIXTURE.read_bytes()
        producer = threading.Thread(target=lambda: list(put_media_http(
            server.url, data, stream_name="live", fragment_timecode_type="RELATIVE",
            producer_start_timestamp=START)), daemon=True)
        producer.start()
        received = bytearray()
        deadline = time.monotonic() + 10
        while received.count(b"AWS_KINESISVIDEO_CONTINUATION_TOKEN") < 4:
            assert time.monotonic() < deadline, len(received)
            chunk = conn.read_chunk()
            assert chunk is not None, "GetMedia ended before the fragments came"
            received += chunk
        producer.join(10)
    got = demux(bytes(received)).raise_if_error().fragments
    original = demux(data).fragments
    assert [f.timestamp_ticks for f in got] == [f.timestamp_ticks for f in original]
    for mine, theirs in zip(got, original):
        assert [bytes(p) for p in mine.payloads()] == [bytes(p) for p in theirs.payloads()]
    numbers = [t.get("AWS_KINESISVIDEO_FRAGMENT_NUMBER") for f in got for t in f.tags_before
               if t.get("AWS_KINESISVIDEO_FRAGMENT_NUMBER")]
    listed = ok(rh.api(server.port, "/listFragments", {"StreamName": "live", "FragmentSelector": {
        "FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": 0,
                                                                       "EndTimestamp": 4e9}}})).json()["Fragments"]
    assert sorted(numbers) == sorted(f["FragmentNumber"] for f in listed)


def test_closing_a_get_media_gives_its_connection_back(tmp_path):
    config = Config(limits=True, account_tps={}, stream_tps={}, fragment_metadata_points=None,
                    fragment_media_points=None, get_media_connections=3)
    with serving(tmp_path / "data", config, auth=False) as s:
        ok(rh.api(s.port, "/createStream", {"StreamName": "quota", "DataRetentionInHours": 1}))
        list(put_media_http(s.url, FIXTURE.read_bytes(), stream_name="quota"))
        opened = []
        try:
            for selector in [{"StartSelectorType": "NOW"}, {"StartSelectorType": "EARLIEST"},
                             {"StartSelectorType": "NOW"}]:
                conn, head = _open_get_media(s.port, "quota", selector)
                opened.append(conn)
                assert head.status == 200
            conn, head = _open_get_media(s.port, "quota", {"StartSelectorType": "NOW"})
            with conn:
                head.body = conn.read_body(head)
            assert_json_error(head, 400, "ConnectionLimitExceededException")

            opened.pop(1).close()  # the client goes away mid-stream
            deadline = time.monotonic() + 3
            while True:
                conn, head = _open_get_media(s.port, "quota", {"StartSelectorType": "NOW"})
                if head.status == 200:
                    opened.append(conn)
                    break
                conn.close()
                assert time.monotonic() < deadline, "the closed GetMedia never gave its connection back"
                time.sleep(0.05)
            conn, head = _open_get_media(s.port, "quota", {"StartSelectorType": "NOW"})
            with conn:
                assert head.status == 400  # still 3 at most
        finally:
            for conn in opened:
                conn.close()
        # all three come back
        deadline = time.monotonic() + 3
        while True:
            conns = [_open_get_media(s.port, "quota", {"StartSelectorType": "NOW"}) for _ in range(3)]
            statuses = [h.status for _, h in conns]
            for c, _ in conns:
                c.close()
            if statuses == [200, 200, 200]:
                break
            assert time.monotonic() < deadline, statuses
            time.sleep(0.1)


def test_server_survives_clients_that_vanish(server):
    """Connections reset mid-request, mid-body and mid-response leave the server serving."""
    for payload in [b"POST /describeStream HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"Str",
                    b"POST /getMedia HTTP/1.1\r\nHost: x\r\nContent-Length: 68\r\n\r\n"
                    b'{"StreamName": "wire", "StartSelector": {"StartSelectorType": "EARLIEST"}}',
                    b"GARBAGE\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"]:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(payload)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # RST
    time.sleep(0.1)
    assert ok(rh.api(server.port, "/describeStream", {"StreamName": "wire"}))

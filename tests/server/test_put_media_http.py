# SPDX-License-Identifier: Apache-2.0
"""PutMedia over real sockets (KVS-WIRE-FACTS §4.1, §4.2, §12 items 4-6, §14): the request
and its chunked body are written by hand and the chunked ack stream is parsed by hand, so
what is checked is the bytes a producer SDK sends and sees. The server runs with auth on;
requests are signed like the C producer SDK signs them (Host without port, connection;
host;transfer-encoding;user-agent;x-amz-date;x-amzn-* and the empty-string payload hash)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest

from kvsmux.api.context import Config
from kvsmux.media import demux
from tests.conftest import DATA, require_shared_media
from tests.server import rawhttp as rh
from tests.server_harness import ACCESS_KEY, SECRET_KEY, remote_client, serving

FIXTURE = DATA / "valid" / "h264_aac_gst_unknown_clusters.mkv"  # unknown-size clusters, as the SDKs write
KNOWN_SIZE = DATA / "valid" / "h264_160x120_30fps_gop15.mkv"
WIRE_KEYS = {"EventType", "FragmentTimecode", "FragmentNumber", "ErrorId", "ErrorCode"}
SDK_SIGNED = ["connection", "host", "transfer-encoding", "user-agent", "x-amz-date",
              "x-amzn-fragment-acknowledgment-required", "x-amzn-fragment-timecode-type",
              "x-amzn-producer-start-timestamp", "x-amzn-stream-name"]
ALL_TIME = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 4e9}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("putmedia") / "data",
                 Config(limits=False, idle_ack_interval_seconds=0.2), auth=True) as s:
        s.client = remote_client(s.url)
        yield s


@pytest.fixture(scope="module")
def fixture_bytes() -> bytes:
    return FIXTURE.read_bytes()


def new_stream(server, name: str, retention: int = 24) -> str:
    return server.client.create_stream(StreamName=name, DataRetentionInHours=retention)["StreamARN"]


def ensure_stream(server, name: str) -> None:
    if name not in {s["StreamName"] for s in server.client.list_streams()["StreamInfoList"]}:
        new_stream(server, name)


def put_headers(stream: str | None = None, *, arn: str | None = None, timecode_type: str | None = "RELATIVE",
                start: str | None = "1700000000.000", sign: bool = True, expect: bool = True,
                host: str = "127.0.0.1") -> list[tuple[str, str]]:
    """The PutMedia request head of the C producer SDK (KVS-WIRE-FACTS §4.1, §14)."""
    hs = [("Host", host), ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"),
          ("User-Agent", "AWS-PRODUCER-SDK-KVS/1.6.0 GCC/12.2.0 Linux/6.1.0 x86_64"),
          ("x-amzn-fragment-acknowledgment-required", "1")]
    if timecode_type is not None:
        hs.append(("x-amzn-fragment-timecode-type", timecode_type))
    if start is not None:
        hs.append(("x-amzn-producer-start-timestamp", start))
    if stream is not None:
        hs.append(("x-amzn-stream-name", stream))
    if arn is not None:
        hs.append(("x-amzn-stream-arn", arn))
    if sign:
        signed = [k.lower() for k, _ in hs]
        hs = rh.sign("POST", "/putMedia", hs, key=ACCESS_KEY, secret=SECRET_KEY, signed=signed,
                     payload_hash=rh.EMPTY_SHA256)
    hs.append(("content-type", "application/json"))  # sent, not signed, by the SDK
    if expect:
        hs.append(("Expect", "100-continue"))
    return hs


def open_put(server, stream: str, **kwargs) -> tuple[rh.Conn, rh.Response]:
    conn = rh.Conn(server.port)
    conn.send_head("POST", "/putMedia", put_headers(stream, **kwargs))
    return conn, conn.read_head()


def check_ack_chunk(chunk: bytes) -> dict:
    """One HTTP chunk = one ack: compact JSON with the wire keys, and a newline."""
    assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1, chunk
    ack = json.loads(chunk)
    assert isinstance(ack, dict), chunk
    assert json.dumps(ack, separators=(",", ":")).encode() + b"\n" == chunk, f"not compact JSON: {chunk!r}"
    assert set(ack) <= WIRE_KEYS, chunk
    kind = ack["EventType"]
    assert kind in ("BUFFERING", "RECEIVED", "PERSISTED", "ERROR", "IDLE"), chunk
    if kind == "IDLE":
        assert set(ack) == {"EventType"}, chunk
    elif kind != "ERROR":
        assert isinstance(ack["FragmentNumber"], str) and ack["FragmentNumber"].isdigit(), chunk
        assert type(ack["FragmentTimecode"]) is int, chunk
    return ack


def read_acks(conn: rh.Conn) -> list[dict]:
    acks = []
    while (chunk := conn.read_chunk()) is not None:
        acks.append(check_ack_chunk(chunk))
    return acks


def upload(conn: rh.Conn, data: bytes, piece: int = 4096) -> None:
    for i in range(0, len(data), piece):
        conn.send_chunk(data[i:i + piece])
    conn.end_chunks()


def persisted(acks: list[dict]) -> list[int]:
    return [a["FragmentTimecode"] for a in acks if a["EventType"] == "PERSISTED"]


def list_fragments(server, stream: str) -> list[dict]:
    fragments = server.client.list_fragments(StreamName=stream, FragmentSelector=ALL_TIME)["Fragments"]
    return sorted(fragments, key=lambda f: f["ProducerTimestamp"])


def cluster_timecodes(data: bytes) -> list[int]:
    return [f.timestamp_ticks for f in demux(data).fragments]


def wait_idle(conn: rh.Conn, timeout: float = 5.0) -> list[dict]:
    """Acks until the first IDLE: the server has consumed everything sent before."""
    conn.sock.settimeout(timeout)
    acks = []
    while True:
        ack = check_ack_chunk(conn.read_chunk())
        acks.append(ack)
        if ack["EventType"] == "IDLE":
            return acks


def test_expect_100_continue_gets_the_200_before_any_body_byte(server, fixture_bytes):
    new_stream(server, "expect")
    with rh.Conn(server.port, timeout=5) as conn:
        conn.send_head("POST", "/putMedia", put_headers("expect", expect=True))
        # Not one body byte has been sent: an embedded producer waits for this status line.
        head = conn.read_head(skip_informational=True)
        assert head.status == 200, head
        assert head.chunked and head.header("content-type") == "application/json"
        assert head.header("x-amzn-requestid")
        upload(conn, fixture_bytes)
        acks = read_acks(conn)
    assert persisted(acks) == cluster_timecodes(fixture_bytes) == [0, 521, 1021, 1521]
    assert not [a for a in acks if a["EventType"] == "ERROR"]


def test_slow_producer_gets_acks_while_it_uploads_and_idle_acks_in_pauses(server, fixture_bytes):
    new_stream(server, "trickle")
    rng = random.Random(11)
    pieces, i = [], 0
    while i < len(fixture_bytes):
        n = rng.randint(1, 100)
        pieces.append(fixture_bytes[i:i + n])
        i += n
    pause_at = {len(pieces) // 3, 2 * len(pieces) // 3}  # pauses inside fragments 1 and 3
    step = 3.2 / len(pieces)
    pauses: list[tuple[float, float]] = []
    body_end: list[float] = []
    conn, head = open_put(server, "trickle")
    assert head.status == 200

    def trickle() -> None:
        for n, piece in enumerate(pieces):
            if n in pause_at:
                t0 = time.monotonic()
                time.sleep(0.8)
                pauses.append((t0, time.monotonic()))
            conn.send_chunk(piece)
            time.sleep(step)
        body_end.append(time.monotonic())
        conn.end_chunks()

    writer = threading.Thread(target=trickle, daemon=True)
    start = time.monotonic()
    writer.start()
    timed = []
    try:
        conn.sock.settimeout(15)
        while (chunk := conn.read_chunk()) is not None:
            timed.append((time.monotonic(), check_ack_chunk(chunk)))
    finally:
        writer.join(10)
        conn.close()
    elapsed = time.monotonic() - start
    assert 4.0 < elapsed < 12, elapsed
    assert body_end and len(pauses) == 2
    acks = [a for _, a in timed]
    fragments = [a for a in acks if a["EventType"] != "IDLE"]
    assert not [a for a in fragments if a["EventType"] == "ERROR"], fragments
    timecodes = cluster_timecodes(fixture_bytes)
    for tc in timecodes:  # each fragment: BUFFERING, RECEIVED, PERSISTED, one number throughout
        mine = [a for a in fragments if a["FragmentTimecode"] == tc]
        assert [a["EventType"] for a in mine] == ["BUFFERING", "RECEIVED", "PERSISTED"], mine
        assert len({a["FragmentNumber"] for a in mine}) == 1
    numbers = [a["FragmentNumber"] for a in fragments if a["EventType"] == "BUFFERING"]
    assert [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    # Full duplex: the first three fragments were acknowledged PERSISTED while the body went on.
    early = [a["FragmentTimecode"] for t, a in timed if a["EventType"] == "PERSISTED" and t < body_end[0]]
    assert early == timecodes[:3], (early, body_end[0] - start)
    assert [a["FragmentTimecode"] for t, a in timed if a["EventType"] == "BUFFERING" and t < body_end[0]] == timecodes
    # IDLE acks while the producer was quiet, in each pause.
    for t0, t1 in pauses:
        idle = [t for t, a in timed if a["EventType"] == "IDLE" and t0 < t <= t1 + 0.3]
        assert len(idle) >= 2, (t0 - start, t1 - start, [(round(t - start, 2), a) for t, a in timed])


def test_producer_disconnecting_mid_fragment_keeps_complete_fragments(server, fixture_bytes):
    new_stream(server, "dropped")
    fragments = demux(fixture_bytes).fragments
    cut = fragments[2].byte_range[0] + fragments[2].byte_range[1] // 2  # inside the third cluster
    conn, head = open_put(server, "dropped")
    assert head.status == 200
    conn.send_chunk(fixture_bytes[:cut])
    acks = wait_idle(conn)  # the server has read everything sent
    assert persisted(acks) == [0, 521]
    buffering = [a for a in acks if a["EventType"] == "BUFFERING"]
    assert [a["FragmentTimecode"] for a in buffering] == [0, 521, 1021]
    conn.close()  # gone, in the middle of fragment 1021

    # The writer lock comes back: the next PutMedia on the stream is accepted.
    deadline = time.monotonic() + 5
    while True:
        again, head = open_put(server, "dropped", start="1700000010.000")
        if head.status == 200:
            break
        assert head.status == 400 and again.read_body(head) and head.error_type == "ConnectionLimitExceededException"
        again.close()
        assert time.monotonic() < deadline, "the stream's PutMedia connection was never released"
        time.sleep(0.05)
    with again:
        upload(again, fixture_bytes)
        second = read_acks(again)
    assert persisted(second) == [0, 521, 1021, 1521]
    stored = list_fragments(server, "dropped")
    first_numbers = [a["FragmentNumber"] for a in acks if a["EventType"] == "PERSISTED"]
    second_numbers = [a["FragmentNumber"] for a in second if a["EventType"] == "PERSISTED"]
    assert [f["FragmentNumber"] for f in stored] == first_numbers + second_numbers  # not the partial one
    assert buffering[2]["FragmentNumber"] not in {f["FragmentNumber"] for f in stored}
    sizes = [f["FragmentSizeInBytes"] for f in stored]
    assert sizes == [f.byte_range[1] for f in fragments[:2]] + [f.byte_range[1] for f in fragments]


def test_producer_disconnecting_right_after_a_known_size_cluster_keeps_it(server):
    data = KNOWN_SIZE.read_bytes()
    new_stream(server, "dropped-known")
    fragments = demux(data).fragments
    end_of_second = sum(fragments[1].byte_range)
    conn, head = open_put(server, "dropped-known")
    assert head.status == 200
    conn.send_chunk(data[:end_of_second])
    acks = wait_idle(conn)
    assert persisted(acks) == [0]  # the second cluster is complete, but could still get tags after it
    second = next(a for a in acks if a["EventType"] == "BUFFERING" and a["FragmentTimecode"] == 500)
    conn.close()
    deadline = time.monotonic() + 5
    while len(stored := list_fragments(server, "dropped-known")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [f["FragmentNumber"] for f in stored][1] == second["FragmentNumber"]
    assert [f["FragmentSizeInBytes"] for f in stored] == [f.byte_range[1] for f in fragments[:2]]


def test_end_of_fragment_tag_gets_the_persisted_ack_while_the_body_is_open(server):
    """The SDK sends AWS_KINESISVIDEO_END_OF_FRAGMENT at stop and waits for the last
    PERSISTED before ending its body (KVS-WIRE-FACTS §12 item 6, §14): the ack must come
    over the wire at once, not when the body ends or the idle timeout strikes. By ARN."""
    from tests.api import mkv_build as mb
    arn = new_stream(server, "eofr")
    data = mb.synthetic([0, 1000], between={1: mb.end_of_fragment()})
    conn, head = open_put(server, None, arn=arn)
    with conn:
        assert head.status == 200
        conn.send_chunk(data)
        conn.sock.settimeout(3)
        acks, started = [], time.monotonic()
        while persisted(acks) != [0, 1000]:
            acks.append(check_ack_chunk(conn.read_chunk()))
        assert time.monotonic() - started < 1.5
        conn.end_chunks()
        acks += read_acks(conn)
    assert persisted(acks) == [0, 1000]
    assert [a["EventType"] for a in acks if a["EventType"] not in ("IDLE",)] == \
        ["BUFFERING", "RECEIVED", "PERSISTED"] * 2
    assert len(list_fragments(server, "eofr")) == 2


def test_back_to_back_put_media_on_one_stream(server, fixture_bytes):
    """A producer that reconnects the moment its previous PutMedia ended is not refused:
    the stream's connection is given back before the response's last chunk goes out.
    (Each next connection is opened beforehand, and its request sent as soon as the last
    chunk arrives, to make the window as small as a fast producer makes it.)"""
    new_stream(server, "reconnect")
    one_fragment = fixture_bytes[:sum(demux(fixture_bytes).fragments[0].byte_range)]
    rounds = 100
    conn = rh.Conn(server.port)
    conn.send_head("POST", "/putMedia", put_headers("reconnect", start="1700000000.000"))
    for n in range(rounds):
        head = conn.read_head()
        assert head.status == 200, (n, head, conn.read_body(head))
        upload(conn, one_fragment)
        following = rh.Conn(server.port) if n + 1 < rounds else None
        acks = []
        while (chunk := conn.read_chunk()) is not None:
            acks.append(check_ack_chunk(chunk))
        if following is not None:
            following.send_head("POST", "/putMedia", put_headers("reconnect", start=f"{1700000001 + n}.000"))
        assert persisted(acks) == [0]
        conn.close()
        conn = following
    assert len(list_fragments(server, "reconnect")) == rounds


def test_quiet_producer_is_finished_after_the_idle_timeout(server, fixture_bytes):
    """IDLE acks while nothing comes; after idle_timeout_seconds the service ends the
    request itself, keeping the fragment whose bytes had all arrived."""
    new_stream(server, "quiet")
    first = fixture_bytes[:sum(demux(fixture_bytes).fragments[0].byte_range)]
    config = server.kvs.config
    saved = config.idle_timeout_seconds
    config.idle_timeout_seconds = 1.0
    try:
        conn, head = open_put(server, "quiet")
        with conn:
            assert head.status == 200
            conn.send_chunk(first)
            start = time.monotonic()
            acks = read_acks(conn)  # the server ends the response; the body never ended
            waited = time.monotonic() - start
    finally:
        config.idle_timeout_seconds = saved
    assert 0.9 <= waited < 4, waited
    kinds = [a["EventType"] for a in acks]
    assert kinds.count("IDLE") >= 3, kinds
    assert persisted(acks) == [0]
    assert kinds.index("PERSISTED") > kinds.index("IDLE")
    assert len(list_fragments(server, "quiet")) == 1


def test_second_producer_on_a_stream_is_refused_while_the_first_carries_on(server, fixture_bytes):
    new_stream(server, "two")
    fragments = demux(fixture_bytes).fragments
    split = fragments[1].byte_range[0] + 40  # past the cluster's ID, size and Timecode
    first, head = open_put(server, "two")
    assert head.status == 200
    first.send_chunk(fixture_bytes[:split])
    acks = wait_idle(first)
    assert persisted(acks) == [0]

    second, refused = open_put(server, "two", start="1700000100.000")
    with second:
        refused.body = second.read_body(refused)
    assert refused.status == 400
    assert refused.error_type == "ConnectionLimitExceededException"
    assert refused.header("content-type") == "application/json"
    assert refused.header("x-amzn-requestid")
    assert isinstance(refused.json()["Message"], str) and refused.json()["Message"]

    with first:
        upload(first, fixture_bytes[split:])
        acks += read_acks(first)
    assert persisted(acks) == [0, 521, 1021, 1521]
    assert not [a for a in acks if a["EventType"] == "ERROR"]
    assert len(list_fragments(server, "two")) == 4


def test_unparseable_media_gets_an_error_ack_and_ends_the_request(server, fixture_bytes):
    """Bytes that are not MKV after a complete cluster: ERROR 4006 for the fragment they
    fall in, the response ends although the producer is still sending, what was complete
    stays, and the stream takes the next producer."""
    new_stream(server, "garbage")
    fragments = demux(fixture_bytes).fragments
    conn, head = open_put(server, "garbage")
    assert head.status == 200
    conn.send_chunk(fixture_bytes[:fragments[2].byte_range[0]] + b"\x00not-mkv" * 500)

    def keep_sending() -> None:
        try:
            for _ in range(200):
                conn.send_chunk(b"\x00more" * 100)
                time.sleep(0.01)
        except OSError:
            pass

    sender = threading.Thread(target=keep_sending, daemon=True)
    sender.start()
    conn.sock.settimeout(5)
    with conn:
        acks = read_acks(conn)  # ends: the server closed the ack stream
    sender.join(5)
    assert acks[-1]["EventType"] == "ERROR" and acks[-1]["ErrorId"] == 4006, acks
    assert acks[-1]["ErrorCode"] == "INVALID_MKV_DATA"
    assert persisted(acks) == [0]
    assert len(list_fragments(server, "garbage")) == 1
    again, head = open_put(server, "garbage", start="1700000100.000")
    with again:
        assert head.status == 200
        upload(again, fixture_bytes)
        assert persisted(read_acks(again)) == [0, 521, 1021, 1521]


def test_retention_zero_stream_gets_no_persisted_acks(server, fixture_bytes):
    new_stream(server, "no-retention", retention=0)
    conn, head = open_put(server, "no-retention")
    with conn:
        assert head.status == 200
        upload(conn, fixture_bytes)
        acks = read_acks(conn)
    events = [(a["EventType"], a["FragmentTimecode"]) for a in acks if a["EventType"] != "IDLE"]
    assert events == [(kind, tc) for tc in (0, 521, 1021, 1521) for kind in ("BUFFERING", "RECEIVED")]


def test_stream_deleted_during_put_media(server, fixture_bytes):
    arn = new_stream(server, "deleted")
    fragments = demux(fixture_bytes).fragments
    split = fragments[2].byte_range[0] + 40
    conn, head = open_put(server, "deleted")
    with conn:
        assert head.status == 200
        conn.send_chunk(fixture_bytes[:split])
        assert persisted(wait_idle(conn)) == [0, 521]
        server.client.delete_stream(StreamARN=arn)
        try:
            upload(conn, fixture_bytes[split:])
        except OSError:
            pass
        acks = read_acks(conn)
    errors = [a for a in acks if a["EventType"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["ErrorId"] == 4008 and errors[0]["FragmentTimecode"] == 1021, acks
    assert acks[-1] == errors[0]
    assert not persisted(acks)


def test_producer_timestamps_past_year_9999_are_error_4007(server):
    """A fragment whose producer time (RELATIVE: start + cluster timecode) is past
    9999-12-31T23:59:59.999Z gets ERROR 4007 INVALID_PRODUCER_TIMESTAMP, rather than being
    stored with a time ListFragments cannot give back."""
    from tests.api import mkv_build as mb
    new_stream(server, "far-future")
    data = mb.synthetic([0, 5000])
    conn, head = open_put(server, "far-future", timecode_type="RELATIVE", start="253402300799")
    with conn:
        assert head.status == 200
        upload(conn, data)
        acks = read_acks(conn)
    assert persisted(acks) == [0]
    errors = [a for a in acks if a["EventType"] == "ERROR"]
    assert [(a["ErrorId"], a["ErrorCode"], a["FragmentTimecode"]) for a in errors] == \
        [(4007, "INVALID_PRODUCER_TIMESTAMP", 5000)], acks
    listed = rh.api(server.port, "/listFragments", {"StreamName": "far-future", "FragmentSelector": ALL_TIME},
                    auth=(ACCESS_KEY, SECRET_KEY))
    assert listed.status == 200
    assert [f["ProducerTimestamp"] for f in listed.json()["Fragments"]] == [253402300799]


def test_twenty_streams_ingest_at_once(server, fixture_bytes):
    names = [f"many-{i:02d}" for i in range(20)]
    for name in names:
        new_stream(server, name)
    results: dict[str, list] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(names))

    def produce(name: str) -> None:
        try:
            barrier.wait(10)
            conn, head = open_put(server, name)
            with conn:
                assert head.status == 200, head
                upload(conn, fixture_bytes, piece=1500)
                results[name] = read_acks(conn)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=produce, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    original = demux(fixture_bytes).fragments
    for name in names:
        assert persisted(results[name]) == [0, 521, 1021, 1521], name
        stored = list_fragments(server, name)
        assert len(stored) == 4, name
        payload = server.client.get_media_for_fragment_list(
            StreamName=name, Fragments=[f["FragmentNumber"] for f in stored])["Payload"].read()
        got = demux(payload).raise_if_error().fragments
        assert len(got) == 4, name
        for mine, theirs in zip(got, original):
            assert mine.timestamp_ticks == theirs.timestamp_ticks
            assert mine.frames["track"].tolist() == theirs.frames["track"].tolist()
            assert [bytes(p) for p in mine.payloads()] == [bytes(p) for p in theirs.payloads()], name


@pytest.mark.parametrize("case, headers, status, code", [
    ("unknown stream", dict(stream="no-such-stream"), 404, "ResourceNotFoundException"),
    ("neither name nor ARN", dict(stream=None), 400, "InvalidArgumentException"),
    ("name and ARN", dict(stream="errors", arn="ARN"), 400, "InvalidArgumentException"),
    ("bad timecode type", dict(stream="errors", timecode_type="SOMETIMES"), 400, "InvalidArgumentException"),
    ("lower-case timecode type", dict(stream="errors", timecode_type="relative"), 400, "InvalidArgumentException"),
    ("start timestamp not a number", dict(stream="errors", start="yesterday"), 400, "InvalidArgumentException"),
    ("negative start timestamp", dict(stream="errors", start="-1.5"), 400, "InvalidArgumentException"),
    ("NaN start timestamp", dict(stream="errors", start="NaN"), 400, "InvalidArgumentException"),
    ("start timestamp 1e300", dict(stream="errors", start="1e300"), 400, "InvalidArgumentException"),
    ("start timestamp in year 10000", dict(stream="errors", start="253402300800"), 400, "InvalidArgumentException"),
    ("bad stream name", dict(stream="bad name!"), 400, "InvalidArgumentException"),
])
def test_errors_before_streaming(server, fixture_bytes, case, headers, status, code):
    ensure_stream(server, "errors")
    headers = dict(headers)
    if headers.get("arn") == "ARN":
        headers = {**headers, "arn": server.client.describe_stream(StreamName="errors")["StreamInfo"]["StreamARN"]}
    conn, head = open_put(server, headers.pop("stream"), **headers)
    with conn:
        head.body = conn.read_body(head)
    assert (head.status, head.error_type) == (status, code), (case, head)
    assert head.header("content-type") == "application/json"
    assert head.header("x-amzn-requestid")
    assert isinstance(head.json()["Message"], str) and head.json()["Message"]
    # Nothing was taken: the stream still accepts a producer.
    if headers.get("arn") is None and code != "ResourceNotFoundException":
        conn, head = open_put(server, "errors", start="1700000000.000")
        with conn:
            assert head.status == 200
            upload(conn, fixture_bytes)
            assert persisted(read_acks(conn)) == [0, 521, 1021, 1521]


def test_producer_sdk_request_is_accepted_with_auth(server):
    """The request head the C producer SDK sends (KVS-WIRE-FACTS §14), on its own recording."""
    media = require_shared_media() / "kvs-producer-sdk-cpp" / "test-stream-1_0.mkv"
    data = media.read_bytes()
    new_stream(server, "sdk")
    hs = put_headers("sdk", timecode_type="ABSOLUTE", start="1703120790.5", host="127.0.0.1")
    authorization = dict(hs)["Authorization"]
    assert f"SignedHeaders={';'.join(SDK_SIGNED)}," in authorization
    assert dict(hs)["Host"] == "127.0.0.1"  # no port, as the SDK sends it
    with rh.Conn(server.port, timeout=30) as conn:
        conn.send_head("POST", "/putMedia", hs)
        head = conn.read_head()
        assert head.status == 200, (head, conn.read_body(head))
        upload(conn, data, piece=32 * 1024)
        acks = read_acks(conn)
    expected = cluster_timecodes(data)
    assert len(expected) == 37
    assert persisted(acks) == expected  # ABSOLUTE: the raw epoch-ms cluster timecodes
    stored = list_fragments(server, "sdk")
    assert len(stored) == 37
    assert stored[0]["ProducerTimestamp"].timestamp() == pytest.approx(expected[0] / 1000)


@pytest.mark.parametrize("tamper", ["user-agent", "host with port", "stream name", "empty hash not used"])
def test_producer_sdk_signature_covers_what_it_lists(server, tamper):
    ensure_stream(server, "sdk-tamper")
    hs = put_headers("sdk-tamper")
    if tamper == "user-agent":
        hs = [(k, "curl/8.0" if k == "User-Agent" else v) for k, v in hs]
    elif tamper == "host with port":
        hs = [(k, f"127.0.0.1:{server.port}" if k == "Host" else v) for k, v in hs]
    elif tamper == "stream name":
        ensure_stream(server, "sdk-tamper-2")  # it exists: only the signature is wrong
        hs = [(k, "sdk-tamper-2" if k == "x-amzn-stream-name" else v) for k, v in hs]
    else:  # signed over the hash of some body instead of the empty string
        base = [(k, v) for k, v in put_headers("sdk-tamper", sign=False) if k not in ("content-type", "Expect")]
        hs = rh.sign("POST", "/putMedia", base, b"\x1a\x45\xdf\xa3", key=ACCESS_KEY, secret=SECRET_KEY,
                     signed=[k.lower() for k, _ in base])
    with rh.Conn(server.port) as conn:
        conn.send_head("POST", "/putMedia", hs)
        head = conn.read_head()
        head.body = conn.read_body(head)
    assert head.status == 403, head
    assert head.error_type == "InvalidSignatureException"
    assert head.json()["Message"]


def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_CONFIG_FILE=os.devnull)
    return env


def _run_put(server, stream: str, *extra: str) -> tuple[list[tuple[float, dict]], int, str]:
    process = subprocess.Popen([sys.executable, "-m", "kvsmux.cli", "put", str(FIXTURE), "--stream", stream,
                                "--endpoint-url", server.url, *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_cli_env(), text=True)
    lines = []
    try:
        for line in process.stdout:
            lines.append((time.monotonic(), line))
        rc = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    out = []
    for t, line in lines:
        assert line.endswith("\n")
        out.append((t, json.loads(line)))
    return out, rc, stderr


def test_kvsmux_put_cli_creates_the_stream_and_prints_acks(server):
    with pytest.raises(server.client.exceptions.ResourceNotFoundException):
        server.client.describe_stream(StreamName="cli")
    acks, rc, stderr = _run_put(server, "cli")
    assert rc == 0, stderr
    kinds = [a["EventType"] for _, a in acks]
    assert [a["FragmentTimecode"] for _, a in acks if a["EventType"] == "PERSISTED"] == [0, 521, 1021, 1521]
    assert set(kinds) <= {"BUFFERING", "RECEIVED", "PERSISTED", "IDLE"}, kinds
    info = server.client.describe_stream(StreamName="cli")["StreamInfo"]
    assert info["Status"] == "ACTIVE" and info["DataRetentionInHours"] == 24
    assert len(list_fragments(server, "cli")) == 4


def test_kvsmux_put_cli_realtime_paces_the_upload(server):
    acks, rc, stderr = _run_put(server, "cli-realtime", "--realtime")
    assert rc == 0, stderr
    buffering = [t for t, a in acks if a["EventType"] == "BUFFERING"]
    last = [t for t, a in acks if a["EventType"] == "PERSISTED"][-1]
    assert len(buffering) == 4
    # Clusters at 0 / 0.521 / 1.021 / 1.521 s: each one sent when its time comes.
    assert last - buffering[0] >= 1.4, last - buffering[0]
    assert buffering[3] - buffering[0] >= 1.4
    assert buffering[1] - buffering[0] >= 0.4

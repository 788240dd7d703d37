# SPDX-License-Identifier: Apache-2.0
"""PutMedia errors (KVS-WIRE-FACTS §4.1, §4.3, §4.4): request errors raised before any
ack, each ERROR ack (ErrorId, ErrorCode, the failing fragment's number and timecode), what
is kept around them, and the one-PutMedia-per-stream rule, also across processes."""
from __future__ import annotations

import gc
import json
import multiprocessing
import random
import threading

import pytest

from kvsmux.api.context import Config
from kvsmux.api.ingest import open_session
from tests.api import mkv_build as mb
from tests.api.test_put_media import random_chunks, released, stored

GST = "h264_aac_gst_unknown_clusters.mkv"   # unknown-size clusters at 0/521/1021/1521 ms
KNOWN = "h264_aac.mkv"                        # known-size clusters at 0/512/1002/1514 ms
CODES = {4000: "STREAM_READ_ERROR", 4001: "FRAGMENT_SIZE_REACHED", 4002: "FRAGMENT_DURATION_REACHED",
         4003: "CONNECTION_DURATION_REACHED", 4004: "FRAGMENT_TIMECODE_NOT_MONOTONIC", 4006: "INVALID_MKV_DATA",
         4008: "STREAM_NOT_ACTIVE", 4009: "FRAGMENT_METADATA_LIMIT_REACHED", 4010: "TRACK_NUMBER_MISMATCH",
         4011: "FRAMES_MISSING_FOR_TRACK", 4012: "MORE_THAN_ALLOWED_TRACKS_FOUND"}


def error(code: int, buffering: dict | None = None) -> dict:
    """The ERROR ack for ``code``; with the fragment's BUFFERING ack, its number and timecode."""
    out = {"EventType": "ERROR"}
    if buffering is not None:
        out.update(FragmentTimecode=buffering["FragmentTimecode"], FragmentNumber=buffering["FragmentNumber"])
    return {**out, "ErrorId": code, "ErrorCode": CODES[code]}


def summary(acks: list[dict]) -> list:
    """(event, timecode[, ErrorId]) per ack; checks the wire types on the way."""
    for a in acks:
        assert json.loads(json.dumps(a)) == a
        assert isinstance(a.get("FragmentNumber", ""), str) and type(a.get("FragmentTimecode", 0)) is int
        if a["EventType"] == "ERROR":
            assert type(a["ErrorId"]) is int and a["ErrorCode"] == CODES[a["ErrorId"]]
    return [(a["EventType"], a.get("FragmentTimecode")) + ((a["ErrorId"],) if "ErrorId" in a else ()) for a in acks]


def buffering(acks: list[dict], timecode: int) -> dict:
    return next(a for a in acks if a["EventType"] == "BUFFERING" and a["FragmentTimecode"] == timecode)


def ok(*timecodes: int) -> list:
    return [e for tc in timecodes for e in (("BUFFERING", tc), ("RECEIVED", tc), ("PERSISTED", tc))]


def small_chunks(data: bytes, seed: int, most: int = 64):
    """Chunks of 1..``most`` bytes, so that a small input arrives piece by piece."""
    rng = random.Random(seed)
    i = 0
    while i < len(data):
        n = rng.randint(1, most)
        yield data[i:i + n]
        i += n


# -- request errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, code", [
    ({"ProducerStartTimestamp": "abc"}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": ""}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": -1}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": "-0.5"}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": "nan"}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": float("inf")}, "InvalidArgumentException"),
    ({"ProducerStartTimestamp": [1]}, "InvalidArgumentException"),
    ({"FragmentTimecodeType": "relative"}, "InvalidArgumentException"),
    ({"FragmentTimecodeType": "BOTH"}, "InvalidArgumentException"),
    ({"FragmentTimecodeType": None}, "InvalidArgumentException"),
    ({"StreamName": None}, "InvalidArgumentException"),
    ({"StreamARN": "SAME"}, "InvalidArgumentException"),
    ({"StreamName": "bad name!"}, "InvalidArgumentException"),
    ({"StreamName": "nope"}, "ResourceNotFoundException"),
    ({"StreamName": None, "StreamARN": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/nope/1"},
     "ResourceNotFoundException"),
])
def test_request_errors_raise_before_any_ack(api, kwargs, code):
    arn = api.create_stream("cam")
    request = {"StreamName": "cam", "FragmentTimecodeType": "RELATIVE", **kwargs}
    if request.get("StreamARN") == "SAME":
        request["StreamARN"] = arn
    read = []

    def producer():
        read.append(True)
        yield mb.fixture(GST)

    exceptions = api.client.exceptions
    with pytest.raises(getattr(exceptions, code)) as caught:
        api.client.put_media(Payload=producer(), **request)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == (404 if code.startswith("Resource") else 400)
    assert read == []
    # Nothing was left holding the stream.
    assert [a["EventType"] for a in api.put_media(StreamName="cam", Payload=mb.fixture(GST))].count("PERSISTED") == 4


def test_stream_arn_works(api):
    arn = api.create_stream("cam")
    acks = api.put_media(StreamARN=arn, Payload=mb.fixture(GST))
    assert summary(acks) == ok(0, 521, 1021, 1521)


# -- fragment-level rule errors: later fragments are still persisted ---------------------------

@pytest.mark.parametrize("chunked", [False, True])
def test_4004_timecode_going_back(api, chunked):
    data = mb.split(mb.fixture(GST)).join(order=[0, 2, 1, 1, 3])
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=small_chunks(data, 4, 4096) if chunked else data)
    failing = [a for a in acks if a["EventType"] == "BUFFERING" and a["FragmentTimecode"] == 521]
    assert summary(acks) == ok(0, 1021) + [("BUFFERING", 521), ("ERROR", 521, 4004)] * 2 + ok(1521)
    assert [a for a in acks if a["EventType"] == "ERROR"] == [error(4004, failing[0]), error(4004, failing[1])]
    assert [r[0].timecode for r in stored(api)] == [0, 1021, 1521]


def test_each_document_has_its_own_timeline(api):
    """A new EBML document (like each GetMedia chunk) restarts the timecodes."""
    data = mb.fixture(GST)
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=data + data)
    assert summary(acks) == ok(0, 521, 1021, 1521) * 2


def test_4002_fragment_too_long(make_api):
    api = make_api(config=Config(limits=False, max_fragment_duration_ms=1000))
    frames = lambda span: [(1, 0, True, b"a" * 50), (1, span, False, b"b" * 50)]  # noqa: E731
    data = mb.header() + mb.cluster(0, frames(1000)) + mb.cluster(2000, frames(1001)) + mb.cluster(4000, frames(10))
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=data)
    assert summary(acks) == ok(0) + [("BUFFERING", 2000), ("ERROR", 2000, 4002)] + ok(4000)
    assert acks[4] == error(4002, acks[3])
    assert [r[0].duration_ms for r in stored(api)] == [1000, 10]


@pytest.mark.parametrize("between, code", [
    ({0: b"".join(mb.metadata(f"key{i}", "v") for i in range(11))}, 4009),
    ({0: mb.tags(*[(f"key{i}", "v") for i in range(11)])}, 4009),
    ({0: mb.metadata("AWSfoo", "bar")}, 4009),
    ({0: mb.metadata("x" * 129, "v")}, 4009),
    ({0: mb.metadata("x", "v" * 257)}, 4009),
    ({0: mb.metadata("x" * 128, "v" * 256) + b"".join(mb.metadata(f"key{i}", "v") for i in range(9))}, None),
    ({0: b"".join(mb.metadata(f"key{i}", "v") for i in range(10)) + mb.tags(("stat", "1"), targeted=True) * 5},
     None),
    # The SDK's END_OF_FRAGMENT is a control tag, not one of the ten metadata items.
    ({0: b"".join(mb.metadata(f"key{i}", "v") for i in range(10)) + mb.end_of_fragment()}, None),
])
def test_4009_fragment_metadata(api, between, code):
    split = mb.split(mb.fixture(GST))
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=split.join(between=between))
    if code is None:
        assert summary(acks) == ok(0, 521, 1021, 1521)
        assert stored(api)[0][3] == between[0].replace(mb.end_of_fragment(), b"")
    else:
        assert summary(acks) == [("BUFFERING", 0), ("ERROR", 0, code)] + ok(521, 1021, 1521)
        assert acks[1] == error(code, acks[0])
        assert [r[2] for r in stored(api)] == split.clusters[1:]


def test_4011_track_without_frames(api):
    def cluster(tc, tracks):
        return mb.cluster(tc, [(t, k * 20, k == 0, bytes([t]) * 30) for k in range(3) for t in tracks])
    data = mb.header((1, 2)) + cluster(0, (1, 2)) + cluster(100, (1,)) + cluster(200, (2,)) + cluster(300, (2, 1))
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=data)
    assert summary(acks) == ok(0) + [("BUFFERING", 100), ("ERROR", 100, 4011), ("BUFFERING", 200),
                                     ("ERROR", 200, 4011)] + ok(300)
    assert acks[4] == error(4011, acks[3]) and acks[6] == error(4011, acks[5])
    assert [r[0].timecode for r in stored(api)] == [0, 300]


# -- errors that end the session -----------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True])
def test_4001_fragment_too_big(make_api, chunked):
    """The size limit ends the upload, however the bytes arrive."""
    api = make_api(config=Config(limits=False, max_fragment_bytes=2000))
    small = [(1, 0, True, b"s" * 100)]
    data = mb.header() + mb.cluster(0, small) + mb.cluster(1000, [(1, k, k == 0, b"B" * 500) for k in range(6)]) \
        + mb.cluster(2000, small)
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=small_chunks(data, 9) if chunked else data)
    assert summary(acks) == ok(0) + [("BUFFERING", 1000), ("ERROR", 1000, 4001)]
    assert acks[-1] == error(4001, acks[3])
    assert [r[0].timecode for r in stored(api)] == [0]


def test_4001_on_a_real_fixture(make_api):
    api = make_api(config=Config(limits=False, max_fragment_bytes=5600))  # every cluster is 5.5-6.3 kB
    api.create_stream("cam")
    for payload in (mb.fixture(GST), small_chunks(mb.fixture(GST), 2, 1000)):
        acks = api.put_media(StreamName="cam", Payload=payload)
        assert summary(acks) == [("BUFFERING", 0), ("ERROR", 0, 4001)]
    assert stored(api) == []


@pytest.mark.parametrize("name, first, second", [
    # Unknown-size clusters: cluster 2 is open when time runs out.
    (GST, ["BUFFERING", "RECEIVED", "PERSISTED", "BUFFERING"], [("ERROR", 521, 4003)]),
    # Known-size: cluster 1 ended before time ran out; it is kept.
    (KNOWN, ["BUFFERING"], [("RECEIVED", 0), ("PERSISTED", 0), ("ERROR", None, 4003)]),
])
@pytest.mark.inprocess  # the push API (open_session) itself
def test_4003_connection_too_long(make_api, name, first, second):
    api = make_api(config=Config(limits=False, max_connection_seconds=10))
    split = mb.split(mb.fixture(name))
    head = split.header + split.clusters[0] + (split.clusters[1][:50] if name == GST else b"")
    data = split.join()
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    try:
        acks = session.feed(head)
        assert [a["EventType"] for a in acks] == first
        api.clock.advance(10)
        assert summary(session.feed(b"")) == []  # exactly the limit is still fine
        api.clock.advance(0.001)
        late = session.feed(data[len(head):])
        assert summary(late) == second
        if name == GST:
            assert late[-1] == error(4003, acks[-1])
        assert session.feed(data) == [] and session.finish() == []
    finally:
        session.close()
    assert [r[2] for r in stored(api)] == split.clusters[:1]


@pytest.mark.parametrize("name, garbage", [(GST, b"\x00" * 8 + b"garbage!"), (GST, b"\xff" * 32),
                                           (KNOWN, b"\x00" * 8 + b"garbage!")])
def test_4006_garbage_in_the_middle(api, name, garbage):
    split = mb.split(mb.fixture(name))
    data = split.join(between={1: split.after[1] + garbage})
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=random_chunks(data, 6))
    if name == GST:  # cluster 2 has no end: the garbage is in it
        assert summary(acks) == ok(0) + [("BUFFERING", 521), ("ERROR", 521, 4006)]
        assert acks[-1] == error(4006, acks[3])
        kept = 1
    else:  # both clusters ended before the garbage
        assert summary(acks) == ok(0, 512) + [("ERROR", None, 4006)]
        kept = 2
    assert [r[2] for r in stored(api)] == split.clusters[:kept]
    wide = {"FragmentSelectorType": "SERVER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 4_000_000_000}}
    listed = api.archived.list_fragments(StreamName="cam", FragmentSelector=wide)["Fragments"]
    assert sorted(f["FragmentNumber"] for f in listed) == sorted(a["FragmentNumber"] for a in acks
                                                                 if a["EventType"] == "PERSISTED")


@pytest.mark.parametrize("retention", [24, 0])
@pytest.mark.inprocess  # the push API (open_session) itself
def test_4008_stream_deleted_mid_session(api, retention):
    split = mb.split(mb.fixture(GST))
    arn = api.create_stream("cam", retention_hours=retention)
    session = open_session(api.kvs, StreamName="cam")
    try:
        acks = session.feed(split.header + split.clusters[0] + split.clusters[1][:40])
        assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED"] + \
            (["PERSISTED"] if retention else []) + ["BUFFERING"]
        api.video.delete_stream(StreamARN=arn)
        late = session.feed(split.clusters[1][40:] + split.clusters[2])
        assert summary(late) == [("RECEIVED", 521), ("ERROR", 521, 4008)]
        assert late[-1] == error(4008, acks[-1])
        assert session.feed(split.clusters[3]) == [] and session.finish() == []
    finally:
        session.close()
    with pytest.raises(api.client.exceptions.ResourceNotFoundException):
        api.client.put_media(StreamName="cam", Payload=b"")


@pytest.mark.parametrize("chunked", [False, True])
def test_4010_block_of_an_undeclared_track(api, chunked):
    frames = [(1, k * 30, k == 0, b"v" * 40) for k in range(3)]
    data = mb.header((1,)) + mb.cluster(0, frames) + mb.cluster(100, frames + [(5, 90, False, b"?" * 40)]) \
        + mb.cluster(200, frames)
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=small_chunks(data, 8) if chunked else data)
    assert summary(acks) == ok(0) + [("BUFFERING", 100), ("ERROR", 100, 4010)]
    assert acks[-1] == error(4010, acks[3])
    assert [r[0].timecode for r in stored(api)] == [0]


def test_4012_too_many_tracks(make_api):
    api = make_api(config=Config(limits=False, max_tracks=1))
    api.create_stream("cam")
    assert api.put_media(StreamName="cam", Payload=mb.fixture(KNOWN)) == [error(4012)]
    assert api.put_media(StreamName="cam", Payload=random_chunks(mb.fixture(GST), 3)) == [error(4012)]
    assert stored(api) == []
    two = make_api(config=Config(limits=False, max_tracks=2))
    two.create_stream("cam")
    assert summary(two.put_media(StreamName="cam", Payload=mb.fixture(KNOWN))) == ok(0, 512, 1002, 1514)


@pytest.mark.parametrize("name", [KNOWN, GST])
def test_4000_producer_stream_fails(api, name):
    split = mb.split(mb.fixture(name))
    c = split.clusters
    half = len(c[2]) // 2

    t = [0, 512, 1002] if name == KNOWN else [0, 521, 1021]
    third = threading.Event()

    def producer():
        yield split.header + c[0] + split.after[0] + c[1] + split.after[1]
        yield c[2][:half]
        assert third.wait(10)  # once KVS has seen fragment 3 start
        raise OSError("camera unplugged")

    api.create_stream("cam")
    acks = []

    def put_media():
        for a in api.client.put_media(StreamName="cam", Payload=producer()):
            acks.append(a)
            if a["EventType"] == "BUFFERING" and a["FragmentTimecode"] == t[2]:
                third.set()

    if api.transport == "inprocess":  # the service reads the payload: its failure is ErrorId 4000
        put_media()
        assert summary(acks) == ok(t[0], t[1]) + [("BUFFERING", t[2]), ("ERROR", t[2], 4000)]
        assert acks[-1] == error(4000, acks[-2])
    else:  # the client reads it: all it can tell KVS is a cut-off body, and it raises the error itself
        with pytest.raises(OSError, match="camera unplugged"):
            put_media()
        assert summary(acks) == ok(t[0], t[1]) + [("BUFFERING", t[2])]
    assert [r[2] for r in stored(api)] == c[:2]


# -- one PutMedia per stream -----------------------------------------------------------------------

def limit_error(api):
    return pytest.raises(api.client.exceptions.ConnectionLimitExceededException)


def test_second_put_media_on_a_stream_is_refused(api):
    arn = api.create_stream("cam")
    api.create_stream("other")
    data = mb.fixture(GST)
    first = api.client.put_media(StreamName="cam", Payload=iter([data]))
    with limit_error(api) as caught:
        api.client.put_media(StreamName="cam", Payload=data)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with limit_error(api):
        api.client.put_media(StreamARN=arn, Payload=data)
    assert summary(api.put_media(StreamName="other", Payload=data)) == ok(0, 521, 1021, 1521)
    assert summary(list(first)) == ok(0, 521, 1021, 1521)
    assert summary(api.put_media(StreamName="cam", Payload=data)) == ok(0, 521, 1021, 1521)


@pytest.mark.parametrize("how", ["before the first ack", "after the first ack", "dropped"])
def test_closing_the_ack_iterator_frees_the_stream(api, how):
    api.create_stream("cam")
    data = mb.fixture(GST)
    first = api.client.put_media(StreamName="cam", Payload=data)
    if how == "after the first ack":
        assert next(first)["EventType"] == "BUFFERING"
    if how == "dropped":
        del first
        gc.collect()
    else:
        first.close()
    released(api)
    assert summary(api.put_media(StreamName="cam", Payload=data)) == ok(0, 521, 1021, 1521)


@pytest.mark.inprocess  # the push API (open_session) itself
def test_push_session_holds_the_stream(api):
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    with limit_error(api):
        api.client.put_media(StreamName="cam", Payload=b"")
    session.close()
    assert len(api.put_media(StreamName="cam", Payload=mb.fixture(GST))) == 12


def _hold_writer(data_dir: str, held, release) -> None:
    """Child process: a PutMedia session on stream "cam" until told to stop."""
    import kvsmux
    from kvsmux.api.context import Config as ChildConfig
    from kvsmux.api.ingest import open_session as child_open
    client = kvsmux.Client(data_dir, config=ChildConfig(limits=False))
    try:
        session = child_open(client.kvs, StreamName="cam")
        held.set()
        release.wait(30)
        session.close()
    finally:
        client.close()


def test_writer_in_another_process_holds_the_stream(make_api):
    api = make_api()
    api.create_stream("cam")
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_writer, args=(str(api.kvs.store.data_dir), held, release))
    child.start()
    try:
        assert held.wait(60), "the child never opened its session"
        with limit_error(api):
            api.client.put_media(StreamName="cam", Payload=mb.fixture(GST))
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0
    assert summary(api.put_media(StreamName="cam", Payload=mb.fixture(GST))) == ok(0, 521, 1021, 1521)

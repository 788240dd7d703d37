# SPDX-License-Identifier: Apache-2.0
"""GetMedia (KVS API: kinesis-video-media GetMedia), through boto3: every StartSelectorType,
live streaming, the end of a response, connection limits, and the chunks (KVS-WIRE-FACTS
§5) read back with our demuxer and ffprobe."""
from __future__ import annotations

import gc
import threading
import time

import pytest

from kvsmux.api.context import Config
from kvsmux.media import Demuxer
from kvsmux.media.pure.getmedia_chunk import format_kvs_timestamp
from tests.api.planting import PRODUCER_EPOCH_MS, assert_ffprobe_reads, kvs_tag_values, plant, read_chunks
from tests.crosscheck import tools

IDLE = 0.2  # seconds a caught-up GetMedia waits for a new fragment before it ends


@pytest.fixture
def gm(make_api):
    """An Api whose GetMedia responses end soon after they catch up."""
    return make_api(config=Config(limits=False, get_media_idle_timeout_seconds=IDLE))


def get_media(api, kind, stream="cam", **fields):
    return api.media.get_media(StreamName=stream, StartSelector={"StartSelectorType": kind, **fields})


def sent(api, kind, stream="cam", **fields) -> list[str]:
    """The fragment numbers a GetMedia sends until it ends."""
    _, result = read_chunks(get_media(api, kind, stream, **fields))
    return [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in result.fragments]


def numbers(planted) -> list[str]:
    return [p.number for p in planted]


def test_earliest_sends_every_chunk_in_kvs_layout(gm):
    gm.create_stream("cam")
    planted = plant(gm, "cam", 4, every_ms=2000)
    gm.clock.advance(15)
    now = gm.clock.now_ms()
    data, result = read_chunks(get_media(gm, "EARLIEST"))
    assert len(result.headers) == len(result.fragments) == 4  # one EBML document per fragment
    assert data.count(b"\x1a\x45\xdf\xa3") == 4
    for fragment, p in zip(result.fragments, planted):
        assert fragment.header.segment_size is None
        assert kvs_tag_values(fragment.tags_before) == {
            "FRAGMENT_NUMBER": p.number, "SERVER_TIMESTAMP": format_kvs_timestamp(p.server_ms),
            "PRODUCER_TIMESTAMP": format_kvs_timestamp(p.producer_ms)}
        assert kvs_tag_values(fragment.tags_after) == {"MILLIS_BEHIND_NOW": str(now - p.server_ms),
                                                       "CONTINUATION_TOKEN": p.number}
        assert bytes(fragment.bytes) == p.cluster
        assert tuple(bytes(x) for x in fragment.payloads()) == p.payloads
    # The KVS Tags sit right before and right after the cluster.
    first = result.fragments[0]
    assert first.tags_before[-1].byte_range[0] + first.tags_before[-1].byte_range[1] == first.byte_range[0]
    assert first.tags_after[0].byte_range[0] == sum(first.byte_range)


def test_ffprobe_reads_every_frame(gm, tmp_path):
    tools.require_tool("ffprobe", "GetMedia output")
    gm.create_stream("cam")
    planted = plant(gm, "cam", 6)
    data, _ = read_chunks(get_media(gm, "EARLIEST"))
    assert_ffprobe_reads(data, planted, tmp_path / "getmedia.mkv")


def test_now_sends_what_arrives_after_the_request(gm):
    gm.create_stream("cam")
    plant(gm, "cam", 3)
    response = get_media(gm, "NOW")
    later = plant(gm, "cam", 2)
    _, result = read_chunks(response)
    assert [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in result.fragments] == numbers(later)


def test_now_on_an_empty_stream_ends_after_the_idle_timeout(gm):
    gm.create_stream("cam")
    started = time.monotonic()
    assert get_media(gm, "NOW")["Payload"].read() == b""
    assert IDLE <= time.monotonic() - started < IDLE + 2


def test_fragment_number_is_inclusive_by_default(gm, make_api):
    gm.create_stream("cam")
    planted = plant(gm, "cam", 4)
    assert sent(gm, "FRAGMENT_NUMBER", AfterFragmentNumber=planted[1].number) == numbers(planted[1:])
    strict = make_api(config=Config(limits=False, get_media_idle_timeout_seconds=IDLE,
                                    get_media_after_fragment_inclusive=False))
    strict.create_stream("cam")
    planted = plant(strict, "cam", 4)
    assert sent(strict, "FRAGMENT_NUMBER", AfterFragmentNumber=planted[1].number) == numbers(planted[2:])


@pytest.mark.parametrize("kind", ["SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"])
def test_timestamp_starts_with_the_fragment_containing_it_or_the_next(make_api, kind):
    api = make_api(config=Config(limits=False, get_media_idle_timeout_seconds=IDLE))
    api.create_stream("cam")
    t0 = api.clock.now_ms() if kind == "SERVER_TIMESTAMP" else PRODUCER_EPOCH_MS
    long = plant(api, "cam", 2, every_ms=2000, duration_ms=1500)  # [0, 1.5) s and [2, 3.5) s
    short = plant(api, "cam", 2, every_ms=2000)                   # [4, 4.5) s and [6, 6.5) s
    planted = long + short
    assert sent(api, kind, StartTimestamp=(t0 + 1000) / 1000) == numbers(planted)       # inside the first
    assert sent(api, kind, StartTimestamp=(t0 + 3000) / 1000) == numbers(planted[1:])   # inside the second
    assert sent(api, kind, StartTimestamp=(t0 + 4000) / 1000) == numbers(planted[2:])   # the third's start
    assert sent(api, kind, StartTimestamp=(t0 + 5000) / 1000) == numbers(planted[3:])   # a gap: the next one
    assert sent(api, kind, StartTimestamp=(t0 - 9000) / 1000) == numbers(planted)       # before everything


def test_a_future_timestamp_waits_for_the_fragment_that_reaches_it(gm):
    gm.create_stream("cam")
    t0 = gm.clock.now_ms()
    plant(gm, "cam", 2, every_ms=2000)
    response = get_media(gm, "SERVER_TIMESTAMP", StartTimestamp=(t0 + 20_000) / 1000)
    plant(gm, "cam", 1)                       # at 4 s: ends before 20 s, skipped
    gm.clock.set(t0 + 20_000)
    reaching = plant(gm, "cam", 2)
    _, result = read_chunks(response)
    assert [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in result.fragments] == numbers(reaching)


def test_continuation_token_resumes_after_the_last_chunk_sent(gm):
    gm.create_stream("cam")
    planted = plant(gm, "cam", 4)
    _, result = read_chunks(get_media(gm, "EARLIEST"))
    token = kvs_tag_values(result.fragments[1].tags_after)["CONTINUATION_TOKEN"]
    assert sent(gm, "CONTINUATION_TOKEN", ContinuationToken=token) == numbers(planted[2:])
    last = kvs_tag_values(result.fragments[-1].tags_after)["CONTINUATION_TOKEN"]
    more = plant(gm, "cam", 1)
    assert sent(gm, "CONTINUATION_TOKEN", ContinuationToken=last) == numbers(more)


def old_and_young(make_api) -> tuple:
    """A stream kept 1 hour holding two fragments planted 30 minutes before two others:
    (api, the old ones, the young ones). 31 more minutes expire only the old ones."""
    api = make_api(config=Config(limits=False, get_media_idle_timeout_seconds=IDLE))
    api.create_stream("cam", retention_hours=1)
    old = plant(api, "cam", 2)
    api.clock.advance(30 * 60)
    young = plant(api, "cam", 2)
    return api, old, young


def test_an_expired_continuation_token_resumes_at_the_earliest_fragment(make_api):
    api, old, young = old_and_young(make_api)
    api.clock.advance(31 * 60)
    assert sent(api, "CONTINUATION_TOKEN", ContinuationToken=old[0].number) == numbers(young)


def test_retention_expiry_hides_old_fragments_from_earliest(make_api):
    api, old, young = old_and_young(make_api)
    assert sent(api, "EARLIEST") == numbers(old + young)
    api.clock.advance(31 * 60)
    assert sent(api, "EARLIEST") == numbers(young)
    with pytest.raises(api.media.exceptions.ResourceNotFoundException):
        get_media(api, "FRAGMENT_NUMBER", AfterFragmentNumber=old[1].number)


def test_retention_zero_streams_are_read_from_the_live_buffer(gm):
    gm.create_stream("live", retention_hours=0)
    planted = plant(gm, "live", 3)
    assert sent(gm, "EARLIEST", stream="live") == numbers(planted)
    assert sent(gm, "FRAGMENT_NUMBER", stream="live", AfterFragmentNumber=planted[1].number) == numbers(planted[1:])
    response = get_media(gm, "NOW", stream="live")
    later = plant(gm, "live", 1)
    _, result = read_chunks(response)
    assert [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in result.fragments] == numbers(later)
    gm.clock.advance(6 * 60)  # the buffer holds 5 minutes
    assert sent(gm, "EARLIEST", stream="live") == []


def test_streams_fragments_planted_while_it_is_read(make_api):
    api = make_api(config=Config(limits=False, get_media_idle_timeout_seconds=0.5))
    api.create_stream("cam")
    first = plant(api, "cam", 1)
    response = get_media(api, "EARLIEST")
    got_first = threading.Event()
    later: list = []

    def producer():
        assert got_first.wait(10)
        time.sleep(0.1)
        later.extend(plant(api, "cam", 2))

    thread = threading.Thread(target=producer)
    thread.start()
    demuxer = Demuxer()
    started = time.monotonic()
    # boto3's read(n) waits for n bytes or the end: one byte at a time, fragment 1 is seen as
    # soon as it has been sent (its KVS tags after the cluster are its last bytes).
    for chunk in response["Payload"].iter_chunks(1):
        demuxer.feed(chunk)
        if not got_first.is_set() and any(kvs_tag_values(f.tags_after) for f in demuxer.fragments):
            got_first.set()
    demuxer.close()
    thread.join()
    assert demuxer.error is None
    received = [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in demuxer.fragments]
    assert received == numbers(first + later)
    assert time.monotonic() - started < 5


def test_a_deleted_stream_ends_the_response(make_api):
    api = make_api(config=Config(limits=False, get_media_idle_timeout_seconds=30))
    arn = api.create_stream("cam")
    plant(api, "cam", 2)
    payload = get_media(api, "EARLIEST")["Payload"]
    demuxer = Demuxer()
    while not demuxer.fragments or not kvs_tag_values(demuxer.fragments[-1].tags_after):
        demuxer.feed(payload.read(1024))
    api.video.delete_stream(StreamARN=arn)
    started = time.monotonic()
    rest = payload.read()
    assert time.monotonic() - started < 5  # well before the 30 s idle timeout
    assert len(rest) < 10_000


def test_selector_errors(gm):
    gm.create_stream("cam")
    planted = plant(gm, "cam", 1)
    for kind in ("FRAGMENT_NUMBER", "SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP", "CONTINUATION_TOKEN"):
        with pytest.raises(gm.media.exceptions.InvalidArgumentException):
            get_media(gm, kind)  # without the member this type needs
    with pytest.raises(gm.media.exceptions.InvalidArgumentException):
        get_media(gm, "SOMETIMES")
    with pytest.raises(gm.media.exceptions.InvalidArgumentException):
        gm.media.get_media(StartSelector={"StartSelectorType": "EARLIEST"})  # no stream named
    with pytest.raises(gm.media.exceptions.ResourceNotFoundException):
        get_media(gm, "EARLIEST", stream="nope")
    with pytest.raises(gm.media.exceptions.ResourceNotFoundException) as excinfo:
        get_media(gm, "FRAGMENT_NUMBER", AfterFragmentNumber="1" * 47)
    assert "1" * 47 in excinfo.value.response["Error"]["Message"]
    with pytest.raises(gm.media.exceptions.ResourceNotFoundException):
        get_media(gm, "CONTINUATION_TOKEN", ContinuationToken="9" * 47)
    assert sent(gm, "FRAGMENT_NUMBER", AfterFragmentNumber=planted[0].number) == numbers(planted)


# In-process only: "held" are responses nobody reads. Over HTTP the server has written such
# a small response to the socket and ended it long before (its lease is back); the HTTP
# connection quota is tested on open GetMedia connections in tests/server/test_wire.py.
@pytest.mark.inprocess
def test_at_most_three_responses_per_stream(make_api):
    api = make_api(config=Config(get_media_idle_timeout_seconds=IDLE))
    api.create_stream("cam")
    api.create_stream("other")
    plant(api, "cam", 1)
    held = [get_media(api, "EARLIEST") for _ in range(3)]
    with pytest.raises(api.media.exceptions.ConnectionLimitExceededException) as excinfo:
        get_media(api, "EARLIEST")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    held.pop()["Payload"].close()
    held.append(get_media(api, "EARLIEST"))
    api.clock.advance(1)  # GetMedia also has 5 requests per second per stream
    get_media(api, "EARLIEST", stream="other")["Payload"].close()  # per stream
    with pytest.raises(api.media.exceptions.ConnectionLimitExceededException):
        get_media(api, "EARLIEST")
    read_chunks(held.pop())  # a response read to its end gives it back
    held.append(get_media(api, "EARLIEST"))
    api.clock.advance(1)
    held.pop()
    gc.collect()  # as does one dropped without being read
    held.append(get_media(api, "EARLIEST"))
    with pytest.raises(api.media.exceptions.ConnectionLimitExceededException):
        get_media(api, "EARLIEST")

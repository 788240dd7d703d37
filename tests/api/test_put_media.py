# SPDX-License-Identifier: Apache-2.0
"""PutMedia ingest (KVS-WIRE-FACTS §4, §12 items 4-7, §14): real KVS recordings and the
generated fixtures go in as one bytes object and as random-size chunks; the acks, the
stored fragments (cluster bytes, frame tables, headers, after-bytes), producer and server
timestamps, END_OF_FRAGMENT, retention 0, IDLE acks and aborted uploads are checked.
Error acks and the one-writer rule are in test_put_media_errors.py."""
from __future__ import annotations

import datetime
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from kvsmux.api.context import Config
from kvsmux.api.ingest import open_session
from kvsmux.api.metadata import fragment_metadata
from kvsmux.media import demux, getmedia_chunk
from tests.api import mkv_build as mb
from tests.conftest import DATA, require_shared_media

KVS = b"AWS_KINESISVIDEO_"
GETMEDIA_OUTPUT = ["kvs-parser-library/output_get_media.mkv",
                   "kvs-parser-library/output_get_media_sparse_fragments.mkv",
                   "kvs-parser-library/kinesis_video_renderer_example_output.mkv",
                   "kvs-parser-library/test_mixed_tags.mkv"]
SHARED_VALID = ["kvs-producer-sdk-cpp/test-stream-1_0.mkv", "greengrass-edge-connector-kvs/sample-mkv-file.mkv",
                *GETMEDIA_OUTPUT, "kvs-parser-library/output_get_media_sparse_fragments_merged.mkv",
                "kvs-parser-library/clusters.mkv", "kvs-parser-library/bezos_vogels.mkv",
                "kvs-parser-library/vogels_330.mkv", "kvs-parser-library/vogels_480.mkv",
                "kvs-parser-library/empty-mkv-with-tags.mkv", "kvs-parser-library/test_tags_empty_cluster.mkv",
                "mkvdump/dateutc.mkv", "mkvdump/two_inits_segment_unknown_size.webm"]
#: Files with a documented problem: (ErrorId, index of the failing fragment or None).
#: tracks.webm declares a Vorbis track without frames; the two KVS "glitch" recordings end
#: inside their last (known-size) cluster, which must not be stored.
EXPECTED_ERRORS = {"libwebm-testdata/tracks.webm": [(4011, 0)],
                   "kvs-parser-library/output-get-media-equal-timecode.mkv": [(4006, 1)],
                   "kvs-parser-library/output-get-media-non-increasing-timecode.mkv": [(4006, 11)]}


def corpus() -> list:
    root = require_shared_media()
    shared = SHARED_VALID + sorted(str(p.relative_to(root)) for p in (root / "libwebm-testdata").glob("*.webm")) + \
        ["libwebm-testdata/matroska_doctype.mkv", *[k for k in EXPECTED_ERRORS if not k.endswith("tracks.webm")]]
    return [pytest.param(root / name, id=name.split("/")[-1]) for name in shared] + \
        [pytest.param(p, id=p.name) for p in sorted((DATA / "valid").glob("*.mkv"))]


def random_chunks(data: bytes, seed: int):
    rng = random.Random(seed)
    i = 0
    while i < len(data):
        n = rng.randint(1, 200_000)
        yield data[i:i + n]
        i += n


def stream_id(api, name: str = "cam") -> int:
    return api.kvs.store.resource("stream", name=name).id


def released(api, name: str = "cam") -> None:
    """Returns once no PutMedia holds the stream (then what a closed one kept is stored):
    at once in-process; over HTTP the server learns a moment after the client closed its
    connection (nothing on the wire can tell the client when)."""
    deadline = time.monotonic() + 5
    while (writer := api.kvs.store.writer(stream_id(api, name))) is None:
        assert time.monotonic() < deadline, "the closed PutMedia never let go of the stream"
        time.sleep(0.01)
    writer.close()


def stored(api, name: str = "cam") -> list:
    """(row, header, cluster, after) of every stored fragment, in sequence order."""
    out = []
    for f in api.kvs.store.fragments(stream_id(api, name)):
        header, cluster, after = api.kvs.store.read(f)
        out.append((f, bytes(header), bytes(cluster), bytes(after)))
    return out


def fragment_acks(acks: list[dict]) -> dict[str, list[dict]]:
    """The acks of each fragment number, in ack order (dicts keep insertion order)."""
    by: dict[str, list[dict]] = {}
    for a in acks:
        if "FragmentNumber" in a:
            by.setdefault(a["FragmentNumber"], []).append(a)
    return by


def is_kvs_tags(tags) -> bool:
    return any(t.name.startswith("AWS_KINESISVIDEO_") for t in tags.simple_tags)


def expected_after(data: bytes, result, i: int) -> bytes:
    """What the producer sent after fragment i's cluster, up to the next cluster or document,
    without KVS's own Tags."""
    f = result.fragments[i]
    end = sum(f.byte_range)
    later = [g.byte_range[0] for g in result.fragments if g.byte_range[0] >= end] + \
            [h.byte_range[0] for h in result.headers if h.byte_range[0] >= end] + [len(data)]
    stop = min(later)
    cuts = sorted(t.byte_range for t in f.tags_after if is_kvs_tags(t) and end <= t.byte_range[0] < stop)
    out, at = b"", end
    for start, size in cuts:
        out += data[at:start]
        at = start + size
    return out + data[at:stop]


# -- 1. every valid recording and fixture ------------------------------------------------------

@pytest.mark.parametrize("mode", ["chunks", "bytes"])
@pytest.mark.parametrize("path", corpus())
def test_ingests_every_recording(api, path: Path, mode: str):
    data = path.read_bytes()
    result = demux(data)
    key = "/".join(path.parts[-2:])
    errors = EXPECTED_ERRORS.get(key, [])
    assert (result.error is None) == (not any(code == 4006 for code, _ in errors)), result.error
    api.create_stream("cam")
    payload = random_chunks(data, seed=len(data)) if mode == "chunks" else data
    acks = api.put_media(StreamName="cam", Payload=payload, FragmentTimecodeType="RELATIVE",
                         ProducerStartTimestamp=1_700_000_000)
    assert all(a["EventType"] in ("BUFFERING", "RECEIVED", "PERSISTED", "ERROR") for a in acks)

    # BUFFERING opens each fragment, in cluster order, with the raw Cluster Timestamp.
    buffering = [a for a in acks if a["EventType"] == "BUFFERING"]
    assert [a["FragmentTimecode"] for a in buffering] == [f.timestamp_ticks for f in result.fragments]
    numbers = [a["FragmentNumber"] for a in buffering]
    assert all(isinstance(n, str) and n.isdecimal() for n in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})  # strictly increasing

    failing = {i: code for code, i in errors}
    got_errors = [a for a in acks if a["EventType"] == "ERROR"]
    assert [(a["ErrorId"], a["ErrorCode"]) for a in got_errors] == \
        [(code, {4006: "INVALID_MKV_DATA", 4011: "FRAMES_MISSING_FOR_TRACK"}[code]) for code, _ in errors]
    by = fragment_acks(acks)
    for i, (f, number) in enumerate(zip(result.fragments, numbers)):
        events = [a["EventType"] for a in by[number]]
        assert all(a["FragmentTimecode"] == f.timestamp_ticks for a in by[number])
        if i in failing:
            assert events[0] == "BUFFERING" and events[-1] == "ERROR" and "PERSISTED" not in events
            assert by[number][-1]["ErrorId"] == failing[i]
        else:
            assert events == ["BUFFERING", "RECEIVED", "PERSISTED"], (i, events)

    rows = stored(api)
    kept = [i for i in range(len(result.fragments)) if i not in failing]
    assert len(rows) == len(kept) == sum(a["EventType"] == "PERSISTED" for a in acks)
    assert [r[0].number for r in rows] == [numbers[i] for i in kept]
    for i, (row, header, cluster, after) in zip(kept, rows):
        f = result.fragments[i]
        assert cluster == bytes(f.bytes), f"fragment {i}: stored cluster differs"
        assert row.timecode == f.timestamp_ticks
        assert row.producer_ms == 1_700_000_000_000 + f.timestamp_ns // 1_000_000
        frames = np.array(row.frames)
        original = f.frames.copy()
        original["offset"] -= f.byte_range[0]
        assert np.array_equal(frames, original)
        for k in range(len(frames)):
            off, size = int(frames[k]["offset"]), int(frames[k]["size"])
            assert cluster[off:off + size] == bytes(f.payload(k))
        assert after == expected_after(data, result, i)
        assert KVS not in header and KVS not in after
        h = f.header
        original_header = data[h.byte_range[0]:sum(h.byte_range)]
        if KVS not in original_header:  # a producer upload: the header is kept verbatim
            assert header == original_header


def test_numbers_keep_increasing_across_sessions(api):
    data = mb.fixture("h264_aac_gst_unknown_clusters.mkv")
    api.create_stream("cam")
    first = api.put_media(StreamName="cam", Payload=data)
    second = api.put_media(StreamName="cam", Payload=random_chunks(data, 3))  # same server time
    api.clock.advance(5)
    third = api.put_media(StreamName="cam", Payload=data)
    numbers = [a["FragmentNumber"] for a in first + second + third if a["EventType"] == "PERSISTED"]
    assert len(numbers) == 12
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    assert [r[0].number for r in stored(api)] == numbers
    assert [r[0].seq for r in stored(api)] == sorted({r[0].seq for r in stored(api)})


# -- 2. GetMedia output re-ingested --------------------------------------------------------------

@pytest.mark.parametrize("name", GETMEDIA_OUTPUT)
def test_reingested_getmedia_output_rebuilds_byte_for_byte(api, name: str):
    data = (require_shared_media() / name).read_bytes()
    result = demux(data)
    assert result.error is None and len(result.headers) == len(result.fragments)
    # The producer's start: its first fragment's producer timestamp less its cluster time.
    first = {t.name: t.string for tags in result.fragments[0].tags for t in tags.simple_tags}
    start_ms = round(float(first["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"]) * 1000) - \
        result.fragments[0].timestamp_ns // 1_000_000
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=random_chunks(data, 11), FragmentTimecodeType="RELATIVE",
                         ProducerStartTimestamp=f"{start_ms // 1000}.{start_ms % 1000:03d}")
    assert sum(a["EventType"] == "PERSISTED" for a in acks) == len(result.fragments)
    rows = stored(api)
    assert len(rows) == len(result.fragments)
    starts = [h.byte_range[0] for h in result.headers] + [len(data)]
    for i, (f, (row, header, cluster, after)) in enumerate(zip(result.fragments, rows)):
        assert KVS not in header and KVS not in after
        v = {t.name: t.string for tags in f.tags for t in tags.simple_tags}
        chunk = getmedia_chunk(header, cluster, [after] if after else [],
                               fragment_number=v["AWS_KINESISVIDEO_FRAGMENT_NUMBER"],
                               server_timestamp_ms=round(float(v["AWS_KINESISVIDEO_SERVER_TIMESTAMP"]) * 1000),
                               producer_timestamp_ms=round(float(v["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"]) * 1000),
                               millis_behind_now=int(v["AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"]),
                               continuation_token=v["AWS_KINESISVIDEO_CONTINUATION_TOKEN"])
        assert bytes(chunk) == data[starts[i]:starts[i + 1]], f"chunk {i} differs from KVS's"
        # RELATIVE: start + cluster time gives the producer timestamps KVS gave these fragments.
        assert row.producer_ms == round(float(v["AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"]) * 1000)


# -- 3. producer and server timestamps ----------------------------------------------------------

GST_MS = [0, 521, 1021, 1521]  # cluster timestamps of h264_aac_gst_unknown_clusters.mkv


@pytest.mark.parametrize("start, start_ms", [
    (1663277245, 1663277245000), (1663277245.25, 1663277245250), ("1663277245.5", 1663277245500),
    ("1663277245.005", 1663277245005), (" 1663277245 ", 1663277245000), (0, 0),
    (datetime.datetime(2022, 9, 15, 21, 27, 25, 500000, tzinfo=datetime.timezone.utc), 1663277245500),
    (datetime.datetime(2022, 9, 15, 23, 27, 25, 500000, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
     1663277245500)])
def test_relative_producer_timestamps(api, start, start_ms):
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=mb.fixture("h264_aac_gst_unknown_clusters.mkv"),
                         FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=start)
    assert [a["FragmentTimecode"] for a in acks if a["EventType"] == "PERSISTED"] == GST_MS  # raw, not epoch
    assert [r[0].producer_ms for r in stored(api)] == [start_ms + ms for ms in GST_MS]


def test_naive_datetime_start_is_utc(api, monkeypatch):
    """botocore (and kvsmux's other timestamp parameters) read a naive datetime as UTC,
    whatever the local time zone."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        api.create_stream("cam")
        api.put_media(StreamName="cam", Payload=mb.fixture("h264_aac_gst_unknown_clusters.mkv"),
                      FragmentTimecodeType="RELATIVE",
                      ProducerStartTimestamp=datetime.datetime(2022, 9, 15, 21, 27, 25, 500000))
        assert [r[0].producer_ms for r in stored(api)] == [1663277245500 + ms for ms in GST_MS]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_relative_without_start_uses_server_time(api):
    api.create_stream("cam")
    now = api.clock.now_ms()
    api.put_media(StreamName="cam", Payload=mb.fixture("h264_aac_gst_unknown_clusters.mkv"),
                  FragmentTimecodeType="RELATIVE")
    assert [r[0].producer_ms for r in stored(api)] == [now + ms for ms in GST_MS]


def test_absolute_timecodes_are_the_producer_timestamps(api):
    data = (require_shared_media() / "kvs-producer-sdk-cpp/test-stream-1_0.mkv").read_bytes()
    clusters = [f.timestamp_ticks for f in demux(data).fragments]
    assert clusters[0] == 1703120790149
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=data, ProducerStartTimestamp=5)  # ignored for ABSOLUTE
    assert [a["FragmentTimecode"] for a in acks if a["EventType"] == "PERSISTED"] == clusters
    assert [r[0].producer_ms for r in stored(api)] == clusters
    assert [r[0].timecode for r in stored(api)] == clusters


def test_timecode_scale_is_applied_to_producer_time_not_to_acks(api):
    """TimestampScale 100 µs: Cluster Timestamp 5000 is 500 ms; the ack keeps 5000."""
    body = mb.header((1,), timestamp_scale=100_000) + b"".join(
        mb.cluster(tc, [(1, k * 300, k == 0, b"x" * 20) for k in range(3)]) for tc in (0, 5000, 10000))
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=body, FragmentTimecodeType="RELATIVE",
                         ProducerStartTimestamp=1000)
    assert [a["FragmentTimecode"] for a in acks if a["EventType"] == "PERSISTED"] == [0, 5000, 10000]
    assert [r[0].producer_ms for r in stored(api)] == [1_000_000, 1_000_500, 1_001_000]
    assert [r[0].duration_ms for r in stored(api)] == [60, 60, 60]


def test_server_timestamps_come_from_the_clock_when_each_fragment_starts(api):
    split = mb.split(mb.fixture("h264_aac_gst_unknown_clusters.mkv"))
    api.create_stream("cam")
    base = api.clock.now_ms()
    chunks = [split.header + split.clusters[0], *split.clusters[1:]]  # one cluster start per chunk
    buffered = threading.Semaphore(0)

    def producer():  # each chunk only once the last fragment's BUFFERING is in (a server reads ahead)
        for i, chunk in enumerate(chunks):
            assert i == 0 or buffered.acquire(timeout=10)
            yield chunk

    acks = []
    for a in api.client.put_media(StreamName="cam", Payload=producer()):
        acks.append(a)
        if a["EventType"] == "BUFFERING":
            api.clock.advance(1.5)  # before the next chunk is fed
            buffered.release()
    assert sum(a["EventType"] == "PERSISTED" for a in acks) == 4
    server = [r[0].server_ms for r in stored(api)]
    assert server == [base + 1500 * i for i in range(4)]
    assert len(set(server)) == 4


# -- 4. END_OF_FRAGMENT and fragment metadata -----------------------------------------------------

@pytest.mark.inprocess  # the push API (open_session) itself
def test_end_of_fragment_persists_at_once(api):
    split = mb.split(mb.fixture("h264_aac_gst_unknown_clusters.mkv"))
    user = mb.metadata("camera", "front door")
    data = split.join(between={0: mb.end_of_fragment(), 1: user})
    eofr_end = len(split.header) + len(split.clusters[0]) + len(mb.end_of_fragment())
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    try:
        first = session.feed(data[:eofr_end - 1])
        assert [a["EventType"] for a in first] == ["BUFFERING"]
        number = first[0]["FragmentNumber"]
        at_end = session.feed(data[eofr_end - 1:eofr_end])  # the last byte of the EoFR Tags
        assert at_end == [{"EventType": "RECEIVED", "FragmentTimecode": 0, "FragmentNumber": number},
                          {"EventType": "PERSISTED", "FragmentTimecode": 0, "FragmentNumber": number}]
        rest = session.feed(data[eofr_end:]) + session.finish()
    finally:
        session.close()
    assert [a["EventType"] for a in rest].count("PERSISTED") == 3
    assert not any(a["EventType"] == "ERROR" for a in rest)
    rows = stored(api)
    assert [r[2] for r in rows] == split.clusters
    assert rows[0][3] == b""               # the EoFR is acted on, not stored
    assert rows[1][3] == user              # user metadata after cluster 2 is kept with it
    assert rows[2][3] == rows[3][3] == b""
    assert all(r[1] == split.header for r in rows)
    chunk = getmedia_chunk(rows[1][1], rows[1][2], [rows[1][3]], fragment_number=rows[1][0].number,
                           server_timestamp_ms=rows[1][0].server_ms, producer_timestamp_ms=rows[1][0].producer_ms)
    again = demux(bytes(chunk))
    assert again.error is None and len(again.fragments) == 1
    after = {t.name: t.string for tags in again.fragments[0].tags_after for t in tags.simple_tags}
    assert after == {"camera": "front door"}


@pytest.mark.inprocess  # the push API (open_session) itself
def test_metadata_before_end_of_fragment_is_kept(api):
    split = mb.split(mb.fixture("h264_aac_gst_unknown_clusters.mkv"))
    user = mb.metadata("k", "v") + mb.tags(("a", "1"), ("b", "2"))
    eofr = mb.end_of_fragment()
    data = split.join(between={0: user + eofr, 3: eofr})
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    try:
        cut = len(split.header) + len(split.clusters[0]) + len(user) + len(eofr)
        acks = session.feed(data[:cut])
        assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED", "PERSISTED"]
        acks = session.feed(data[cut:])  # the last EoFR ends the last fragment before the body ends
        assert [a["EventType"] for a in acks][-2:] == ["RECEIVED", "PERSISTED"]
        assert session.finish() == []
    finally:
        session.close()
    rows = stored(api)
    assert [r[3] for r in rows] == [user, b"", b"", b""]


def test_metadata_after_end_of_fragment_goes_with_the_next_cluster(api):
    """Tags between an EoFR and the next Cluster are that fragment's "before" tags: they
    are kept at the end of its header (where GetMedia puts a fragment's leading tags)."""
    split = mb.split(mb.fixture("h264_aac_gst_unknown_clusters.mkv"))
    user = mb.metadata("x", "y")
    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=split.join(between={0: mb.end_of_fragment() + user}))
    assert [a["EventType"] for a in acks].count("PERSISTED") == 4
    rows = stored(api)
    assert [r[1] for r in rows] == [split.header, split.header + user, split.header, split.header]
    assert all(r[3] == b"" for r in rows)


@pytest.mark.inprocess  # the push API (open_session) itself
def test_sdk_recording_acks_last_fragment_on_its_end_of_fragment(api):
    data = (require_shared_media() / "kvs-producer-sdk-cpp/test-stream-1_0.mkv").read_bytes()
    result = demux(data)
    assert result.fragments[-1].tags_after[-1].get("AWS_KINESISVIDEO_END_OF_FRAGMENT") == ""
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    try:
        acks = []
        for chunk in random_chunks(data, 5):
            acks += session.feed(chunk)
        assert sum(a["EventType"] == "PERSISTED" for a in acks) == 37  # before the body ends
        assert session.finish() == []
    finally:
        session.close()
    rows = stored(api)
    assert len(rows) == 37
    for (row, header, cluster, after), f in zip(rows, result.fragments):
        sent = [(t.name.encode(), t.string.encode()) for tags in f.tags_after for t in tags.simple_tags]
        assert fragment_metadata(after) == [(n, v) for n, v in sent if not n.startswith(KVS)]
    assert sum(len(fragment_metadata(r[3])) for r in rows) == 27


# -- 7. retention 0 -----------------------------------------------------------------------------

def test_retention_zero_buffers_in_memory(api):
    split = mb.split(mb.fixture("h264_aac_gst_unknown_clusters.mkv"))
    data = split.join()
    api.create_stream("cam", retention_hours=0)
    acks = api.put_media(StreamName="cam", Payload=random_chunks(data, 2))
    api.clock.advance(2)
    acks += api.put_media(StreamName="cam", Payload=data)
    assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED"] * 8
    assert api.kvs.store.fragments(stream_id(api)) == []
    live = api.kvs.live.fragments(stream_id(api), api.clock.now_ms())
    assert [item.cluster for item in live] == split.clusters * 2
    assert all(item.header == split.header and item.after == b"" for item in live)
    numbers = [a["FragmentNumber"] for a in acks if a["EventType"] == "RECEIVED"]
    assert [item.fragment.number for item in live] == numbers
    # Fragment numbers (and sequence numbers) keep increasing into the second session.
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    assert len({item.fragment.seq for item in live}) == 8


# -- 8. IDLE acks and the idle timeout ---------------------------------------------------------------

def test_idle_acks_while_the_producer_pauses(make_api):
    api = make_api(config=Config(limits=False, idle_ack_interval_seconds=0.05, idle_timeout_seconds=0.5))
    split = mb.split(mb.fixture("h264_aac.mkv"))  # known-size clusters

    def producer():
        yield split.header + split.clusters[0] + split.after[0] + split.clusters[1]
        time.sleep(0.3)
        yield split.after[1] + b"".join(c + a for c, a in zip(split.clusters[2:], split.after[2:]))

    api.create_stream("cam")
    acks = api.put_media(StreamName="cam", Payload=producer())
    events = [a["EventType"] for a in acks]
    assert all(a == {"EventType": "IDLE"} for a in acks if a["EventType"] == "IDLE")
    assert [e for e in events if e != "IDLE"] == ["BUFFERING", "RECEIVED", "PERSISTED"] * 4
    # The pause falls between fragment 2's BUFFERING (first chunk) and its RECEIVED (second).
    pause = events[events.index("BUFFERING", 1):events.index("RECEIVED", 2)]
    assert 2 <= pause.count("IDLE") <= 10
    assert [r[2] for r in stored(api)] == split.clusters


def test_silent_producer_is_cut_off(make_api):
    api = make_api(config=Config(limits=False, idle_ack_interval_seconds=0.05, idle_timeout_seconds=0.3))
    split = mb.split(mb.fixture("h264_aac_live_unknown_segment.mkv"))  # known-size clusters
    resume = threading.Event()

    def producer():
        yield split.header + split.clusters[0] + split.after[0] + split.clusters[1]
        resume.wait(5)
        yield split.after[1] + split.clusters[2]

    api.create_stream("cam")
    started = time.monotonic()
    try:
        acks = api.put_media(StreamName="cam", Payload=producer())
    finally:
        resume.set()
    assert time.monotonic() - started < 2
    events = [a["EventType"] for a in acks if a["EventType"] != "IDLE"]
    assert events == ["BUFFERING", "RECEIVED", "PERSISTED", "BUFFERING", "RECEIVED", "PERSISTED"]
    assert 1 <= sum(a["EventType"] == "IDLE" for a in acks) <= 8
    assert [r[2] for r in stored(api)] == split.clusters[:2]
    # The request is over: the stream takes a new PutMedia.
    more = api.put_media(StreamName="cam", Payload=split.header + split.clusters[2])
    assert [a["EventType"] for a in more] == ["BUFFERING", "RECEIVED", "PERSISTED"]


# -- 9. the producer goes away ------------------------------------------------------------------------

@pytest.mark.parametrize("name, kept", [("h264_aac.mkv", 2), ("h264_aac_gst_unknown_clusters.mkv", 1)])
def test_closing_the_ack_iterator_keeps_complete_fragments(make_api, name, kept):
    """The first chunk holds cluster 1 and all of cluster 2: a known-size cluster 2 has
    ended and is kept, an unknown-size one might still grow and is dropped."""
    api = make_api(config=Config(limits=False, idle_ack_interval_seconds=0.05))
    split = mb.split(mb.fixture(name))
    c = split.clusters
    half = len(c[2]) // 2
    chunks = [split.header + c[0] + split.after[0] + c[1] + split.after[1], c[2][:half], c[2][half:] + c[3]]
    closed = threading.Event()

    def producer():  # the rest only after the close (a server would have read it already)
        yield chunks[0]
        closed.wait(10)
        yield from chunks[1:]

    api.create_stream("cam")
    acks = api.client.put_media(StreamName="cam", Payload=producer())
    seen = []
    for a in acks:
        seen.append(a)
        if a["EventType"] == "IDLE":  # KVS has read all the producer sent (over HTTP too) and waits
            break
    acks.close()
    closed.set()
    released(api)
    assert [a["EventType"] for a in seen] == ["BUFFERING", "RECEIVED", "PERSISTED", "BUFFERING", "IDLE"]
    rows = stored(api)
    assert [r[2] for r in rows] == c[:kept]
    assert rows[0][0].number == seen[0]["FragmentNumber"]
    # The writer lock is free again, and numbering goes on.
    again = api.put_media(StreamName="cam", Payload=split.join())
    assert sum(a["EventType"] == "PERSISTED" for a in again) == 4
    numbers = [r[0].number for r in stored(api)]
    assert len(numbers) == kept + 4 and [int(n) for n in numbers] == sorted({int(n) for n in numbers})


@pytest.mark.inprocess  # the push API (open_session) itself
def test_abort_in_the_push_api(api):
    split = mb.split(mb.fixture("h264_aac.mkv"))
    api.create_stream("cam")
    session = open_session(api.kvs, StreamName="cam")
    acks = session.feed(split.header + split.clusters[0] + split.clusters[1][:100])
    assert [a["EventType"] for a in acks] == ["BUFFERING", "RECEIVED", "PERSISTED", "BUFFERING"]
    assert session.abort() == []  # the open fragment is dropped
    assert session.feed(split.clusters[1][100:]) == [] and session.finish() == []
    session.close()
    assert [r[2] for r in stored(api)] == split.clusters[:1]
    assert len(api.put_media(StreamName="cam", Payload=split.join())) == 12

# SPDX-License-Identifier: Apache-2.0
"""GetMediaForFragmentList (KVS API: kinesis-video-archived-media GetMediaForFragmentList),
through boto3: the chunks (KVS-WIRE-FACTS §5.2, §5.3) read back with our demuxer and ffprobe."""
from __future__ import annotations

import gc

import pytest

from kvsmux.api.context import Config
from kvsmux.media.pure.getmedia_chunk import format_kvs_timestamp, kvs_tags
from tests.api.planting import assert_ffprobe_reads, kvs_tag_values, plant, read_chunks, tag_values
from tests.crosscheck import tools


def get(api, numbers, stream="cam"):
    return api.archived.get_media_for_fragment_list(StreamName=stream, Fragments=numbers)


def test_chunks_come_in_request_order_with_kvs_tags_before_the_cluster(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 4, every_ms=2000)
    wanted = [planted[2], planted[0], planted[3], planted[1]]
    data, result = read_chunks(get(api, [p.number for p in wanted]))
    # One EBML document (header + Segment of unknown size) per fragment.
    assert len(result.headers) == len(result.fragments) == 4
    assert all(h.segment_size is None for h in result.headers)
    assert data.count(b"\x1a\x45\xdf\xa3") == 4
    for fragment, p in zip(result.fragments, wanted):
        assert kvs_tag_values(fragment.tags_before) == {
            "FRAGMENT_NUMBER": p.number, "SERVER_TIMESTAMP": format_kvs_timestamp(p.server_ms),
            "PRODUCER_TIMESTAMP": format_kvs_timestamp(p.producer_ms)}
        assert kvs_tag_values(fragment.tags_after) == {}  # no MILLIS_BEHIND_NOW / CONTINUATION_TOKEN
        assert bytes(fragment.bytes) == p.cluster
        assert tuple(bytes(x) for x in fragment.payloads()) == p.payloads
        assert [t.codec_id for t in fragment.header.tracks] == ["V_MPEG4/ISO/AVC"]
        # The producer's header (its Tags included) is repeated in front of every fragment.
        assert tag_values(fragment.tags_before)["ENCODER"] == "Lavc libx264"


def test_a_number_given_twice_is_sent_twice(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 2)
    _, result = read_chunks(get(api, [planted[1].number, planted[1].number, planted[0].number]))
    assert [kvs_tag_values(f.tags_before)["FRAGMENT_NUMBER"] for f in result.fragments] == [
        planted[1].number, planted[1].number, planted[0].number]


def test_producer_elements_after_the_cluster_are_kept(api):
    api.create_stream("cam")
    metadata = kvs_tags([("CAMERA", "front door")])  # fragment metadata, as PutMedia would keep it
    planted = plant(api, "cam", 1, after=metadata)
    data, result = read_chunks(get(api, [planted[0].number]))
    (fragment,) = result.fragments
    assert tag_values(fragment.tags_after) == {"CAMERA": "front door"}
    assert data.endswith(metadata)


def test_ffprobe_reads_every_frame(api, tmp_path):
    tools.require_tool("ffprobe", "GetMediaForFragmentList output")
    api.create_stream("cam")
    planted = plant(api, "cam", 4)
    data, _ = read_chunks(get(api, [p.number for p in planted]))
    assert_ffprobe_reads(data, planted, tmp_path / "fragments.mkv")


def test_unknown_numbers_are_not_found_before_anything_is_sent(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 2)
    unknown1, unknown2 = "1" * 47, "2" * 47
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException) as excinfo:
        get(api, [planted[0].number, unknown2, planted[1].number, unknown1])
    assert unknown2 in excinfo.value.response["Error"]["Message"]
    assert unknown1 not in excinfo.value.response["Error"]["Message"]


def test_expired_fragments_are_not_found(api):
    api.create_stream("cam", retention_hours=1)
    old = plant(api, "cam", 1)
    api.clock.advance(30 * 60)
    young = plant(api, "cam", 1)
    api.clock.advance(31 * 60)
    _, result = read_chunks(get(api, [young[0].number]))
    assert len(result.fragments) == 1
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException) as excinfo:
        get(api, [young[0].number, old[0].number])
    assert old[0].number in excinfo.value.response["Error"]["Message"]


def test_retention_zero_streams_have_no_archived_fragments(api):
    api.create_stream("live", retention_hours=0)
    planted = plant(api, "live", 1)
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException):
        get(api, [planted[0].number], stream="live")


def test_argument_errors(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 1)
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException):
        get(api, [planted[0].number], stream="nope")
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        api.archived.get_media_for_fragment_list(Fragments=[planted[0].number])
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        get(api, [planted[0].number] * 1001)
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        get(api, ["12ab"])


def test_fragment_media_points_are_the_number_of_fragments(make_api):
    """500 points per second per stream (KVS-WIRE-FACTS §8.3)."""
    api = make_api(config=Config())
    api.create_stream("cam")
    number = plant(api, "cam", 1)[0].number
    get(api, [number] * 400)["Payload"].close()
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException):
        get(api, [number] * 200)
    get(api, [number] * 100)["Payload"].close()
    api.clock.advance(1)
    _, result = read_chunks(get(api, [number] * 200))
    assert len(result.fragments) == 200


# In-process only: "open" are responses nobody reads. Over HTTP the server has written such
# a one-fragment response to the socket and ended it at once (its lease is back).
@pytest.mark.inprocess
def test_at_most_five_responses_per_stream(make_api):
    api = make_api(config=Config())
    api.create_stream("cam")
    api.create_stream("other")
    number = plant(api, "cam", 1)[0].number
    other = plant(api, "other", 1)[0].number
    open_ones = [get(api, [number]) for _ in range(5)]
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException):
        get(api, [number])
    get(api, [other], stream="other")["Payload"].close()  # per stream
    open_ones.pop()["Payload"].close()
    read_chunks(get(api, [number]))  # read to the end: that gives it back too
    read_chunks(get(api, [number]))
    assert len(open_ones) == 4
    open_ones.pop()
    gc.collect()  # a response dropped unread gives its connection back
    open_ones += [get(api, [number]), get(api, [number])]
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException):
        get(api, [number])

# SPDX-License-Identifier: Apache-2.0
"""HLS playback (KVS-WIRE-FACTS §6): master and media playlists checked line by line
against the stored fragments (tests/api/hls_check.py, no goldens), the init / media / TS
fragments behind them, every session-creation error, the per-session quotas, and the
player routes over HTTP (unsigned GETs, 403 for bad tokens, Range, CORS), ending with
ffmpeg playing the master playlist URL."""
from __future__ import annotations

import json
import re
import subprocess
import urllib.parse

import pytest

from kvsmux.api import hls, player
from kvsmux.api.context import Config
from kvsmux.api.errors import KvsError
from kvsmux.api.service import Kvs
from kvsmux.media import demux
from tests.api import hls_check, mkv_build
from tests.conftest import DATA, require_shared_media
from tests.crosscheck import tools
from tests.server_harness import running_server

START_S = 1_700_000_000  # producer start timestamp; also where the ManualClock starts
H264, H264_AAC, GAP = "h264_160x120_30fps_gop15.mkv", "h264_aac.mkv", "h264_gap_1s.mkv"
inprocess = pytest.mark.inprocess


def ingest(api, name: str, data: bytes, start_s: float = START_S, retention: int = 24) -> None:
    try:
        api.create_stream(name, retention)
    except api.video.exceptions.ResourceInUseException:
        pass
    api.put_media(StreamName=name, Payload=data, FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=start_s)


def session(api, name: str = "cam", mode: str = "ON_DEMAND", selector: str = "SERVER_TIMESTAMP",
            start: float | None = START_S - 60, end: float | None = START_S + 3600, **options) -> tuple[str, str]:
    """(session URL, token)."""
    fragment_selector = {"FragmentSelectorType": selector}
    if start is not None:
        fragment_selector["TimestampRange"] = {"StartTimestamp": start, **({"EndTimestamp": end} if end else {})}
    url = api.archived.get_hls_streaming_session_url(StreamName=name, PlaybackMode=mode,
                                                     HLSFragmentSelector=fragment_selector,
                                                     **options)["HLSStreamingSessionURL"]
    return url, url.split("SessionToken=", 1)[1]


def stored(api, name: str = "cam", selector: str = "server") -> list:
    """The stream's fragments as an ON_DEMAND playlist should list them."""
    stream = api.kvs.store.resource("stream", name=name)
    fragments = api.kvs.store.fragments(stream.id)
    if selector == "producer":  # one per producer timestamp, the newest fragment number wins
        fragments = sorted({f.producer_ms: f for f in fragments}.values(), key=lambda f: f.producer_ms)
    return fragments


def segments(api, text: str, track: int = 1) -> tuple[bytes, list[bytes]]:
    """The init (from the first EXT-X-MAP) and every media fragment a playlist lists, in process."""
    p = hls_check.parse_media(text)
    token = p.segments[0].token
    init = bytes(player.init_fragment(api.kvs, token, track, int(hls_check.query(p.segments[0].map_uri)
                                                                  ["SequenceNumber"])))
    return init, [bytes(player.media_fragment(api.kvs, token, s.number, track)) for s in p.segments]


# -- playlists and fragments, in process -------------------------------------------------------

@inprocess
def test_on_demand_fmp4_with_audio(api):
    ingest(api, "cam", (DATA / "valid" / H264_AAC).read_bytes())
    _, token = session(api, selector="PRODUCER_TIMESTAMP", start=START_S, DisplayFragmentTimestamp="ALWAYS")
    master = hls.master_playlist(api.kvs, token)
    m = hls_check.check_master(master, token=token, container="FRAGMENTED_MP4", codecs="avc1.64000b,mp4a.40.2",
                               resolution="160x120", audio=True)
    assert abs(float(m["stream"]["FRAME-RATE"]) - 30) < 0.1
    fragments = stored(api, selector="producer")
    for track in (1, 2):
        text = hls.media_playlist(api.kvs, token, track)
        hls_check.check_media(text, token=token, fragments=fragments, track=track, discontinuity="NEVER",
                              display_timestamp="ALWAYS", selector="PRODUCER_TIMESTAMP", media_sequence=0)
        init, segs = segments(api, text, track)
        hls_check.check_fmp4(api.kvs, init, segs, fragments, track)
        assert bytes(player.init_fragment(api.kvs, token, track)) == init  # without SequenceNumber: the same
    r = player.media_fragment(api.kvs, token, fragments[0].number, 1)
    assert r.content_type == "video/mp4" and bytes(memoryview(b"".join(r.parts()))) == bytes(r)


@inprocess
def test_mpeg_ts_session(api):
    ingest(api, "cam", (DATA / "valid" / H264_AAC).read_bytes())
    _, token = session(api, ContainerFormat="MPEG_TS", DisplayFragmentTimestamp="ALWAYS")
    hls_check.check_master(hls.master_playlist(api.kvs, token), token=token, container="MPEG_TS",
                           codecs="avc1.64000b,mp4a.40.2", resolution="160x120", audio=True)
    fragments = stored(api)
    text = hls.media_playlist(api.kvs, token)
    p = hls_check.check_media(text, token=token, fragments=fragments, container="MPEG_TS",
                              display_timestamp="ALWAYS")
    ts = [player.ts_fragment(api.kvs, token, s.number) for s in p.segments]
    assert {r.content_type for r in ts} == {"video/mp2t"}
    hls_check.check_ts(api.kvs, [bytes(r) for r in ts], fragments, [1, 2])
    with pytest.raises(KvsError) as e:
        hls.media_playlist(api.kvs, token, 2)
    assert e.value.code == "InvalidArgumentException"


@inprocess
@pytest.mark.parametrize("mode", ["ALWAYS", "NEVER", "ON_DISCONTINUITY"])
def test_discontinuity_modes_on_a_gap(api, mode):
    ingest(api, "cam", (DATA / "valid" / GAP).read_bytes())
    _, token = session(api, DiscontinuityMode=mode)
    fragments = stored(api)
    assert hls_check.breaks(fragments) == [False, False, True, False]  # the 1 s hole before 2000 ms
    text = hls.media_playlist(api.kvs, token)
    hls_check.check_media(text, token=token, fragments=fragments, discontinuity=mode)
    hls_check.check_fmp4(api.kvs, *segments(api, text), fragments, 1)


@inprocess
def test_clusters_cut_by_time_are_not_discontinuities(api):
    """B-frames in clusters cut by time: a cluster's first frame is shown before its
    timestamp, and the media runs on without a gap, so ON_DISCONTINUITY marks nothing
    (hls.js dropped frames at the false discontinuity this once produced)."""
    ingest(api, "cam", (DATA / "valid" / "h264_bframes_time_clusters.mkv").read_bytes())
    _, token = session(api, DiscontinuityMode="ON_DISCONTINUITY")
    fragments = stored(api)
    assert not any(hls_check.breaks(fragments))
    text = hls.media_playlist(api.kvs, token)
    assert "#EXT-X-DISCONTINUITY" not in text
    hls_check.check_media(text, token=token, fragments=fragments, discontinuity="ON_DISCONTINUITY")


@inprocess
def test_producer_timestamps_are_deduplicated_newest_wins(api):
    data = (DATA / "valid" / H264).read_bytes()
    ingest(api, "cam", data)
    api.clock.advance(5)
    ingest(api, "cam", data)  # the same producer timestamps again
    everything = stored(api)
    assert len(everything) == 8
    _, token = session(api, selector="PRODUCER_TIMESTAMP", start=START_S)
    text = hls.media_playlist(api.kvs, token)
    hls_check.check_media(text, token=token, fragments=everything[4:], discontinuity="NEVER",
                          selector="PRODUCER_TIMESTAMP")
    # By server timestamp both ingests play, and the overlap is one discontinuity.
    _, token = session(api, DiscontinuityMode="ON_DISCONTINUITY")
    p = hls_check.check_media(hls.media_playlist(api.kvs, token), token=token, fragments=everything,
                              discontinuity="ON_DISCONTINUITY")
    assert [s.discontinuity for s in p.segments] == [False] * 4 + [True] + [False] * 3


@inprocess
def test_live_window_slides_and_media_sequence_advances(api):
    parts = mkv_build.split((DATA / "valid" / H264).read_bytes())

    def put(i: int, start_s: float) -> None:
        ingest(api, "cam", parts.header + parts.clusters[i] + parts.after[i], start_s)
        api.clock.advance(0.5)

    put(0, START_S)
    put(1, START_S)
    _, token = session(api, mode="LIVE", start=None, MaxMediaPlaylistFragmentResults=3)
    hls_check.check_media(hls.media_playlist(api.kvs, token), token=token, fragments=stored(api), mode="LIVE",
                          media_sequence=0, ended=False)
    put(2, START_S)
    put(3, START_S)
    hls_check.check_media(hls.media_playlist(api.kvs, token), token=token, fragments=stored(api)[1:], mode="LIVE",
                          media_sequence=1, ended=False)
    for i in range(4):  # the next 2 s, continuing the producer timeline
        put(i, START_S + 2)
    p = hls_check.check_media(hls.media_playlist(api.kvs, token), token=token, fragments=stored(api)[5:],
                              mode="LIVE", media_sequence=5, ended=False)
    assert p.discontinuity_sequence == 5


@inprocess
def test_live_replay_is_paced_by_the_clock(api):
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    fragments = stored(api, selector="producer")
    _, token = session(api, mode="LIVE_REPLAY", selector="PRODUCER_TIMESTAMP", start=START_S, end=START_S + 10)
    _, open_ended = session(api, mode="LIVE_REPLAY", selector="PRODUCER_TIMESTAMP", start=START_S, end=None)
    for visible, advance in ((1, 0), (2, 0.5), (2, 0.4), (3, 0.1), (4, 1.0), (4, 60)):
        api.clock.advance(advance)
        for t, ended in ((token, visible == 4), (open_ended, False)):
            hls_check.check_media(hls.media_playlist(api.kvs, t), token=t, fragments=fragments[:visible],
                                  mode="LIVE_REPLAY", discontinuity="NEVER", ended=ended)


@inprocess
@pytest.mark.parametrize("display", [None, "NEVER", "ALWAYS"])
@pytest.mark.parametrize("discontinuity", [None, "ALWAYS", "NEVER", "ON_DISCONTINUITY"])
@pytest.mark.parametrize("container", ["FRAGMENTED_MP4", "MPEG_TS"])
@pytest.mark.parametrize("selector", ["SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"])
@pytest.mark.parametrize("mode", ["ON_DEMAND", "LIVE", "LIVE_REPLAY"])
def test_every_mode_and_option(api, mode, selector, container, discontinuity, display):
    """The whole option matrix over a stream with a 1 s hole: the checker's rules for each
    combination, with the documented defaults where an option is left out (DiscontinuityMode
    ALWAYS by server timestamp, NEVER by producer timestamp; DisplayFragmentTimestamp NEVER)."""
    ingest(api, "cam", (DATA / "valid" / GAP).read_bytes())
    options = {"ContainerFormat": container}
    if discontinuity:
        options["DiscontinuityMode"] = discontinuity
    if display:
        options["DisplayFragmentTimestamp"] = display
    start, end = (None, None) if mode == "LIVE" else (START_S - 1, START_S + 10)
    _, token = session(api, mode=mode, selector=selector, start=start, end=end, **options)
    if mode == "LIVE_REPLAY":
        api.clock.advance(60)  # every fragment in the range is due
    fragments = stored(api, selector="producer" if selector == "PRODUCER_TIMESTAMP" else "server")
    expected = discontinuity or ("ALWAYS" if selector == "SERVER_TIMESTAMP" else "NEVER")
    p = hls_check.check_media(hls.media_playlist(api.kvs, token), token=token, fragments=fragments,
                              container=container, mode=mode, discontinuity=expected,
                              display_timestamp=display or "NEVER", selector=selector, media_sequence=0,
                              ended=mode != "LIVE")
    if container == "FRAGMENTED_MP4":
        hls_check.check_fmp4(api.kvs, *segments(api, hls.media_playlist(api.kvs, token)), fragments, 1)
    else:
        ts = [bytes(player.ts_fragment(api.kvs, token, s.number)) for s in p.segments]
        hls_check.check_ts(api.kvs, ts, fragments, [1])


# -- session creation errors (both transports) -------------------------------------------------

def dash_session(api, name: str = "cam", mode: str = "ON_DEMAND", selector: str = "SERVER_TIMESTAMP",
                 start: float | None = START_S - 60, end: float | None = START_S + 3600, **options) -> tuple[str, str]:
    """:func:`session` for GetDASHStreamingSessionURL (MaxMediaPlaylistFragmentResults is
    called MaxManifestFragmentResults there)."""
    fragment_selector = {"FragmentSelectorType": selector}
    if start is not None:
        fragment_selector["TimestampRange"] = {"StartTimestamp": start, **({"EndTimestamp": end} if end else {})}
    if "MaxMediaPlaylistFragmentResults" in options:
        options["MaxManifestFragmentResults"] = options.pop("MaxMediaPlaylistFragmentResults")
    url = api.archived.get_dash_streaming_session_url(StreamName=name, PlaybackMode=mode,
                                                      DASHFragmentSelector=fragment_selector,
                                                      **options)["DASHStreamingSessionURL"]
    return url, url.split("SessionToken=", 1)[1]


@pytest.mark.parametrize("kind", ["HLS", "DASH"])
def test_session_creation_errors(api, kind):
    errors = api.archived.exceptions
    open_session = session if kind == "HLS" else dash_session
    ingest(api, "zero", (DATA / "valid" / H264).read_bytes(), retention=0)
    with pytest.raises(errors.NoDataRetentionException):
        open_session(api, "zero")
    ingest(api, "noprivate", mkv_build.synthetic([0, 1000, 2000]))
    with pytest.raises(errors.MissingCodecPrivateDataException):
        open_session(api, "noprivate")
    ingest(api, "badprivate", mkv_build.synthetic([0, 1000, 2000], codec_private=b"\x01\x64\x00"))  # avcC cut short
    with pytest.raises(errors.InvalidCodecPrivateDataException):
        open_session(api, "badprivate")
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    with pytest.raises(errors.ResourceNotFoundException) as e:
        open_session(api, "cam", start=START_S - 7200, end=START_S - 3600)
    assert e.value.response["Error"]["Message"] == "No fragments found in the stream for the streaming request."
    with pytest.raises(errors.ResourceNotFoundException):
        open_session(api, "nope")
    invalid = [dict(mode="LIVE"),                                   # LIVE with a range
               dict(start=None),                                    # ON_DEMAND without a range
               dict(end=None),                                      # ON_DEMAND without an end
               dict(start=START_S, end=START_S),                    # end not after start
               dict(start=START_S, end=START_S + 24 * 3600 + 1),    # more than 24 h
               dict(Expires=43201),                                 # botocore checks only the minimum
               dict(MaxMediaPlaylistFragmentResults=5001)]
    if kind == "HLS":
        invalid.append(dict(ContainerFormat="MP4"))
    for kwargs in invalid:
        with pytest.raises(errors.InvalidArgumentException):
            open_session(api, "cam", **kwargs)
    url, _ = open_session(api, "cam", mode="LIVE", start=None)
    assert f"/{kind.lower()}/v1/get{kind}" in url and "SessionToken=" in url
    for kwargs in (dict(Expires=300), dict(Expires=43200), dict(MaxMediaPlaylistFragmentResults=5000)):
        open_session(api, "cam", **kwargs)  # the limits themselves are fine
    api.clock.advance(31)  # nothing received in the last 30 s
    with pytest.raises(errors.ResourceNotFoundException):
        open_session(api, "cam", mode="LIVE", start=None)


@pytest.mark.parametrize("kind", ["HLS", "DASH"])
def test_unsupported_codec_session(api, kind):
    vp9 = require_shared_media() / "libwebm-testdata/bbb_480p_vp9_opus_1second.webm"
    ingest(api, "vp9", vp9.read_bytes())
    with pytest.raises(api.archived.exceptions.UnsupportedStreamMediaTypeException):
        (session if kind == "HLS" else dash_session)(api, "vp9")


# -- tokens, deleted streams, unknown fragments, quotas (in process) ----------------------------

@inprocess
def test_player_errors_in_process(api):
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    _, token = session(api)
    number = stored(api)[0].number

    def code(fn, *args) -> str:
        with pytest.raises(KvsError) as e:
            fn(api.kvs, *args)
        return e.value.code

    assert code(player.media_fragment, token, "1" + number) == "ResourceNotFoundException"
    assert code(player.media_fragment, token, "12ab") == "InvalidArgumentException"
    assert code(player.media_fragment, token, number, 3) == "ResourceNotFoundException"
    assert code(hls.media_playlist, token[:60] + ("A" if token[60] != "A" else "B") + token[61:]) == \
        "NotAuthorizedException"
    assert code(hls.master_playlist, None) == "NotAuthorizedException"
    dash_url = api.archived.get_dash_streaming_session_url(StreamName="cam", PlaybackMode="LIVE")
    dash_token = dash_url["DASHStreamingSessionURL"].split("SessionToken=")[1]
    assert code(hls.master_playlist, dash_token) == "NotAuthorizedException"
    assert bytes(player.init_fragment(api.kvs, dash_token, 1, kind="DASH"))[4:8] == b"ftyp"
    api.clock.advance(301)
    assert code(player.init_fragment, token) == "NotAuthorizedException"
    _, token = session(api)
    api.video.delete_stream(StreamARN=api.video.describe_stream(StreamName="cam")["StreamInfo"]["StreamARN"])
    assert code(hls.media_playlist, token) == "ResourceNotFoundException"
    assert code(player.media_fragment, token, number) == "ResourceNotFoundException"


@inprocess
def test_per_session_quotas_and_fragment_points(make_api):
    api = make_api(config=Config(fragment_metadata_points=10))
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    _, token = session(api, MaxMediaPlaylistFragmentResults=6)
    _, other = session(api, MaxMediaPlaylistFragmentResults=1)
    for _ in range(5):
        hls.master_playlist(api.kvs, token)
    with pytest.raises(KvsError, match="ClientLimitExceededException"):
        hls.master_playlist(api.kvs, token)
    hls.master_playlist(api.kvs, other)  # per session
    api.clock.advance(1)
    hls.master_playlist(api.kvs, token)
    hls.media_playlist(api.kvs, token)  # 6 of 10 fragment-metadata points
    with pytest.raises(KvsError, match="fragment metadata"):
        hls.media_playlist(api.kvs, token)
    number = stored(api)[0].number
    for _ in range(20):
        player.media_fragment(api.kvs, token, number)
    with pytest.raises(KvsError, match="ClientLimitExceededException"):
        player.media_fragment(api.kvs, token, number)


# -- over HTTP ---------------------------------------------------------------------------------

@pytest.fixture
def served(api):
    """The in-process service behind a real server: session URLs created now point at it."""
    with running_server(api.kvs) as server:
        yield server


fetch, error = hls_check.fetch, hls_check.error


@inprocess
def test_http_playback(api, served):
    ingest(api, "cam", (DATA / "valid" / H264_AAC).read_bytes())
    url, token = session(api)
    status, headers, body = fetch(url)
    assert status == 200 and headers["content-type"] == "application/vnd.apple.mpegurl"
    assert headers["access-control-allow-origin"] == "*"
    assert body.decode() == hls.master_playlist(api.kvs, token)
    media_url = urllib.parse.urljoin(url, hls_check.parse_master(body.decode())["uri"])
    status, headers, body = fetch(media_url)
    p = hls_check.check_media(body.decode(), token=token, fragments=stored(api))
    status, headers, init = fetch(urllib.parse.urljoin(media_url, p.segments[0].map_uri))
    assert status == 200 and headers["content-type"] == "video/mp4" and headers["accept-ranges"] == "bytes"
    segs = []
    for s in p.segments:
        status, headers, body = fetch(urllib.parse.urljoin(media_url, s.uri))
        assert status == 200 and headers["content-type"] == "video/mp4"
        assert int(headers["content-length"]) == len(body)
        segs.append(body)
    hls_check.check_fmp4(api.kvs, init, segs, stored(api), 1)
    status, headers, body = fetch(urllib.parse.urljoin(media_url, p.segments[0].uri), "HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(segs[0])
    assert fetch(url.replace("SessionToken=", "SessionToken=x"), "HEAD")[:3:2] == (403, b"")
    status, headers, _ = fetch(url, "OPTIONS", {"Origin": "http://player.example", "Access-Control-Request-Method":
                                                "GET", "Access-Control-Request-Headers": "range"})
    assert status == 204 and headers["access-control-allow-origin"] == "*"
    assert error(fetch(url, "POST")) == (405, "MethodNotAllowedException")
    _, token = session(api, ContainerFormat="MPEG_TS")
    ts_url = f"{served.url}/hls/v1/getTSFragment.ts?FragmentNumber={stored(api)[0].number}&SessionToken={token}"
    status, headers, body = fetch(ts_url)
    assert status == 200 and headers["content-type"] == "video/mp2t" and body[0] == 0x47


@inprocess
def test_http_range_requests(api, served):
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    _, token = session(api)
    url = (f"{served.url}/hls/v1/getMP4MediaFragment.mp4?FragmentNumber={stored(api)[0].number}"
           f"&SessionToken={token}&TrackNumber=1")
    _, _, whole = fetch(url)
    n = len(whole)
    for value, first, last in (("bytes=0-99", 0, 99), ("bytes=100-", 100, n - 1), ("bytes=-50", n - 50, n - 1),
                               (f"bytes=10-{n + 500}", 10, n - 1), (f"bytes={n - 1}-{n - 1}", n - 1, n - 1)):
        status, headers, body = fetch(url, headers={"Range": value})
        assert status == 206 and headers["content-range"] == f"bytes {first}-{last}/{n}", value
        assert body == whole[first:last + 1] and int(headers["content-length"]) == len(body)
    for value in (f"bytes={n}-", "bytes=-0"):
        status, headers, _ = fetch(url, headers={"Range": value})
        assert status == 416 and headers["content-range"] == f"bytes */{n}", value
    for value in ("bytes=5-2", "items=0-1", "bytes=0-1,5-6", "bytes=x-"):  # ignored: the whole body
        status, _, body = fetch(url, headers={"Range": value})
        assert status == 200 and body == whole, value


@inprocess
def test_http_errors(api, served, tmp_path):
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    url, token = session(api)
    base = f"{served.url}/hls/v1"
    number = stored(api)[0].number
    fragment = f"{base}/getMP4MediaFragment.mp4?FragmentNumber={{}}&SessionToken={token}&TrackNumber={{}}"
    assert error(fetch(fragment.format("1" + number, 1))) == (404, "ResourceNotFoundException")
    assert error(fetch(fragment.format("12ab", 1))) == (400, "InvalidArgumentException")
    assert error(fetch(fragment.format(number, "x"))) == (400, "InvalidArgumentException")
    assert error(fetch(fragment.format(number, 5))) == (404, "ResourceNotFoundException")
    tampered = token[:50] + ("A" if token[50] != "A" else "B") + token[51:]
    assert error(fetch(url.replace(token, tampered))) == (403, "NotAuthorizedException")
    assert error(fetch(f"{base}/getHLSMasterPlaylist.m3u8")) == (403, "NotAuthorizedException")
    foreign = Kvs(tmp_path / "other", clock=api.clock)
    try:
        foreign.call("kinesisvideo", "CreateStream", {"StreamName": "cam", "DataRetentionInHours": 24})
        list(foreign.put_media(StreamName="cam", Payload=(DATA / "valid" / H264).read_bytes(),
                               FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=START_S))
        other = foreign.call("kinesis-video-archived-media", "GetHLSStreamingSessionURL",
                             {"StreamName": "cam", "PlaybackMode": "LIVE"})["HLSStreamingSessionURL"]
    finally:
        foreign.close()
    assert error(fetch(f"{base}/getHLSMasterPlaylist.m3u8?{urllib.parse.urlsplit(other).query}")) == (
        403, "NotAuthorizedException")
    status, headers, body = fetch(url)
    assert status == 200
    api.clock.advance(300)  # Expires defaults to 300 s
    result = fetch(url)
    assert error(result) == (403, "NotAuthorizedException")
    assert json.loads(result[2])["Message"] == "Streaming session token is expired"
    assert error(fetch(fragment.format(number, 1))) == (403, "NotAuthorizedException")
    url, token = session(api, start=START_S - 600)
    api.video.delete_stream(StreamARN=api.video.describe_stream(StreamName="cam")["StreamInfo"]["StreamARN"])
    assert error(fetch(url)) == (404, "ResourceNotFoundException")


@inprocess
def test_http_dash_routes(api, served):
    ingest(api, "cam", (DATA / "valid" / H264_AAC).read_bytes())
    url = api.archived.get_dash_streaming_session_url(StreamName="cam", PlaybackMode="LIVE")["DASHStreamingSessionURL"]
    token = url.split("SessionToken=")[1]
    base = f"{served.url}/dash/v1"
    status, headers, body = fetch(f"{base}/getMP4InitFragment.mp4?SessionToken={token}&TrackNumber=2")
    assert status == 200 and headers["content-type"] == "video/mp4" and body[4:8] == b"ftyp"
    status, headers, body = fetch(f"{base}/getMP4MediaFragment.mp4?FragmentNumber={stored(api)[-1].number}"
                                  f"&SessionToken={token}&TrackNumber=1")
    assert status == 200 and b"moof" in body[:64]
    _, hls_token = session(api)
    assert error(fetch(f"{base}/getMP4InitFragment.mp4?SessionToken={hls_token}")) == (403, "NotAuthorizedException")
    status, headers, body = fetch(url)
    assert status == 200 and headers["content-type"] == "application/dash+xml"


# -- a real player ---------------------------------------------------------------------------

@inprocess
@pytest.mark.crosscheck
@pytest.mark.parametrize("container", ["FRAGMENTED_MP4", "MPEG_TS"])
def test_ffmpeg_plays_the_master_playlist(api, served, container):
    """ffmpeg decodes exactly the ingested pictures from the master playlist URL."""
    tools.require_tool("ffmpeg")
    source = DATA / "valid" / H264_AAC
    ingest(api, "cam", source.read_bytes())
    url, _ = session(api, ContainerFormat=container)
    run = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=codec_type,nb_read_frames", "-of", "json", url],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    counts = {s["codec_type"]: int(s["nb_read_frames"]) for s in json.loads(run.stdout)["streams"]}
    assert counts == {"video": 60, "audio": 95}
    assert tools.decoded_video_md5s(url) == tools.decoded_video_md5s(source)
    run = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", url, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    # TS: continuity counters restart in every fragment (a gap of player.py), which ffmpeg
    # reports as corrupt packets at each segment boundary while decoding every frame.
    assert not re.search(r"error|invalid", run.stderr, re.I) or container == "MPEG_TS", run.stderr


@inprocess
@pytest.mark.parametrize("mode", ["ALWAYS", "NEVER", "ON_DISCONTINUITY"])
def test_a_new_codec_private_repeats_the_map(api, mode):
    """H.264 for 2 s, then H.265 continuing the producer timeline: EXT-X-MAP again (its
    SequenceNumber names the new init), and a discontinuity for ON_DISCONTINUITY."""
    ingest(api, "cam", (DATA / "valid" / H264).read_bytes())
    ingest(api, "cam", (DATA / "valid" / "h265_160x120_30fps_gop15.mkv").read_bytes(), START_S + 2)
    _, token = session(api, DiscontinuityMode=mode)
    fragments = stored(api)
    text = hls.media_playlist(api.kvs, token)
    p = hls_check.check_media(text, token=token, fragments=fragments, discontinuity=mode, init_changes=(4,))
    inits = [bytes(player.init_fragment(api.kvs, token, 1, int(hls_check.query(p.segments[i].map_uri)
                                                               ["SequenceNumber"]))) for i in (0, 4)]
    assert b"avcC" in inits[0] and b"hvcC" in inits[1]
    for first, init in ((0, inits[0]), (4, inits[1])):
        segs = [bytes(player.media_fragment(api.kvs, token, f.number)) for f in fragments[first:first + 4]]
        hls_check.check_fmp4(api.kvs, init, segs, fragments[first:first + 4], 1)
    _, h265 = session(api, selector="PRODUCER_TIMESTAMP", start=START_S + 2)
    assert re.search(r'CODECS="(hvc1|hev1)\.[^,"]+",RESOLUTION=160x120,', hls.master_playlist(api.kvs, h265))


@inprocess
def test_init_cache_is_per_store(make_api):
    """Stream and header ids restart in every data directory: the init cache must not mix them."""
    codecs = []
    for fixture in (H264, "h265_160x120_30fps_gop15.mkv"):
        api = make_api()
        ingest(api, "cam", (DATA / "valid" / fixture).read_bytes())
        _, token = session(api)
        codecs.append(hls_check.parse_master(hls.master_playlist(api.kvs, token))["stream"]["CODECS"][:4])
    assert codecs[0] == "avc1" and codecs[1] in ("hvc1", "hev1")


def test_rebased_cluster_moves_only_the_cluster_timestamp():
    """HLS media time is the producer timestamp: the Cluster Timestamp is rewritten (8-byte
    size and value, CRC-32 dropped, unknown size kept), blocks stay relative to it."""
    blocks = [(1, 0, True, b"\x01" * 7), (1, 33, False, b"\x02" * 5)]
    crc = mkv_build.element(0xBF, b"\0\0\0\0")
    for unknown in (False, True):
        plain = mkv_build.cluster(500, blocks, unknown=unknown)
        cluster = plain[:12] + crc + plain[12:] if not unknown else plain
        if not unknown:  # a known size that counts the CRC-32
            cluster = cluster[:4] + (0x01 << 56 | len(cluster) - 12).to_bytes(8, "big") + cluster[12:]
        moved = player.rebased_cluster(cluster, 1_000_000, START_S * 1000 + 500)
        f = demux(mkv_build.header() + bytes(moved)).fragments[0]
        assert f.timestamp_ns == (START_S * 1000 + 500) * 1_000_000 and f.unknown_size == unknown
        assert [bytes(p) for p in f.payloads()] == [b"\x01" * 7, b"\x02" * 5] and crc not in bytes(moved)
        assert player.rebased_cluster(cluster, 1_000_000, 500) is cluster  # ABSOLUTE: nothing moves
    assert player.media_timestamp(12345, 100_000, 1_700_000_001_234) == 17_000_000_012_345  # 0.1 ms kept

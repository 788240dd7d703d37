# SPDX-License-Identifier: Apache-2.0
"""Real players in a real browser: hls.js, dash.js and Shaka Player (npm) in headless
Chromium play kvsmux HLS and DASH sessions, ON_DEMAND and LIVE, and the test reads what
they report.

Each test ingests generated media (conftest.py: ffmpeg testsrc, 1 s fragments) into its own
stream, asks for a session URL with boto3's kinesis-video-archived-media client, opens
tests/browser/player.html on a static server of another origin (so CORS is exercised) with
that URL, and polls ``kvsState()`` over the DevTools protocol (tests/browser/cdp.py): the
player's events (hls.js ERROR / FRAG_LOADED / LEVEL_LOADED, dash.js error / playbackStalled /
fragmentLoadingCompleted, Shaka error / buffering / segment responses), and the <video> element's currentTime, buffered ranges,
readyState, error and presented frames. Playback must advance with no error and no stall;
a screenshot of a playing frame is saved in the test's tmp_path (its path is printed) and
must not be blank. Evidence for a failure (player state, console, the playlists/manifest
as kvsmux served them) is written beside it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from tests.browser.cdp import Page
from tests.server_harness import ACCESS_KEY, SECRET_KEY, boto3_client, remote_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FPS = 30
VOD_SECONDS = 6       # conftest.media: 6 fragments of 1 s
LIVE_WATCH_SECONDS = 7  # wall time a LIVE session is watched once it plays


# --- driving the page -----------------------------------------------------------------------

def player_url(static_url: str, player: str, src: str) -> str:
    """The test page for ``src``; KVSMUX_PLAYER_DEBUG=1 turns the player's debug log on."""
    debug = "&debug=1" if os.environ.get("KVSMUX_PLAYER_DEBUG") == "1" else ""
    return f"{static_url}/player.html?player={player}&src={urllib.parse.quote(src, safe='')}{debug}"


def state(page: Page) -> dict:
    return page.evaluate("kvsState()")


def summary(s: dict) -> str:
    """The player's state in a few lines, for assertion messages."""
    keep = ("player", "version", "currentTime", "duration", "paused", "videoEnded", "readyState", "networkState",
            "error", "buffered", "frames", "quality", "loadError")
    lines = [json.dumps({k: s.get(k) for k in keep})]
    for b in s.get("sourceBuffers", []):
        lines.append("SourceBuffer: " + json.dumps(b))
    for e in s.get("errors", [])[:8]:
        lines.append("player error: " + json.dumps(e))
    for e in s.get("waiting", [])[:4]:
        lines.append("stall (<video> waiting after playing): " + json.dumps(e))
    for e in s.get("playerStalls", [])[:4]:
        lines.append("player stall: " + json.dumps(e))
    return "\n".join(lines)


def wait_for(page: Page, predicate: Callable[[dict], bool], timeout: float, what: str,
             evidence: "Evidence") -> dict:
    """Poll the page until ``predicate(state)``; a fatal player error or the timeout fails."""
    deadline = time.monotonic() + timeout
    while True:
        s = state(page)
        if predicate(s):
            return s
        if s["fatal"] or s["error"]:
            evidence.save(s)
            pytest.fail(f"{what}: the player failed\n{summary(s)}\n{evidence}", pytrace=False)
        if time.monotonic() > deadline:
            evidence.save(s)
            pytest.fail(f"{what}: not reached in {timeout} s\n{summary(s)}\n{evidence}", pytrace=False)
        time.sleep(0.25)


class Evidence:
    """What a failure report needs, in the test's directory: the player's state, the page's
    console (conftest.page) and the playlists or manifest as kvsmux served them."""

    def __init__(self, out: Path, session_url: str) -> None:
        self.out, self.session_url = out, session_url
        self.texts: list[tuple[str, str]] = []

    def fetch(self, url: str) -> str:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                text = r.read().decode("utf-8", "replace")
                self.texts.append((f"GET {url} -> {r.status} {r.headers.get('Content-Type')}", text))
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            self.texts.append((f"GET {url} -> {e.code} {e.headers.get('x-amzn-ErrorType')}", text))
            raise AssertionError(f"GET {url} -> HTTP {e.code}: {text}") from None
        (self.out / "playlists.txt").write_text("".join(f"### {h}\n{t}\n" for h, t in self.texts))
        return text

    def hls_media_playlists(self) -> dict[str, str]:
        """{uri: text} of every media playlist the master playlist names."""
        master = self.fetch(self.session_url)
        uris = [line for line in master.splitlines() if line and not line.startswith("#")]
        uris += re.findall(r'URI="([^"]+)"', master)
        return {u: self.fetch(urllib.parse.urljoin(self.session_url, u)) for u in uris}

    def save(self, s: dict) -> None:
        (self.out / "state.json").write_text(json.dumps(s, indent=1))

    def __str__(self) -> str:
        return f"evidence in {self.out} (state.json, console.txt, playlists.txt)"


def media_sequence(playlist: str) -> int:
    m = re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist, re.M)
    assert m, f"no EXT-X-MEDIA-SEQUENCE in\n{playlist}"
    return int(m.group(1))


# --- screenshots ------------------------------------------------------------------------------

def screenshot(page: Page, s: dict, path: Path) -> np.ndarray:
    """A PNG of the <video> element; its pixels (rows, columns, RGB), decoded with PyAV."""
    import av
    r = s["rect"]
    page.screenshot(path, clip={"x": r["x"], "y": r["y"], "width": r["width"], "height": r["height"]})
    print(f"screenshot: {path}")
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def assert_picture(pixels: np.ndarray, path: Path) -> None:
    """testsrc is colour bars, a gradient and a counter: a blank (black, one colour) or
    nearly empty picture is not a decoded frame."""
    spread = float(pixels.reshape(-1, 3).astype(np.float64).std(axis=0).mean())
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert spread > 20 and colours > 50, (f"the screenshot {path} looks blank: per-channel std {spread:.1f}, "
                                          f"{colours} colours")


def playing_screenshots(page: Page, out: Path, name: str, s: dict, evidence: Evidence,
                        gap: float = 1.0) -> None:
    """Two screenshots ``gap`` media seconds apart: both pictures, and not the same one."""
    first = screenshot(page, s, out / f"{name}-1.png")
    assert_picture(first, out / f"{name}-1.png")
    t = s["currentTime"]
    s2 = wait_for(page, lambda x: x["currentTime"] >= t + gap or x["videoEnded"], gap + 10,
                  "playback going on for the second screenshot", evidence)
    second = screenshot(page, s2, out / f"{name}-2.png")
    assert_picture(second, out / f"{name}-2.png")
    diff = float(np.abs(first.astype(np.int16) - second.astype(np.int16)).mean())
    assert diff > 1, f"the picture did not change between {out}/{name}-1.png and -2.png (mean |diff| {diff:.2f})"


# --- ingest ---------------------------------------------------------------------------------

def ingest(server_url: str, stream: str, mkv: Path) -> float:
    """The whole file in one PutMedia (RELATIVE timecodes from now); every fragment must be
    PERSISTED. The wall time before the upload."""
    client = remote_client(server_url)
    client.create_stream(StreamName=stream, DataRetentionInHours=24)
    t0 = time.time()
    acks = list(client.put_media(StreamName=stream, Payload=mkv.read_bytes(), FragmentTimecodeType="RELATIVE",
                                 ProducerStartTimestamp=t0))
    errors = [a for a in acks if a.get("EventType") == "ERROR"]
    assert not errors, errors
    assert sum(a.get("EventType") == "PERSISTED" for a in acks) == VOD_SECONDS, acks
    return t0


def range_selector(kind: str, t0: float, selector: str = "SERVER_TIMESTAMP") -> dict:
    """A range over the ingest (whole seconds, as boto3 sends them); SERVER_TIMESTAMP is the
    default selector."""
    end = int(max(time.time(), t0 + VOD_SECONDS)) + 2
    return {f"{kind}FragmentSelector": {"FragmentSelectorType": selector,
                                        "TimestampRange": {"StartTimestamp": int(t0) - 2, "EndTimestamp": end}}}


class LiveProducer:
    """``kvsmux put FILE --realtime`` in a subprocess: a camera sending a cluster a second."""

    def __init__(self, server_url: str, stream: str, mkv: Path, out: Path) -> None:
        exe = Path(sys.executable).with_name("kvsmux")
        cmd = [str(exe) if exe.exists() else shutil.which("kvsmux") or "kvsmux", "put", str(mkv), "--stream", stream,
               "--endpoint-url", server_url, "--realtime"]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": "us-east-1"}
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        self.log_path = out / "kvsmux-put.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env)

    def wait_fragments(self, server_url: str, stream: str, count: int, timeout: float = 20) -> None:
        archive = boto3_client("kinesis-video-archived-media", server_url)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"kvsmux put ended early:\n{self.log_path.read_text()}"
            try:
                n = len(archive.list_fragments(StreamName=stream, MaxResults=100, FragmentSelector={
                    "FragmentSelectorType": "SERVER_TIMESTAMP",
                    "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": int(time.time()) + 60}})["Fragments"])
            except archive.exceptions.ResourceNotFoundException:
                n = 0
            if n >= count:
                return
            assert time.monotonic() < deadline, f"{n} fragments after {timeout} s:\n{self.log_path.read_text()}"
            time.sleep(0.2)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.log_path.read_text(errors="replace")

    def errors(self) -> list[str]:
        return [line for line in self.log_path.read_text(errors="replace").splitlines() if '"ERROR"' in line]


# --- the checks -----------------------------------------------------------------------------

def check_vod(page: Page, out: Path, name: str, evidence: Evidence, *, seconds: float, tracks: int,
              fragments_per_track: int) -> dict:
    """Plays to the end: screenshots while playing, then no error, no stall, the whole
    duration played and buffered, every fragment loaded once per track."""
    s = wait_for(page, lambda x: x["playing"] and x["currentTime"] > 1.0, 30, "playback start", evidence)
    playing_screenshots(page, out, name, s, evidence)
    s = wait_for(page, lambda x: x["ended"], seconds + 20, "the end of the stream", evidence)
    time.sleep(0.3)
    s = state(page)
    evidence.save(s)
    problems = []
    if s["errors"]:
        problems.append(f"{len(s['errors'])} player error event(s)")
    if s["waiting"] or s["playerStalls"]:
        problems.append(f"stalls: {len(s['waiting'])} <video> waiting, {len(s['playerStalls'])} player stall events")
    if abs(s["duration"] - seconds) > 0.5:
        problems.append(f"duration {s['duration']} s, the media last {seconds} s")
    if s["endedAt"] < seconds - 0.5:
        problems.append(f"ended at currentTime {s['endedAt']} of {seconds} s")
    if len(s["buffered"]) != 1 or s["buffered"][0][0] > 0.2 or s["buffered"][0][1] < seconds - 0.5:
        problems.append(f"buffered {s['buffered']}: not one range over the {seconds} s")
    if s["frames"] < 0.6 * FPS * seconds:
        problems.append(f"only {s['frames']} frames presented of {FPS * seconds} (quality {s['quality']})")
    loaded = [f for f in s["fragments"] if not f["init"]]
    distinct = {(f["type"], f["url"]) for f in loaded}
    if len(distinct) != tracks * fragments_per_track:
        problems.append(f"{len(distinct)} media segments loaded, expected {tracks} x {fragments_per_track}")
    if len(loaded) > len(distinct):  # harmless to playback, but requests (and quota) spent twice
        again = sorted({f"{f['type']} sn {f['sn']}" for f in loaded if sum(g["url"] == f["url"] for g in loaded) > 1})
        warnings.warn(f"{name}: {s['player']} loaded {len(loaded) - len(distinct)} segment(s) twice: {again}")
    if s.get("playerWarnings"):  # e.g. hls.js filling an audio gap with silent frames
        warnings.warn(f"{name}: {s['player']} warned: {s['playerWarnings'][:6]}")
    assert not problems, "; ".join(problems) + f"\n{summary(s)}\n{evidence}"
    print(f"{name}: {s['player']} {s['version']} played to {s['endedAt']:.2f} s of {s['duration']:.2f} s, "
          f"{s['frames']} frames presented ({s['quality']}), {len(distinct)} segments ({len(loaded)} loads)")
    return s


def watch_live(page: Page, out: Path, name: str, evidence: Evidence) -> tuple[dict, dict]:
    """Once playing, LIVE_WATCH_SECONDS of wall time: currentTime must follow the wall clock,
    with no player error (fatal or not) and no stall; two screenshots, different pictures.
    The states at the start and the end of the watch."""
    first = wait_for(page, lambda x: x["playing"] and x["frames"] > 5, 30, "live playback start", evidence)
    screenshot_pixels = screenshot(page, first, out / f"{name}-1.png")
    assert_picture(screenshot_pixels, out / f"{name}-1.png")
    time.sleep(LIVE_WATCH_SECONDS)
    last = state(page)
    evidence.save(last)
    second = screenshot(page, last, out / f"{name}-2.png")
    assert_picture(second, out / f"{name}-2.png")
    advanced = last["currentTime"] - first["currentTime"]
    wall = last["now"] - first["now"]
    assert not last["fatal"] and not last["error"], f"{name}: fatal player error\n{summary(last)}\n{evidence}"
    assert not last["errors"], f"{name}: player error events\n{summary(last)}\n{evidence}"
    assert not last["waiting"] and not last["playerStalls"], f"{name}: stalled\n{summary(last)}\n{evidence}"
    assert advanced >= wall - 1.5, (f"{name}: currentTime advanced {advanced:.2f} s in {wall:.2f} s of wall time"
                                    f"\n{summary(last)}\n{evidence}")
    diff = float(np.abs(screenshot_pixels.astype(np.int16) - second.astype(np.int16)).mean())
    assert diff > 1, f"the live picture did not change in {wall:.1f} s ({out}/{name}-*.png)"
    print(f"{name}: {last['player']} {last['version']} currentTime {first['currentTime']:.2f} -> "
          f"{last['currentTime']:.2f} in {wall:.2f} s wall, {last['frames']} frames presented ({last['quality']}), "
          f"{len({f['url'] for f in last['fragments'] if not f['init']})} segments")
    return first, last


# --- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("player", ["hls", "dash"])
def test_harness_plays_reference(page, static_server, media, ffmpeg, tmp_path, player):
    """The control: the players play an fMP4 HLS / DASH rendition that ffmpeg (not kvsmux)
    made of the same A/V media, with the same checks. When this passes and a kvsmux test
    fails, the fault is kvsmux's."""
    ref = static_server.media_dir / f"reference-{player}"
    ref.mkdir(exist_ok=True)
    if player == "hls":
        out = ["-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
               "-hls_fmp4_init_filename", "init.mp4", str(ref / "index.m3u8")]
    else:
        out = ["-f", "dash", "-seg_duration", "1", str(ref / "index.mpd")]
    subprocess.run([ffmpeg, "-y", "-v", "error", "-i", str(media["av"]), "-c", "copy", *out], check=True, timeout=60)
    url = f"{static_server.url}/media/reference-{player}/{Path(out[-1]).name}"
    evidence = Evidence(tmp_path, url)
    evidence.fetch(url)
    page.navigate(player_url(static_server.url, player, url))
    check_vod(page, tmp_path, f"reference-{player}", evidence, seconds=VOD_SECONDS + 0.021,
              tracks=1 if player == "hls" else 2, fragments_per_track=VOD_SECONDS)


def play_hls_on_demand(page, static_server, kvs_server, media, out: Path, *, kind: str, container: str,
                       selector: str = "SERVER_TIMESTAMP", **options: Any) -> None:
    stream = f"hls-vod-{kind}-{container.lower()}-{selector.lower()}"
    t0 = ingest(kvs_server.url, stream, media[kind])
    archive = boto3_client("kinesis-video-archived-media", kvs_server.url)
    url = archive.get_hls_streaming_session_url(StreamName=stream, PlaybackMode="ON_DEMAND", ContainerFormat=container,
                                                **range_selector("HLS", t0, selector),
                                                **options)["HLSStreamingSessionURL"]
    evidence = Evidence(out, url)
    playlists = evidence.hls_media_playlists()
    page.navigate(player_url(static_server.url, "hls", url))
    tracks = 2 if kind == "av" and container == "FRAGMENTED_MP4" else 1  # TS segments carry both tracks
    s = check_vod(page, out, f"hls-{container}-{kind}-{selector}", evidence,
                  seconds=VOD_SECONDS + (0.021 if kind == "av" else 0), tracks=tracks, fragments_per_track=VOD_SECONDS)
    assert all("#EXT-X-ENDLIST" in p for p in playlists.values()), playlists
    assert all(lvl["live"] is False for lvl in s["levels"]), s["levels"]
    if not any("#EXT-X-DISCONTINUITY" in p for p in playlists.values()):
        # One continuous timeline: hls.js must find no gap to fill (it does with the default
        # DiscontinuityMode ALWAYS, where it re-anchors every segment: see the warnings).
        assert not [w for w in s["playerWarnings"] if "Injecting" in w], s["playerWarnings"]


@pytest.mark.parametrize("container", ["FRAGMENTED_MP4", "MPEG_TS"])
@pytest.mark.parametrize("kind", ["video", "av"])
def test_hls_js_plays_on_demand(page, static_server, kvs_server, media, tmp_path, container, kind):
    """SERVER_TIMESTAMP, the default: DiscontinuityMode ALWAYS (every segment wrapped in
    EXT-X-DISCONTINUITY)."""
    play_hls_on_demand(page, static_server, kvs_server, media, tmp_path, kind=kind, container=container)


@pytest.mark.parametrize("container", ["FRAGMENTED_MP4", "MPEG_TS"])
def test_hls_js_plays_on_demand_producer_timestamps(page, static_server, kvs_server, media, tmp_path, container):
    """PRODUCER_TIMESTAMP: DiscontinuityMode NEVER; with EXT-X-PROGRAM-DATE-TIME on every
    segment (DisplayFragmentTimestamp ALWAYS), the shape of KVS-WIRE-FACTS §6.3."""
    play_hls_on_demand(page, static_server, kvs_server, media, tmp_path, kind="av", container=container,
                       selector="PRODUCER_TIMESTAMP", DisplayFragmentTimestamp="ALWAYS")


@pytest.mark.parametrize("container", ["FRAGMENTED_MP4", "MPEG_TS"])
@pytest.mark.parametrize("kind", ["video", "av"])
def test_hls_js_plays_live(page, static_server, kvs_server, media, tmp_path, container, kind):
    stream = f"hls-live-{kind}-{container.lower()}"
    producer = LiveProducer(kvs_server.url, stream, media[f"live_{kind}"], tmp_path)
    try:
        producer.wait_fragments(kvs_server.url, stream, 3)
        archive = boto3_client("kinesis-video-archived-media", kvs_server.url)
        url = archive.get_hls_streaming_session_url(StreamName=stream, PlaybackMode="LIVE",
                                                    ContainerFormat=container)["HLSStreamingSessionURL"]
        evidence = Evidence(tmp_path, url)
        before = evidence.hls_media_playlists()
        page.navigate(player_url(static_server.url, "hls", url))
        first, last = watch_live(page, tmp_path, f"hls-live-{container}-{kind}", evidence)
        after = evidence.hls_media_playlists()
    finally:
        log = producer.stop()
    assert not producer.errors(), log
    for uri in before:
        assert media_sequence(after[uri]) > media_sequence(before[uri]), (uri, before[uri], after[uri])
        assert "#EXT-X-ENDLIST" not in after[uri], after[uri]
    loaded = [lvl for lvl in last["levels"] if lvl["kind"] == "LEVEL_LOADED"]
    assert loaded and all(lvl["live"] for lvl in loaded), loaded
    assert loaded[-1]["startSN"] > loaded[0]["startSN"], f"hls.js saw no MEDIA-SEQUENCE advance: {loaded}"
    assert len({f["sn"] for f in last["fragments"] if f["type"] == "main"}) >= LIVE_WATCH_SECONDS - 1, last["fragments"]


@pytest.mark.parametrize("kind,selector", [("video", "SERVER_TIMESTAMP"), ("av", "SERVER_TIMESTAMP"),
                                           ("av", "PRODUCER_TIMESTAMP")])
def test_dash_js_plays_on_demand(page, static_server, kvs_server, media, tmp_path, kind, selector):
    """The PRODUCER_TIMESTAMP case also asks for kvs:fn and kvs:ts on every S element
    (DisplayFragmentNumber / DisplayFragmentTimestamp ALWAYS), which the player must ignore."""
    stream = f"dash-vod-{kind}-{selector.lower()}"
    t0 = ingest(kvs_server.url, stream, media[kind])
    archive = boto3_client("kinesis-video-archived-media", kvs_server.url)
    options = {"DisplayFragmentNumber": "ALWAYS", "DisplayFragmentTimestamp": "ALWAYS"} \
        if selector == "PRODUCER_TIMESTAMP" else {}
    url = archive.get_dash_streaming_session_url(StreamName=stream, PlaybackMode="ON_DEMAND", **options,
                                                 **range_selector("DASH", t0, selector))["DASHStreamingSessionURL"]
    evidence = Evidence(tmp_path, url)
    mpd = evidence.fetch(url)
    assert 'type="static"' in mpd, mpd
    if options:
        assert "kvs:fn=" in mpd and "kvs:ts=" in mpd, mpd
    page.navigate(player_url(static_server.url, "dash", url))
    check_vod(page, tmp_path, f"dash-{kind}-{selector}", evidence, seconds=VOD_SECONDS + (0.021 if kind == "av" else 0),
              tracks=2 if kind == "av" else 1, fragments_per_track=VOD_SECONDS)


@pytest.mark.parametrize("kind", ["video", "av"])
def test_dash_js_plays_live(page, static_server, kvs_server, media, tmp_path, kind):
    stream = f"dash-live-{kind}"
    producer = LiveProducer(kvs_server.url, stream, media[f"live_{kind}"], tmp_path)
    try:
        producer.wait_fragments(kvs_server.url, stream, 3)
        archive = boto3_client("kinesis-video-archived-media", kvs_server.url)
        url = archive.get_dash_streaming_session_url(StreamName=stream, PlaybackMode="LIVE")["DASHStreamingSessionURL"]
        evidence = Evidence(tmp_path, url)
        mpd = evidence.fetch(url)
        page.navigate(player_url(static_server.url, "dash", url))
        first, last = watch_live(page, tmp_path, f"dash-live-{kind}", evidence)
        evidence.fetch(url)
    finally:
        log = producer.stop()
    assert not producer.errors(), log
    assert 'type="dynamic"' in mpd, mpd
    reloads = [m for m in last["levels"] if "type" in m]
    assert len(reloads) >= 2, f"dash.js did not reload the manifest: {last['levels']}"
    media_segments = {f["url"] for f in last["fragments"] if not f["init"] and f["type"] == "video"}
    assert len(media_segments) >= LIVE_WATCH_SECONDS - 1, last["fragments"]


# --- Shaka Player: the same sessions through a third, independent player ---------------------

def session_url(server_url: str, protocol: str, stream: str, mode: str, **options: Any) -> str:
    archive = boto3_client("kinesis-video-archived-media", server_url)
    if protocol == "HLS":
        return archive.get_hls_streaming_session_url(StreamName=stream, PlaybackMode=mode,
                                                     **options)["HLSStreamingSessionURL"]
    options.pop("ContainerFormat", None)
    return archive.get_dash_streaming_session_url(StreamName=stream, PlaybackMode=mode,
                                                  **options)["DASHStreamingSessionURL"]


def shaka_loaded(s: dict) -> dict:
    loaded = [e for e in s["events"] if e["kind"] == "shaka.loaded"]
    assert loaded, f"Shaka never finished loading the session\n{summary(s)}"
    return loaded[0]


@pytest.mark.parametrize("protocol,container", [("HLS", "FRAGMENTED_MP4"), ("HLS", "MPEG_TS"),
                                                ("DASH", "FRAGMENTED_MP4")])
def test_shaka_plays_on_demand(page, static_server, kvs_server, media, tmp_path, protocol, container):
    stream = f"shaka-vod-{protocol.lower()}-{container.lower()}"
    t0 = ingest(kvs_server.url, stream, media["av"])
    url = session_url(kvs_server.url, protocol, stream, "ON_DEMAND", ContainerFormat=container,
                      **range_selector(protocol, t0))
    evidence = Evidence(tmp_path, url)
    evidence.fetch(url)
    page.navigate(player_url(static_server.url, "shaka", url))
    tracks = 1 if container == "MPEG_TS" else 2  # TS segments carry both tracks
    s = check_vod(page, tmp_path, f"shaka-{protocol}-{container}", evidence, seconds=VOD_SECONDS + 0.021,
                  tracks=tracks, fragments_per_track=VOD_SECONDS)
    loaded = shaka_loaded(s)
    assert loaded["live"] is False, loaded
    assert [[c.strip() for c in v["codecs"].split(",")] for v in loaded["variants"]] == \
        [["avc1.64000d", "mp4a.40.2"]], loaded


@pytest.mark.parametrize("protocol", ["HLS", "DASH"])
def test_shaka_plays_live(page, static_server, kvs_server, media, tmp_path, protocol):
    stream = f"shaka-live-{protocol.lower()}"
    producer = LiveProducer(kvs_server.url, stream, media["live_av"], tmp_path)
    try:
        producer.wait_fragments(kvs_server.url, stream, 3)
        url = session_url(kvs_server.url, protocol, stream, "LIVE")
        evidence = Evidence(tmp_path, url)
        evidence.fetch(url)
        page.navigate(player_url(static_server.url, "shaka", url))
        first, last = watch_live(page, tmp_path, f"shaka-live-{protocol}", evidence)
    finally:
        log = producer.stop()
    assert not producer.errors(), log
    assert shaka_loaded(last)["live"] is True
    media_segments = {f["url"] for f in last["fragments"] if not f["init"] and f["type"] == "video"}
    assert len(media_segments) >= LIVE_WATCH_SECONDS - 1, last["fragments"]

# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the browser tests: headless Chromium (tests/browser/cdp.py), the player
libraries from npm (tests/browser/node_modules, `npm ci --prefix tests/browser`), a static
HTTP server for player.html and them, the test media (made with ffmpeg) and a kvsmux server.

Missing tools fail the tests when CI is set (``.ci/run`` installs them) and skip them,
loudly, elsewhere.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tests.browser import cdp
from tests.browser.cdp import Browser, find_chromium
from tests.server_harness import serving

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
PLAYER_FILES = {"hls.js": NODE_MODULES / "hls.js" / "dist" / "hls.min.js",
                "dashjs": NODE_MODULES / "dashjs" / "dist" / "modern" / "umd" / "dash.all.min.js",
                "shaka-player": NODE_MODULES / "shaka-player" / "dist" / "shaka-player.compiled.js"}
SETUP = ("apt-get install -y chromium ffmpeg && npm ci --prefix tests/browser (.ci/run does both)")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing(what: str) -> None:
    """A tool the browser tests need is absent: a failure in CI, a loud skip elsewhere."""
    message = f"NOT VERIFIED: missing {what}, so the browser playback tests cannot run ({SETUP})"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    if cdp.websocket is None:
        missing("the Python package websocket-client (pip install '.[test]')")
    path = find_chromium()
    if path is None:
        missing("Chromium (`chromium` on PATH, or $CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def player_files() -> dict[str, Path]:
    absent = [f"{name} ({path.relative_to(HERE.parents[1])})" for name, path in PLAYER_FILES.items()
              if not path.is_file()]
    if absent:
        missing("the npm packages " + ", ".join(absent))
    return PLAYER_FILES


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        missing("ffmpeg")
    return path


class _Handler(http.server.SimpleHTTPRequestHandler):
    """tests/browser as the site root and /media/... from the reference media directory.
    CORS is open (the reference media stand in for a kvsmux server on another origin)."""

    media_dir: Path | None = None

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/media/") and self.media_dir is not None:
            return str(self.media_dir / clean[len("/media/"):].lstrip("/"))
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args) -> None:  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # the browser hung up: fine
            super().handle_error(request, client_address)


class StaticServer:
    def __init__(self, media_dir: Path) -> None:
        handler = type("Handler", (_Handler,), {"media_dir": media_dir})
        self.httpd = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(HERE)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.media_dir = media_dir
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="browser-static", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def static_server(player_files, tmp_path_factory) -> Iterator[StaticServer]:
    server = StaticServer(tmp_path_factory.mktemp("static-media"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser(chromium, tmp_path_factory) -> Iterator[Browser]:
    b = Browser.launch(tmp_path_factory.mktemp("chromium"), chromium)
    print(f"\n{b.version['product']} ({chromium}); stderr in {b.log_path}")
    yield b
    b.close()


@pytest.fixture
def page(browser, tmp_path):
    """A new tab; its console is written to tmp_path/console.txt afterwards."""
    p = browser.new_page()
    yield p
    (tmp_path / "console.txt").write_text("\n".join(p.console) + "\n")
    p.close()


# --- media ------------------------------------------------------------------------------------

#: The commands that make the test media: 320x240 testsrc (moving, colourful: a blank or
#: frozen picture is easy to tell apart) at 30 fps, H.264 yuv420p (MSE plays High 4:2:0, not
#: the 4:4:4 libx264 picks for an RGB source) with a keyframe every second and no B-frames, so
#: that each Matroska Cluster (= KVS fragment) is one second starting on a keyframe. With
#: video alone, -dash 1 cuts a Cluster at each keyframe; with audio, ffmpeg's own rule (a new
#: Cluster at a video keyframe once the Cluster exceeds 4 KiB) gives the same cut.
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "30", "-bf", "0",
        "-x264-params", "scenecut=0"]


def media_commands(seconds: int, out: Path) -> dict[str, list[str]]:
    video_in = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"]
    audio_in = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    common = ["ffmpeg", "-y", "-v", "error", "-fflags", "+bitexact"]
    return {
        "video": [*common, *video_in, "-t", str(seconds), *X264, "-dash", "1", "-f", "matroska",
                  str(out / f"h264_{seconds}s.mkv")],
        "av": [*common, *video_in, *audio_in, "-t", str(seconds), "-map", "0:v", "-map", "1:a", *X264,
               "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-f", "matroska", str(out / f"h264_aac_{seconds}s.mkv")],
    }


@pytest.fixture(scope="session")
def media(ffmpeg, tmp_path_factory) -> dict[str, Path]:
    """{"video", "av"}: 6 s of 1 s fragments (ON_DEMAND); "live_video", "live_av": 30 s (a
    LIVE ingest in real time, which the tests stop once they have watched enough)."""
    out = tmp_path_factory.mktemp("browser-media")
    files = {}
    for key, (seconds, kind) in {"video": (6, "video"), "av": (6, "av"), "live_video": (30, "video"),
                                    "live_av": (30, "av")}.items():
        cmd = media_commands(seconds, out)[kind]
        subprocess.run(cmd, check=True, timeout=120)
        files[key] = Path(cmd[-1])
    return files


@pytest.fixture(scope="session")
def kvs_server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("browser-kvs") / "data") as server:
        yield server

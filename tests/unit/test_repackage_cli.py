# SPDX-License-Identifier: Apache-2.0
"""`kvsmux repackage`: the output layout, playlists ffmpeg can read, and per-file errors."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.crosscheck import tools

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "valid" / "h264_aac.mkv"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kvsmux.cli", "repackage", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("container", ["fmp4", "ts", "mp4"])
def test_layout_and_playback(tmp_path, container):
    second = tmp_path / "second.mkv"
    second.write_bytes(FIXTURE.read_bytes())
    out = run(str(FIXTURE), str(second), "--to", container, "--out", str(tmp_path / "out"), "--jobs", "2", "--quiet")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 of 2 file(s)" in out.stdout and "MB/s" in out.stdout
    for stem in ("h264_aac", "second"):
        if container == "mp4":
            media = tmp_path / "out" / f"{stem}.mp4"
            assert media.is_file()
        else:
            media = tmp_path / "out" / stem / "index.m3u8"
            text = media.read_text()
            assert text.startswith("#EXTM3U") and text.rstrip().endswith("#EXT-X-ENDLIST")
            ext = "m4s" if container == "fmp4" else "ts"
            listed = [line for line in text.splitlines() if line.endswith(f".{ext}")]
            assert listed and all((media.parent / name).is_file() for name in listed)
            assert ('#EXT-X-MAP:URI="init.mp4"' in text) == (container == "fmp4")
        tools.require_tool("ffprobe")
        packets = tools.ffprobe_packets(media)
        assert sum(len(p) for p in packets.values()) == 60 + 95, packets.stderr  # every frame of both tracks


def test_a_bad_file_fails_alone(tmp_path):
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(b"not matroska at all")
    out = run(str(FIXTURE), str(bad), "--to", "mp4", "--out", str(tmp_path / "out"), "--quiet")
    assert out.returncode == 1
    assert "FAILED" in out.stdout and "1 of 2 file(s)" in out.stdout
    assert (tmp_path / "out" / "h264_aac.mp4").is_file()


def test_missing_input_is_a_usage_error(tmp_path):
    out = run(str(tmp_path / "nope.mkv"), "--to", "ts", "--out", str(tmp_path))
    assert out.returncode == 2 and "nope.mkv" in out.stderr

# SPDX-License-Identifier: Apache-2.0
"""`kvsmux probe`: the table, the JSON contract, and exit codes on malformed input."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import require_shared_media
from tests.media.synth import live_stream, simple_cluster, tags


def run_probe(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kvsmux.cli", "probe", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def stream_file(tmp_path):
    data = live_stream([simple_cluster(0, [(1, 0, True, b"a" * 10), (2, 0, True, b"b" * 4)]), tags("k", "v"),
                        simple_cluster(2000, [(1, 0, True, b"c" * 8)])])
    path = tmp_path / "stream.mkv"
    path.write_bytes(data)
    return path


def test_json_contract(stream_file):
    out = run_probe("--json", str(stream_file))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) >= {"tracks", "fragments", "error"}
    assert doc["error"] is None
    assert [t["number"] for t in doc["tracks"]] == [1, 2]
    assert {"number", "codec_id", "codec_private_size"} <= set(doc["tracks"][0])
    f0, f1 = doc["fragments"]
    assert {"timestamp_ns", "byte_range", "tags", "frames"} <= set(f0)
    assert f0["timestamp_ns"] == 0 and f1["timestamp_ns"] == 2_000_000_000
    assert [(fr["track"], fr["pts_ns"], fr["key"], fr["size"]) for fr in f0["frames"]] == [(1, 0, True, 10), (2, 0, True, 4)]
    assert f0["tags"] == [{"name": "k", "string": "v", "binary": None, "position": "after"}]
    data = stream_file.read_bytes()
    start, size = f1["byte_range"]
    assert data[start:start + 4] == bytes.fromhex("1F43B675") and start + size == len(data)


def test_table_lists_tracks_and_fragments(stream_file):
    out = run_probe(str(stream_file))
    assert out.returncode == 0
    assert "V_TEST" in out.stdout and "k=v" in out.stdout
    assert "2.000" in out.stdout  # the second fragment's timestamp in seconds


def test_malformed_file_prints_what_was_read_and_fails(stream_file, tmp_path):
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(stream_file.read_bytes()[:-3])
    out = run_probe("--json", str(cut))
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["error"]["code"] == "truncated"
    assert doc["error"]["path"].startswith("Segment/Cluster[1]")
    assert len(doc["fragments"]) == 2 and doc["fragments"][1]["truncated"] and doc["fragments"][1]["frames"] == []


def test_missing_file_is_a_usage_error(tmp_path):
    out = run_probe(str(tmp_path / "nope.mkv"))
    assert out.returncode == 2 and "nope.mkv" in out.stderr


def test_hostile_lacing_answers_at_once():
    # mkvinfo spins forever on this file; kvsmux must answer (the timeout only guards a hang).
    path = require_shared_media() / "libwebm-testdata" / "invalid" / "fixed_lacing_bad_lace_size.mkv"
    out = run_probe("--json", str(path), timeout=30)
    assert out.returncode == 1
    assert json.loads(out.stdout)["error"]["code"] == "bad_lacing"


def test_pure_backend_prints_the_same(stream_file):
    assert run_probe("--json", str(stream_file)).stdout == run_probe("--json", "--backend", "pure", str(stream_file)).stdout

# SPDX-License-Identifier: Apache-2.0
"""Crash safety: a producer process is killed with SIGKILL at random moments during
ingest, over and over, into one data directory. After each kill the reopened store must
hold every fragment acknowledged PERSISTED, complete and byte for byte, and nothing
half-written; fragment numbers keep growing across the crashes."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from kvsmux.media import demux
from kvsmux.store import Store
from tests.conftest import REPO, require_shared_media

KILLS = 14


def run_child(data_dir, stream, path, kill_after: float | None) -> tuple[list[tuple[str, str, int]], float]:
    """Runs a producer; kills it ``kill_after`` seconds after it is ready (None: let it
    finish). Returns the acks it printed before dying and the seconds it ran once ready."""
    child = subprocess.Popen([sys.executable, "-m", "tests.store.writer_child", str(data_dir), stream, str(path),
                              "16384"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    ready = time.monotonic()
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=120)
    ran = time.monotonic() - ready
    if kill_after is None:
        assert child.returncode == 0
    acks = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            acks.append((fields[0], fields[1], int(fields[2]) if fields[2] != "-" else -1))
    return acks, ran


def test_sigkill_during_ingest_loses_no_persisted_fragment(tmp_path):
    source = require_shared_media() / "kvs-producer-sdk-cpp/test-stream-1_0.mkv"
    original = demux(source.read_bytes())
    clusters = {f.timestamp_ticks: bytes(f.bytes) for f in original.fragments}
    data_dir = tmp_path / "data"
    acks, full_run = run_child(data_dir, "cam", source, None)
    acked = [(n, tc) for kind, n, tc in acks if kind == "PERSISTED"]
    assert len(acked) == len(original.fragments)
    rng = random.Random(20261121)
    kills_mid_ingest = 0
    for _ in range(KILLS):
        acks, _ = run_child(data_dir, "cam", source, rng.uniform(0.0, full_run))
        persisted = [(n, tc) for kind, n, tc in acks if kind == "PERSISTED"]
        kills_mid_ingest += 0 < len(persisted) < len(original.fragments)
        acked += persisted
        store = Store(data_dir)  # reopen after the crash, like a restarted server
        try:
            stream = store.resource("stream", name="cam")
            stored = store.fragments(stream.id)
            by_number = {f.number: f for f in stored}
            for number, timecode in acked:
                assert number in by_number, f"PERSISTED fragment {number} is gone after SIGKILL"
                assert by_number[number].timecode == timecode
            for f in stored:  # everything visible is complete, never half-written
                header, cluster, after = store.read(f)
                assert bytes(cluster) == clusters[f.timecode]
                assert header.startswith(b"\x1a\x45\xdf\xa3")
                assert len(f.frames) and int(f.frames["offset"].max()) < len(cluster)
            numbers = [int(f.number) for f in stored]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        finally:
            store.close()
    # The kills must really have landed during ingest, or the test proves nothing.
    assert kills_mid_ingest >= KILLS // 3, f"only {kills_mid_ingest} kills hit an ingest in progress"

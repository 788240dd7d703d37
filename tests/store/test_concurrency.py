# SPDX-License-Identifier: Apache-2.0
"""One data directory, many users at once: producers in several processes and threads
(one writer per stream), readers listing and reading all the while. Nothing may be
corrupted, lost or half-visible."""
from __future__ import annotations

import subprocess
import sys
import threading

import kvsmux
from kvsmux.api.context import Config
from kvsmux.media import demux
from tests.conftest import DATA, REPO

FIXTURES = ["h264_aac.mkv", "h264_aac_gst_unknown_clusters.mkv", "h265_aac.mkv", "h264_bframes_time_clusters.mkv"]


def clusters_of(name: str) -> dict[int, bytes]:
    return {f.timestamp_ticks: bytes(f.bytes) for f in demux((DATA / "valid" / name).read_bytes()).fragments}


def check_stream(client, stream: str, expected: dict[int, bytes], sessions: int) -> None:
    store = client.kvs.store
    rows = store.fragments(store.resource("stream", name=stream).id)
    assert len(rows) == len(expected) * sessions
    for row in rows:
        _, cluster, _ = store.read(row)
        assert bytes(cluster) == expected[row.timecode]


def reader_loop(client, streams, stop: threading.Event, errors: list) -> None:
    """Lists and reads every visible fragment until told to stop; every one must be whole."""
    try:
        while not stop.is_set():
            for stream in streams:
                try:
                    fragments = client.list_fragments(StreamName=stream, FragmentSelector={
                        "FragmentSelectorType": "SERVER_TIMESTAMP",
                        "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 4_000_000_000}})["Fragments"]
                except client.exceptions.ResourceNotFoundException:
                    continue
                if fragments:
                    payload = client.get_media_for_fragment_list(
                        StreamName=stream, Fragments=[f["FragmentNumber"] for f in fragments[:5]])["Payload"].read()
                    result = demux(payload)
                    assert result.error is None and len(result.fragments) == min(5, len(fragments))
    except Exception as e:  # reported by the test thread
        errors.append(e)


def test_producer_processes_and_reader_share_a_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    reader = kvsmux.Client(data_dir, config=Config(limits=False))
    streams = [f"proc{i}" for i in range(len(FIXTURES))]
    children = [subprocess.Popen([sys.executable, "-m", "tests.store.writer_child", str(data_dir), stream,
                                  str(DATA / "valid" / name), "997"], cwd=REPO, stdout=subprocess.PIPE, text=True)
                for stream, name in zip(streams, FIXTURES)]
    stop, errors = threading.Event(), []
    thread = threading.Thread(target=reader_loop, args=(reader, streams, stop, errors))
    thread.start()
    outputs = [child.communicate(timeout=120)[0] for child in children]
    stop.set()
    thread.join()
    assert not errors, errors
    for child, out in zip(children, outputs):
        assert child.returncode == 0 and out.rstrip().endswith("done"), out
        assert "ERROR" not in out
    for stream, name in zip(streams, FIXTURES):
        check_stream(reader, stream, clusters_of(name), 1)
    reader.close()


def test_producer_threads_and_reader_threads_in_one_process(tmp_path):
    client = kvsmux.Client(tmp_path / "data", config=Config(limits=False))
    streams = [f"thread{i}" for i in range(len(FIXTURES))]
    for stream in streams:
        client.create_stream(StreamName=stream, DataRetentionInHours=24)

    stop, errors = threading.Event(), []

    def produce(stream: str, name: str) -> None:
        data = (DATA / "valid" / name).read_bytes()
        try:
            for _ in range(3):  # three sessions one after the other
                chunks = (data[i:i + 1500] for i in range(0, len(data), 1500))
                acks = list(client.put_media(StreamName=stream, Payload=chunks))
                assert [a["EventType"] for a in acks].count("PERSISTED") == len(clusters_of(name)), acks
        except Exception as e:
            errors.append(e)

    readers = [threading.Thread(target=reader_loop, args=(client, streams, stop, errors)) for _ in range(2)]
    producers = [threading.Thread(target=produce, args=args) for args in zip(streams, FIXTURES)]
    for t in readers + producers:
        t.start()
    for t in producers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors
    for stream, name in zip(streams, FIXTURES):
        check_stream(client, stream, clusters_of(name), 3)
    client.close()

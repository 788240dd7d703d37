# SPDX-License-Identifier: Apache-2.0
"""The store's own rules: retention reclaims files, the retention-0 buffer is bounded in
age and size, one writer per stream, and sequence numbers never go back."""
from __future__ import annotations

import numpy as np

from kvsmux.media.model import FRAME_DTYPE
from kvsmux.store import LiveBuffer, Store, StoredFragment
from kvsmux.store.live import LiveFragment
from kvsmux.store import store as store_module


def add_stream(store: Store, name: str = "cam"):
    return store.insert_resource("stream", name, f"arn:aws:kinesisvideo:us-east-1:1:stream/{name}/1", "v1", "ACTIVE",
                                 1, {"DataRetentionInHours": 1}, {})


def append(writer, seq: int, server_ms: int, size: int = 1000):
    frames = np.zeros(1, dtype=FRAME_DTYPE)
    return writer.append(seq=seq, number=str(10**40 + seq), header=b"\x1a\x45\xdf\xa3header", cluster=b"c" * size,
                         after=b"", server_ms=server_ms, producer_ms=server_ms, duration_ms=0, timecode=seq,
                         frames=frames)


def test_expiry_deletes_rows_and_reclaims_files(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "FILE_ROTATE_BYTES", 3000)  # a new file every 3 fragments
    store = Store(tmp_path)
    stream = add_stream(store)
    with store.writer(stream.id) as writer:
        for seq in range(12):
            append(writer, writer.next_seq(), server_ms=1000 * seq)
    files = sorted((tmp_path / "fragments" / str(stream.id)).glob("*.kvsf"))
    assert len(files) == 4
    assert store.expire(stream.id, cutoff_server_ms=6500) == 7
    assert [f.seq for f in store.fragments(stream.id)] == list(range(7, 12))
    left = sorted((tmp_path / "fragments" / str(stream.id)).glob("*.kvsf"))
    assert len(left) == 2  # the files holding seq 0-5 are gone; 6-8 still holds 7 and 8
    for f in store.fragments(stream.id):
        assert bytes(store.read(f)[1]) == b"c" * 1000
    store.close()


def test_a_writer_reclaims_while_it_writes_but_keeps_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "FILE_ROTATE_BYTES", 3000)
    store = Store(tmp_path)
    stream = add_stream(store)
    with store.writer(stream.id) as writer:
        for seq in range(4):
            append(writer, writer.next_seq(), server_ms=seq)
        assert writer.expire(10**6) == 4  # everything, including what sits in the current file
        append(writer, writer.next_seq(), server_ms=10**7)
        assert [f.seq for f in store.fragments(stream.id)] == [4]
        assert bytes(store.read(store.fragments(stream.id)[0])[1]) == b"c" * 1000
    store.close()


def test_one_writer_per_stream_and_sequences_survive_reopening(tmp_path):
    store = Store(tmp_path)
    stream = add_stream(store)
    writer = store.writer(stream.id)
    assert store.writer(stream.id) is None
    other = Store(tmp_path)  # another opener of the directory (as another process would be)
    assert other.writer(stream.id) is None
    for _ in range(3):
        append(writer, writer.next_seq(), server_ms=1)
    writer.close()
    store.expire(stream.id, 10)  # all gone: the sequence must not restart
    with other.writer(stream.id) as again:
        assert again.next_seq() == 3
    store.close()
    other.close()


def test_live_buffer_is_bounded_in_age_and_bytes():
    buffer = LiveBuffer(max_seconds=300, max_bytes=10_000)

    def item(seq: int, server_ms: int, size: int) -> LiveFragment:
        f = StoredFragment(1, seq, str(seq), server_ms, server_ms, 0, 0, -1, -1, 0, size, 0,
                           np.zeros(0, dtype=FRAME_DTYPE))
        return LiveFragment(f, b"", b"x" * size, b"")

    for seq in range(8):
        buffer.add(item(seq, seq * 1000, 2000), now_ms=seq * 1000)
    assert [i.fragment.seq for i in buffer.fragments(1, now_ms=7000)] == [3, 4, 5, 6, 7]  # 10 kB
    assert [i.fragment.seq for i in buffer.fragments(1, now_ms=305_500)] == [6, 7]  # 5 minutes
    buffer.drop(1)
    assert buffer.fragments(1, now_ms=0) == []

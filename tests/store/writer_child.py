# SPDX-License-Identifier: Apache-2.0
"""A PutMedia producer in its own process, for the crash and concurrency tests:
``python -m tests.store.writer_child DATA_DIR STREAM FILE [CHUNK_BYTES]``.

Prints ``ready`` once the store is open, then one line per ack
(``PERSISTED <number> <timecode>``), flushed at once, so the parent knows exactly what
was acknowledged before it kills this process."""
from __future__ import annotations

import sys


def main() -> None:
    import kvsmux
    from kvsmux.api.context import Config

    data_dir, stream, path = sys.argv[1:4]
    chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 65536
    client = kvsmux.Client(data_dir, config=Config(limits=False))
    try:
        client.create_stream(StreamName=stream, DataRetentionInHours=24)
    except client.exceptions.ResourceInUseException:
        pass
    data = open(path, "rb").read()
    print("ready", flush=True)
    chunks = (data[i:i + chunk] for i in range(0, len(data), chunk))
    for ack in client.put_media(StreamName=stream, Payload=chunks, FragmentTimecodeType="ABSOLUTE"):
        print(ack["EventType"], ack.get("FragmentNumber", "-"), ack.get("FragmentTimecode", "-"), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()

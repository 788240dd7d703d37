# SPDX-License-Identifier: Apache-2.0
"""The archive: streams, channels, tags and fragments, durable in a data directory.

Embedded default: a SQLite index (WAL, synchronous=FULL) beside append-only fragment
files (:mod:`kvsmux.store.files`). ``Store(None)`` keeps the same structures in memory.

A fragment becomes visible in one step, when its index row commits; its bytes were
fsynced before. So after a crash at any moment a reopened store shows every fragment that
was committed (acknowledged PERSISTED) and nothing half-written. Any number of threads and
processes may open one directory; each stream has at most one writer at a time (a file
lock), and everyone else reads.
"""
from kvsmux.store.store import Resource, Store, StoredFragment, StreamGone, FragmentWriter
from kvsmux.store.live import LiveBuffer

__all__ = ["Resource", "Store", "StoredFragment", "StreamGone", "FragmentWriter", "LiveBuffer"]

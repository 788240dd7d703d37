# SPDX-License-Identifier: Apache-2.0
"""GetMedia / GetMediaForFragmentList chunks (KVS-WIRE-FACTS §5.2), from stored bytes."""
from __future__ import annotations

from typing import Any, Sequence

from kvsmux.media.package import PureOutput


def getmedia_chunk(header: Any, cluster: Any, tags_after: Sequence[Any] = (), *, fragment_number: str,
                   server_timestamp_ms: int, producer_timestamp_ms: int, millis_behind_now: int | None = None,
                   continuation_token: str | None = None, backend: str = "native") -> Any:
    """One chunk: the producer's ``header`` bytes (EBML header to the first Cluster, without
    KVS's own Tags) with the Segment size made unknown, the fragment-number and timestamp
    Tags, the ``cluster`` verbatim, the producer Tags that followed it, and, for GetMedia
    (not GetMediaForFragmentList), the MILLIS_BEHIND_NOW / CONTINUATION_TOKEN Tags.
    Returns a read-only buffer; the native one also has ``parts()`` (no copy)."""
    args = (header, cluster, list(tags_after), fragment_number, server_timestamp_ms, producer_timestamp_ms,
            millis_behind_now, continuation_token)
    if backend == "native":
        from kvsmux.media import _native
        return _native.getmedia_chunk(*args)
    if backend == "pure":
        from kvsmux.media.pure.getmedia_chunk import write_getmedia_chunk
        return PureOutput(write_getmedia_chunk(*args))
    raise ValueError(f"backend must be 'native' or 'pure', not {backend!r}")

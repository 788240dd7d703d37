# SPDX-License-Identifier: Apache-2.0
"""Archived media: ListFragments and GetMediaForFragmentList (KVS API:
kinesis-video-archived-media).

Both read only the archive: a retention-0 stream has no fragments here (its in-memory
buffer is for GetMedia), and fragments older than the retention period never appear,
whether or not they have been deleted yet.

Gaps:
- ListFragments returns fragments in sequence order; KVS promises no order at all.
- ListFragments is strictly consistent: a fragment is listed as soon as it is persisted.
- GetMediaForFragmentList skips a fragment that retention removes after the request was
  accepted; KVS would send an error chunk (AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE).
- GetMediaForFragmentList is not paced to 25 MB/s.
"""
from __future__ import annotations

from typing import Any

from kvsmux.api.context import to_datetime, to_ms
from kvsmux.api.errors import KvsError
from kvsmux.api.reader import (CONTENT_TYPE, LeasedPayload, available_by_number, fragment_chunk,
                               fragment_not_found)
from kvsmux.api.registry import operation
from kvsmux.api.streams import find_stream, retention_cutoff_ms
from kvsmux.store import StoredFragment

SERVICE = "kinesis-video-archived-media"
#: ListFragments without MaxResults. The model documents no default (only 1..1000;
#: KVS-WIRE-FACTS §3.1 "default UNCONFIRMED"): the whole page the model allows.
DEFAULT_MAX_RESULTS = 1000

_SELECTOR_COLUMN = {"SERVER_TIMESTAMP": "server", "PRODUCER_TIMESTAMP": "producer"}


def fragment_info(f: StoredFragment) -> dict:
    """The Fragment shape."""
    return {"FragmentNumber": f.number, "FragmentSizeInBytes": f.size, "ProducerTimestamp": to_datetime(f.producer_ms),
            "ServerTimestamp": to_datetime(f.server_ms), "FragmentLengthInMilliseconds": f.duration_ms}


def _selector(p: dict) -> list | None:
    """The FragmentSelector as [type, start ms, end ms]; None when absent."""
    s = p.get("FragmentSelector")
    if s is None:
        return None
    r = s["TimestampRange"]
    start, end = to_ms(r["StartTimestamp"]), to_ms(r["EndTimestamp"])
    if end < start:
        raise KvsError("InvalidArgumentException", "The EndTimestamp must not be earlier than the StartTimestamp.",
                       service=SERVICE)
    return [s["FragmentSelectorType"], start, end]


@operation(SERVICE, "ListFragments")
def list_fragments(kvs: Any, p: dict) -> dict:
    """KVS API: ListFragments. Fragments whose start timestamp (server or producer, per
    the selector) lies in [StartTimestamp, EndTimestamp], both inclusive. The NextToken
    holds the selector and the sequence of the last fragment returned, so a follow-up
    request may give the token alone; one that also gives a different selector is refused."""
    selector = _selector(p)
    if selector is None and p.get("NextToken") is None:
        raise KvsError("InvalidArgumentException", "FragmentSelector is required when NextToken is not given.",
                       service=SERVICE)
    stream = find_stream(kvs, p, SERVICE)
    after_seq = None
    # The token is bound to the request without its selector, which the token carries itself.
    binding = {k: v for k, v in p.items() if k != "FragmentSelector"}
    if p.get("NextToken") is not None:
        position = kvs.tokens.decode("ListFragments", binding, p["NextToken"], SERVICE)
        if not (isinstance(position, dict) and position.get("stream") == stream.id):
            raise KvsError("InvalidArgumentException", "The NextToken was issued for another stream.", service=SERVICE)
        if selector is not None and selector != position["selector"]:
            raise KvsError("InvalidArgumentException",
                           "The NextToken was issued for a different FragmentSelector.", service=SERVICE)
        selector, after_seq = position["selector"], position["after_seq"]
    max_results = p.get("MaxResults", DEFAULT_MAX_RESULTS)
    kvs.limits.fragment_points("metadata", stream.name, max_results, SERVICE)
    cutoff = retention_cutoff_ms(kvs, stream)
    if cutoff is None:
        return {"Fragments": []}  # retention 0: nothing is archived
    kind, start, end = selector
    found = kvs.store.fragments(stream.id, selector=_SELECTOR_COLUMN[kind], start_ms=start, end_ms=end,
                                min_server_ms=cutoff, after_seq=after_seq, limit=max_results + 1)
    page = found[:max_results]
    result: dict = {"Fragments": [fragment_info(f) for f in page]}
    if len(found) > max_results:
        position = {"stream": stream.id, "selector": selector, "after_seq": page[-1].seq}
        result["NextToken"] = kvs.tokens.encode("ListFragments", binding, position)
    return result


class _FragmentListPayload(LeasedPayload):
    """The chunks of the requested fragments, in request order."""

    def __init__(self, kvs: Any, fragments: list[StoredFragment], lease: Any) -> None:
        super().__init__(lease)
        self._kvs = kvs
        self._fragments = iter(fragments)

    def _next_chunk(self) -> Any:
        for fragment in self._fragments:
            parts = self._kvs.store.read(fragment)
            if parts is not None:
                return fragment_chunk(fragment, parts)
        return None


@operation(SERVICE, "GetMediaForFragmentList")
def get_media_for_fragment_list(kvs: Any, p: dict) -> dict:
    """KVS API: GetMediaForFragmentList. One chunk per requested number, in request order
    (a number given twice is sent twice), with FRAGMENT_NUMBER, SERVER_TIMESTAMP and
    PRODUCER_TIMESTAMP and without MILLIS_BEHIND_NOW / CONTINUATION_TOKEN (KVS-WIRE-FACTS
    §5.3). Every number is checked before anything is sent."""
    numbers = p["Fragments"]
    stream = find_stream(kvs, p, SERVICE)
    found = available_by_number(kvs, kvs.store, stream, numbers) if retention_cutoff_ms(kvs, stream) else {}
    missing = next((n for n in numbers if n not in found), None)
    if missing is not None:
        raise fragment_not_found(missing, SERVICE)
    kvs.limits.fragment_points("media", stream.name, len(numbers), SERVICE)
    lease = kvs.limits.open_connection("GetMediaForFragmentList", stream.name,
                                       kvs.config.get_media_for_fragment_list_connections, SERVICE)
    return {"ContentType": CONTENT_TYPE, "Payload": _FragmentListPayload(kvs, [found[n] for n in numbers], lease)}

# SPDX-License-Identifier: Apache-2.0
"""ListFragments (KVS API: kinesis-video-archived-media ListFragments), through boto3."""
from __future__ import annotations

import base64

import pytest

from kvsmux.api.context import Config, to_datetime
from tests.api.planting import PRODUCER_EPOCH_MS, plant, selector

WIDE = selector("SERVER_TIMESTAMP", 0, 4_000_000_000_000)


def numbers(response: dict) -> list[str]:
    return [f["FragmentNumber"] for f in response["Fragments"]]


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_lists_every_fragment_with_its_fields(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 3, every_ms=2000)
    response = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)
    assert "NextToken" not in response
    assert response["Fragments"] == [{
        "FragmentNumber": p.number, "FragmentSizeInBytes": p.size, "ProducerTimestamp": to_datetime(p.producer_ms),
        "ServerTimestamp": to_datetime(p.server_ms), "FragmentLengthInMilliseconds": 500} for p in planted]
    assert all(len(p.number) == 47 and p.number.isdigit() for p in planted)
    assert [p.size for p in planted] == [len(p.cluster) for p in planted]


def test_stream_arn_names_the_stream_too(api):
    arn = api.create_stream("cam")
    planted = plant(api, "cam", 2)
    assert numbers(api.archived.list_fragments(StreamARN=arn, FragmentSelector=WIDE)) == [p.number for p in planted]


@pytest.mark.parametrize("kind", ["SERVER_TIMESTAMP", "PRODUCER_TIMESTAMP"])
def test_range_is_inclusive_on_the_fragment_start(api, kind):
    """The model's example: fragments at 0, 2, 4, 6 s and the range 1-4 s give 2 s and 4 s."""
    api.create_stream("cam")
    t0 = api.clock.now_ms() if kind == "SERVER_TIMESTAMP" else PRODUCER_EPOCH_MS
    planted = plant(api, "cam", 4, every_ms=2000)
    response = api.archived.list_fragments(StreamName="cam", FragmentSelector=selector(kind, t0 + 1000, t0 + 4000))
    assert numbers(response) == [planted[1].number, planted[2].number]
    # Start == End selects the fragment starting at that instant.
    response = api.archived.list_fragments(StreamName="cam", FragmentSelector=selector(kind, t0 + 6000, t0 + 6000))
    assert numbers(response) == [planted[3].number]
    response = api.archived.list_fragments(StreamName="cam", FragmentSelector=selector(kind, t0 + 7000, t0 + 9000))
    assert numbers(response) == []


def test_server_and_producer_selectors_differ(api):
    api.create_stream("cam")
    plant(api, "cam", 2)
    server_now = api.clock.now_ms()
    assert numbers(api.archived.list_fragments(
        StreamName="cam", FragmentSelector=selector("PRODUCER_TIMESTAMP", server_now - 60_000, server_now))) == []


def test_paginator_returns_3000_fragments_each_once(make_api):
    api = make_api(in_memory=True)
    api.create_stream("cam")
    planted = plant(api, "cam", 3000, every_ms=100)
    paginator = api.archived.get_paginator("list_fragments")
    pages = list(paginator.paginate(StreamName="cam", FragmentSelector=WIDE, PaginationConfig={"PageSize": 700}))
    assert [len(p["Fragments"]) for p in pages] == [700, 700, 700, 700, 200]
    got = [n for page in pages for n in numbers(page)]
    assert len(got) == len(set(got)) == 3000
    assert set(got) == {p.number for p in planted}
    # Without MaxResults a page holds up to the model's maximum, 1000.
    first = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)
    assert len(first["Fragments"]) == 1000 and first["NextToken"]


def test_exact_page_size_ends_without_a_token(api):
    api.create_stream("cam")
    plant(api, "cam", 4)
    response = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=4)
    assert len(response["Fragments"]) == 4 and "NextToken" not in response


def test_next_token_alone_continues_the_listing(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 5)
    first = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=2)
    second = api.archived.list_fragments(StreamName="cam", NextToken=first["NextToken"], MaxResults=2)
    third = api.archived.list_fragments(StreamName="cam", NextToken=second["NextToken"], FragmentSelector=WIDE)
    assert numbers(first) + numbers(second) + numbers(third) == [p.number for p in planted]
    assert "NextToken" not in third


def test_next_token_sees_fragments_added_after_the_first_page(api):
    api.create_stream("cam")
    planted = plant(api, "cam", 2)
    first = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1)
    planted += plant(api, "cam", 1)
    rest = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, NextToken=first["NextToken"])
    assert numbers(first) + numbers(rest) == [p.number for p in planted]


def test_bad_next_tokens_are_invalid_arguments(api):
    api.create_stream("cam")
    api.create_stream("other")
    plant(api, "cam", 3)
    token = api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1)["NextToken"]
    raw = bytearray(base64.b64decode(token))
    raw[5] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    other_selector = selector("SERVER_TIMESTAMP", 0, 3_000_000_000_000)
    for kwargs in ({"StreamName": "cam", "NextToken": tampered},
                   {"StreamName": "cam", "NextToken": "bm90IGEgdG9rZW4="},
                   {"StreamName": "cam", "NextToken": token, "FragmentSelector": other_selector},
                   {"StreamName": "cam", "NextToken": token,
                    "FragmentSelector": {**WIDE, "FragmentSelectorType": "PRODUCER_TIMESTAMP"}},
                   {"StreamName": "other", "NextToken": token}):
        with pytest.raises(api.archived.exceptions.InvalidArgumentException):
            api.archived.list_fragments(**kwargs)


def test_argument_errors(api):
    api.create_stream("cam")
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        api.archived.list_fragments(StreamName="cam")  # neither FragmentSelector nor NextToken
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        t0 = api.clock.now_ms()
        api.archived.list_fragments(StreamName="cam", FragmentSelector=selector("SERVER_TIMESTAMP", t0, t0 - 1000))
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        api.archived.list_fragments(FragmentSelector=WIDE)  # no stream named
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1001)
    with pytest.raises(api.archived.exceptions.InvalidArgumentException):
        api.archived.list_fragments(StreamName="cam", FragmentSelector={**WIDE, "FragmentSelectorType": "NOPE"})
    with pytest.raises(api.archived.exceptions.ResourceNotFoundException):
        api.archived.list_fragments(StreamName="nope", FragmentSelector=WIDE)


def test_fragments_older_than_the_retention_period_disappear(api):
    api.create_stream("cam", retention_hours=1)
    old = plant(api, "cam", 1)
    api.clock.advance(30 * 60)
    young = plant(api, "cam", 1)
    assert numbers(api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)) == [old[0].number,
                                                                                             young[0].number]
    api.clock.advance(31 * 60)
    assert numbers(api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)) == [young[0].number]
    api.clock.advance(60 * 60)
    assert numbers(api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)) == []


def test_retention_zero_lists_nothing(api):
    api.create_stream("live", retention_hours=0)
    plant(api, "live", 2)
    assert api.archived.list_fragments(StreamName="live", FragmentSelector=WIDE)["Fragments"] == []


def test_fragment_metadata_points_are_max_results(make_api):
    """10,000 points per second per stream; ListFragments costs MaxResults (1000 when absent)."""
    api = make_api(config=Config())
    api.create_stream("cam")
    api.create_stream("other")
    plant(api, "cam", 1)
    for _ in range(9):
        api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1000)
    api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE)
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException) as excinfo:
        api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1)
    assert error_code(excinfo) == "ClientLimitExceededException"
    api.archived.list_fragments(StreamName="other", FragmentSelector=WIDE)  # per stream
    api.clock.advance(0.5)  # refills 5000 points
    for _ in range(5):
        api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1000)
    with pytest.raises(api.archived.exceptions.ClientLimitExceededException):
        api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1000)
    api.clock.advance(1)
    assert len(api.archived.list_fragments(StreamName="cam", FragmentSelector=WIDE, MaxResults=1000)["Fragments"]) == 1

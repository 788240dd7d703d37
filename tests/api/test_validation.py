# SPDX-License-Identifier: Apache-2.0
"""Model-driven request validation and KVS errors (kvsmux.api)."""
from __future__ import annotations

import datetime
import re

import regex

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import validate_parameters

from kvsmux.api.errors import KvsError, error_codes
from kvsmux.api.spec import SERVICES, operation_model, service_model
from kvsmux.api.validation import validate_request, validation_problems

VIDEO, ARCHIVED, MEDIA = SERVICES


def shapes(shape, seen=None):
    """Every shape reachable from `shape`."""
    seen = set() if seen is None else seen
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    yield shape
    for child in getattr(shape, "members", {}).values():
        yield from shapes(child, seen)
    for attr in ("member", "key", "value"):
        yield from shapes(getattr(shape, attr, None), seen)


@pytest.mark.parametrize("service", SERVICES)
def test_every_pattern_of_the_models_compiles_and_every_operation_validates(service):
    model = service_model(service)
    for name in model.operation_names:
        op = model.operation_model(name)
        for shape in shapes(op.input_shape):
            if "pattern" in shape.metadata:
                regex.compile(shape.metadata["pattern"])
        required = op.input_shape.required_members if op.input_shape is not None else []
        problems = validation_problems(service, name, {})
        assert len(problems) == len(required), name
        assert all("Member must not be null" in p for p in problems)


@pytest.mark.parametrize("service, operation, params, expected", [
    (VIDEO, "CreateStream", {"StreamName": "x" * 257}, "at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 256"),
    (VIDEO, "CreateStream", {"StreamName": "has space"}, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    (VIDEO, "CreateStream", {"StreamName": "s", "DataRetentionInHours": -1}, "at 'dataRetentionInHours' failed to satisfy constraint: Member must have value greater than or equal to 0"),
    (VIDEO, "CreateStream", {"StreamName": "s", "Tags": {f"k{i}": "v" for i in range(51)}}, "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"),
    (VIDEO, "UpdateDataRetention", {"StreamName": "s", "CurrentVersion": "1", "Operation": "GROW", "DataRetentionChangeInHours": 1}, "Member must satisfy enum value set: [INCREASE_DATA_RETENTION, DECREASE_DATA_RETENTION]"),
    (VIDEO, "GetDataEndpoint", {"StreamName": "s"}, "Value null at 'aPIName' failed to satisfy constraint: Member must not be null"),
    (VIDEO, "TagStream", {"StreamName": "s", "Tags": {"k" * 129: "v"}}, "at 'tags.key' failed to satisfy constraint: Member must have length less than or equal to 128"),
    (ARCHIVED, "ListFragments", {"StreamName": "s", "MaxResults": 1001}, "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"),
    (ARCHIVED, "ListFragments", {"StreamName": "s", "FragmentSelector": {"FragmentSelectorType": "NOW", "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 1}}}, "at 'fragmentSelector.fragmentSelectorType' failed to satisfy constraint: Member must satisfy enum value set"),
    (ARCHIVED, "GetHLSStreamingSessionURL", {"StreamName": "s", "Expires": 299}, "at 'expires' failed to satisfy constraint: Member must have value greater than or equal to 300"),
    (ARCHIVED, "GetHLSStreamingSessionURL", {"StreamName": "s", "Expires": 43201}, "Member must have value less than or equal to 43200"),
    (ARCHIVED, "GetMediaForFragmentList", {"StreamName": "s", "Fragments": ["1"] * 1001}, "at 'fragments' failed to satisfy constraint: Member must have length less than or equal to 1000"),
    (ARCHIVED, "GetMediaForFragmentList", {"StreamName": "s", "Fragments": ["12a"]}, "at 'fragments.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    (MEDIA, "GetMedia", {"StreamName": "s", "StartSelector": {"StartSelectorType": "LATEST"}}, "at 'startSelector.startSelectorType' failed to satisfy constraint: Member must satisfy enum value set"),
    (MEDIA, "GetMedia", {"StreamName": "s", "StartSelector": {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": "bad token"}}, "at 'startSelector.continuationToken' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    (VIDEO, "DescribeStream", {"StreamName": 5}, "at 'streamName' failed to satisfy constraint: Member must be a string"),
    (VIDEO, "CreateStream", {"StreamName": "s", "DataRetentionInHours": True}, "Member must be an integer"),
])
def test_each_kind_of_constraint(service, operation, params, expected):
    with pytest.raises(KvsError) as info:
        validate_request(service, operation, params)
    e = info.value
    assert e.code == "InvalidArgumentException" and e.http_status == 400
    assert expected in e.message, e.message
    assert re.match(r"\d+ validation errors? detected: ", e.message)


@pytest.mark.parametrize("service, operation, params", [
    (VIDEO, "CreateStream", {"StreamName": "cam-1.front_door", "DeviceName": "dev", "MediaType": "video/h264",
                             "DataRetentionInHours": 24, "Tags": {"site": "home", "Städte": "Zürich 2"}}),
    (VIDEO, "UpdateDataRetention", {"StreamName": "s", "CurrentVersion": "abc", "Operation": "INCREASE_DATA_RETENTION",
                                    "DataRetentionChangeInHours": 1}),
    (VIDEO, "ListStreams", {"MaxResults": 10000, "StreamNameCondition": {"ComparisonOperator": "BEGINS_WITH",
                                                                        "ComparisonValue": "cam"}}),
    (ARCHIVED, "GetHLSStreamingSessionURL", {"StreamName": "s", "Expires": 300, "PlaybackMode": "ON_DEMAND",
                                             "HLSFragmentSelector": {"FragmentSelectorType": "SERVER_TIMESTAMP",
                                                                     "TimestampRange": {"StartTimestamp": datetime.datetime(2026, 1, 1),
                                                                                        "EndTimestamp": 1767229200.5}}}),
    (ARCHIVED, "GetMediaForFragmentList", {"StreamName": "s", "Fragments": ["91343852333181432392682062607743920146159169392"]}),
    (MEDIA, "GetMedia", {"StreamName": "s", "StartSelector": {"StartSelectorType": "NOW"}}),
])
def test_valid_requests_pass(service, operation, params):
    validate_request(service, operation, params)


@pytest.mark.parametrize("service, operation, params", [
    (VIDEO, "CreateStream", {}),
    (VIDEO, "CreateStream", {"StreamName": ""}),
    (VIDEO, "CreateStream", {"StreamName": 12}),
    (VIDEO, "CreateStream", {"StreamName": "s", "DataRetentionInHours": -1}),
    (VIDEO, "TagStream", {"StreamName": "s", "Tags": []}),
    (ARCHIVED, "ListFragments", {"StreamName": "s", "MaxResults": "10"}),
    (ARCHIVED, "ListFragments", {"StreamName": "s", "MaxResults": 0}),
    (ARCHIVED, "GetMediaForFragmentList", {"StreamName": "s", "Fragments": "1"}),
    (MEDIA, "GetMedia", {"StreamName": "s", "StartSelector": {}}),
    (MEDIA, "GetMedia", {"StartSelector": {"StartSelectorType": "NOW", "StartTimestamp": "yesterday"}}),
])
def test_whatever_botocore_rejects_we_reject(service, operation, params):
    shape = operation_model(service, operation).input_shape
    with pytest.raises(ParamValidationError):
        validate_parameters(params, shape)
    assert validation_problems(service, operation, params)


def test_errors_carry_the_model_status_and_the_boto3_shape():
    assert KvsError("ResourceNotFoundException", "no stream").http_status == 404
    assert KvsError("NotAuthorizedException", "no").http_status == 401
    assert KvsError("MissingCodecPrivateDataException", "x", service=ARCHIVED).http_status == 400
    with pytest.raises(ValueError):
        KvsError("NoSuchThingException", "x")
    err = KvsError("VersionMismatchException", "stale version").to_client_error("UpdateStream")
    assert isinstance(err, ClientError)
    assert err.response["Error"] == {"Code": "VersionMismatchException", "Message": "stale version"}
    assert err.operation_name == "UpdateStream"
    assert {"ConnectionLimitExceededException", "UnsupportedStreamMediaTypeException"} <= error_codes()

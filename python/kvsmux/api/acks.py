# SPDX-License-Identifier: Apache-2.0
"""PutMedia acknowledgements, flat dicts with the wire keys (KVS-WIRE-FACTS §4.2, §4.3)."""
from __future__ import annotations

import enum


class AckError(enum.IntEnum):
    """ErrorId values of ERROR acks; the names are the ErrorCode strings (PIC's enum)."""

    STREAM_READ_ERROR = 4000
    FRAGMENT_SIZE_REACHED = 4001
    FRAGMENT_DURATION_REACHED = 4002
    CONNECTION_DURATION_REACHED = 4003
    FRAGMENT_TIMECODE_NOT_MONOTONIC = 4004
    MULTI_TRACK_MKV = 4005
    INVALID_MKV_DATA = 4006
    INVALID_PRODUCER_TIMESTAMP = 4007
    STREAM_NOT_ACTIVE = 4008
    FRAGMENT_METADATA_LIMIT_REACHED = 4009
    TRACK_NUMBER_MISMATCH = 4010
    FRAMES_MISSING_FOR_TRACK = 4011
    MORE_THAN_ALLOWED_TRACKS_FOUND = 4012
    INTERNAL_ERROR = 5000
    ARCHIVAL_ERROR = 5001


def ack(event: str, timecode: int | None = None, number: str | None = None) -> dict:
    out: dict = {"EventType": event}
    if timecode is not None:
        out["FragmentTimecode"] = timecode
    if number is not None:
        out["FragmentNumber"] = number
    return out


def error_ack(error: AckError, timecode: int | None = None, number: str | None = None) -> dict:
    return {**ack("ERROR", timecode, number), "ErrorId": int(error), "ErrorCode": error.name}

# SPDX-License-Identifier: Apache-2.0
"""KVS semantics in plain Python (no HTTP): the service models, request validation and errors.

The botocore service models of ``kinesisvideo``, ``kinesis-video-archived-media`` and
``kinesis-video-media`` are the authority for operations, shapes, limits, enums and error
types; nothing here restates them by hand (STYLE §6).
"""

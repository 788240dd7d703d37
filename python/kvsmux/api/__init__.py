# SPDX-License-Identifier: Apache-2.0
"""KVS semantics in plain Python (no HTTP), one module per area.

:mod:`~kvsmux.api.service` holds the service (:class:`~kvsmux.api.service.Kvs`: store, clock,
quotas) and runs every request through model validation to the handler registered for it;
:mod:`~kvsmux.api.protocol` is the rest-json wire format the in-process client and the
server share. Handlers: streams, tags, channels, configs, edge (control plane); ingest
(PutMedia); archive, reader, clip, images (archived media, GetMedia); sessions, timeline,
hls, dash, player (playback). The botocore service models of ``kinesisvideo``,
``kinesis-video-archived-media`` and ``kinesis-video-media`` are the authority for
operations, shapes, limits, enums and error types; nothing restates them by hand (STYLE §6).
"""

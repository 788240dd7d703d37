# SPDX-License-Identifier: Apache-2.0
"""kvsmux: a self-hostable, wire-compatible Amazon Kinesis Video Streams, with a C++ media core.

The media API lives in :mod:`kvsmux.media`; errors in :mod:`kvsmux.errors`; the KVS API,
in-process, is :class:`kvsmux.Client`.
"""
from kvsmux.errors import MediaError


def __getattr__(name: str):
    # Client pulls in botocore and the store; the media library does not need them.
    if name in ("Client", "RemoteClient"):
        from kvsmux import client
        return getattr(client, name)
    raise AttributeError(f"module 'kvsmux' has no attribute {name!r}")


__version__ = "0.1.0"
__all__ = ["Client", "MediaError", "RemoteClient", "__version__"]

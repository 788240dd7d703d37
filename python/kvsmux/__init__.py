# SPDX-License-Identifier: Apache-2.0
"""kvsmux: a self-hostable, wire-compatible Amazon Kinesis Video Streams, with a C++ media core.

The media API lives in :mod:`kvsmux.media`; errors in :mod:`kvsmux.errors`.
"""
from kvsmux.errors import MediaError

__version__ = "0.1.0"
__all__ = ["MediaError", "__version__"]

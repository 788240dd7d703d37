# SPDX-License-Identifier: Apache-2.0
"""The one module that imports the C++ core (STYLE §1)."""
from __future__ import annotations

from kvsmux import _core

demux = _core.demux
Demuxer = _core.Demuxer
FRAME_DTYPE = _core.FRAME_DTYPE
DEFAULT_LIMITS = dict(_core.DEFAULT_LIMITS)
ERROR_TABLE = list(_core.ERROR_TABLE)
package = _core.package
getmedia_chunk = _core.getmedia_chunk
format_kvs_timestamp = _core.format_kvs_timestamp

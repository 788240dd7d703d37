# SPDX-License-Identifier: Apache-2.0
"""``kvsmux serve``: the KVS wire protocol over HTTP (ASGI, run by uvicorn)."""
from kvsmux.server.app import KvsApp, create_app

__all__ = ["KvsApp", "create_app"]

# SPDX-License-Identifier: Apache-2.0
"""NextToken: opaque, tamper-proof and bound to the request (STYLE §10, moto's design
with an HMAC). A token encodes where the next page starts, and is accepted only with the
same operation and the same other request members (MaxResults may change between pages)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from kvsmux.api.errors import KvsError

_MAC_BYTES = 16
_UNBOUND = ("NextToken", "MaxResults")


def _binding(operation: str, params: dict) -> str:
    bound = {k: v for k, v in params.items() if k not in _UNBOUND}
    text = json.dumps([operation, bound], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Tokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, operation: str, params: dict, position: Any) -> str:
        """A token for the page that starts at ``position`` (any JSON value)."""
        payload = json.dumps([_binding(operation, params), position], separators=(",", ":")).encode()
        return base64.b64encode(payload + self._mac(payload)).decode()

    def decode(self, operation: str, params: dict, token: str, service: str) -> Any:
        """The position a token holds; InvalidArgumentException if it was altered, made for
        another request, or is not one of ours."""
        try:
            raw = base64.b64decode(token.encode(), validate=True)
            payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
            if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad signature")
            binding, position = json.loads(payload)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise KvsError("InvalidArgumentException", "The NextToken is not valid.", service=service) from None
        if binding != _binding(operation, params):
            raise KvsError("InvalidArgumentException",
                           "The NextToken was issued for a different request.", service=service)
        return position

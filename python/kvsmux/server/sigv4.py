# SPDX-License-Identifier: Apache-2.0
"""AWS Signature Version 4 verification (KVS-WIRE-FACTS §1, §14).

The expected signature is computed by botocore's own signer over the request as it was
received: the headers the client listed in SignedHeaders (whatever they are: the producer
SDKs sign user-agent, connection and transfer-encoding, which botocore itself never
signs), the Host header as sent (the C SDK omits the port), and the payload hash the
client used (SHA-256 of the body; of the empty string for PutMedia's streamed body;
``X-Amz-Content-SHA256`` when sent). Failures are 403 with the error codes AWS uses.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "kinesisvideo"
#: How far X-Amz-Date may be from the server's clock (AWS allows 5 minutes).
MAX_SKEW_SECONDS = 5 * 60

_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$")


@dataclasses.dataclass
class AuthError(Exception):
    code: str
    message: str
    status: int = 403


class _Signer(SigV4Auth):
    """botocore's SigV4 with the client's own list of signed headers."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        out = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                out.add_header(name, value)
        return out


class Verifier:
    """Checks SigV4 signatures against known access keys (``{access key id: secret}``)."""

    def __init__(self, keys: dict[str, str], now: Callable[[], float] = time.time) -> None:
        self.keys = keys
        self.now = now

    def verify(self, method: str, raw_path: str, query: str, headers: list[tuple[str, str]], body: bytes,
               streamed: bool = False) -> str:
        """Returns the access key id, or raises AuthError. ``streamed``: the body is not
        here (PutMedia); the payload hash the client declares, or that of b"", is used."""
        lookup = {}
        for name, value in headers:
            lookup.setdefault(name.lower(), []).append(value)
        authorization = (lookup.get("authorization") or [""])[0]
        if not authorization:
            raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
        match = _AUTH.match(authorization)
        if match is None:
            raise AuthError("IncompleteSignatureException", "Authorization header requires 'Credential', "
                            "'Signature' and 'SignedHeaders' parameters of the AWS4-HMAC-SHA256 scheme.")
        credential, signed_headers, signature = match.groups()
        parts = credential.split("/")
        if len(parts) != 5 or parts[3] != SERVICE or parts[4] != "aws4_request":
            raise AuthError("IncompleteSignatureException", f"Credential should be scoped to "
                            f"'<key>/<date>/<region>/{SERVICE}/aws4_request', not '{credential}'.")
        key_id, scope_date, region = parts[:3]
        secret = self.keys.get(key_id)
        if secret is None:
            raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
        amz_date = (lookup.get("x-amz-date") or [""])[0]
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise AuthError("IncompleteSignatureException", "X-Amz-Date is missing or not in ISO 8601 basic "
                            "format (yyyyMMdd'T'HHmmss'Z').") from None
        if scope_date != amz_date[:8]:
            raise AuthError("InvalidSignatureException", f"Credential date {scope_date} does not match X-Amz-Date.")
        skew = abs(self.now() - when.timestamp())
        if skew > MAX_SKEW_SECONDS:
            raise AuthError("InvalidSignatureException", f"Signature expired: {amz_date} is more than "
                            f"{MAX_SKEW_SECONDS // 60} minutes from the server time.")
        signed = signed_headers.split(";")
        if "host" not in signed:
            raise AuthError("InvalidSignatureException", "The host header must be signed.")
        url = "http://localhost" + raw_path + ("?" + query if query else "")
        request = AWSRequest(method=method, url=url, data=body)
        for name, values in lookup.items():
            for value in values:
                request.headers.add_header(name, value)
        request.context["timestamp"] = amz_date
        signer = _Signer(Credentials(key_id, secret), region, signed)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            raise AuthError("InvalidSignatureException",
                            "The request signature we calculated does not match the signature you provided. "
                            "Check your AWS Secret Access Key and signing method.")
        # botocore's signer takes a declared X-Amz-Content-SHA256 on trust: the body it
        # claims to hash must be the body that came (UNSIGNED-PAYLOAD opts out, as in S3).
        declared = (lookup.get("x-amz-content-sha256") or [None])[0]
        if declared is not None and not streamed and declared.strip() != "UNSIGNED-PAYLOAD" and \
                declared.strip().lower() != hashlib.sha256(body).hexdigest():
            raise AuthError("InvalidSignatureException",
                            "The x-amz-content-sha256 header does not match the SHA-256 of the request body.")
        return key_id


def load_keys(path: Path | None) -> dict[str, str]:
    """Access keys from ``--credentials FILE`` (``ACCESS_KEY_ID SECRET_ACCESS_KEY`` per line,
    ``#`` comments), or else the server's own AWS credentials (environment variables,
    ~/.aws/credentials, as botocore finds them)."""
    if path is not None:
        keys = {}
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{path}:{number}: expected 'ACCESS_KEY_ID SECRET_ACCESS_KEY'")
            keys[fields[0]] = fields[1]
        return keys
    import os

    import botocore.session
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookups on a laptop
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        return {}
    frozen = credentials.get_frozen_credentials()
    return {frozen.access_key: frozen.secret_key}

# SPDX-License-Identifier: Apache-2.0
"""KVS errors: named exactly as the error shapes of the models, with the model's HTTP
status, and convertible to the ``botocore.exceptions.ClientError`` a boto3 user catches."""
from __future__ import annotations

from botocore.exceptions import ClientError

from kvsmux.api.spec import SERVICES, error_statuses


class KvsError(Exception):
    """An AWS error: ``code`` is the error shape's name (``ResourceNotFoundException``)."""

    def __init__(self, code: str, message: str, *, service: str = "kinesisvideo") -> None:
        if code not in error_statuses(service):
            raise ValueError(f"{code} is not an error of {service}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.service = service

    @property
    def http_status(self) -> int:
        return error_statuses(self.service)[self.code]

    def to_client_error(self, operation: str) -> ClientError:
        """What boto3 raises for this error: ``e.response['Error']`` has Code and Message."""
        response = {"Error": {"Code": self.code, "Message": self.message},
                    "ResponseMetadata": {"HTTPStatusCode": self.http_status}}
        return ClientError(response, operation)


def error_codes() -> set[str]:
    """Every error code of every KVS service."""
    return {code for service in SERVICES for code in error_statuses(service)}

# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: where the repository, the shared media and the generated fixtures are."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_MEDIA = SHARED / "media"
DATA = REPO / "tests" / "data"


def require_shared_media() -> Path:
    if not SHARED_MEDIA.is_dir():
        pytest.skip(f"NOT VERIFIED: {SHARED_MEDIA} is absent (the shared media live beside the checkout)")
    return SHARED_MEDIA


@pytest.fixture
def shared_media() -> Path:
    return require_shared_media()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden files under tests/golden instead of comparing with them")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))

# SPDX-License-Identifier: Apache-2.0
"""The tables that must agree across layers: error codes (C++ ↔ Python) and the generated
EBML element table (schema ↔ committed header)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from kvsmux import errors
from kvsmux.media import _native
from tests.conftest import REPO, SHARED


def test_python_error_classes_follow_the_core_table():
    core = _native.ERROR_TABLE
    assert len(core) == len(errors.ERROR_CLASSES)
    for (number, code, py_name, _summary), cls in zip(core, errors.ERROR_CLASSES):
        assert (code, py_name) == (cls.code, cls.__name__), number
        assert issubclass(cls, errors.MediaError) and issubclass(cls, ValueError)


def test_error_carries_code_offset_and_path():
    e = errors.LacingError("3 bytes do not divide into 2 laces", offset=42, path="Segment/Cluster[0]/SimpleBlock")
    assert (e.code, e.offset, e.path) == ("bad_lacing", 42, "Segment/Cluster[0]/SimpleBlock")
    assert e.to_dict() == {"code": "bad_lacing", "offset": 42, "path": "Segment/Cluster[0]/SimpleBlock",
                           "message": "3 bytes do not divide into 2 laces"}


def test_generated_element_table_is_up_to_date():
    schema = SHARED / "spec" / "ebml_matroska.xml"
    if not schema.exists():
        pytest.skip(f"NOT VERIFIED: {schema} is absent")
    out = subprocess.run([sys.executable, str(REPO / "tools" / "gen_ebml_table.py"), "--check", "--schema", str(schema)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_frame_dtype_matches_the_core_struct():
    from kvsmux.media.model import FRAME_DTYPE
    assert _native.FRAME_DTYPE == FRAME_DTYPE
    assert FRAME_DTYPE.itemsize == 40

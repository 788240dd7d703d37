# SPDX-License-Identifier: Apache-2.0
"""The AWS CLI (``aws``, from the ``awscli`` package of the test extras) against the HTTP
server: stream lifecycle and tags with ``aws kinesisvideo``, ListFragments and GetClip
with ``aws kinesis-video-archived-media`` after an ingest with ``RemoteClient.put_media``;
JSON outputs, exit codes, and AWS errors on stderr with a non-zero exit.

The CLI runs with only the test key in its environment (empty config and credentials
files, no profile), region us-east-1, ``--endpoint-url`` of the server and ``--output json``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from kvsmux.media import demux
from tests.conftest import DATA
from tests.crosscheck import tools
from tests.server_harness import ACCESS_KEY, SECRET_KEY, remote_client, serving

FIXTURE = DATA / "valid" / "h264_aac.mkv"  # 4 clusters at 0, 512, 1002 and 1514 ms; 60 video frames
START_S = 1_700_000_000  # producer start timestamp of the ingests (RELATIVE timecodes)
VIDEO = 1                # MKV TrackType of video


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with the default configuration (quotas on, wall clock), as `kvsmux serve`."""
    with serving(tmp_path_factory.mktemp("aws-cli") / "data") as s:
        yield s


class Run:
    """One `aws` invocation: exit code, stdout, stderr; ``json`` is stdout parsed."""

    def __init__(self, done: subprocess.CompletedProcess) -> None:
        self.code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr

    @property
    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


@pytest.fixture
def aws(server, tmp_path):
    """``aws(service, command, *args)`` -> Run, against ``server``."""
    exe = shutil.which("aws")
    if exe is None:
        pytest.fail("the AWS CLI `aws` is not installed: pip install awscli (it is in the test extras)")
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials),
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")

    def run(service: str, command: str, *args: str) -> Run:
        done = subprocess.run([exe, service, command, *args, "--endpoint-url", server.url, "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)
        return Run(done)

    return run


def ingest(server, name: str) -> list[dict]:
    """FIXTURE into a new stream ``name`` with RemoteClient.put_media; the acks."""
    client = remote_client(server.url)
    try:
        client.create_stream(StreamName=name, DataRetentionInHours=24)
        return list(client.put_media(StreamName=name, Payload=FIXTURE.read_bytes(), FragmentTimecodeType="RELATIVE",
                                     ProducerStartTimestamp=START_S))
    finally:
        client.close()


def producer_range(start_s: float, end_s: float) -> str:
    return json.dumps({"FragmentSelectorType": "PRODUCER_TIMESTAMP",
                       "TimestampRange": {"StartTimestamp": start_s, "EndTimestamp": end_s}})


def test_stream_lifecycle_and_tags(aws):
    run = aws("kinesisvideo", "create-stream", "--stream-name", "cli-cam", "--data-retention-in-hours", "24",
              "--media-type", "video/h264", "--tags", "owner=cli")
    arn = run.json["StreamARN"]
    assert arn.startswith("arn:aws:kinesisvideo:us-east-1:123456789012:stream/cli-cam/")

    info = aws("kinesisvideo", "describe-stream", "--stream-name", "cli-cam").json["StreamInfo"]
    assert info["StreamName"] == "cli-cam" and info["StreamARN"] == arn
    assert info["Status"] == "ACTIVE" and info["DataRetentionInHours"] == 24 and info["MediaType"] == "video/h264"
    assert isinstance(info["CreationTime"], (int, float)) and len(info["Version"]) == 20

    again = aws("kinesisvideo", "create-stream", "--stream-name", "cli-cam")
    assert again.code != 0 and "ResourceInUseException" in again.stderr, again

    listed = aws("kinesisvideo", "list-streams").json["StreamInfoList"]
    assert [s["StreamARN"] for s in listed if s["StreamName"] == "cli-cam"] == [arn]

    tag = aws("kinesisvideo", "tag-stream", "--stream-name", "cli-cam", "--tags", "env=test,team=video")
    assert tag.code == 0 and tag.stdout.strip() == "", tag
    tags = aws("kinesisvideo", "list-tags-for-stream", "--stream-arn", arn).json["Tags"]
    assert tags == {"owner": "cli", "env": "test", "team": "video"}

    untag = aws("kinesisvideo", "untag-stream", "--stream-arn", arn, "--tag-key-list", "env", "owner")
    assert untag.code == 0 and untag.stdout.strip() == "", untag
    assert aws("kinesisvideo", "list-tags-for-stream", "--stream-name", "cli-cam").json["Tags"] == {"team": "video"}

    delete = aws("kinesisvideo", "delete-stream", "--stream-arn", arn)
    assert delete.code == 0 and delete.stdout.strip() == "", delete
    gone = aws("kinesisvideo", "describe-stream", "--stream-name", "cli-cam")
    assert gone.code != 0 and gone.stdout == "", gone
    assert "ResourceNotFoundException" in gone.stderr and "DescribeStream" in gone.stderr, gone


def test_errors_exit_non_zero_with_the_aws_error_code(aws):
    missing = aws("kinesisvideo", "describe-stream", "--stream-name", "cli-never-created")
    assert missing.code != 0 and missing.stdout == "", missing
    assert "ResourceNotFoundException" in missing.stderr and "not found" in missing.stderr, missing
    bad = aws("kinesisvideo", "create-stream", "--stream-name", "bad name!")  # the server checks the pattern
    assert bad.code != 0 and "InvalidArgumentException" in bad.stderr, bad
    bad_arn = aws("kinesisvideo", "list-tags-for-stream", "--stream-arn", "arn:nope")
    assert bad_arn.code != 0 and "InvalidArgumentException" in bad_arn.stderr, bad_arn


def test_list_fragments_after_put_media(aws, server):
    acks = ingest(server, "cli-list")
    persisted = [a for a in acks if a["EventType"] == "PERSISTED"]
    clusters = [f.timestamp_ns // 1_000_000 for f in demux(FIXTURE.read_bytes()).fragments]
    assert len(persisted) == len(clusters) == 4

    everything = aws("kinesis-video-archived-media", "list-fragments", "--stream-name", "cli-list",
                     "--fragment-selector", producer_range(START_S, START_S + 3600)).json["Fragments"]
    by_number = {f["FragmentNumber"]: f for f in everything}
    assert sorted(by_number) == sorted(a["FragmentNumber"] for a in persisted)  # ListFragments is unordered
    for ack, cluster_ms in zip(persisted, clusters):
        f = by_number[ack["FragmentNumber"]]
        assert f["ProducerTimestamp"] == pytest.approx(START_S + cluster_ms / 1000, abs=0.0005)
        assert isinstance(f["ServerTimestamp"], (int, float))
        assert f["FragmentSizeInBytes"] > 0 and f["FragmentLengthInMilliseconds"] > 0

    later = aws("kinesis-video-archived-media", "list-fragments", "--stream-name", "cli-list",
                "--fragment-selector", producer_range(START_S + 1, START_S + 3600)).json["Fragments"]
    expected = [a["FragmentNumber"] for a, ms in zip(persisted, clusters) if ms >= 1000]  # start is inclusive
    assert len(expected) == 2 and sorted(f["FragmentNumber"] for f in later) == sorted(expected)


def test_get_clip_writes_an_mp4_of_the_ingested_frames(aws, server, tmp_path):
    acks = ingest(server, "cli-clip")
    assert sum(a["EventType"] == "PERSISTED" for a in acks) == 4
    out = tmp_path / "clip.mp4"
    run = aws("kinesis-video-archived-media", "get-clip", "--stream-name", "cli-clip",
              "--clip-fragment-selector", producer_range(START_S, START_S + 3600), str(out))
    assert run.json == {"ContentType": "video/mp4"}
    data = out.read_bytes()
    assert data[4:8] == b"ftyp", data[:16]

    result = demux(FIXTURE.read_bytes())
    video = {t.number for t in result.headers[0].tracks if t.type == VIDEO}
    ingested = sum(int(sum(f.frames["track"] == n)) for f in result.fragments for n in video)
    assert ingested == 60

    tools.require_tool("ffprobe", "the clip's frames")
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name,nb_read_frames:format=format_name", "-of", "json", str(out)],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and not probe.stderr.strip(), probe.stderr
    probed = json.loads(probe.stdout)
    assert "mp4" in probed["format"]["format_name"]
    assert [(s["codec_name"], int(s["nb_read_frames"])) for s in probed["streams"]] == [("h264", ingested)]

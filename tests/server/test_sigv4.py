# SPDX-License-Identifier: Apache-2.0
"""SigV4 on the HTTP server (KVS-WIRE-FACTS §1, §2, §14): botocore clients and requests
signed by hand (tests/server/rawhttp.py, an implementation independent of botocore) pass
with a known key; every way a signature can be wrong is a 403 with the AWS error code in
``x-amzn-ErrorType`` and a JSON ``Message``; ``auth=False`` takes unsigned requests; and
``load_keys`` reads a credentials file or the process's AWS credentials."""
from __future__ import annotations

import json
import time

import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import ClientError

from kvsmux.api.context import Config
from kvsmux.put import put_media_http
from kvsmux.server.sigv4 import load_keys
from tests.conftest import DATA
from tests.server import rawhttp as rh
from tests.server_harness import ACCESS_KEY, SECRET_KEY, remote_client, serving

SECOND_KEY, SECOND_SECRET = "AKIDSECONDKEY", "second-secret/with+symbols="
KEYS = {ACCESS_KEY: SECRET_KEY, SECOND_KEY: SECOND_SECRET}
FIXTURE = DATA / "valid" / "h264_aac_gst_unknown_clusters.mkv"
DESCRIBE = {"StreamName": "signed"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("sigv4") / "data", Config(limits=False), auth=True, keys=dict(KEYS)) as s:
        client = remote_client(s.url)
        client.create_stream(StreamName="signed", DataRetentionInHours=24)
        client.create_stream(StreamName="other", DataRetentionInHours=24)
        yield s


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("noauth") / "data", Config(limits=False), auth=False) as s:
        yield s


def botocore_client(url: str, service: str = "kinesisvideo", key: str = ACCESS_KEY, secret: str = SECRET_KEY,
                    **kwargs):
    return botocore.session.get_session().create_client(
        service, region_name="us-east-1", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
        config=BotocoreConfig(retries={"mode": "standard", "max_attempts": 1}), **kwargs)


def signed_describe(port: int, *, key: str = ACCESS_KEY, secret: str = SECRET_KEY, body: bytes | None = None,
                    sent_body: bytes | None = None, **sign_args) -> rh.Response:
    body = json.dumps(DESCRIBE).encode() if body is None else body
    headers = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/json")]
    headers = rh.sign("POST", "/describeStream", headers, body, key=key, secret=secret, **sign_args)
    return rh.request(port, "POST", "/describeStream", body if sent_body is None else sent_body, headers)


def assert_refused(response: rh.Response, code: str) -> str:
    assert response.status == 403, (response.status, response.headers, response.body)
    assert response.error_type == code, response.headers
    assert response.header("content-type") == "application/json"
    assert response.header("x-amzn-requestid")
    message = response.json()["Message"]
    assert isinstance(message, str) and message
    return message


# -- accepted -------------------------------------------------------------------------------------------------


def test_botocore_clients_with_a_known_key_pass(server):
    video = botocore_client(server.url)
    info = video.describe_stream(StreamName="signed")["StreamInfo"]
    assert info["Status"] == "ACTIVE"
    video.tag_stream(StreamName="signed", Tags={"k": "v"})  # a request with a body members of every kind
    assert video.list_tags_for_stream(StreamName="signed")["Tags"] == {"k": "v"}
    archived = botocore_client(server.url, "kinesis-video-archived-media")
    fragments = archived.list_fragments(StreamName="signed", FragmentSelector={
        "FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": 4e9}})
    assert fragments["Fragments"] == []
    # any of the configured keys
    other = botocore_client(server.url, key=SECOND_KEY, secret=SECOND_SECRET)
    assert other.describe_stream(StreamName="signed")["StreamInfo"]["StreamARN"] == info["StreamARN"]


def test_remote_client_put_media_is_signed(server):
    client = remote_client(server.url)
    client.create_stream(StreamName="signed-put", DataRetentionInHours=24)
    acks = list(client.put_media(StreamName="signed-put", Payload=FIXTURE.read_bytes(),
                                 FragmentTimecodeType="RELATIVE", ProducerStartTimestamp=1_700_000_000))
    assert [a["FragmentTimecode"] for a in acks if a["EventType"] == "PERSISTED"] == [0, 521, 1021, 1521]


@pytest.mark.parametrize("case", ["plain", "no spaces after commas", "4 minutes old", "4 minutes ahead",
                                  "other region", "extra unsigned headers", "signed user-agent"])
def test_hand_signed_requests_pass(server, case):
    body = json.dumps(DESCRIBE).encode()
    headers = [("Host", f"127.0.0.1:{server.port}"), ("Content-Type", "application/json")]
    args = {}
    if case == "4 minutes old":
        args["date"] = rh.amz_date(time.time() - 240)
    elif case == "4 minutes ahead":
        args["date"] = rh.amz_date(time.time() + 240)
    elif case == "other region":  # the region is the client's choice (KVS-WIRE-FACTS §1)
        args["region"] = "ap-southeast-2"
    elif case == "signed user-agent":
        headers.append(("User-Agent", "AWS-SDK-KVS-CPP-CLIENT/3.5.0/1.6.0 GCC/12 Linux x86_64 CPPSDK"))
    headers = rh.sign("POST", "/describeStream", headers, body, key=ACCESS_KEY, secret=SECRET_KEY, **args)
    if case == "no spaces after commas":
        headers = [(k, v.replace(", ", ",") if k == "Authorization" else v) for k, v in headers]
    if case == "extra unsigned headers":
        headers += [("User-Agent", "something/1.0"), ("amz-sdk-invocation-id", "abc"), ("X-Custom", "1")]
    response = rh.request(server.port, "POST", "/describeStream", body, headers)
    assert response.status == 200, response.body
    assert response.json()["StreamInfo"]["StreamName"] == "signed"


def test_a_signed_request_can_be_sent_twice_within_the_window(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY)
    for _ in range(2):
        assert rh.request(server.port, "POST", "/describeStream", body, headers).status == 200


# -- refused --------------------------------------------------------------------------------------------------


def test_botocore_client_with_a_wrong_secret_is_refused(server):
    video = botocore_client(server.url, secret="not-the-secret")
    with pytest.raises(ClientError) as e:
        video.describe_stream(StreamName="signed")
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Message"]
    assert e.value.response["ResponseMetadata"]["RequestId"]


def test_botocore_client_with_an_unknown_key_is_refused(server):
    video = botocore_client(server.url, key="AKIDNOBODYKNOWS", secret=SECRET_KEY)
    with pytest.raises(ClientError) as e:
        video.list_streams()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_botocore_unsigned_client_is_refused(server):
    video = botocore_session_unsigned(server.url)
    with pytest.raises(ClientError) as e:
        video.list_streams()
    assert e.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def botocore_session_unsigned(url: str):
    return botocore.session.get_session().create_client(
        "kinesisvideo", region_name="us-east-1", endpoint_url=url,
        config=BotocoreConfig(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 1}))


def test_wrong_secret(server):
    assert_refused(signed_describe(server.port, secret="wrong"), "InvalidSignatureException")


def test_secret_of_another_key(server):
    assert_refused(signed_describe(server.port, key=ACCESS_KEY, secret=SECOND_SECRET), "InvalidSignatureException")


def test_unknown_access_key(server):
    assert_refused(signed_describe(server.port, key="AKIDUNKNOWN"), "UnrecognizedClientException")


def test_credential_scope_date_not_the_request_date(server):
    now = time.time()
    response = signed_describe(server.port, date=rh.amz_date(now), scope_date=rh.amz_date(now - 2 * 86400)[:8])
    assert_refused(response, "InvalidSignatureException")


@pytest.mark.parametrize("offset", [-6 * 60, -3600, -86400, 6 * 60, 86400])
def test_x_amz_date_outside_five_minutes(server, offset):
    """A captured request replayed later (or a far-off clock) is refused, though its
    signature is right for its date."""
    message = assert_refused(signed_describe(server.port, date=rh.amz_date(time.time() + offset)),
                             "InvalidSignatureException")
    assert "expired" in message.lower() or "time" in message.lower()


def test_body_changed_after_signing(server):
    body = json.dumps(DESCRIBE).encode()
    tampered = json.dumps({"StreamName": "signe"}).encode() + b" "  # same length, other bytes
    tampered = tampered[:len(body)]
    assert len(tampered) == len(body) and tampered != body
    assert_refused(signed_describe(server.port, body=body, sent_body=tampered), "InvalidSignatureException")


@pytest.mark.parametrize("declared", ["hash of the signed body", "hash of the sent body", "UNSIGNED-PAYLOAD"])
def test_declared_content_sha256_must_match_the_body(server, declared):
    """A client may send X-Amz-Content-SHA256 (and sign it); the signature then covers that
    hash, so the server must check the body it got has it, or a body swapped after signing
    would pass."""
    import hashlib
    signed_body = json.dumps(DESCRIBE).encode()
    sent_body = json.dumps({"StreamName": "other"}).encode()
    value = {"hash of the signed body": hashlib.sha256(signed_body).hexdigest(),
             "hash of the sent body": hashlib.sha256(sent_body).hexdigest(),
             "UNSIGNED-PAYLOAD": "UNSIGNED-PAYLOAD"}[declared]
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}"),
                                                  ("X-Amz-Content-SHA256", value)],
                      signed_body, key=ACCESS_KEY, secret=SECRET_KEY, payload_hash=value)
    response = rh.request(server.port, "POST", "/describeStream", sent_body, headers)
    if declared == "hash of the signed body":
        assert_refused(response, "InvalidSignatureException")
    else:  # the declared hash is the body's, or the client opted out of body signing
        assert response.status == 200, response.body
        assert response.json()["StreamInfo"]["StreamName"] == "other"


@pytest.mark.parametrize("declared", ["UNSIGNED-PAYLOAD", rh.EMPTY_SHA256, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
def test_put_media_may_declare_its_payload_hash(server, declared):
    """PutMedia's body is streamed, never hashed: whatever payload hash the producer signs
    with (and declares) is the one the signature is checked with."""
    stream = f"declared-{len(declared)}"
    remote_client(server.url).create_stream(StreamName=stream, DataRetentionInHours=1)
    base = [("Host", "127.0.0.1"), ("Transfer-Encoding", "chunked"), ("x-amzn-stream-name", stream),
            ("x-amzn-fragment-timecode-type", "RELATIVE"), ("X-Amz-Content-SHA256", declared)]
    headers = rh.sign("POST", "/putMedia", base, key=ACCESS_KEY, secret=SECRET_KEY, payload_hash=declared)
    with rh.Conn(server.port) as conn:
        conn.send_head("POST", "/putMedia", headers)
        head = conn.read_head()
        assert head.status == 200, conn.read_body(head)
        data = FIXTURE.read_bytes()
        conn.send_chunk(data)
        conn.end_chunks()
        acks = [json.loads(line) for line in conn.read_body(head).splitlines()]
    assert [a["EventType"] for a in acks].count("PERSISTED") == 4


def test_signed_header_changed_after_signing(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}"),
                                                  ("Content-Type", "application/json")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY)
    headers = [(k, "application/x-amz-json-1.1" if k == "Content-Type" else v) for k, v in headers]
    assert_refused(rh.request(server.port, "POST", "/describeStream", body, headers), "InvalidSignatureException")


def test_signed_for_another_path(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/listStreams", [("Host", f"127.0.0.1:{server.port}")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY)
    assert_refused(rh.request(server.port, "POST", "/describeStream", body, headers), "InvalidSignatureException")


def test_query_string_is_signed(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY, query="b=2&a=1")
    assert rh.request(server.port, "POST", "/describeStream?b=2&a=1", body, headers).status == 200
    assert_refused(rh.request(server.port, "POST", "/describeStream?b=3&a=1", body, headers),
                   "InvalidSignatureException")
    assert_refused(rh.request(server.port, "POST", "/describeStream", body, headers), "InvalidSignatureException")


def test_missing_authorization(server):
    response = rh.api(server.port, "/describeStream", DESCRIBE)
    assert_refused(response, "MissingAuthenticationTokenException")


@pytest.mark.parametrize("authorization", [
    "Bearer abc",
    "AWS4-HMAC-SHA256 Credential=AKIDKVSMUXTEST/20240101/us-east-1/kinesisvideo/aws4_request",
    "AWS4-HMAC-SHA256 Credential=AKIDKVSMUXTEST/20240101/us-east-1/kinesisvideo/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=nothex",
])
def test_malformed_authorization(server, authorization):
    response = rh.api(server.port, "/describeStream", DESCRIBE,
                      headers=[("X-Amz-Date", rh.amz_date()), ("Authorization", authorization)])
    assert response.status == 403
    assert response.error_type in ("IncompleteSignatureException", "InvalidSignatureException")
    assert response.json()["Message"]


def test_missing_x_amz_date(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY)
    headers = [(k, v) for k, v in headers if k != "X-Amz-Date"]
    response = rh.request(server.port, "POST", "/describeStream", body, headers)
    assert response.status == 403 and response.error_type in ("IncompleteSignatureException",
                                                              "InvalidSignatureException")


@pytest.mark.parametrize("service", ["s3", "kinesis"])
def test_scoped_to_another_service(server, service):
    response = signed_describe(server.port, service=service)
    assert response.status == 403 and response.error_type in ("IncompleteSignatureException",
                                                              "InvalidSignatureException")


def test_host_not_signed(server):
    body = json.dumps(DESCRIBE).encode()
    headers = rh.sign("POST", "/describeStream", [("Host", f"127.0.0.1:{server.port}"),
                                                  ("Content-Type", "application/json")], body,
                      key=ACCESS_KEY, secret=SECRET_KEY, signed=["content-type"])
    assert "SignedHeaders=content-type;x-amz-date," in dict(headers)["Authorization"]
    response = rh.request(server.port, "POST", "/describeStream", body, headers)
    assert response.status == 403 and response.error_type == "InvalidSignatureException"


def test_put_media_unsigned_or_badly_signed_is_refused_before_the_200(server):
    remote_client(server.url).create_stream(StreamName="put-refused", DataRetentionInHours=24)
    base = [("Host", "127.0.0.1"), ("Transfer-Encoding", "chunked"), ("x-amzn-stream-name", "put-refused"),
            ("x-amzn-fragment-timecode-type", "RELATIVE"), ("x-amzn-producer-start-timestamp", "1700000000")]
    for headers, code in [
            (base, "MissingAuthenticationTokenException"),
            (rh.sign("POST", "/putMedia", base, key=ACCESS_KEY, secret="wrong", payload_hash=rh.EMPTY_SHA256,
                     signed=[k.lower() for k, _ in base]), "InvalidSignatureException"),
            (rh.sign("POST", "/putMedia", base, key="AKIDUNKNOWN", secret="x", payload_hash=rh.EMPTY_SHA256),
             "UnrecognizedClientException")]:
        with rh.Conn(server.port) as conn:
            conn.send_head("POST", "/putMedia", headers + [("Expect", "100-continue")])
            response = conn.read_head()
            response.body = conn.read_body(response)
        assert_refused(response, code)
    # botocore-style credentials through kvsmux.put, wrong secret: the same error, raised
    from botocore.credentials import Credentials
    with pytest.raises(ClientError) as e:
        put_media_http(server.url, FIXTURE.read_bytes(), stream_name="put-refused",
                       credentials=Credentials(ACCESS_KEY, "wrong"))
    assert e.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # nothing was taken: a right signature now gets the stream
    acks = list(put_media_http(server.url, FIXTURE.read_bytes(), stream_name="put-refused",
                               credentials=Credentials(ACCESS_KEY, SECRET_KEY)))
    assert [a["EventType"] for a in acks].count("PERSISTED") == 4


# -- auth off -------------------------------------------------------------------------------------------------


def test_auth_off_accepts_unsigned_and_any_signature(open_server):
    created = rh.api(open_server.port, "/createStream", {"StreamName": "open", "DataRetentionInHours": 1})
    assert created.status == 200, created.body
    assert rh.api(open_server.port, "/describeStream", {"StreamName": "open"}).status == 200
    garbage = rh.api(open_server.port, "/describeStream", {"StreamName": "open"},
                     headers=[("Authorization", "AWS4-HMAC-SHA256 nonsense")])
    assert garbage.status == 200
    wrong = rh.api(open_server.port, "/describeStream", {"StreamName": "open"}, auth=("AKIDUNKNOWN", "wrong"))
    assert wrong.status == 200
    assert botocore_session_unsigned(open_server.url).describe_stream(StreamName="open")["StreamInfo"]
    assert botocore_client(open_server.url, secret="wrong").list_streams()["StreamInfoList"]
    acks = list(put_media_http(open_server.url, FIXTURE.read_bytes(), stream_name="open"))  # unsigned PutMedia
    assert [a["EventType"] for a in acks].count("PERSISTED") == 4


# -- load_keys ------------------------------------------------------------------------------------------------


def test_load_keys_reads_a_credentials_file(tmp_path):
    path = tmp_path / "keys"
    path.write_text("# kvsmux access keys\n\nAKIDONE   secret-one\n  AKIDTWO\tsecret/two+=  # the second\n"
                    "\n# AKIDCOMMENTED secret\n")
    assert load_keys(path) == {"AKIDONE": "secret-one", "AKIDTWO": "secret/two+="}
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n\n")
    assert load_keys(empty) == {}


@pytest.mark.parametrize("line", ["AKIDONLY", "AKID secret extra", "AKID=secret,"])
def test_load_keys_refuses_a_malformed_line(tmp_path, line):
    path = tmp_path / "keys"
    path.write_text(f"AKIDGOOD good\n{line}\n")
    with pytest.raises(ValueError, match=r"keys:2"):
        load_keys(path)


def test_load_keys_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        load_keys(tmp_path / "absent")


def _isolated_aws_env(monkeypatch, tmp_path) -> None:
    import os
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_load_keys_without_a_file_uses_the_environment(monkeypatch, tmp_path):
    _isolated_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert load_keys(None) == {"AKIDFROMENV": "env-secret"}


def test_load_keys_without_a_file_uses_the_shared_credentials_file(monkeypatch, tmp_path):
    _isolated_aws_env(monkeypatch, tmp_path)
    (tmp_path / "no-credentials").write_text("[default]\naws_access_key_id = AKIDFROMFILE\n"
                                             "aws_secret_access_key = file-secret\n")
    assert load_keys(None) == {"AKIDFROMFILE": "file-secret"}


def test_load_keys_with_no_credentials_anywhere_is_empty(monkeypatch, tmp_path):
    _isolated_aws_env(monkeypatch, tmp_path)
    assert load_keys(None) == {}

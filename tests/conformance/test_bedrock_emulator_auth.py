"""How the Bedrock emulator authenticates and frames streams, checked with botocore's own signer and decoder.

- SigV4 as boto3 signs it (``%3A`` in the path, double-encoded in the canonical URI) and as the anthropic
  SDK's Bedrock client signs it (``botocore.auth.SigV4Auth(creds, "bedrock", region)`` over a URL that keeps
  ``:`` literal), with and without a session token; refusals come back as AWS's 403 error codes.
- Bedrock API keys: botocore sends ``AWS_BEARER_TOKEN_BEDROCK`` as ``Authorization: Bearer`` (HTTPS only,
  so these tests serve the emulator over TLS with a throwaway self-signed certificate).
- The event-stream encoder, decoded by ``botocore.eventstream.EventStreamBuffer``, CRCs included.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from finops.emulators.bedrock.app import create_app
from finops.emulators.bedrock.eventstream import chunk_frame, encode_message, exception_frame
from tests.support.servers import serve_in_thread

ACCESS_KEY = "AKIATESTBEDROCK"
SECRET_KEY = "test-bedrock-secret"
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"
CLAUDE_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "What is 6 * 7?"}],
}
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)) as url:
        yield url


def _client(url: str, *, key: str = ACCESS_KEY, secret: str = SECRET_KEY, region: str = "us-east-1") -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRIES,
    )


def _converse(client: Any) -> dict[str, Any]:
    return client.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "hi"}]}])


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


# --- SigV4 through boto3 --------------------------------------------------------------------------------


def test_wrong_secret_is_refused_with_invalid_signature(base_url: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(base_url, secret="not-the-secret").invoke_model(modelId=CLAUDE, body=json.dumps(CLAUDE_BODY))

    status, code, message = _error(caught)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "signature we calculated does not match" in message
    # AWS shows the canonical request it computed; for boto3's path that is the double-encoded model ID.
    assert "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/invoke" in message


def test_unknown_access_key_is_an_unrecognized_client(base_url: str) -> None:
    with pytest.raises(ClientError) as caught:
        _converse(_client(base_url, key="AKIASOMEONEELSE"))

    assert _error(caught)[:2] == (403, "UnrecognizedClientException")


def test_configured_region_is_enforced(base_url: str) -> None:
    with serve_in_thread(create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, region="eu-west-1")) as url:
        assert _converse(_client(url, region="eu-west-1"))["stopReason"] == "end_turn"
        with pytest.raises(ClientError) as caught:
            _converse(_client(url, region="us-east-1"))

    assert _error(caught)[:2] == (403, "InvalidSignatureException")
    assert "region" in _error(caught)[2]


def test_any_region_is_accepted_when_none_is_configured(base_url: str) -> None:
    assert _converse(_client(base_url, region="ap-southeast-2"))["stopReason"] == "end_turn"


def test_stale_signature_is_refused(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stale)

    with pytest.raises(ClientError) as caught:
        _converse(_client(base_url))

    status, code, message = _error(caught)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("Signature expired")


def test_slightly_skewed_clock_is_tolerated(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    skewed = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)

    assert _converse(_client(base_url))["stopReason"] == "end_turn"


# --- SigV4 as the anthropic SDK's Bedrock client signs it ---------------------------------------------


def _anthropic_style(
    base_url: str,
    path: str,
    body: bytes,
    *,
    token: str | None = None,
    secret: str = SECRET_KEY,
) -> tuple[str, bytes, dict[str, str]]:
    """Sign like ``anthropic.lib.aws._auth.get_auth_headers``: AWSRequest + SigV4Auth(creds, "bedrock", region)."""
    url = base_url + path
    headers = {"content-type": "application/json", "accept": "application/json", "x-stainless-lang": "python"}
    request = AWSRequest(method="POST", url=url, headers=headers, data=body)
    SigV4Auth(Credentials(ACCESS_KEY, secret, token), "bedrock", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return url, body, {k: v for k, v in prepared.headers.items() if v is not None}


def test_anthropic_sdk_signing_with_literal_colon_is_accepted(base_url: str) -> None:
    path = f"/model/{urllib.parse.quote(CLAUDE, safe=':;')}/invoke"
    assert ":" in path
    url, body, headers = _anthropic_style(base_url, path, json.dumps(CLAUDE_BODY).encode(), token="session-xyz")
    assert "X-Amz-Security-Token" in headers

    response = httpx.post(url, content=body, headers=headers)

    assert response.status_code == 200, response.text
    assert "6 * 7 = 42" in response.json()["content"][0]["text"]


def test_anthropic_sdk_signing_of_a_stream_request_is_accepted(base_url: str) -> None:
    path = f"/model/{urllib.parse.quote(CLAUDE, safe=':;')}/invoke-with-response-stream"
    url, body, headers = _anthropic_style(base_url, path, json.dumps(CLAUDE_BODY).encode())

    response = httpx.post(url, content=body, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert response.headers["x-amzn-bedrock-content-type"] == "application/json"
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    frames = list(buffer)
    for frame in frames:
        assert frame.headers == {
            ":event-type": "chunk",
            ":content-type": "application/json",
            ":message-type": "event",
        }
        payload = json.loads(frame.payload)
        assert set(payload) == {"bytes", "p"}
    events = [json.loads(base64.b64decode(json.loads(frame.payload)["bytes"])) for frame in frames]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"


def test_anthropic_bedrock_client_end_to_end(base_url: str) -> None:
    from anthropic import AnthropicBedrock, BadRequestError

    client = AnthropicBedrock(
        aws_access_key=ACCESS_KEY,
        aws_secret_key=SECRET_KEY,
        aws_session_token="session-xyz",
        aws_region="us-east-1",
        base_url=base_url,
        max_retries=0,
    )
    request: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "What is 6 * 7?"}],
    }
    # anthropic 2.13.0 defaults the body's anthropic_version to its HTTP API version, which Bedrock refuses.
    with pytest.raises(BadRequestError) as caught:
        client.messages.create(**request)
    assert "bedrock-2023-05-31" in str(caught.value)

    version = {"anthropic_version": "bedrock-2023-05-31"}
    message = client.messages.create(**request, extra_body=version)
    with client.messages.stream(**request, extra_body=version) as stream:
        kinds = [event.type for event in stream if event.type != "text"]
        streamed = stream.get_final_message()

    assert message.content[0].type == "text"
    assert "6 * 7 = 42" in message.content[0].text
    assert streamed.content[0].text == message.content[0].text
    assert streamed.usage.output_tokens == message.usage.output_tokens
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_body_changed_after_signing_is_refused(base_url: str) -> None:
    url, body, headers = _anthropic_style(base_url, f"/model/{CLAUDE}/invoke", json.dumps(CLAUDE_BODY).encode())
    tampered = body.replace(b"6 * 7", b"6 * 8")

    response = httpx.post(url, content=tampered, headers=headers)

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("InvalidSignatureException")
    assert "signature we calculated does not match" in response.json()["message"]


@pytest.mark.parametrize(
    ("declared", "status"),
    [("actual", 200), ("UNSIGNED-PAYLOAD", 200), ("0" * 64, 400)],
)
def test_declared_payload_hash(base_url: str, declared: str, status: int) -> None:
    body = json.dumps(CLAUDE_BODY).encode()
    value = hashlib.sha256(body).hexdigest() if declared == "actual" else declared
    url = f"{base_url}/model/{CLAUDE}/invoke"
    request = AWSRequest(method="POST", url=url, data=body, headers={"X-Amz-Content-SHA256": value})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock", "us-east-1").add_auth(request)

    response = httpx.post(url, content=body, headers=dict(request.headers))

    assert response.status_code == status, response.text


def test_signature_for_another_service_is_refused(base_url: str) -> None:
    url = f"{base_url}/model/{CLAUDE}/invoke"
    request = AWSRequest(method="POST", url=url, data=json.dumps(CLAUDE_BODY).encode())
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "bedrock-runtime", "us-east-1").add_auth(request)

    response = httpx.post(url, content=request.body, headers=dict(request.headers))

    assert response.status_code == 403
    assert "correct service: 'bedrock'" in response.json()["message"]


def test_unsigned_request_is_refused(base_url: str) -> None:
    response = httpx.post(f"{base_url}/model/{CLAUDE}/invoke", json=CLAUDE_BODY)

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    assert response.json() == {"message": "Missing Authentication Token"}


def test_bearer_token_is_refused_when_none_is_configured(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/model/{CLAUDE}/invoke", json=CLAUDE_BODY, headers={"authorization": f"Bearer {API_KEY}"}
    )

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"].startswith("AccessDeniedException")


# --- Bedrock API keys (bearer) through boto3 ------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A throwaway self-signed certificate for 127.0.0.1: botocore sends bearer tokens only over HTTPS."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = Path(tmp_path_factory.mktemp("tls"))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@contextmanager
def _serve_tls(app: Any, cert: str, key: str) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=cert, ssl_keyfile=key, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "TLS test server did not start"
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def tls_url(tls_files: tuple[str, str]) -> Iterator[str]:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, bearer_token=API_KEY)
    with _serve_tls(app, *tls_files) as url:
        yield url


def _bearer_client(url: str, token: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
    # No key pair anywhere: the call can only succeed through the bearer token.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    session = boto3.session.Session(region_name="us-east-1")
    return session.client("bedrock-runtime", endpoint_url=url, verify=False, config=NO_RETRIES)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_bearer_token_from_environment_is_accepted(tls_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _bearer_client(tls_url, API_KEY, monkeypatch)

    assert _converse(client)["stopReason"] == "end_turn"
    message = json.loads(client.invoke_model(modelId=CLAUDE, body=json.dumps(CLAUDE_BODY))["body"].read())
    assert message["type"] == "message"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_wrong_bearer_token_is_refused(tls_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _bearer_client(tls_url, API_KEY + "x", monkeypatch)

    with pytest.raises(client.exceptions.AccessDeniedException) as caught:
        _converse(client)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_sigv4_still_works_when_a_bearer_token_is_configured(tls_url: str) -> None:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=tls_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        verify=False,
        config=NO_RETRIES,
    )
    assert _converse(client)["stopReason"] == "end_turn"


# --- Event-stream framing -------------------------------------------------------------------------------


def test_encoded_message_decodes_with_botocore() -> None:
    frame = encode_message({":event-type": "chunk", "x-unicode": "héllo"}, b'{"a":1}')
    buffer = EventStreamBuffer()
    buffer.add_data(frame + frame)

    decoded = list(buffer)

    assert len(decoded) == 2
    assert decoded[0].headers == {":event-type": "chunk", "x-unicode": "héllo"}
    assert decoded[0].payload == b'{"a":1}'


def test_corrupted_frame_fails_botocore_checksum() -> None:
    frame = bytearray(chunk_frame({"type": "message_stop"}))
    frame[-6] ^= 0xFF  # a payload byte: the prelude still checks out, the message CRC must not
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(frame))

    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_chunk_and_exception_frames_carry_bedrock_headers() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(chunk_frame({"type": "ping"}) + exception_frame("throttlingException", "slow down"))
    chunk, error = list(buffer)

    assert json.loads(base64.b64decode(json.loads(chunk.payload)["bytes"])) == {"type": "ping"}
    assert error.headers == {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert json.loads(error.payload) == {"message": "slow down"}

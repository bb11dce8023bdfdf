"""SigV4 for the emulated S3, as boto3 signs it and as the S3 documentation specifies it.

- Refusals through boto3's ``s3`` client carry S3's codes and statuses (``SignatureDoesNotMatch`` 403 with
  the canonical request, ``InvalidAccessKeyId``, ``RequestTimeTooSkewed``, ``AuthorizationHeaderMalformed``,
  ``AccessDenied``), never Bedrock's rest-json ones.
- The payload declarations S3 accepts: a hex SHA-256 (boto3 over HTTP), ``UNSIGNED-PAYLOAD``,
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (boto3 over HTTPS, aws-chunked with a CRC32 trailer) and the signed
  ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`` chunk chains, checked first against the worked examples of
  the S3 documentation, then over HTTP with a seed signature computed by botocore's own signer.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
import uvicorn
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from finops.emulators.bedrock import sigv4
from finops.emulators.bedrock.app import create_app
from finops.emulators.bedrock.aws_chunked import AwsChunkedDecoder, ChunkError, chunk_signature, trailer_signature
from tests.support.servers import serve_in_thread

ACCESS_KEY = "AKIATESTS3SIGNING"
SECRET_KEY = "test-s3-signing-secret"
BUCKET = "signed-bucket"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET])) as url:
        yield url


def _client(url: str, *, key: str = ACCESS_KEY, secret: str = SECRET_KEY, region: str = "us-east-1", **kw: Any) -> Any:
    return boto3.client(
        "s3",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=kw.pop("config", NO_RETRIES),
        **kw,
    )


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, dict[str, Any]]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]


def _get(url: str, key: str) -> bytes:
    body: bytes = _client(url).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def _exists(url: str, key: str) -> bool:
    listed = _client(url).list_objects_v2(Bucket=BUCKET, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


# --- refusals through boto3 -------------------------------------------------------------------------------


def test_wrong_secret_is_signature_does_not_match(base_url: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(base_url, secret="not-the-secret").put_object(Bucket=BUCKET, Key="k:1 x.txt", Body=b"data")

    status, code, error = _error(caught)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert error["Message"].startswith("The request signature we calculated does not match")
    assert error["AWSAccessKeyId"] == ACCESS_KEY
    # S3 encodes the key once in the canonical URI (``:`` -> ``%3A``, space -> ``%20``), unlike Bedrock.
    assert error["CanonicalRequest"].startswith(f"PUT\n/{BUCKET}/k%3A1%20x.txt\n")
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert not _exists(base_url, "k:1 x.txt")


def test_correct_signature_with_reserved_characters_is_accepted(base_url: str) -> None:
    client = _client(base_url)
    client.put_object(Bucket=BUCKET, Key="k:1 x+y~z.txt", Body=b"data")

    assert _get(base_url, "k:1 x+y~z.txt") == b"data"


def test_unknown_access_key_is_invalid_access_key_id(base_url: str) -> None:
    with pytest.raises(ClientError) as caught:
        _client(base_url, key="AKIASOMEONEELSE").list_objects_v2(Bucket=BUCKET)

    status, code, error = _error(caught)
    assert (status, code) == (403, "InvalidAccessKeyId")
    assert error["AWSAccessKeyId"] == "AKIASOMEONEELSE"


def test_wrong_region_is_authorization_header_malformed() -> None:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], region="eu-west-1")
    with serve_in_thread(app) as url:
        client = _client(url, region="us-east-1")
        scopes: list[str] = []
        client.meta.events.register(
            "before-send.s3", lambda request, **_: scopes.append(request.headers["Authorization"].decode())
        )
        listed = client.list_objects_v2(Bucket=BUCKET)
        raw_url = f"{url}/{BUCKET}?list-type=2"
        raw = httpx.get(raw_url, headers=_signed_headers("GET", raw_url, hashlib.sha256(b"").hexdigest()))

    assert raw.status_code == 400
    assert "<Code>AuthorizationHeaderMalformed</Code>" in raw.text
    assert "the region 'us-east-1' is wrong; expecting 'eu-west-1'" in raw.text
    assert "<Region>eu-west-1</Region>" in raw.text
    # botocore reads <Region> from exactly this error and re-signs for it, as it does against real S3.
    assert listed["KeyCount"] == 0
    assert ["/us-east-1/s3/" in scope for scope in scopes] == [True, False]
    assert "/eu-west-1/s3/" in scopes[1]


def test_stale_clock_is_request_time_too_skewed(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stale)

    with pytest.raises(ClientError) as caught:
        _client(base_url).head_bucket(Bucket=BUCKET)
    with pytest.raises(ClientError) as listed:
        _client(base_url).list_objects_v2(Bucket=BUCKET)

    assert _error(caught)[0] == 403
    status, code, error = _error(listed)
    assert (status, code) == (403, "RequestTimeTooSkewed")
    assert error["MaxAllowedSkewMilliseconds"] == "900000"


def test_unsigned_request_is_access_denied(base_url: str) -> None:
    anonymous = _client(base_url, config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))

    with pytest.raises(ClientError) as caught:
        anonymous.get_object(Bucket=BUCKET, Key="anything")

    assert _error(caught)[:2] == (403, "AccessDenied")


# --- payload declarations, raw HTTP --------------------------------------------------------------------------


def _signed_headers(
    method: str,
    url: str,
    payload_hash: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    service: str = "s3",
    when: datetime.datetime | None = None,
) -> dict[str, str]:
    """Sign with botocore's generic SigV4 signer, the declared payload hash taken as given."""
    request = AWSRequest(
        method=method, url=url, data=body, headers={**(headers or {}), "X-Amz-Content-SHA256": payload_hash}
    )
    if when is not None:
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, "us-east-1").add_auth(request)
    return {name: value for name, value in request.headers.items()}


def test_declared_sha256_that_does_not_match_the_body(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}/tampered"
    headers = _signed_headers("PUT", url, hashlib.sha256(b"original").hexdigest())

    response = httpx.put(url, content=b"tampered", headers=headers)

    assert response.status_code == 400
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in response.text
    assert hashlib.sha256(b"tampered").hexdigest() in response.text
    assert not _exists(base_url, "tampered")


def test_a_get_must_declare_the_empty_body_it_sends(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}?list-type=2"
    headers = _signed_headers("GET", url, hashlib.sha256(b"a body that never comes").hexdigest())

    response = httpx.get(url, headers=headers)

    assert response.status_code == 400
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in response.text


def test_unsigned_payload_is_accepted(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}/unsigned-payload"

    response = httpx.put(url, content=b"trust me", headers=_signed_headers("PUT", url, "UNSIGNED-PAYLOAD"))

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(b"trust me").hexdigest()}"'
    assert _get(base_url, "unsigned-payload") == b"trust me"


def test_missing_content_sha256_is_refused(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}/no-hash"
    headers = _signed_headers("PUT", url, "UNSIGNED-PAYLOAD")
    del headers["X-Amz-Content-SHA256"]

    response = httpx.put(url, content=b"x", headers=headers)

    assert response.status_code == 400
    assert "<Code>InvalidRequest</Code>" in response.text
    assert "x-amz-content-sha256" in response.text


def test_unsigned_amz_header_is_refused(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}/meta"
    headers = _signed_headers("PUT", url, "UNSIGNED-PAYLOAD")
    headers["x-amz-meta-added-later"] = "forged"

    response = httpx.put(url, content=b"x", headers=headers)

    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text
    assert "<HeadersNotSigned>x-amz-meta-added-later</HeadersNotSigned>" in response.text


def test_signature_scoped_to_bedrock_is_refused_by_s3(base_url: str) -> None:
    url = f"{base_url}/{BUCKET}/wrong-service"

    response = httpx.put(url, content=b"x", headers=_signed_headers("PUT", url, "UNSIGNED-PAYLOAD", service="bedrock"))

    assert response.status_code == 400
    assert "<Code>AuthorizationHeaderMalformed</Code>" in response.text
    assert not _exists(base_url, "wrong-service")


# --- aws-chunked: the S3 documentation's worked examples -------------------------------------------------------

_DOC_KEY = sigv4.SigningKey("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
_DOC_NOW = datetime.datetime(2013, 5, 24, tzinfo=datetime.UTC)
_DOC_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)


def _doc_request() -> sigv4.RequestParts:
    """'Example: PUT Object' of the S3 docs (sigv4-streaming): 66,560 bytes of 'a' in 64 KiB chunks."""
    signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed}x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    )
    headers = [
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("authorization", authorization),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("content-length", "66824"),
    ]
    return sigv4.RequestParts("PUT", "/examplebucket/chunkObject.txt", "", headers, None)


def _doc_body(signatures: tuple[str, str, str], trailer: bytes = b"") -> bytes:
    return (
        f"10000;chunk-signature={signatures[0]}\r\n".encode()
        + b"a" * 65536
        + f"\r\n400;chunk-signature={signatures[1]}\r\n".encode()
        + b"a" * 1024
        + f"\r\n0;chunk-signature={signatures[2]}\r\n".encode()
        + trailer
        + b"\r\n"
    )


def test_documented_seed_signature_verifies() -> None:
    verified = sigv4.verify(_doc_request(), _DOC_KEY, now=_DOC_NOW, rules=sigv4.S3)

    assert verified.seed_signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


@pytest.mark.parametrize("piece", [1, 7, 4096, 70000])
def test_documented_chunk_chain_decodes_whatever_the_read_size(piece: int) -> None:
    verified = sigv4.verify(_doc_request(), _DOC_KEY, now=_DOC_NOW, rules=sigv4.S3)
    body = _doc_body(_DOC_SIGNATURES)
    assert len(body) == 66824  # the documented Content-Length
    decoder = AwsChunkedDecoder(verified)

    decoded = b"".join(b"".join(decoder.feed(body[i : i + piece])) for i in range(0, len(body), piece))

    assert decoded == b"a" * 66560
    assert decoder.finish() == {}


def test_documented_chunk_chain_with_a_changed_byte_is_refused() -> None:
    verified = sigv4.verify(_doc_request(), _DOC_KEY, now=_DOC_NOW, rules=sigv4.S3)
    body = bytearray(_doc_body(_DOC_SIGNATURES))
    body[200] = ord("b")

    with pytest.raises(ChunkError) as caught:
        AwsChunkedDecoder(verified).feed(bytes(body))

    assert caught.value.kind == "signature"


def test_documented_trailer_example_verifies() -> None:
    """'Example: PUT Object with trailing headers' (sigv4-streaming-trailers): a CRC32C trailer, signed."""
    verified = sigv4.verify(_doc_request(), _DOC_KEY, now=_DOC_NOW, rules=sigv4.S3)
    seeded = dataclasses.replace(
        verified, seed_signature="106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    )
    signatures = (
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    )
    trailer = (
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
        b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
    )
    decoder = AwsChunkedDecoder(seeded)

    assert b"".join(decoder.feed(_doc_body(signatures, trailer))) == b"a" * 66560
    assert decoder.finish() == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    forged = AwsChunkedDecoder(seeded)
    with pytest.raises(ChunkError):
        forged.feed(_doc_body(signatures, trailer.replace(b"sOO8/Q==", b"AAAAAA==")))


# --- aws-chunked over HTTP ------------------------------------------------------------------------------------


def _chunked_put(
    url: str,
    data: bytes,
    *,
    chunk: int = 8192,
    trailer: dict[str, str] | None = None,
    corrupt: bool = False,
    declared_length: int | None = None,
) -> httpx.Response:
    """PUT ``data`` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], seeded by botocore's signature."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data) if declared_length is None else declared_length),
    }
    if trailer:
        headers["X-Amz-Trailer"] = ",".join(trailer)
    now = datetime.datetime.now(datetime.UTC)
    signed = _signed_headers("PUT", url, mode, headers=headers, when=now)
    seed = signed["Authorization"].rsplit("Signature=", 1)[1]
    context = sigv4.Verified(
        signing_key=sigv4.signing_key(SECRET_KEY, now.strftime("%Y%m%d"), "us-east-1", "s3"),
        amz_date=now.strftime("%Y%m%dT%H%M%SZ"),
        scope=f"{now.strftime('%Y%m%d')}/us-east-1/s3/aws4_request",
        seed_signature=seed,
        region="us-east-1",
    )
    body = bytearray()
    previous = seed
    for piece in [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]:
        signature = chunk_signature(context, previous, hashlib.sha256(piece).hexdigest())
        body += f"{len(piece):x};chunk-signature={signature}\r\n".encode() + piece
        body += b"\r\n" if piece else b""
        previous = signature
    if trailer:
        for name, value in trailer.items():
            body += f"{name}:{value}\r\n".encode()
        body += f"x-amz-trailer-signature:{trailer_signature(context, previous, list(trailer.items()))}\r\n".encode()
    body += b"\r\n"
    if corrupt:
        body[len(body) // 2] ^= 0x01
    return httpx.put(url, content=bytes(body), headers=signed)


def test_signed_chunks_over_http_are_stored_decoded(base_url: str) -> None:
    data = bytes(range(256)) * 200

    response = _chunked_put(f"{base_url}/{BUCKET}/chunked-signed", data)

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert _get(base_url, "chunked-signed") == data


def test_signed_chunks_with_a_crc32_trailer(base_url: str) -> None:
    data = b"trailing checksum " * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()

    good = _chunked_put(f"{base_url}/{BUCKET}/chunked-trailer", data, trailer={"x-amz-checksum-crc32": crc})
    bad = _chunked_put(f"{base_url}/{BUCKET}/chunked-bad-crc", data, trailer={"x-amz-checksum-crc32": "AAAAAA=="})

    assert good.status_code == 200, good.text
    assert good.headers["x-amz-checksum-crc32"] == crc
    assert _get(base_url, "chunked-trailer") == data
    assert bad.status_code == 400
    assert "<Code>BadDigest</Code>" in bad.text
    assert not _exists(base_url, "chunked-bad-crc")


def test_a_changed_chunk_is_signature_does_not_match(base_url: str) -> None:
    response = _chunked_put(f"{base_url}/{BUCKET}/chunked-corrupt", b"z" * 50_000, corrupt=True)

    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert not _exists(base_url, "chunked-corrupt")


def test_decoded_length_must_match(base_url: str) -> None:
    response = _chunked_put(f"{base_url}/{BUCKET}/chunked-short", b"q" * 10_000, declared_length=20_000)

    assert response.status_code == 400
    assert "<Code>IncompleteBody</Code>" in response.text
    assert not _exists(base_url, "chunked-short")


# --- boto3 over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER --------------------------------------------------------


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = Path(tmp_path_factory.mktemp("s3-tls"))
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
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "key.pem").write_bytes(private)
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET])
    with _serve_tls(app, str(folder / "cert.pem"), str(folder / "key.pem")) as url:
        yield url


@contextmanager
def _serve_tls(app: Any, cert: str, key: str) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=cert, ssl_keyfile=key, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "TLS test server did not start"
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_boto3_over_https_sends_aws_chunked_with_a_crc32_trailer(tls_url: str) -> None:
    client = _client(tls_url, verify=False)
    declared: list[str] = []
    client.meta.events.register(
        "before-send.s3", lambda request, **_: declared.append(request.headers.get("X-Amz-Content-SHA256", b""))
    )
    data = b"over https " * 100_000  # ~1.1 MB: one PutObject

    client.put_object(Bucket=BUCKET, Key="https/put", Body=data)
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key="https/mp", ChecksumAlgorithm="CRC32")["UploadId"]
    part = client.upload_part(Bucket=BUCKET, Key="https/mp", UploadId=upload_id, PartNumber=1, Body=data)
    client.complete_multipart_upload(
        Bucket=BUCKET,
        Key="https/mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}]},
    )

    streamed = [
        value
        for value in declared
        if value in (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    ]
    assert len(streamed) == 2  # the PutObject and the UploadPart
    assert client.get_object(Bucket=BUCKET, Key="https/put", ChecksumMode="ENABLED")["Body"].read() == data
    assert client.get_object(Bucket=BUCKET, Key="https/mp")["Body"].read() == data
    assert part["ChecksumCRC32"] == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()

"""The Bedrock emulator's S3 subset, driven by boto3's own ``s3`` client (real SigV4, real XML parsing).

boto3 parses every answer with its service model, so a call that succeeds here is one the SDK accepts; the
raw XML of the list/multipart answers is also checked element by element against botocore's ``s3`` shapes
(``_assert_xml_shape``), because botocore's XML parser silently ignores elements it does not know.
Addressing is exercised both ways boto3 sends it to a custom ``endpoint_url``: path style (the default,
and always for an IP address) and virtual-host style (``Host: <bucket>.localhost``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import xml.etree.ElementTree as ElementTree
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from finops.emulators.bedrock.app import create_app
from tests.support.servers import serve_in_thread

ACCESS_KEY = "AKIATESTS3EMULATOR"
SECRET_KEY = "test-s3-secret"
BUCKET = "finops-batch"
MIB = 1024 * 1024
S3_MODEL = botocore.session.get_session().get_service_model("s3")


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3-state")


@pytest.fixture(scope="module")
def base_url(state_dir: Path) -> Iterator[str]:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], state_dir=str(state_dir))
    with serve_in_thread(app) as url:
        yield url


def _client(url: str, addressing: str = "path", **config: Any) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": addressing}, retries={"total_max_attempts": 1}, **config),
    )


@pytest.fixture
def s3(base_url: str) -> Any:
    return _client(base_url)


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def _capture_xml(client: Any, operation: str) -> list[bytes]:
    """Collect the raw bodies of ``operation``'s answers, as they came off the wire."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    client.meta.events.register(f"after-call.s3.{operation}", keep)
    return bodies


def _assert_xml_shape(element: ElementTree.Element, shape: Any, where: str) -> None:
    """Every child element must be a member of ``shape`` (by its wire name); recurse into structures/lists."""
    members = {member.serialization.get("name", name): member for name, member in shape.members.items()}
    for child in element:
        tag = child.tag.rpartition("}")[2]
        assert tag in members, f"{where}: <{tag}> is not a member of {shape.name}"
        member = members[tag]
        if member.type_name == "list":
            member = member.member
        if member.type_name == "structure":
            _assert_xml_shape(child, member, f"{where}/{tag}")
        elif member.type_name in ("integer", "long"):
            int(child.text or "")
        elif member.type_name == "boolean":
            assert child.text in ("true", "false"), f"{where}/{tag}: {child.text!r}"


def _check_wire(body: bytes, operation: str) -> ElementTree.Element:
    root = ElementTree.fromstring(body)
    assert root.tag.startswith("{http://s3.amazonaws.com/doc/2006-03-01/}"), root.tag
    _assert_xml_shape(root, S3_MODEL.operation_model(operation).output_shape, operation)
    return root


def _blob_files(state_dir: Path) -> list[Path]:
    """The object files under the emulator's state directory (made on the first write)."""
    folder = state_dir / "blobs"
    return list(folder.iterdir()) if folder.exists() else []


# --- objects ----------------------------------------------------------------------------------------------


def test_put_get_head_delete_round_trip(s3: Any, state_dir: Path) -> None:
    body = b"hello batch world\n" * 100
    put = s3.put_object(
        Bucket=BUCKET, Key="files/one.jsonl", Body=body, ContentType="application/jsonl", Metadata={"owner": "team-a"}
    )

    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    got = s3.get_object(Bucket=BUCKET, Key="files/one.jsonl", ChecksumMode="ENABLED")
    assert got["Body"].read() == body  # botocore validates the CRC32 it is sent against these bytes
    assert got["ContentType"] == "application/jsonl"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"owner": "team-a"}
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=BUCKET, Key="files/one.jsonl")
    assert (head["ContentLength"], head["ETag"], head["AcceptRanges"]) == (len(body), put["ETag"], "bytes")
    # The bytes live on disk, not in the emulator's memory.
    assert any(path.read_bytes() == body for path in _blob_files(state_dir))

    s3.delete_object(Bucket=BUCKET, Key="files/one.jsonl")

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="files/one.jsonl")
    assert _error(caught)[:2] == (404, "NoSuchKey")
    assert not any(path.read_bytes() == body for path in _blob_files(state_dir))


def test_keys_with_reserved_characters_round_trip(s3: Any) -> None:
    key = "dir/a b+c:d~é=(1)&x.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"odd")

    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"odd"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="dir/a b")
    assert [item["Key"] for item in listed["Contents"]] == [key]


def test_default_content_type_and_empty_object(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")

    got = s3.get_object(Bucket=BUCKET, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'


def test_overwrite_replaces_the_object(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="twice", Body=b"first")
    s3.put_object(Bucket=BUCKET, Key="twice", Body=b"second!")

    assert s3.get_object(Bucket=BUCKET, Key="twice")["Body"].read() == b"second!"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="twice")["Contents"]] == ["twice"]


@pytest.mark.parametrize(
    ("header", "status", "expected", "content_range"),
    [
        ("bytes=0-3", 206, b"0123", "bytes 0-3/10"),
        ("bytes=4-", 206, b"456789", "bytes 4-9/10"),
        ("bytes=-3", 206, b"789", "bytes 7-9/10"),
        ("bytes=8-100", 206, b"89", "bytes 8-9/10"),
        ("bytes=-100", 206, b"0123456789", "bytes 0-9/10"),
        ("bytes=5-2", 200, b"0123456789", None),  # not a valid range: ignored, as S3 does
        ("items=0-3", 200, b"0123456789", None),
    ],
)
def test_get_object_range(s3: Any, header: str, status: int, expected: bytes, content_range: str | None) -> None:
    s3.put_object(Bucket=BUCKET, Key="digits", Body=b"0123456789")

    got = s3.get_object(Bucket=BUCKET, Key="digits", Range=header)

    assert got["ResponseMetadata"]["HTTPStatusCode"] == status
    assert got["Body"].read() == expected
    assert got["ContentLength"] == len(expected)
    assert got.get("ContentRange") == content_range


@pytest.mark.parametrize("header", ["bytes=10-20", "bytes=10-", "bytes=-0"])
def test_unsatisfiable_range_is_invalid_range(s3: Any, header: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="digits", Body=b"0123456789")

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="digits", Range=header)

    status, code, message = _error(caught)
    assert (status, code, message) == (416, "InvalidRange", "The requested range is not satisfiable")
    assert caught.value.response["Error"]["ActualObjectSize"] == "10"
    assert caught.value.response["Error"]["RangeRequested"] == header


def test_range_across_multipart_segments(s3: Any) -> None:
    first, second = b"a" * (5 * MIB), b"b" * 1000
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="two-parts")["UploadId"]
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="two-parts", UploadId=upload, PartNumber=n, Body=data)["ETag"]
        for n, data in ((1, first), (2, second))
    ]
    parts = [{"PartNumber": n, "ETag": etag} for n, etag in zip((1, 2), etags, strict=True)]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="two-parts", UploadId=upload, MultipartUpload={"Parts": parts})

    got = s3.get_object(Bucket=BUCKET, Key="two-parts", Range=f"bytes={5 * MIB - 3}-{5 * MIB + 2}")

    assert got["Body"].read() == b"aaabbb"
    assert got["ContentRange"] == f"bytes {5 * MIB - 3}-{5 * MIB + 2}/{5 * MIB + 1000}"


def test_missing_bucket_and_key_errors(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
    assert _error(caught) == (404, "NoSuchBucket", "The specified bucket does not exist")
    assert caught.value.response["Error"]["BucketName"] == "no-such-bucket"

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="never-written")
    assert _error(caught) == (404, "NoSuchKey", "The specified key does not exist.")
    assert caught.value.response["Error"]["Key"] == "never-written"
    assert caught.value.response["ResponseMetadata"]["RequestId"]
    assert caught.value.response["ResponseMetadata"]["HostId"]

    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=BUCKET, Key="never-written")
    assert _error(caught)[:2] == (404, "404")  # HEAD answers carry no body, so botocore only sees the status


def test_delete_of_a_missing_key_succeeds(s3: Any) -> None:
    answer = s3.delete_object(Bucket=BUCKET, Key="was-never-there")

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_objects(s3: Any) -> None:
    for name in ("del/a", "del/b", "del/c"):
        s3.put_object(Bucket=BUCKET, Key=name, Body=b"x")
    bodies = _capture_xml(s3, "DeleteObjects")

    answer = s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "del/a"}, {"Key": "del/b"}, {"Key": "del/missing"}]}
    )

    assert sorted(item["Key"] for item in answer["Deleted"]) == ["del/a", "del/b", "del/missing"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="del/")["Contents"]] == ["del/c"]
    _check_wire(bodies[0], "DeleteObjects")
    quiet = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "del/c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="del/")["KeyCount"] == 0


# --- buckets ----------------------------------------------------------------------------------------------


def test_bucket_lifecycle(s3: Any) -> None:
    s3.create_bucket(Bucket="made-by-test")

    assert "made-by-test" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket="made-by-test")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="made-by-test")
    assert _error(caught)[:2] == (409, "BucketAlreadyOwnedByYou")

    s3.put_object(Bucket="made-by-test", Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="made-by-test")
    assert _error(caught)[:2] == (409, "BucketNotEmpty")
    s3.delete_object(Bucket="made-by-test", Key="k")
    s3.delete_bucket(Bucket="made-by-test")
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="made-by-test")
    assert _error(caught)[:2] == (404, "404")


def test_invalid_bucket_name_is_refused(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="ab")

    assert _error(caught)[:2] == (400, "InvalidBucketName")


def test_configured_buckets_exist_at_start(s3: Any) -> None:
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# --- listing ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing_bucket(base_url: str) -> str:
    client = _client(base_url)
    client.create_bucket(Bucket="listing")
    for key in ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d/4.txt", "e.txt", "f/5.txt", "g+h i.txt"]:
        client.put_object(Bucket="listing", Key=key, Body=key.encode())
    return "listing"


def test_list_with_prefix_and_delimiter(s3: Any, listing_bucket: str) -> None:
    bodies = _capture_xml(s3, "ListObjectsV2")

    top = s3.list_objects_v2(Bucket=listing_bucket, Delimiter="/")
    under_b = s3.list_objects_v2(Bucket=listing_bucket, Prefix="b/", Delimiter="/")

    assert [item["Key"] for item in top["Contents"]] == ["a.txt", "e.txt", "g+h i.txt"]
    assert [item["Prefix"] for item in top["CommonPrefixes"]] == ["b/", "d/", "f/"]
    assert top["KeyCount"] == 6
    assert top["IsTruncated"] is False
    assert [item["Key"] for item in under_b["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [item["Prefix"] for item in under_b["CommonPrefixes"]] == ["b/c/"]
    first = top["Contents"][0]
    assert first["Size"] == len(b"a.txt")
    assert first["ETag"] == f'"{hashlib.md5(b"a.txt").hexdigest()}"'
    assert first["StorageClass"] == "STANDARD"
    for body in bodies:
        root = _check_wire(body, "ListObjectsV2")
        # boto3 asks for url encoding; keys come back encoded and botocore decodes them.
        assert root.find("{*}EncodingType") is not None


def test_list_pages_with_continuation_tokens(s3: Any, listing_bucket: str) -> None:
    keys: list[str] = []
    tokens: list[str] = []
    request: dict[str, Any] = {"Bucket": listing_bucket, "MaxKeys": 3}
    while True:
        page = s3.list_objects_v2(**request)
        assert page["KeyCount"] <= 3
        keys += [item["Key"] for item in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        tokens.append(page["NextContinuationToken"])
        request["ContinuationToken"] = page["NextContinuationToken"]

    assert keys == ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d/4.txt", "e.txt", "f/5.txt", "g+h i.txt"]
    assert len(tokens) == 2


def test_list_pages_resume_after_a_common_prefix(s3: Any, listing_bucket: str) -> None:
    paginator = s3.get_paginator("list_objects_v2")
    pages: list[list[str]] = []
    for page in paginator.paginate(Bucket=listing_bucket, Delimiter="/", PaginationConfig={"PageSize": 2}):
        keys = [item["Key"] for item in page.get("Contents", [])]
        pages.append(sorted(keys + [item["Prefix"] for item in page.get("CommonPrefixes", [])]))

    # Each common prefix is listed once, never again on the next page, and every page is full but the last.
    assert pages == [["a.txt", "b/"], ["d/", "e.txt"], ["f/", "g+h i.txt"]]


def test_list_start_after_and_max_keys_zero(s3: Any, listing_bucket: str) -> None:
    after = s3.list_objects_v2(Bucket=listing_bucket, StartAfter="d/4.txt")
    nothing = s3.list_objects_v2(Bucket=listing_bucket, MaxKeys=0)

    assert [item["Key"] for item in after["Contents"]] == ["e.txt", "f/5.txt", "g+h i.txt"]
    assert after["StartAfter"] == "d/4.txt"
    assert nothing["KeyCount"] == 0
    assert "Contents" not in nothing


def test_list_missing_bucket_and_bad_token(s3: Any, listing_bucket: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket="not-a-bucket")
    assert _error(caught)[:2] == (404, "NoSuchBucket")

    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket=listing_bucket, ContinuationToken="garbage!")
    assert _error(caught)[:2] == (400, "InvalidArgument")


# --- multipart uploads -------------------------------------------------------------------------------------


def test_multipart_upload_by_hand(s3: Any) -> None:
    parts_data = [b"x" * (5 * MIB), b"y" * (5 * MIB), b"z" * 123]
    created_bodies = _capture_xml(s3, "CreateMultipartUpload")
    completed_bodies = _capture_xml(s3, "CompleteMultipartUpload")
    created = s3.create_multipart_upload(
        Bucket=BUCKET, Key="mp/by-hand", ContentType="application/jsonl", ChecksumAlgorithm="CRC32"
    )
    upload_id = created["UploadId"]
    uploaded = [
        s3.upload_part(Bucket=BUCKET, Key="mp/by-hand", UploadId=upload_id, PartNumber=n, Body=data)
        for n, data in enumerate(parts_data, start=1)
    ]
    listed = s3.list_parts(Bucket=BUCKET, Key="mp/by-hand", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, 5 * MIB), (2, 5 * MIB), (3, 123)]

    completed = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="mp/by-hand",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": n, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}
                for n, part in enumerate(uploaded, start=1)
            ]
        },
    )

    md5s = b"".join(hashlib.md5(data).digest() for data in parts_data)
    expected_etag = f'"{hashlib.md5(md5s).hexdigest()}-3"'
    assert completed["ETag"] == expected_etag
    assert completed["ChecksumType"] == "COMPOSITE"
    crcs = b"".join(zlib.crc32(data).to_bytes(4, "big") for data in parts_data)
    assert completed["ChecksumCRC32"] == base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + "-3"
    got = s3.get_object(Bucket=BUCKET, Key="mp/by-hand", ChecksumMode="ENABLED")
    assert got["ETag"] == expected_etag
    assert got["ContentType"] == "application/jsonl"
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(b"".join(parts_data)).digest()
    _check_wire(created_bodies[0], "CreateMultipartUpload")
    _check_wire(completed_bodies[0], "CompleteMultipartUpload")
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=BUCKET, Key="mp/by-hand", UploadId=upload_id)
    assert _error(caught)[:2] == (404, "NoSuchUpload")


def test_parts_below_five_mib_are_refused_except_the_last(s3: Any) -> None:
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/small")["UploadId"]
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="mp/small", UploadId=upload_id, PartNumber=n, Body=b"s" * 1000)["ETag"]
        for n in (1, 2)
    ]

    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key="mp/small",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]},
        )

    status, code, _ = _error(caught)
    assert (status, code) == (400, "EntityTooSmall")
    assert caught.value.response["Error"]["MinSizeAllowed"] == str(5 * MIB)
    assert caught.value.response["Error"]["PartNumber"] == "1"
    # A single small part is the last part, so it is fine.
    single = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="mp/small",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}]},
    )
    assert single["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=BUCKET, Key="mp/small")["Body"].read() == b"s" * 1000


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([(2, 1), (1, 0)], "InvalidPartOrder"),
        ([(1, 0), (3, 0)], "InvalidPart"),  # part 3 was never uploaded
        ([(1, 1)], "InvalidPart"),  # part 1 listed with part 2's ETag
    ],
)
def test_complete_checks_the_listed_parts(s3: Any, parts: list[tuple[int, int]], code: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/checks")["UploadId"]
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="mp/checks", UploadId=upload_id, PartNumber=n, Body=bytes([n]) * (5 * MIB))[
            "ETag"
        ]
        for n in (1, 2)
    ]

    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=BUCKET,
            Key="mp/checks",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[e]} for n, e in parts]},
        )

    assert _error(caught)[:2] == (400, code)
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/checks", UploadId=upload_id)


def test_abort_removes_the_upload_and_its_parts(s3: Any, state_dir: Path) -> None:
    before = {path.name for path in _blob_files(state_dir)}
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/aborted")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="mp/aborted", UploadId=upload_id, PartNumber=1, Body=b"q" * 100)
    assert upload_id in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/")["Uploads"]]

    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/aborted", UploadId=upload_id)

    assert upload_id not in [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    assert {path.name for path in _blob_files(state_dir)} == before
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=BUCKET, Key="mp/aborted", UploadId=upload_id, PartNumber=2, Body=b"late")
    assert _error(caught)[:2] == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as caught:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/aborted", UploadId=upload_id)
    assert _error(caught)[:2] == (404, "NoSuchUpload")


def test_part_number_out_of_range_is_refused(s3: Any) -> None:
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/range")["UploadId"]

    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=BUCKET, Key="mp/range", UploadId=upload_id, PartNumber=10001, Body=b"x")

    assert _error(caught)[:2] == (400, "InvalidArgument")


def test_upload_fileobj_uses_multipart_and_round_trips(s3: Any) -> None:
    data = bytes(range(256)) * (80 * 1024)  # 20 MiB: s3transfer splits it into 8 MiB parts
    s3.upload_fileobj(io.BytesIO(data), BUCKET, "mp/transfer")

    head = s3.head_object(Bucket=BUCKET, Key="mp/transfer")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "mp/transfer", out)  # ranged GETs in parallel
    assert out.getvalue() == data


# --- addressing --------------------------------------------------------------------------------------------


@pytest.fixture
def localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``<bucket>.localhost`` to 127.0.0.1 in this process, as systemd-resolved does on most hosts."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.mark.usefixtures("localhost_subdomains")
def test_virtual_host_addressing(base_url: str) -> None:
    client = _client(base_url.replace("127.0.0.1", "localhost"), addressing="virtual")
    sent: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))

    client.create_bucket(Bucket="virtual-bucket")
    client.put_object(Bucket="virtual-bucket", Key="dir/file.txt", Body=b"via host")
    listed = client.list_objects_v2(Bucket="virtual-bucket")
    got = client.get_object(Bucket="virtual-bucket", Key="dir/file.txt", Range="bytes=4-7")

    assert all("://virtual-bucket.localhost:" in url for url in sent), sent
    assert [item["Key"] for item in listed["Contents"]] == ["dir/file.txt"]
    assert got["Body"].read() == b"host"
    # The same object through path-style addressing: one store behind both.
    assert _client(base_url).get_object(Bucket="virtual-bucket", Key="dir/file.txt")["Body"].read() == b"via host"


def test_path_style_is_what_boto3_sends_to_an_ip_endpoint(base_url: str) -> None:
    client = _client(base_url, addressing="auto")
    sent: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.url))

    client.put_object(Bucket=BUCKET, Key="auto.txt", Body=b"a")

    assert sent == [f"{base_url}/{BUCKET}/auto.txt"]


# --- checksums and digests ---------------------------------------------------------------------------------


def test_wrong_checksum_is_bad_digest(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=BUCKET, Key="bad-crc", Body=b"payload", ChecksumCRC32="AAAAAA==")

    assert _error(caught)[:2] == (400, "BadDigest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="bad-crc")


def test_sha256_checksum_is_verified_and_returned(s3: Any) -> None:
    body = b"sha me"
    value = base64.b64encode(hashlib.sha256(body).digest()).decode()

    put = s3.put_object(Bucket=BUCKET, Key="sha", Body=body, ChecksumAlgorithm="SHA256")

    assert put["ChecksumSHA256"] == value
    head = s3.head_object(Bucket=BUCKET, Key="sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == value


def test_wrong_content_md5_is_bad_digest(s3: Any) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()

    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=BUCKET, Key="bad-md5", Body=b"payload", ContentMD5=wrong)

    assert _error(caught)[:2] == (400, "BadDigest")

"""S3's XML wire format: error documents, response documents, and the two request bodies S3 parses.

Responses carry the 2006-03-01 namespace; error documents carry none, as S3 sends them. Every S3 answer has
``x-amz-request-id`` and ``x-amz-id-2`` headers, which botocore surfaces as ``RequestId``/``HostId``.
"""

from __future__ import annotations

import base64
import os
import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

XmlValue = str | int | bool | None
XmlTree = list[tuple[str, "XmlValue | XmlTree"]]
"""An ordered element list: ``[("Key", "a"), ("Part", [("PartNumber", 1)])]``; ``None`` values are left out."""


def request_ids() -> dict[str, str]:
    request_id = secrets.token_hex(8).upper()
    host_id = base64.b64encode(os.urandom(48)).decode()
    return {"x-amz-request-id": request_id, "x-amz-id-2": host_id}


def _render(tree: XmlTree) -> str:
    out: list[str] = []
    for name, value in tree:
        if value is None:
            continue
        if isinstance(value, list):
            out.append(f"<{name}>{_render(value)}</{name}>")
        elif isinstance(value, bool):
            out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            out.append(f"<{name}>{escape(str(value))}</{name}>")
    return "".join(out)


def document(root: str, tree: XmlTree) -> bytes:
    return f'{_DECLARATION}<{root} xmlns="{NAMESPACE}">{_render(tree)}</{root}>'.encode()


@dataclass
class S3Error(Exception):
    """An error S3 answers as ``<Error><Code>...``; ``extra`` adds the code's own elements."""

    status: int
    code: str
    message: str
    extra: XmlTree = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self, request_id: str, host_id: str) -> bytes:
        tree: XmlTree = [("Code", self.code), ("Message", self.message), *self.extra]
        tree += [("RequestId", request_id), ("HostId", host_id)]
        return f"{_DECLARATION}<Error>{_render(tree)}</Error>".encode()


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", "The specified bucket does not exist", [("BucketName", bucket)])


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", [("Key", key)])


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        [("UploadId", upload_id)],
    )


def malformed_xml() -> S3Error:
    return S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, [("ArgumentName", name), ("ArgumentValue", value)])


# --- request bodies -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompletedPart:
    number: int
    etag: str
    checksums: dict[str, str]
    """Algorithm name (``CRC32``...) -> base64 value, as listed in the request."""


def _children(element: ElementTree.Element) -> Iterable[tuple[str, ElementTree.Element]]:
    for child in element:
        yield child.tag.rpartition("}")[2], child


def _parse(body: bytes, root: str) -> ElementTree.Element:
    try:
        element = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed_xml() from None
    if element.tag.rpartition("}")[2] != root:
        raise malformed_xml()
    return element


def parse_complete(body: bytes) -> list[CompletedPart]:
    """The parts of a ``<CompleteMultipartUpload>`` body, in the order listed."""
    parts: list[CompletedPart] = []
    for name, part in _children(_parse(body, "CompleteMultipartUpload")):
        if name != "Part":
            continue
        fields = {tag: (child.text or "").strip() for tag, child in _children(part)}
        try:
            number = int(fields["PartNumber"])
        except (KeyError, ValueError):
            raise malformed_xml() from None
        checksums = {tag.removeprefix("Checksum"): value for tag, value in fields.items() if tag.startswith("Checksum")}
        checksums.pop("Type", None)
        parts.append(CompletedPart(number=number, etag=fields.get("ETag", ""), checksums=checksums))
    if not parts:
        raise malformed_xml()
    return parts


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """The keys of a ``<Delete>`` body and whether it asked for quiet mode."""
    keys: list[str] = []
    quiet = False
    for name, child in _children(_parse(body, "Delete")):
        if name == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif name == "Object":
            key = next((grand.text for tag, grand in _children(child) if tag == "Key"), None)
            if key is None:
                raise malformed_xml()
            keys.append(key)
    if not keys or len(keys) > 1000:
        raise malformed_xml()
    return keys, quiet

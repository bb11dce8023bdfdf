"""Memory of the Bedrock emulator's S3 while boto3 moves a large object through it (issue 16: 1 GB, ≤ 64 MB growth).

Starts ``finops emulate bedrock`` as its own process (objects stored under a temporary ``--state-dir``), then:

1. uploads a file of ``--mb`` MiB with boto3's ``upload_file`` (s3transfer: multipart, 8 MiB parts, 10 threads,
   CRC32 checksums), sampling the emulator's VmRSS every 5 ms;
2. checks the stored object: size, and the multipart ETag recomputed from the file's parts;
3. downloads it with ``download_file`` (parallel ranged GETs), sampling again.

Growth is the sampled peak minus the RSS after a small warm-up upload. Usage:

    cd bench && ../.venv/bin/python bedrock_s3.py [--mb 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from _procs import FINOPS, PeakSampler, free_port, rss_kib, wait_until_up

KEY_ID, SECRET, BUCKET = "AKIAFINOPSEMULATOR", "finops-emulator-secret", "bench-bucket"
PART = 8 * 1024 * 1024  # s3transfer's default multipart chunk size


def write_file(path: Path, mebibytes: int) -> str:
    """Write ``mebibytes`` MiB of random-looking bytes; return the S3 multipart ETag they should get."""
    part_md5s = b""
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        digest = hashlib.md5(usedforsecurity=False)
        for index in range(mebibytes):
            chunk = block[index % 251 :] + block[: index % 251]  # every MiB different, cheaply
            handle.write(chunk)
            digest.update(chunk)
            if (index + 1) * 1024 * 1024 % PART == 0 or index == mebibytes - 1:
                part_md5s += digest.digest()
                digest = hashlib.md5(usedforsecurity=False)
    parts = len(part_md5s) // 16
    return f'"{hashlib.md5(part_md5s, usedforsecurity=False).hexdigest()}-{parts}"'


def mb(kib: int) -> str:
    return f"{kib / 1024:.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="object size in MiB (default 1024)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-s3-") as scratch:
        source, target, state = Path(scratch) / "upload.bin", Path(scratch) / "download.bin", Path(scratch) / "state"
        expected_etag = write_file(source, args.mb)
        port = free_port()
        command = [FINOPS, "emulate", "bedrock", "--port", str(port), "--bucket", BUCKET, "--state-dir", str(state)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/_emulator/requests", process)
            s3 = boto3.client(
                "s3",
                region_name="us-east-1",
                endpoint_url=url,
                aws_access_key_id=KEY_ID,
                aws_secret_access_key=SECRET,
                config=Config(max_pool_connections=20),
            )
            transfer = TransferConfig()  # boto3's defaults: what a gateway using boto3 would get
            # Warm-up: the emulator's code paths, thread pools and allocator arenas, with 24 MiB through multipart.
            s3.upload_fileobj(io.BytesIO(os.urandom(3 * PART)), BUCKET, "warm-up", Config=transfer)
            s3.download_fileobj(BUCKET, "warm-up", io.BytesIO(), Config=transfer)
            baseline = rss_kib(process.pid)

            started = time.perf_counter()
            with PeakSampler(process.pid) as upload:
                s3.upload_file(str(source), BUCKET, "big.bin", Config=transfer)
            upload_seconds = time.perf_counter() - started
            head = s3.head_object(Bucket=BUCKET, Key="big.bin")
            assert head["ContentLength"] == args.mb * 1024 * 1024, head["ContentLength"]
            assert head["ETag"] == expected_etag, (head["ETag"], expected_etag)
            after_upload = rss_kib(process.pid)

            started = time.perf_counter()
            with PeakSampler(process.pid) as download:
                s3.download_file(BUCKET, "big.bin", str(target), Config=transfer)
            download_seconds = time.perf_counter() - started
            assert target.stat().st_size == source.stat().st_size
            hwm = rss_kib(process.pid, "VmHWM")
        finally:
            process.terminate()
            process.wait(timeout=20)

    size = args.mb / 1024
    print(f"emulator RSS after warm-up: {mb(baseline)}")
    print(
        f"upload {size:.2f} GiB ({head['ETag'].rsplit('-', 1)[1].strip(chr(34))} parts) in {upload_seconds:.1f} s "
        f"({args.mb / upload_seconds:.0f} MiB/s): sampled peak {mb(upload.peak)} "
        f"(+{(upload.peak - baseline) / 1024:.1f} MB), after {mb(after_upload)}"
    )
    print(
        f"download {size:.2f} GiB in {download_seconds:.1f} s ({args.mb / download_seconds:.0f} MiB/s): "
        f"sampled peak {mb(download.peak)} (+{(download.peak - baseline) / 1024:.1f} MB)"
    )
    print(f"VmHWM at the end: {mb(hwm)}; ETag {head['ETag']} matches the parts' MD5s")


if __name__ == "__main__":
    main()

"""Emulator of AWS Bedrock, proven with boto3: the Runtime API (InvokeModel, Converse and their streams, CountTokens),
the batch-inference control plane (Create/Get/List/StopModelInvocationJob) and the S3 subset batch jobs read and
write, all on one port (see ``routing``), each verifying SigV4 for its own signing name (``bedrock``, ``s3``).

How ``finops serve --demo`` will configure it once the gateway's Bedrock batches exist (issue 16): start the
emulator with the demo's batch timing and a bucket, and point both the gateway's Bedrock client and its S3 client
at the emulator's base URL (path-style S3 addressing, the same demo key pair)::

    emulator_app(
        "bedrock",
        **BEDROCK_DEMO_CREDENTIALS,
        batch_seconds=DEMO_BATCH_SECONDS,
        buckets=["finops-demo-batch"],
        min_batch_records=100,  # Bedrock's real minimum, so the gateway's below-minimum policy is exercised
    )
    providers.bedrock.batch = {
        "s3_bucket": "finops-demo-batch",
        "s3_prefix": "finops/",
        "role_arn": "arn:aws:iam::123456789012:role/finops-demo-batch",
        # plus whatever setting the gateway gives its S3 endpoint: the emulator's base URL
    }

``finops emulate bedrock --bucket NAME --batch-seconds S --min-batch-records N [--state-dir DIR]`` does the same
as a separate process.
"""

from finops.emulators.bedrock.app import create_app

__all__ = ["create_app"]

"""Emulator of the AWS Bedrock Runtime API (InvokeModel, Converse and their streams), proven with boto3."""

from finops.emulators.bedrock.app import create_app

__all__ = ["create_app"]

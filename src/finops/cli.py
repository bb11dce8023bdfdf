"""``finops serve | emulate | keys | usage``: the command line. Builds settings, then hands them on."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from pydantic import SecretStr

from finops.config import ConfigError, load_settings
from finops.core.providers import PROVIDER_NAMES
from finops.serving import LOG_FORMAT, serve_in_process, serve_workers, worker_count


def _read_raw(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    load_settings(path)  # validates the file on its own first, for a precise one-line error
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def _plain(value: Any) -> Any:
    """Settings as plain data, secrets included (for the workers' private copy of the demo config)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def serve(args: argparse.Namespace) -> int:
    emulators = None
    try:
        if args.demo:
            from finops.demo import DEMO_BATCH_SECONDS, DemoEmulators, demo_settings

            emulators = DemoEmulators()
            settings = demo_settings(_read_raw(args.config), emulators, DEMO_BATCH_SECONDS)
        else:
            settings = load_settings(args.config)
        workers = worker_count(args.workers if args.workers is not None else settings.server.workers)
    except (ConfigError, ValueError) as exc:
        print(f"finops: config error: {exc}", file=sys.stderr)
        if emulators:
            emulators.stop()
        return 2
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    if args.demo:
        print(f"FinOps demo gateway on http://{host}:{port}/anthropic (providers: {', '.join(settings.providers)})")
    try:
        if workers == 1:
            serve_in_process(settings, host, port)
        elif args.demo:
            # The emulators run once, here in the supervisor; the workers get the demo settings (emulator URLs)
            # in a private file that lives as long as the supervisor.
            with tempfile.TemporaryDirectory(prefix="finops-demo-") as private:
                config = Path(private) / "finops-demo.yaml"
                config.touch(mode=0o600)
                config.write_text(yaml.safe_dump(_plain(settings.model_dump())), encoding="utf-8")
                serve_workers(settings, str(config), host, port, workers)
        else:
            serve_workers(settings, args.config, host, port, workers)
    finally:
        if emulators:
            emulators.stop()
    return 0


def emulate(args: argparse.Namespace) -> int:
    from finops.demo import emulator_app

    if args.provider == "bedrock":
        options: dict[str, Any] = {
            "access_key_id": args.access_key_id,
            "secret_access_key": args.secret_access_key,
            "bearer_token": args.bearer_token,
            "batch_seconds": args.batch_seconds,
            "buckets": args.bucket,
            "state_dir": args.state_dir,
            "min_batch_records": args.min_batch_records,
        }
    else:
        options = {"batch_seconds": args.batch_seconds}
    app = emulator_app(args.provider, **options)
    print(f"FinOps {args.provider} emulator on http://{args.host}:{args.port}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="finops", description="FinOps AI gateway")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the gateway")
    serve_parser.add_argument("--config", help="YAML config file")
    serve_parser.add_argument("--host", help="listen address (default: server.host)")
    serve_parser.add_argument("--port", type=int, help="listen port (default: server.port)")
    serve_parser.add_argument("--demo", action="store_true", help="all providers on built-in emulators, SQLite")
    serve_parser.add_argument(
        "--workers", help="serving processes sharing the port: a number or auto (one per CPU); default server.workers"
    )
    serve_parser.set_defaults(handler=serve)

    emulate_parser = commands.add_parser("emulate", help="run a provider emulator")
    emulate_parser.add_argument("provider", choices=PROVIDER_NAMES)
    emulate_parser.add_argument("--host", default="127.0.0.1")
    emulate_parser.add_argument("--port", type=int, required=True)
    emulate_parser.add_argument("--batch-seconds", type=float, default=5.0, help="how long a batch runs")
    emulate_parser.add_argument("--access-key-id", default="AKIAFINOPSEMULATOR", help="bedrock: accepted key id")
    emulate_parser.add_argument("--secret-access-key", default="finops-emulator-secret", help="bedrock: its secret")
    emulate_parser.add_argument("--bearer-token", default=None, help="bedrock: also accept this bearer token")
    emulate_parser.add_argument(
        "--bucket", action="append", default=[], help="bedrock: S3 bucket to create at start (repeatable)"
    )
    emulate_parser.add_argument("--state-dir", default=None, help="bedrock: where S3 object bytes go (default: temp)")
    emulate_parser.add_argument(
        "--min-batch-records", type=int, default=100, help="bedrock: fewest records a batch job accepts"
    )
    emulate_parser.set_defaults(handler=emulate)

    from finops.governance.cli import add_commands

    add_commands(commands)  # finops keys ... / finops usage
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

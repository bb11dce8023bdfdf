"""``finops serve | emulate | keys | usage``: the command line. Builds settings, then hands them on."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from pydantic import SecretStr

from finops.config import ConfigError, Settings, load_settings
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
        _announce_console(settings, f"http://{host}:{port}")
        if args.demo_traffic:
            _traffic_in_background(f"http://{host}:{port}", settings)
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


def _announce_console(settings: Settings, url: str) -> None:
    from finops.demo import DEMO_ADMIN_KEY

    admin_key = settings.governance.admin_key
    if not settings.console.enabled or admin_key is None:
        return
    secret = admin_key.get_secret_value()
    how = f"admin key: {secret}" if secret == DEMO_ADMIN_KEY else "the governance.admin_key of your config"
    print(f"Console on {url}/ui (sign in with the {how}); `finops demo traffic` fills it with real traffic")


def _traffic_in_background(url: str, settings: Settings) -> None:
    """``--demo-traffic``: once the gateway answers, send the demo traffic from a thread of this process."""
    from finops.demo_traffic import run_traffic, wait_until_up

    admin_key = settings.governance.admin_key
    if admin_key is None:
        return

    def send() -> None:
        try:
            wait_until_up(url)
            report = asyncio.run(run_traffic(url, admin_key.get_secret_value()))
            print(f"Demo traffic done: {report.summary()}", flush=True)
        except Exception as exc:  # a demo convenience must never take the gateway down
            print(f"Demo traffic stopped: {exc}", file=sys.stderr, flush=True)

    threading.Thread(target=send, name="demo-traffic", daemon=True).start()


def demo_traffic(args: argparse.Namespace) -> int:
    from finops.demo_traffic import run_traffic

    report = asyncio.run(run_traffic(args.url, args.admin_key, messages=args.messages, keys_file=Path(args.keys_file)))
    print(f"Demo traffic done: {report.summary()}")
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
    serve_parser.add_argument(
        "--demo-traffic", action="store_true", help="with --demo: send `finops demo traffic` once the gateway is up"
    )
    serve_parser.set_defaults(handler=serve)

    from finops.demo import DEMO_ADMIN_KEY
    from finops.demo_traffic import KEYS_FILE

    demo_parser = commands.add_parser("demo", help="demo helpers")
    demo_actions = demo_parser.add_subparsers(dest="demo_action", required=True)
    traffic = demo_actions.add_parser("traffic", help="mixed requests, files and batches through a running gateway")
    traffic.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway (default: the demo's)")
    traffic.add_argument("--admin-key", default=DEMO_ADMIN_KEY, help="its governance.admin_key (default: the demo's)")
    traffic.add_argument("--messages", type=int, default=240, help="how many Messages calls to send")
    traffic.add_argument("--keys-file", default=KEYS_FILE, help="where the demo keys' secrets are kept")
    traffic.set_defaults(handler=demo_traffic)

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

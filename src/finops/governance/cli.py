"""``finops keys ...`` and ``finops usage``: the admin API's operations straight on the store.

A running gateway sees a change made here within ``governance.key_cache_seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from finops.config import DEMO_DATABASE_URL, ConfigError, load_settings
from finops.core.errors import GatewayError
from finops.governance.focus import EXPORT_FORMATS, CostExport, export_day
from finops.governance.keys import KeyAdmin, key_json
from finops.governance.reports import parse_time, usage_report
from finops.store import Store
from finops.store.keys import KeyRepository
from finops.store.reports import ReportRepository
from finops.store.usage import GROUPS, UsageRepository

_LIST_FIELDS = ("providers", "models")
_CACHE_OPTIONS = {"mode": "mode", "ttl": "ttl_seconds", "threshold": "threshold", "store_truncated": "store_truncated"}
_KEY_COLUMNS = ("id", "name", "key_prefix", "budget_usd", "budget_period", "rpm", "tpm", "expires_at", "revoked_at")
_USAGE_COLUMNS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "cache_hits",
    "saved_usd",
)


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options given; the word ``none`` clears a field (``--budget-usd none``)."""
    payload: dict[str, Any] = {}
    for name in ("name", "budget_usd", "budget_period", "rpm", "tpm", "providers", "models", "expires_at"):
        value = getattr(args, name, None)
        if value is None:
            continue
        if value == "none":
            payload[name] = None
        elif name in _LIST_FIELDS:
            payload[name] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            payload[name] = value
    cache = _cache_payload(args)
    if cache is not None:
        payload["cache"] = cache
    return payload


def _cache_payload(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--cache-mode none`` clears the key's cache settings; other ``--cache-*`` options set one each."""
    if getattr(args, "cache_mode", None) == "none":
        return None if not hasattr(args, "key_id") else {name: None for name in _CACHE_OPTIONS.values()}
    given = {name: getattr(args, f"cache_{option}", None) for option, name in _CACHE_OPTIONS.items()}
    return {name: value for name, value in given.items() if value is not None} or None


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.6f}"
        return str(value)

    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns)).rstrip()]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in cells]
    return "\n".join(lines)


async def _with_store(args: argparse.Namespace, work: Callable[[Store], Awaitable[int]]) -> int:
    settings = load_settings(args.config)
    url = settings.database.url
    if getattr(args, "demo", False) and "database" not in settings.model_fields_set:
        url = DEMO_DATABASE_URL  # where `finops serve --demo` keeps its ledger when the config names none
    store = await Store.open(url)
    try:
        return await work(store)
    finally:
        await store.close()


def keys_command(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        admin = KeyAdmin(KeyRepository(store.engine))
        action = args.keys_action
        if action == "create":
            record, secret = await admin.create(_payload(args))
            print(orjson.dumps({**key_json(record), "key": secret}, option=orjson.OPT_INDENT_2).decode())
            print("Store the key now: it cannot be shown again.", file=sys.stderr)
        elif action == "list":
            print(_table([key_json(record) for record in await admin.list()], _KEY_COLUMNS))
        elif action == "show":
            print(orjson.dumps(key_json(await admin.get(args.key_id)), option=orjson.OPT_INDENT_2).decode())
        elif action == "update":
            record = await admin.update(args.key_id, _payload(args))
            print(orjson.dumps(key_json(record), option=orjson.OPT_INDENT_2).decode())
        elif action == "revoke":
            record = await admin.revoke(args.key_id)
            print(f"revoked {record.id} ({record.name})")
        return 0

    return _run(args, work)


def usage_command(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        if args.format != "table":
            chunks = await CostExport(ReportRepository(store.engine)).stream(
                args.format, export_day("from", args.start), export_day("to", args.end)
            )
            async for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return 0
        start, end = parse_time("from", args.start), parse_time("to", args.end)
        report = await usage_report(UsageRepository(store.engine), args.group_by, start, end)
        group_columns = ("key_id", "key_name") if args.group_by == "key" else (args.group_by,)
        print(_table([*report["data"], {group_columns[0]: "TOTAL", **report["total"]}], group_columns + _USAGE_COLUMNS))
        return 0

    return _run(args, work)


def _run(args: argparse.Namespace, work: Callable[[Store], Awaitable[int]]) -> int:
    try:
        return asyncio.run(_with_store(args, work))
    except ConfigError as exc:
        print(f"finops: config error: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"finops: {exc.message}", file=sys.stderr)
        return 1


def _key_options(parser: argparse.ArgumentParser, *, create: bool) -> None:
    parser.add_argument("--name", required=create, help="a name for reports and error messages")
    parser.add_argument("--budget-usd", dest="budget_usd", help="spend limit in USD per period ('none' clears)")
    parser.add_argument("--budget-period", dest="budget_period", choices=("daily", "weekly", "monthly", "total"))
    parser.add_argument("--rpm", help="requests per minute ('none' clears)")
    parser.add_argument("--tpm", help="tokens per minute ('none' clears)")
    parser.add_argument("--providers", help="comma-separated allowed providers ('none' = all)")
    parser.add_argument("--models", help="comma-separated allowed models ('none' = all)")
    parser.add_argument("--expires-at", dest="expires_at", help="ISO 8601 expiry ('none' clears)")
    parser.add_argument(
        "--cache-mode",
        dest="cache_mode",
        choices=("off", "exact", "semantic", "none"),
        help="response cache for this key ('none' clears every --cache-* setting: the gateway's config applies)",
    )
    parser.add_argument("--cache-ttl", dest="cache_ttl", help="seconds a cached answer of this key is kept")
    parser.add_argument("--cache-threshold", dest="cache_threshold", help="similarity a semantic hit needs (0..1)")
    parser.add_argument(
        "--cache-store-truncated",
        dest="cache_store_truncated",
        choices=("true", "false"),
        help="also cache answers cut by max_tokens",
    )


def add_commands(commands: Any) -> None:
    """Register ``keys`` and ``usage`` on the ``finops`` sub-command parser."""
    keys_parser = commands.add_parser("keys", help="manage virtual keys")
    actions = keys_parser.add_subparsers(dest="keys_action", required=True)
    create = actions.add_parser("create", help="create a key (prints the secret once)")
    _key_options(create, create=True)
    actions.add_parser("list", help="list keys")
    show = actions.add_parser("show", help="show one key")
    show.add_argument("key_id")
    update = actions.add_parser("update", help="change a key's limits")
    update.add_argument("key_id")
    _key_options(update, create=False)
    revoke = actions.add_parser("revoke", help="revoke a key (it stops working at once)")
    revoke.add_argument("key_id")
    for sub in (keys_parser, create, show, update, revoke, actions.choices["list"]):
        sub.add_argument("--config", help="YAML config file (database.url)")
        # SUPPRESS: a sub-command's default must not undo `finops keys --demo list`.
        sub.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help="the `serve --demo` database")
    keys_parser.set_defaults(handler=keys_command)

    usage_parser = commands.add_parser("usage", help="spend report")
    usage_parser.add_argument("--config", help="YAML config file (database.url)")
    usage_parser.add_argument("--group-by", dest="group_by", choices=GROUPS, default="key")
    usage_parser.add_argument("--from", dest="start", help="start date/time (inclusive, UTC)")
    usage_parser.add_argument("--to", dest="end", help="end date/time (exclusive, UTC)")
    usage_parser.add_argument("--demo", action="store_true", help="the database of `finops serve --demo`")
    usage_parser.add_argument(
        "--format",
        choices=("table", *EXPORT_FORMATS),
        default="table",
        help="table (default); focus: FOCUS 1.2 CSV, csv: plain CSV (one row per UTC day x key x provider x model)",
    )
    usage_parser.set_defaults(handler=usage_command)

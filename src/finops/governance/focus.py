"""Cost export: FOCUS 1.2 (the FinOps Foundation's FinOps Open Cost and Usage Specification) and a plain CSV,
one row per UTC day x virtual key x provider x model (x batch or real-time, which are priced differently).

Mapping choices (see ``docs/decisions.md``):

- The provider is who sold the tokens: ProviderName and InvoiceIssuerName are Anthropic, OpenAI, Google or
  Amazon Web Services; PublisherName is who made the model (Anthropic for a Claude model on Bedrock).
- A virtual key is the sub-account and the resource (SubAccountId/ResourceId = key id, names = key name); its name
  and id are also in Tags. Usage without a virtual key has them null.
- BilledCost = EffectiveCost = ContractedCost = what the ledger recorded (no commitments, no negotiated prices
  are known to the gateway). ListCost is the standard real-time price, so for batch usage ListCost - BilledCost is
  the batch discount. Usage the gateway could not price has cost 0 and is counted in x_UnpricedRequests.
- Quantities are tokens of every kind (input, output, cache reads and writes); the split is in x_ columns.
"""

from __future__ import annotations

import asyncio
import csv
import io
import operator
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import orjson

from finops.core.errors import InvalidRequestError
from finops.governance.list_cost import list_cost
from finops.governance.pricing import TokenUsage
from finops.store.reports import ReportRepository

FOCUS_VERSION = "1.2"

# Gateway provider -> (ProviderName = InvoiceIssuerName, ServiceName).
_SELLERS = {
    "anthropic": ("Anthropic", "Claude API"),
    "openai": ("OpenAI", "OpenAI API"),
    "gemini": ("Google", "Gemini API"),
    "bedrock": ("Amazon Web Services", "Amazon Bedrock"),
}
# Bedrock model IDs start with the publisher (after an optional cross-region inference prefix such as "us.").
_BEDROCK_PUBLISHERS = {
    "anthropic": "Anthropic",
    "amazon": "Amazon",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "cohere": "Cohere",
    "ai21": "AI21 Labs",
    "deepseek": "DeepSeek",
    "openai": "OpenAI",
    "qwen": "Qwen",
    "writer": "Writer",
}
_INFERENCE_PROFILE_PREFIXES = {"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"}

FOCUS_COLUMNS = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_GatewayProvider",
    "x_Model",
    "x_Processing",
    "x_Requests",
    "x_UnpricedRequests",
    "x_InputTokens",
    "x_OutputTokens",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
    "x_CacheSavings",
)

USAGE_CSV_COLUMNS = (
    "day",
    "key_id",
    "key_name",
    "provider",
    "model",
    "batch",
    "requests",
    "unpriced_requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "saved_usd",
)

_PLACES = Decimal("1e-10")


def _decimal(value: Decimal) -> str:
    """FOCUS numeric format: plain digits, a point, no exponent, no grouping."""
    return format(value.quantize(_PLACES).normalize(), "f")


def _datetime(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def publisher(provider: str, model: str) -> str:
    if provider != "bedrock":
        return _SELLERS.get(provider, (provider, provider))[0]
    parts = model.split(".")
    if len(parts) > 2 and parts[0] in _INFERENCE_PROFILE_PREFIXES:
        parts = parts[1:]
    return _BEDROCK_PUBLISHERS.get(parts[0], "Amazon Web Services")


def focus_row(row: dict[str, Any]) -> dict[str, str | None]:
    """One rollup row (``finops.store.reports.ReportRepository.rollup_pages``) as FOCUS columns."""
    provider, model, day = row["provider"], row["model"], row["day"]
    seller, service = _SELLERS.get(provider, (provider, provider))
    tokens = TokenUsage(row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"])
    billed = row["cost_usd"]
    listed = list_cost(provider, model, billed, batch=row["batch"], day=day)
    processing = "batch" if row["batch"] else "standard"
    key_id = row["key_id"] or None
    key_name = row["key_name"] if key_id else None
    tags = {"finops/key-id": key_id, "finops/key-name": key_name} if key_id else {}
    description = f"{service} {model}, {processing} processing, {tokens.total} tokens"
    return {
        "BilledCost": _decimal(billed),
        "BillingAccountId": f"finops/{provider}",
        "BillingAccountName": f"{seller} account used by the FinOps gateway",
        "BillingCurrency": "USD",
        "BillingPeriodEnd": _datetime(_next_month(day)),
        "BillingPeriodStart": _datetime(day.replace(day=1)),
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeDescription": description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _datetime(day + timedelta(days=1)),
        "ChargePeriodStart": _datetime(day),
        "ConsumedQuantity": str(tokens.total),
        "ConsumedUnit": "Tokens",
        "ContractedCost": _decimal(billed),
        "EffectiveCost": _decimal(billed),
        "InvoiceIssuerName": seller,
        "ListCost": _decimal(listed),
        "PricingCategory": "Standard",
        "PricingQuantity": str(tokens.total),
        "PricingUnit": "Tokens",
        "ProviderName": seller,
        "PublisherName": publisher(provider, model),
        "ResourceId": key_id,
        "ResourceName": key_name,
        "ResourceType": "Virtual key" if key_id else None,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceName": service,
        "ServiceSubcategory": "Generative AI",
        "SkuId": f"{provider}/{model}",
        "SkuMeter": "Tokens",
        "SkuPriceId": f"{provider}/{model}/{processing}",
        "SubAccountId": key_id,
        "SubAccountName": key_name,
        "Tags": orjson.dumps(tags).decode(),
        "x_GatewayProvider": provider,
        "x_Model": model,
        "x_Processing": processing,
        "x_Requests": str(row["requests"]),
        "x_UnpricedRequests": str(row["unpriced_requests"]),
        "x_InputTokens": str(row["input_tokens"]),
        "x_OutputTokens": str(row["output_tokens"]),
        "x_CacheReadTokens": str(row["cache_read_tokens"]),
        "x_CacheWriteTokens": str(row["cache_write_tokens"]),
        "x_CacheSavings": _decimal(row["saved_usd"]),
    }


def usage_csv_row(row: dict[str, Any]) -> dict[str, str | None]:
    values: dict[str, str | None] = {name: str(row[name]) for name in USAGE_CSV_COLUMNS}
    values["batch"] = "true" if row["batch"] else "false"
    values["key_id"] = row["key_id"] or None
    values["key_name"] = row["key_name"] if row["key_id"] else None
    values["cost_usd"] = _decimal(row["cost_usd"])
    values["saved_usd"] = _decimal(row["saved_usd"])
    return values


def _csv_page(page: list[dict[str, Any]], *, focus: bool) -> str:
    """One page of rollup rows as CSV lines (RFC 4180: CRLF line ends, nulls as empty fields)."""
    columns = FOCUS_COLUMNS if focus else USAGE_CSV_COLUMNS
    convert = focus_row if focus else usage_csv_row
    in_order = operator.itemgetter(*columns)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(in_order(convert(row)) for row in page)
    return buffer.getvalue()


async def export_csv(pages: AsyncIterator[list[dict[str, Any]]], *, focus: bool) -> AsyncIterator[bytes]:
    """The CSV file, a page of rollup rows at a time; each page is converted in a worker thread, so a long export
    leaves the event loop to the requests it serves meanwhile."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(FOCUS_COLUMNS if focus else USAGE_CSV_COLUMNS)
    yield header.getvalue().encode()
    async for page in pages:
        yield (await asyncio.to_thread(_csv_page, page, focus=focus)).encode()


ExportFormat = Literal["focus", "csv"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("focus", "csv")


def export_day(name: str, value: str | None) -> date | None:
    """A ``from``/``to`` bound of the export: a date (``YYYY-MM-DD``) or a UTC midnight; rows are whole days."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(f"{name}: not an ISO date: {value!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.time() != datetime.min.time():
        raise InvalidRequestError(f"{name}: the export has one row per UTC day; give a date (YYYY-MM-DD)")
    return moment.date()


class CostExport:
    """The export the admin API (``GET /admin/usage/export``) and ``finops usage --format`` stream.

    ``flush`` writes the process's queued ledger rows first, as ``/admin/usage`` does, so both agree."""

    def __init__(self, reports: ReportRepository, flush: Callable[[], Awaitable[None]] | None = None) -> None:
        self._reports = reports
        self._flush = flush

    async def stream(self, export_format: str, start: date | None, end: date | None) -> AsyncIterator[bytes]:
        if export_format not in EXPORT_FORMATS:
            raise InvalidRequestError(f"format: must be one of {', '.join(EXPORT_FORMATS)}")
        if self._flush is not None:
            await self._flush()
        return export_csv(self._reports.rollup_pages(start=start, end=end), focus=export_format == "focus")

"""Which provider serves a call: the ``x-model-provider`` header, or a ``provider/model`` model name."""

from __future__ import annotations

from finops.core.errors import InvalidRequestError
from finops.core.providers import DEFAULT_PROVIDER, PROVIDER_NAMES, ProviderName, is_provider_name


def provider_from_header(value: str | None) -> ProviderName:
    if value is None or value.strip() == "":
        return DEFAULT_PROVIDER
    name = value.strip().lower()
    if not is_provider_name(name):
        raise InvalidRequestError(
            f"x-model-provider: unknown provider {value!r}; valid values are {', '.join(PROVIDER_NAMES)}"
        )
    return name


def split_model(header_provider: str, model: str) -> tuple[str, str]:
    """``openai/gpt-4o-mini`` selects openai whatever the header says; other names keep the header's choice."""
    prefix, slash, rest = model.partition("/")
    if slash and is_provider_name(prefix) and rest:
        return prefix, rest
    return header_provider, model

"""Which provider serves a call: the ``x-model-provider`` header, or a ``provider/model`` model name."""

from __future__ import annotations

from finops.core.errors import InvalidRequestError

PROVIDERS = ("anthropic", "openai", "gemini", "bedrock")


def provider_from_header(value: str | None) -> str:
    if value is None or value.strip() == "":
        return "anthropic"
    name = value.strip().lower()
    if name not in PROVIDERS:
        raise InvalidRequestError(
            f"x-model-provider: unknown provider {value!r}; valid values are {', '.join(PROVIDERS)}"
        )
    return name


def split_model(header_provider: str, model: str) -> tuple[str, str]:
    """``openai/gpt-4o-mini`` selects openai whatever the header says; other names keep the header's choice."""
    prefix, slash, rest = model.partition("/")
    if slash and prefix in PROVIDERS and rest:
        return prefix, rest
    return header_provider, model

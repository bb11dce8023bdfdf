"""Checking a Messages request the way Anthropic refuses one: 400 ``invalid_request_error``, 404 for a model.

Accepted beyond the basics: ``role: "system"`` entries inside ``messages`` (the 2.14 SDK's
``SystemMessageParam``: a string or text blocks), ``thinking`` (``enabled`` with ``budget_tokens`` >= 1,024 and
below ``max_tokens``, ``adaptive``, ``disabled``, ``between_tools``), ``output_config`` (``effort`` and a
``json_schema`` ``format``; the older beta spelling ``output_format`` too) and a top-level ``cache_control``.
``thinking.display: "updates"`` needs its beta (``anthropic-beta: thinking-display-updates-…``), as Claude Code
sends it; without the beta it is refused like any other unknown value.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from finops.emulators.anthropic.errors import invalid_request, not_found
from finops.emulators.anthropic.models import is_known_model

_ROLES = ("user", "assistant", "system")
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_THINKING_TYPES = ("enabled", "disabled", "adaptive", "between_tools")
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_MIN_THINKING_BUDGET = 1024
_MAX_BREAKPOINTS = 4
_CACHE_TTLS = ("5m", "1h")
_DISPLAY_UPDATES_BETA = "thinking-display-updates-"


def betas_of(header: str | None) -> frozenset[str]:
    """The ``anthropic-beta`` header's comma-separated values."""
    return frozenset(value.strip() for value in (header or "").split(",") if value.strip())


def validate_params(
    params: Any, *, require_max_tokens: bool = True, in_batch: bool = False, betas: Collection[str] = ()
) -> None:
    """Raise :class:`ApiError` (400, or 404 for an unknown model) the way Anthropic refuses a request;
    ``betas``: the request's ``anthropic-beta`` values."""
    if not isinstance(params, dict):
        raise invalid_request("Request body must be a JSON object")
    model = params.get("model")
    if model is None:
        raise invalid_request("model: Field required")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: Input should be a valid string")
    if not is_known_model(model):
        raise not_found(f"model: {model}")
    if require_max_tokens:
        _validate_max_tokens(params, in_batch=in_batch)
    _validate_messages(params.get("messages"))
    _validate_system(params.get("system"))
    stop_sequences = params.get("stop_sequences")
    if stop_sequences is not None and (
        not isinstance(stop_sequences, list) or not all(isinstance(s, str) for s in stop_sequences)
    ):
        raise invalid_request("stop_sequences: Input should be a valid list of strings")
    _validate_tools(params.get("tools"), params.get("tool_choice"))
    _validate_thinking(params, require_max_tokens=require_max_tokens, betas=betas)
    _validate_output_config(params)
    _validate_cache_control(params)
    stream = params.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request("stream: Input should be a valid boolean")
    if in_batch and stream:
        raise invalid_request("stream: Streaming is not supported in Message Batches")


def _validate_max_tokens(params: dict[str, Any], *, in_batch: bool) -> None:
    if "max_tokens" not in params:
        raise invalid_request("max_tokens: Field required")
    max_tokens = params["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid_request("max_tokens: Input should be a valid integer")
    minimum = 1 if in_batch else 0  # 0 is a cache pre-warm, which batches do not support
    if max_tokens < minimum:
        raise invalid_request(f"max_tokens: Input should be greater than or equal to {minimum}")


def _validate_messages(messages: Any) -> None:
    if messages is None:
        raise invalid_request("messages: Field required")
    if not isinstance(messages, list):
        raise invalid_request("messages: Input should be a valid list")
    if not messages:
        raise invalid_request("messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_request(f"messages.{index}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in _ROLES:
            raise invalid_request(f"messages.{index}.role: Input should be 'user', 'assistant' or 'system'")
        content = message.get("content")
        if content is None:
            raise invalid_request(f"messages.{index}.content: Field required")
        if isinstance(content, list):
            for block_index, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise invalid_request(f"messages.{index}.content.{block_index}.type: Field required")
                if role == "system" and block["type"] != "text":
                    raise invalid_request(f"messages.{index}.content.{block_index}.type: Input should be 'text'")
        elif not isinstance(content, str):
            raise invalid_request(f"messages.{index}.content: Input should be a valid string or list")
    if all(message["role"] == "system" for message in messages):
        raise invalid_request("messages: at least one user or assistant message is required")


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in system):
        return
    raise invalid_request("system: Input should be a valid string or a list of text blocks")


def _validate_tools(tools: Any, tool_choice: Any) -> None:
    if tools is not None:
        if not isinstance(tools, list):
            raise invalid_request("tools: Input should be a valid list")
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise invalid_request(f"tools.{index}: Input should be a valid dictionary")
            if str(tool.get("type", "")).startswith("web_search_"):
                if tool.get("allowed_domains") and tool.get("blocked_domains"):
                    raise invalid_request(
                        f"tools.{index}: Cannot specify both allowed_domains and blocked_domains in the same request"
                    )
                continue
            # Other server tools (code execution, web fetch...) carry a "type" and no input_schema.
            if "type" in tool and tool.get("type") != "custom":
                continue
            if not isinstance(tool.get("name"), str) or not _TOOL_NAME.match(tool["name"]):
                raise invalid_request(f"tools.{index}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            if not isinstance(tool.get("input_schema"), dict):
                raise invalid_request(f"tools.{index}.input_schema: Field required")
    if tool_choice is None:
        return
    if not isinstance(tool_choice, dict) or tool_choice.get("type") not in _TOOL_CHOICES:
        raise invalid_request("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if tool_choice["type"] in ("any", "tool") and not tools:
        raise invalid_request("tool_choice may only be specified while providing tools.")
    if tool_choice["type"] == "tool":
        name = tool_choice.get("name")
        if not isinstance(name, str):
            raise invalid_request("tool_choice.name: Field required")
        if name not in {t.get("name") for t in tools or []}:
            raise invalid_request(f"Tool '{name}' not found in the provided tools")


def _validate_thinking(params: dict[str, Any], *, require_max_tokens: bool, betas: Collection[str]) -> None:
    thinking = params.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in _THINKING_TYPES:
        raise invalid_request("thinking.type: Input should be 'enabled', 'disabled', 'adaptive' or 'between_tools'")
    display = thinking.get("display")
    updates = any(beta.startswith(_DISPLAY_UPDATES_BETA) for beta in betas)
    if display is not None and display not in ("summarized", "omitted", *(("updates",) if updates else ())):
        expected = "'summarized', 'omitted' or 'updates'" if updates else "'summarized' or 'omitted'"
        raise invalid_request(f"thinking.{kind}.display: Input should be {expected}")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int):
            raise invalid_request("thinking.enabled.budget_tokens: Field required")
        if budget < _MIN_THINKING_BUDGET:
            raise invalid_request(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {_MIN_THINKING_BUDGET}"
            )
        if require_max_tokens and budget >= params["max_tokens"]:
            raise invalid_request(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
    forced = (params.get("tool_choice") or {}).get("type") in ("any", "tool")
    if kind in ("enabled", "adaptive") and forced:
        raise invalid_request("Thinking may not be enabled when tool_choice forces tool use.")


def _validate_output_config(params: dict[str, Any]) -> None:
    config = params.get("output_config")
    if config is not None:
        if not isinstance(config, dict):
            raise invalid_request("output_config: Input should be a valid dictionary")
        effort = config.get("effort")
        if effort is not None and effort not in _EFFORTS:
            raise invalid_request("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
        if config.get("format") is not None:
            _validate_format(config["format"], "output_config.format")
    if params.get("output_format") is not None:
        _validate_format(params["output_format"], "output_format")


def _validate_format(spec: Any, where: str) -> None:
    if not isinstance(spec, dict) or spec.get("type") != "json_schema":
        raise invalid_request(f"{where}.type: Input should be 'json_schema'")
    if not isinstance(spec.get("schema"), dict):
        raise invalid_request(f"{where}.schema: Field required")


def _validate_cache_control(params: dict[str, Any]) -> None:
    _check_cache_control(params.get("cache_control"), "cache_control")
    marked = sum(
        1
        for where, block in _cacheable_blocks(params)
        if _check_cache_control(block.get("cache_control"), f"{where}.cache_control")
    )
    if marked > _MAX_BREAKPOINTS:
        raise invalid_request(
            f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marked}."
        )


def _check_cache_control(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid_request(f"{where}.type: Input should be 'ephemeral'")
    if value.get("ttl") is not None and value["ttl"] not in _CACHE_TTLS:
        raise invalid_request(f"{where}.ttl: Input should be '5m' or '1h'")
    return True


def _cacheable_blocks(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    blocks: list[tuple[str, dict[str, Any]]] = []
    for index, tool in enumerate(params.get("tools") or []):
        blocks.append((f"tools.{index}", tool))
    system = params.get("system")
    if isinstance(system, list):
        blocks.extend((f"system.{index}", block) for index, block in enumerate(system))
    for index, message in enumerate(params["messages"]):
        content = message.get("content")
        if isinstance(content, list):
            blocks.extend((f"messages.{index}.content.{i}", block) for i, block in enumerate(content))
    return blocks

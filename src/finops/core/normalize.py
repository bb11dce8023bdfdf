"""Anthropic-only request features, resolved once in ``core`` for every provider that is not Anthropic.

Claude Code (and agents built on Anthropic's SDKs) send features that only Anthropic's API acts on. The field
policy (``core/policy/table.py``) decides each one per column; this module does what the decisions say, after
the policy has refused what cannot be kept and before any adapter sees the body, so the translators never meet
these features:

* **the billing block**: Claude Code's first ``system`` text block, ``x-anthropic-billing-header: cc_version=…;
  cc_entrypoint=…;`` (``core.params.billing`` says how it is recognised), is billing metadata for Anthropic, not
  prompt text. Forwarded, it would start every prompt with a string that changes from request to request, which
  also defeats the provider's prefix caching. It is left out for every provider but Anthropic (Claude on Bedrock
  included).
* **context_management**: Anthropic edits the context on its side. ``clear_thinking_20251015`` is applied here
  exactly (thinking blocks of all but the last ``keep`` assistant turns that have some are dropped; ``keep: "all"``
  drops none); the other edits are refused by the policy. The field itself is then removed.
* **tools[].defer_loading**: a deferred tool is not shown to the model until a ``tool_reference`` (a tool search
  result) loads it. Deferred tools nobody loaded are left out of ``tools``; loaded ones lose the flag.
* **tool_reference blocks** (inside ``tool_result`` content) become a short text block naming the tool, whose
  definition the request carries in ``tools``.
* **clear_at** on a ``role: "system"`` message: ``"next_user_message"`` shows the message only for the user turn
  it follows, so once a later user message exists it is left out; the field itself is then removed.
* **output_config** on a ``role: "system"`` message (per-turn control: an ``effort`` from that turn on): the last
  one that sets an effort gives the request's ``output_config.effort``, which every translator reads.
* **metadata.user_id**: an end-user ID goes upstream only as an opaque ID of at most 64 characters (OpenAI's limit
  for ``safety_identifier``); a longer one (Claude Code's is a ~170-character JSON) is sent as its SHA-256 digest.

Claude on Bedrock (InvokeModel) takes Anthropic's own body: only the billing block is left out there; the rest is
the Bedrock column's call in the policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from finops.core.errors import InvalidRequestError
from finops.core.params.billing import is_billing_block
from finops.core.policy.rules import ANTHROPIC, BEDROCK_CLAUDE
from finops.core.types import JSON

MAX_END_USER_ID = 64
TOOL_LOADED = "Tool {name} is loaded and can be called now."
"""What a ``tool_reference`` becomes: the model on Anthropic sees the tool's definition appear; elsewhere the
definition is in ``tools`` from this request on, and the text says so."""

_THINKING = frozenset({"thinking", "redacted_thinking"})


def normalize(params: JSON, column: str) -> JSON:
    """``params`` as the adapter of ``column`` (``core.policy.column_for``) must receive them: the same dict when
    nothing applies, else a new one (the client's dict is never changed in place)."""
    if column == ANTHROPIC:
        return params
    body = _without_billing_block(params)
    if column == BEDROCK_CLAUDE:
        return body
    if "context_management" in body:
        body = _apply_context_management(body)
    body = _apply_clear_at(body)
    body = _apply_turn_effort(body)
    body = _resolve_tool_search(body)
    return _short_end_user_id(body)


def _without_billing_block(params: JSON) -> JSON:
    system = params.get("system")
    if not isinstance(system, list) or not any(is_billing_block(block) for block in system):
        return params
    kept = [block for block in system if not is_billing_block(block)]
    body = {**params, "system": kept}
    if not kept:
        del body["system"]
    return body


# -- context_management ---------------------------------------------------------------------------------------


def _apply_context_management(params: JSON) -> JSON:
    body = {key: value for key, value in params.items() if key != "context_management"}
    edits = (params.get("context_management") or {}).get("edits") or []
    for edit in edits:
        if edit.get("type") == "clear_thinking_20251015":
            body = _clear_thinking(body, _turns_to_keep(edit.get("keep")))
    return body


def _turns_to_keep(keep: Any) -> int | None:
    """How many of the latest thinking turns keep their thinking; ``None``: all. Anthropic's default is 1."""
    if keep is None:
        return 1
    if keep == "all" or (isinstance(keep, Mapping) and keep.get("type") == "all"):
        return None
    value = keep.get("value") if isinstance(keep, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequestError("context_management.edits: clear_thinking_20251015 keep.value must be an integer")
    return value


def _clear_thinking(params: JSON, keep: int | None) -> JSON:
    if keep is None:
        return params
    messages = params["messages"]
    thinking_turns = [
        index
        for index, message in enumerate(messages)
        if message["role"] == "assistant"
        and isinstance(message["content"], list)
        and any(block.get("type") in _THINKING for block in message["content"])
    ]
    cleared = set(thinking_turns[: len(thinking_turns) - keep] if keep else thinking_turns)
    if not cleared:
        return params
    kept_messages = []
    for index, message in enumerate(messages):
        if index in cleared:
            content = [block for block in message["content"] if block.get("type") not in _THINKING]
            if not content:
                continue  # a turn that only thought says nothing once its thinking is gone
            message = {**message, "content": content}
        kept_messages.append(message)
    return {**params, "messages": kept_messages}


# -- system messages shown for one turn ---------------------------------------------------------------------------


def _apply_clear_at(params: JSON) -> JSON:
    messages = params["messages"]
    if not any(message["role"] == "system" and "clear_at" in message for message in messages):
        return params
    last_user = max((index for index, message in enumerate(messages) if message["role"] == "user"), default=-1)
    kept = []
    for index, message in enumerate(messages):
        if message["role"] == "system" and "clear_at" in message:
            if message["clear_at"] == "next_user_message" and index < last_user:
                continue  # its turn is over: Anthropic no longer shows it
            message = {key: value for key, value in message.items() if key != "clear_at"}
        kept.append(message)
    return {**params, "messages": kept}


def _apply_turn_effort(params: JSON) -> JSON:
    messages = params["messages"]
    if not any(message["role"] == "system" and "output_config" in message for message in messages):
        return params
    effort = (params.get("output_config") or {}).get("effort")
    kept = []
    for message in messages:
        if message["role"] == "system" and "output_config" in message:
            effort = (message["output_config"] or {}).get("effort") or effort
            message = {key: value for key, value in message.items() if key != "output_config"}
        kept.append(message)
    body = {**params, "messages": kept}
    if effort is not None:
        body["output_config"] = {**(params.get("output_config") or {}), "effort": effort}
    return body


# -- tool search: deferred tools and tool references ----------------------------------------------------------


def _references(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [str(block.get("tool_name")) for block in content if block.get("type") == "tool_reference"]


def _loaded_tools(messages: list[JSON]) -> set[str]:
    loaded: set[str] = set()
    for message in messages:
        content = message["content"]
        if message["role"] != "user" or not isinstance(content, list):
            continue
        for block in content:
            if block.get("type") == "tool_result":
                loaded.update(_references(block.get("content")))
    return loaded


def _resolve_tool_search(params: JSON) -> JSON:
    tools = params.get("tools")
    deferred = [tool for tool in tools or [] if tool.get("defer_loading") is True]
    loaded = _loaded_tools(params["messages"])
    if not deferred and not loaded:
        return params
    body = dict(params)
    if loaded:
        body["messages"] = [_with_reference_text(message) for message in params["messages"]]
    if deferred:
        tool_choice = params.get("tool_choice") or {}
        if tool_choice.get("type") == "tool":
            loaded = loaded | {str(tool_choice.get("name"))}  # a tool the caller forces is one it means to show
        shown = [
            _undeferred(tool)
            for tool in tools or []
            if tool.get("defer_loading") is not True or tool.get("name") in loaded
        ]
        if shown:
            body["tools"] = shown
        else:
            del body["tools"]
            if tool_choice.get("type") in ("auto", "none"):
                body.pop("tool_choice", None)
    return body


def _undeferred(tool: JSON) -> JSON:
    return {key: value for key, value in tool.items() if key != "defer_loading"} if "defer_loading" in tool else tool


def _with_reference_text(message: JSON) -> JSON:
    content = message["content"]
    if message["role"] != "user" or not isinstance(content, list):
        return message
    if not any(block.get("type") == "tool_result" and _references(block.get("content")) for block in content):
        return message
    return {**message, "content": [_tool_result_with_text(block) for block in content]}


def _tool_result_with_text(block: JSON) -> JSON:
    if block.get("type") != "tool_result" or not _references(block.get("content")):
        return block
    return {**block, "content": [_as_text(inner) for inner in block["content"]]}


def _as_text(block: JSON) -> JSON:
    if block.get("type") != "tool_reference":
        return block
    text: JSON = {"type": "text", "text": TOOL_LOADED.format(name=block.get("tool_name"))}
    if block.get("cache_control") is not None:
        text["cache_control"] = block["cache_control"]  # the breakpoint stays where the client put it
    return text


# -- metadata ---------------------------------------------------------------------------------------------------


def _short_end_user_id(params: JSON) -> JSON:
    metadata = params.get("metadata")
    if not isinstance(metadata, dict):
        return params
    user_id = metadata.get("user_id")
    if not isinstance(user_id, str) or len(user_id) <= MAX_END_USER_ID:
        return params
    digest = hashlib.sha256(user_id.encode("utf-8")).hexdigest()
    return {**params, "metadata": {**metadata, "user_id": digest}}

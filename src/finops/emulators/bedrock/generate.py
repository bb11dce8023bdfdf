"""What the emulated model answers, independent of the wire dialect (Anthropic-on-Bedrock or Converse).

Text comes from the shared deterministic ``reply_text`` and is cut by stop sequences, then by ``max_tokens``.
A tool is called when the request forces it (``any`` / a named tool) or, under ``auto``, when the prompt
mentions a word of the tool's name (``get_weather`` and "weather in Paris?"), unless the last turn already
carries a tool result. The tool input is built from the tool's JSON schema so it validates against it.

Test hook: a prompt containing ``[emulate:throttlingException]`` (or any other stream exception name from
``errors.STREAM_EXCEPTIONS``) fails that call: with the HTTP error before a plain response, or with an
exception frame after the first content delta of a stream. It lets end-to-end tests drive mid-stream
failures through a gateway that cannot reach ``/_emulator/faults``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from finops.emulators._common.replies import apply_stop_sequences, reply_text, truncate_to_tokens
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators.bedrock.errors import STREAM_EXCEPTIONS, BedrockError

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]
_FAILURE_MARKER = re.compile(r"\[emulate:(\w+)\]")
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_STOP_WORDS = {"get", "set", "the", "and", "for", "tool", "list", "make", "with"}


@dataclass(frozen=True)
class Tool:
    name: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    mode: Literal["auto", "any", "tool", "none"] = "auto"
    name: str | None = None


@dataclass(frozen=True)
class Outcome:
    stop_reason: StopReason
    output_tokens: int
    text: str = ""
    stop_sequence: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def requested_failure(prompt: str) -> str | None:
    """The stream exception name a ``[emulate:...]`` marker asks for, if any."""
    match = _FAILURE_MARKER.search(prompt)
    if match and match.group(1) in STREAM_EXCEPTIONS:
        return match.group(1)
    return None


def failure_error(name: str) -> BedrockError:
    code = name[0].upper() + name[1:]
    return BedrockError(STREAM_EXCEPTIONS[name], f"Emulated {code} requested by the prompt.", code)


def _mentions(prompt: str, tool: Tool) -> bool:
    words = {w for w in re.split(r"[^a-z0-9]+", tool.name.lower()) if len(w) >= 3 and w not in _STOP_WORDS}
    lowered = prompt.lower()
    return any(word in lowered for word in words)


def _pick_tool(prompt: str, tools: list[Tool], choice: ToolChoice, after_tool_result: bool) -> Tool | None:
    if not tools or choice.mode == "none":
        return None
    if choice.mode == "tool":
        return next((t for t in tools if t.name == choice.name), None)
    if choice.mode == "any":
        return next((t for t in tools if _mentions(prompt, t)), tools[0])
    if after_tool_result:
        return None
    return next((t for t in tools if _mentions(prompt, t)), None)


def sample_value(schema: Any, prompt: str, key: str = "") -> Any:
    """A deterministic value that satisfies the common JSON-schema keywords of ``schema``."""
    if not isinstance(schema, dict):
        return prompt[:40]
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return sample_value(schema[combinator][0], prompt, key)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {name: sample_value(properties.get(name, {}), prompt, name) for name in required}
    if kind == "array":
        return [sample_value(schema.get("items", {}), prompt, key)] * max(1, int(schema.get("minItems", 1)))
    if kind in ("integer", "number"):
        digest = int(hashlib.sha256(f"{key}:{prompt}".encode()).hexdigest()[:6], 16)
        low, high = schema.get("minimum", 0), schema.get("maximum", 100)
        value = low + digest % max(1, int(high - low) + 1)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    words = " ".join(prompt.split())
    return (words[:40] or key or "value").strip()


def decide(
    prompt: str,
    *,
    max_tokens: int,
    stop_sequences: list[str] | None,
    tools: list[Tool],
    choice: ToolChoice,
    after_tool_result: bool,
) -> Outcome:
    """The model's whole answer to ``prompt`` under the request's limits."""
    tool = _pick_tool(prompt, tools, choice, after_tool_result)
    if tool is not None:
        tool_input = sample_value(tool.schema or {"type": "object"}, prompt)
        if not isinstance(tool_input, dict):
            tool_input = {"input": tool_input}
        tokens = count_tokens(tool.name) + count_tokens(str(tool_input)) + 8
        return Outcome(stop_reason="tool_use", output_tokens=tokens, tool_name=tool.name, tool_input=tool_input)
    text, sequence = apply_stop_sequences(reply_text(prompt), stop_sequences)
    text, was_cut = truncate_to_tokens(text, max_tokens)
    if was_cut:
        return Outcome(stop_reason="max_tokens", output_tokens=count_tokens(text), text=text)
    reason: StopReason = "stop_sequence" if sequence else "end_turn"
    return Outcome(stop_reason=reason, output_tokens=count_tokens(text), text=text, stop_sequence=sequence)


def text_pieces(text: str, tokens_per_piece: int = 4) -> list[str]:
    """Split ``text`` the way a model streams it: a few tokens per delta, never an empty delta."""
    tokens = tokenize(text)
    pieces = ["".join(tokens[i : i + tokens_per_piece]) for i in range(0, len(tokens), tokens_per_piece)]
    return pieces or ([text] if text else [])


def json_pieces(serialized: str, size: int = 12) -> list[str]:
    """Split a tool input's JSON into fragments, as ``input_json_delta`` / ``toolUse.input`` deltas arrive."""
    return [serialized[i : i + size] for i in range(0, len(serialized), size)] or ["{}"]

"""What the emulated model answers, independent of the wire dialect (Anthropic-on-Bedrock or Converse).

In order: a tool call when the shared tool policy (``_common.tool_policy``) picks one, with an input built
from the tool's schema and the user's words; else text: after tool results an answer quoting them, with a
structured-output schema JSON valid against it, otherwise the shared deterministic reply, cut by stop
sequences, then by ``max_tokens``. Reasoning, when asked for, comes first and counts as output (and against
``max_tokens``).

Test hook: a prompt containing ``[emulate:throttlingException]`` (or any other stream exception name from
``errors.STREAM_EXCEPTIONS``) fails that call: with the HTTP error before a plain response, or with an
exception frame after the first content delta of a stream. It lets end-to-end tests drive mid-stream
failures through a gateway that cannot reach ``/_emulator/faults``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from finops.emulators._common.mentions import find_mentions
from finops.emulators._common.prompt_cache import Piece
from finops.emulators._common.replies import (
    apply_stop_sequences,
    reply_text,
    reply_to_notes,
    reply_to_tool_results,
    truncate_to_tokens,
)
from finops.emulators._common.schema_values import structured_answer, tool_arguments
from finops.emulators._common.thinking import reasoning_tokens, signature, thinking_text
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators._common.tool_policy import ToolChoice, ToolSpec, choose_tool
from finops.emulators.bedrock.errors import STREAM_EXCEPTIONS, BedrockError

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]
_FAILURE_MARKER = re.compile(r"\[emulate:(\w+)\]")
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
REDACTED = "[REDACTED]"

ANSWER_PRIMING_TOKENS = 3
"""What the model reads after the prompt to open its answer (the assistant turn's header). It comes after every
cache breakpoint, so it is never cached: a prompt cached up to its last block still bills a few input tokens, as
Claude and Nova do on Bedrock (a client that sees 0 input tokens would take the answer for free)."""


def answer_priming() -> Piece:
    return Piece(material="<answer priming>", tokens=ANSWER_PRIMING_TOKENS)


@dataclass(frozen=True)
class EarlierReasoning:
    """A reasoning block of an earlier assistant turn, as Claude gets it back (either dialect)."""

    text: str | None
    """The thinking text; ``None`` for redacted reasoning."""
    signature: str | None


def check_reasoning_history(model: str, turn: list[EarlierReasoning], calls_tools: bool, thinking: bool) -> None:
    """Claude's rules for its own reasoning handed back (Anthropic's API and Bedrock alike): a signature must be
    the one Claude gave (text shown in full must match it), and while thinking is on, an assistant turn that
    calls a tool must start with its reasoning, or Claude cannot continue the tool use it began."""
    for block in turn:
        if block.text is None:
            continue
        if not block.signature or (block.text and block.signature != signature(model, block.text)):
            raise BedrockError(400, "Invalid `signature` in `thinking` block", "ValidationException")
    if thinking and calls_tools and not turn:
        raise BedrockError(
            400,
            "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final "
            "`assistant` message must start with a thinking block.",
            "ValidationException",
        )


@dataclass(frozen=True)
class Turn:
    """The latest user turn: the user's own words and the tool results it returns."""

    request: str
    tool_results: list[tuple[str, str]] = field(default_factory=list)
    context: str = ""
    """The system prompt (it may state the agent's working directory)."""
    notes: list[str] = field(default_factory=list)
    """The agent's ``<system-reminder>`` notes in the turn (background results arrive that way)."""


@dataclass(frozen=True)
class ReasoningRequest:
    """Reasoning the request asked for, in the family's own terms, reduced to an effort and a budget."""

    effort: str = "medium"
    budget: int | None = None
    redacted: bool = False
    """Nova 2 returns ``[REDACTED]`` instead of its reasoning (it still bills the tokens)."""
    signed: bool = True
    """Claude signs its reasoning; other families do not."""


@dataclass(frozen=True)
class Reasoning:
    text: str
    tokens: int
    signature: str | None


@dataclass(frozen=True)
class Outcome:
    stop_reason: StopReason
    output_tokens: int
    text: str = ""
    stop_sequence: str | None = None
    tool_name: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)
    reasoning: Reasoning | None = None


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


def decide(
    turn: Turn,
    *,
    model: str,
    max_tokens: int,
    stop_sequences: list[str] | None,
    tools: list[ToolSpec],
    choice: ToolChoice,
    schema: dict[str, Any] | None = None,
    reasoning: ReasoningRequest | None = None,
) -> Outcome:
    """The model's whole answer to ``turn`` under the request's limits."""
    thought = _reason(turn, model, reasoning)
    spent = thought.tokens if thought else 0
    tool = choose_tool(tools, turn.request, choice, answering_tool_result=bool(turn.tool_results))
    if tool is not None:
        said = find_mentions(turn.request, context=turn.context)
        tool_input = tool_arguments(tool.schema, said, tool_name=tool.name)
        tokens = spent + count_tokens(tool.name) + count_tokens(orjson.dumps(tool_input).decode())
        return Outcome("tool_use", tokens, tool_name=tool.name, tool_input=tool_input, reasoning=thought)
    if schema is not None:
        context = "\n".join([turn.request, *(text for _, text in turn.tool_results)])
        text, sequence = orjson.dumps(structured_answer(schema, find_mentions(context))).decode(), None
    elif turn.tool_results:
        text, sequence = apply_stop_sequences(reply_to_tool_results(turn.tool_results), stop_sequences)
    elif not turn.request and turn.notes:
        text, sequence = apply_stop_sequences(reply_to_notes(turn.notes), stop_sequences)
    else:
        text, sequence = apply_stop_sequences(reply_text(turn.request), stop_sequences)
    text, was_cut = truncate_to_tokens(text, max(0, max_tokens - spent))
    tokens = spent + count_tokens(text)
    if was_cut:
        return Outcome("max_tokens", tokens, text=text, reasoning=thought)
    reason: StopReason = "stop_sequence" if sequence else "end_turn"
    return Outcome(reason, tokens, text=text, stop_sequence=sequence, reasoning=thought)


def _reason(turn: Turn, model: str, asked: ReasoningRequest | None) -> Reasoning | None:
    if asked is None:
        return None
    request = turn.request or " ".join(text for _, text in turn.tool_results)
    tokens = reasoning_tokens(asked.effort, request, budget=asked.budget)
    if tokens == 0:
        return None
    plan = "I will use the tool results to answer." if turn.tool_results else "I will answer directly and briefly."
    text = REDACTED if asked.redacted else thinking_text(request, tokens, plan=plan)
    return Reasoning(text, tokens, signature(model, text) if asked.signed else None)


def text_pieces(text: str, tokens_per_piece: int = 4) -> list[str]:
    """Split ``text`` the way a model streams it: a few tokens per delta, never an empty delta."""
    tokens = tokenize(text)
    pieces = ["".join(tokens[i : i + tokens_per_piece]) for i in range(0, len(tokens), tokens_per_piece)]
    return pieces or ([text] if text else [])


def json_pieces(serialized: str, size: int = 12) -> list[str]:
    """Split a tool input's JSON into fragments, as ``input_json_delta`` / ``toolUse.input`` deltas arrive."""
    return [serialized[i : i + size] for i in range(0, len(serialized), size)] or ["{}"]

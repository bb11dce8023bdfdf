"""OpenAI ``chat.completion.chunk`` stream -> the exact Anthropic Messages SSE event sequence.

``ChatStreamTranslator`` is fed one parsed chunk at a time and answers the Anthropic events that chunk
completes; it does no I/O, so the adapter decides how chunks arrive and where frames go (``encode_sse``).

    message_start
    content_block_start / content_block_delta... / content_block_stop   (per block, index 0, 1, ...)
    message_delta   (stop_reason + usage)
    message_stop

``message_delta`` is only produced by ``finish()``: with ``include_usage`` OpenAI sends the finish reason
first and the token counts in a later chunk with ``choices: []``; Anthropic's ``message_delta`` needs both.

A search model's answer (``searching=True``) is held back until the end: Anthropic puts the search
(``server_tool_use``, ``web_search_tool_result``) before the text it cites, and OpenAI sends the citations
(``annotations``) after the text. The blocks are then the non-streamed answer's (``web_search.search_blocks``),
each text block opened empty and filled with its ``citations_delta`` events, then its text.
"""

from __future__ import annotations

from finops.core.ids import new_message_id, new_tool_use_id
from finops.core.types import JSON
from finops.providers.openai.translate import (
    detect_stop_sequence,
    from_openai_error,
    map_stop_reason,
    map_usage,
)
from finops.providers.openai.web_search import new_server_tool_use_id, search_blocks
from finops.providers.sse import block_delta, block_start, block_stop, message_end, message_start

Event = tuple[str, JSON]

# An error object inside a 200 stream has no status of its own; it is the upstream failing mid-answer.
_MID_STREAM_ERROR_STATUS = 500


class ChatStreamTranslator:
    """Turns one OpenAI chat stream into Anthropic events. One instance per stream; not reusable."""

    def __init__(
        self,
        *,
        model: str,
        message_id: str | None = None,
        input_tokens_hint: int = 0,
        stop_sequences: list[str] | None = None,
        searching: bool = False,
    ) -> None:
        self.model = model
        self.message_id = message_id or new_message_id()
        self.input_tokens_hint = input_tokens_hint
        self.stop_sequences = list(stop_sequences or [])
        self.usage: JSON | None = None
        """Final Anthropic usage, set by ``finish()`` (and carried by its ``message_delta``)."""

        self._started = False
        self._finished = False
        self._next_index = 0
        self._open_block: str | None = None  # "text" or "tool_use"
        self._open_index = 0
        self._open_tool_call_index: int | None = None
        self._open_tool_call_id: str | None = None
        self._saw_tool_calls = False
        self._refused = False
        self._finish_reason: str | None = None
        self._openai_usage: JSON | None = None
        # Only the end of the text matters for spotting a stop sequence, so keep no more than the longest one.
        self._tail_length = max((len(stop) for stop in self.stop_sequences), default=0)
        self._text_tail = ""
        self._searching = searching
        self._held_text: list[str] = []
        self._annotations: list[JSON] = []

    @property
    def finished(self) -> bool:
        """Whether ``finish()`` has closed the message: nothing more is translated."""
        return self._finished

    def feed(self, chunk: JSON) -> list[Event]:
        """Events completed by one ``chat.completion.chunk``. An ``error`` object in the stream raises."""
        if self._finished:
            return []
        if isinstance(chunk.get("error"), dict):
            raise from_openai_error(_MID_STREAM_ERROR_STATUS, chunk)

        events = self._start()
        if chunk.get("usage"):
            self._openai_usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue  # the gateway never asks for n > 1
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events.extend(self._text(delta["content"]))
            if delta.get("refusal"):
                self._refused = True
                events.extend(self._text(delta["refusal"]))
            annotations = delta.get("annotations")
            if isinstance(annotations, list):
                self._annotations.extend(annotation for annotation in annotations if isinstance(annotation, dict))
            for tool_call in delta.get("tool_calls") or []:
                events.extend(self._tool_call(tool_call))
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[Event]:
        """The closing events, after ``[DONE]`` (or the end of the body). Calling it again returns nothing."""
        if self._finished:
            return []
        events = self._start()
        if self._searching:
            events.extend(self._search_answer())
        events.extend(self._close_block())
        self._finished = True

        stop_reason = "refusal" if self._refused else map_stop_reason(self._finish_reason, self._saw_tool_calls)
        stop_sequence = None
        if stop_reason == "end_turn":
            stop_sequence = detect_stop_sequence(self._text_tail, self.stop_sequences)
            if stop_sequence is not None:
                stop_reason = "stop_sequence"

        if self._openai_usage is not None:
            self.usage = map_usage(self._openai_usage, web_searches=int(self._searching))
        else:
            # A stream cut before its usage chunk: the request's own estimate is the best input count left.
            self.usage = {
                "input_tokens": self.input_tokens_hint,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            }
        events += message_end(stop_reason=stop_reason, stop_sequence=stop_sequence, usage=self.usage)
        return events

    # --------------------------------------------------------------------------------------------------------

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        usage = {
            "input_tokens": self.input_tokens_hint,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
        return [message_start(message_id=self.message_id, model=self.model, usage=usage)]

    def _text(self, text: str) -> list[Event]:
        if self._tail_length:
            self._text_tail = (self._text_tail + text)[-self._tail_length :]
        if self._searching:
            self._held_text.append(text)
            return []
        return self._emit_text(text)

    def _emit_text(self, text: str) -> list[Event]:
        events: list[Event] = []
        if self._open_block != "text":
            events.extend(self._close_block())
            events.append(self._open({"type": "text", "text": ""}, "text"))
        events.append(self._delta({"type": "text_delta", "text": text}))
        return events

    def _search_answer(self) -> list[Event]:
        """The held-back answer of a search model, as the blocks the non-streamed answer has."""
        text = "".join(self._held_text)
        if self._refused:  # a refusal is no search answer, as in the non-streamed one
            return self._emit_text(text) if text else []
        events: list[Event] = []
        for block in search_blocks(text, self._annotations, tool_use_id=new_server_tool_use_id()):
            events.extend(self._close_block())
            if block["type"] != "text":
                events.append(self._open(block, block["type"]))
                continue
            events.append(self._open({"type": "text", "text": "", "citations": None}, "text"))
            for citation in block["citations"] or []:
                events.append(self._delta({"type": "citations_delta", "citation": citation}))
            if block["text"]:
                events.append(self._delta({"type": "text_delta", "text": block["text"]}))
        return events

    def _tool_call(self, tool_call: JSON) -> list[Event]:
        events: list[Event] = []
        tool_call_index = tool_call.get("index", 0)
        tool_call_id = tool_call.get("id")
        function = tool_call.get("function") or {}
        # A new OpenAI tool-call index (or, from servers that omit the index, a new id) starts a new block.
        continues_open_call = (
            self._open_block == "tool_use"
            and tool_call_index == self._open_tool_call_index
            and (tool_call_id is None or tool_call_id == self._open_tool_call_id)
        )
        if not continues_open_call:
            events.extend(self._close_block())
            self._saw_tool_calls = True
            tool_call_id = tool_call_id or new_tool_use_id()
            block: JSON = {"type": "tool_use", "id": tool_call_id, "name": function.get("name") or "", "input": {}}
            events.append(self._open(block, "tool_use"))
            self._open_tool_call_index = tool_call_index
            self._open_tool_call_id = tool_call_id
        if function.get("arguments"):
            events.append(self._delta({"type": "input_json_delta", "partial_json": function["arguments"]}))
        return events

    def _open(self, content_block: JSON, kind: str) -> Event:
        self._open_block = kind
        self._open_index = self._next_index
        self._next_index += 1
        return block_start(self._open_index, content_block)

    def _delta(self, delta: JSON) -> Event:
        return block_delta(self._open_index, delta)

    def _close_block(self) -> list[Event]:
        if self._open_block is None:
            return []
        self._open_block = None
        self._open_tool_call_index = None
        self._open_tool_call_id = None
        return [block_stop(self._open_index)]

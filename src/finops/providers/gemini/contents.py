"""Anthropic ``system`` and ``messages`` -> Gemini ``systemInstruction`` and ``contents`` (pure, no I/O).

* **Roles.** ``user`` and ``assistant`` become ``user`` and ``model`` contents; consecutive turns of one role are
  merged (Gemini wants them to alternate), function responses first in a merged user turn, as Anthropic requires
  of tool results.
* **System messages.** Gemini has one system prompt, ``systemInstruction``. System messages before the first user
  or assistant turn join it, after the top-level ``system``. A system message later in the conversation stays
  where it is: it becomes a user-turn text part wrapped in ``<system-reminder>`` tags, the convention Claude Code
  itself uses for system notes inside a conversation. Moving it into ``systemInstruction`` would change the
  prompt's first tokens whenever a new one appears (Claude Code sends one as the last message at times), and
  Gemini's implicit cache only ever reuses a prompt's unchanged beginning.
* **Blocks.** Text, images and documents become parts (a document's ``title`` and ``context`` a text part just
  before it; a ``search_result`` a text part with its title, source and text); ``tool_use``/``tool_result``
  become ``functionCall``/``functionResponse`` (the thought signature restored from the tool-use id); thinking
  blocks become ``thought`` parts with their ``thoughtSignature``. Earlier server-tool turns translate as Gemini
  keeps its own: a code execution is an ``executableCode`` + ``codeExecutionResult`` pair; a web search leaves
  only the answer text (Gemini's history of a grounded answer holds no search results).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from finops.core.errors import InvalidRequestError
from finops.core.types import JSON
from finops.providers.gemini.tool_ids import decode_tool_use_id

# Images Gemini accepts as inlineData (its image-understanding docs); Anthropic also allows image/gif.
_GEMINI_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})

# Gemini can only read media it holds or that arrives inline: a fileData URI must name a Gemini file.
_GEMINI_FILE_URI_PREFIX = "https://generativelanguage.googleapis.com/"

_ROLE_MAP: dict[str, str] = {"user": "user", "assistant": "model"}

SYSTEM_NOTE_OPEN, SYSTEM_NOTE_CLOSE = "<system-reminder>", "</system-reminder>"

# Server-tool blocks of an earlier assistant turn that Gemini's own history leaves out: a grounded answer is
# replayed as its text alone.
_GROUNDING_HISTORY = frozenset({"web_search_tool_result"})


class GeminiFileRef(NamedTuple):
    """What an Anthropic ``{"type": "file", "file_id": ...}`` source resolves to on Gemini."""

    uri: str
    mime_type: str


def system_instruction(system: Any, messages: Sequence[Mapping[str, Any]]) -> JSON | None:
    """``systemInstruction``: the top-level ``system``, then the system messages that open the conversation."""
    parts = _system_parts(system, "system")
    for position, message in enumerate(messages):
        if message["role"] != "system":
            break
        parts += _system_parts(message["content"], f"messages.{position}.content")
    return {"parts": parts} if parts else None


def _system_parts(system: Any, where: str) -> list[JSON]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"text": system}]
    parts = []
    for position, block in enumerate(system):
        if block.get("type") != "text":
            raise InvalidRequestError(f"{where}.{position}: only text blocks can instruct the model")
        parts.append({"text": block["text"]})
    return parts


def _system_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block["text"] for block in content)


def contents(messages: Sequence[Mapping[str, Any]], file_refs: Mapping[str, GeminiFileRef]) -> list[JSON]:
    """Gemini ``contents`` for Anthropic ``messages`` (leading system messages already in ``systemInstruction``)."""
    if not messages:
        raise InvalidRequestError("messages: at least one message is required")
    tool_names: dict[str, str] = {}  # tool_use id -> function name, filled as the conversation is walked
    out: list[JSON] = []
    leading = True
    for position, message in enumerate(messages):
        role = message["role"]
        if role == "system":
            if leading:
                continue
            text = _system_text(message["content"])
            role, parts = "user", [{"text": f"{SYSTEM_NOTE_OPEN}\n{text}\n{SYSTEM_NOTE_CLOSE}"}]
        else:
            leading = False
            gemini_role = _ROLE_MAP.get(role)
            if gemini_role is None:
                raise InvalidRequestError(f"messages.{position}.role: must be 'user', 'assistant' or 'system'")
            role = gemini_role
            content = message["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            parts = []
            for block_position, block in enumerate(blocks):
                where = f"messages.{position}.content.{block_position}"
                parts.extend(_message_parts(block, where, tool_names, file_refs))
        if not parts:
            continue  # e.g. an assistant turn holding only redacted thinking
        if out and out[-1]["role"] == role:
            out[-1]["parts"].extend(parts)
        else:
            out.append({"role": role, "parts": parts})
    for content in out:
        if content["role"] == "user":
            content["parts"] = _function_responses_first(content["parts"])
    return out


def _function_responses_first(parts: list[JSON]) -> list[JSON]:
    responses = [part for part in parts if "functionResponse" in part]
    if not responses or len(responses) == len(parts):
        return parts
    return responses + [part for part in parts if "functionResponse" not in part]


def _message_parts(
    block: Mapping[str, Any], where: str, tool_names: dict[str, str], file_refs: Mapping[str, GeminiFileRef]
) -> list[JSON]:
    kind = block.get("type")
    if kind == "text":
        return [{"text": block["text"]}]
    if kind == "image":
        return [_image_part(block["source"], where, file_refs)]
    if kind == "document":
        return _document_parts(block, where, file_refs)
    if kind == "search_result":
        return [{"text": _search_result_text(block, where)}]
    if kind == "tool_use":
        tool_use_id, name = block["id"], block["name"]
        tool_names[tool_use_id] = name
        call_id, signature = decode_tool_use_id(tool_use_id)
        part: JSON = {"functionCall": {"id": call_id, "name": name, "args": block.get("input") or {}}}
        if signature:
            part["thoughtSignature"] = signature
        return [part]
    if kind == "tool_result":
        return [_function_response_part(block, where, tool_names, file_refs)]
    if kind == "thinking":
        part = {"text": block["thinking"], "thought": True}
        if block.get("signature"):
            part["thoughtSignature"] = block["signature"]
        return [part]
    if kind == "redacted_thinking":
        return []  # Anthropic-encrypted reasoning: meaningless to Gemini
    if kind == "server_tool_use":
        return _server_tool_use_parts(block, where)
    if kind in _GROUNDING_HISTORY:
        return []
    if kind == "code_execution_tool_result":
        return [_code_execution_result_part(block, where)]
    raise InvalidRequestError(f"{where}: content blocks of type {kind!r} are not supported for Gemini")


def _server_tool_use_parts(block: Mapping[str, Any], where: str) -> list[JSON]:
    name = block["name"]
    if name == "web_search":
        return []  # Gemini's history of a grounded answer holds only the answer text
    if name == "code_execution" and isinstance(block["input"].get("code"), str):
        return [{"executableCode": {"language": "PYTHON", "code": block["input"]["code"]}}]
    raise InvalidRequestError(
        f"{where}: a server_tool_use of {name!r} cannot be replayed to Gemini (Gemini runs Google Search and Python "
        "code execution only)"
    )


def _code_execution_result_part(block: Mapping[str, Any], where: str) -> JSON:
    """A ``codeExecutionResult`` for an earlier ``code_execution_tool_result``: what the code printed, or why it
    failed (``blocks.code_execution_result`` maps the other way)."""
    result = block["content"]
    kind = result.get("type") if isinstance(result, dict) else None
    if kind == "code_execution_result":
        return_code = result["return_code"]
        if return_code == 0:
            return {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": result["stdout"]}}
        output = result["stderr"] or result["stdout"]
        return {"codeExecutionResult": {"outcome": "OUTCOME_FAILED", "output": output}}
    if kind == "code_execution_tool_result_error":
        if result["error_code"] == "execution_time_exceeded":
            return {"codeExecutionResult": {"outcome": "OUTCOME_DEADLINE_EXCEEDED"}}
        return {"codeExecutionResult": {"outcome": "OUTCOME_FAILED", "output": result["error_code"]}}
    raise InvalidRequestError(f"{where}.content: a code execution result of type {kind!r} cannot go to Gemini")


def _image_part(source: Mapping[str, Any], where: str, file_refs: Mapping[str, GeminiFileRef]) -> JSON:
    if source["type"] == "base64":
        media_type = source["media_type"]
        if media_type not in _GEMINI_IMAGE_TYPES:
            allowed = ", ".join(sorted(_GEMINI_IMAGE_TYPES))
            raise InvalidRequestError(f"{where}: Gemini does not accept {media_type!r} images (use {allowed})")
        return {"inlineData": {"mimeType": media_type, "data": source["data"]}}
    return _reference_part(source, where, file_refs, default_mime_type=None)


def _document_parts(block: Mapping[str, Any], where: str, file_refs: Mapping[str, GeminiFileRef]) -> list[JSON]:
    about = [f"Document title: {block['title']}"] if block.get("title") else []
    if block.get("context"):
        about.append(f"Document context: {block['context']}")
    parts: list[JSON] = [{"text": "\n".join(about)}] if about else []
    source = block["source"]
    kind = source["type"]
    if kind == "base64":
        media_type = source.get("media_type") or "application/pdf"
        parts.append({"inlineData": {"mimeType": media_type, "data": source["data"]}})
    elif kind == "text":
        parts.append({"text": source["data"]})
    elif kind == "content":
        inner = source["content"]
        if isinstance(inner, str):
            parts.append({"text": inner})
        else:
            for position, item in enumerate(inner):
                parts.extend(_message_parts(item, f"{where}.source.content.{position}", {}, file_refs))
    else:
        parts.append(_reference_part(source, where, file_refs, default_mime_type="application/pdf"))
    return parts


def _search_result_text(block: Mapping[str, Any], where: str) -> str:
    """A search result as the text the model reads: Gemini cites nothing a client passed in, so a request for
    citations of it is refused rather than answered without them."""
    if (block.get("citations") or {}).get("enabled"):
        raise InvalidRequestError(f"{where}.citations: Gemini cites no search results passed in; leave citations off")
    lines = [f"Search result: {block['title']}", f"Source: {block['source']}"]
    lines += [item["text"] for item in block["content"]]
    return "\n".join(lines)


def _reference_part(
    source: Mapping[str, Any], where: str, file_refs: Mapping[str, GeminiFileRef], *, default_mime_type: str | None
) -> JSON:
    """A url or file source: Gemini reads only its own files (fileData) or inline bytes."""
    kind = source["type"]
    if kind == "url":
        url = source["url"]
        if url.startswith(_GEMINI_FILE_URI_PREFIX):
            file_data: JSON = {"fileUri": url}
            if default_mime_type:
                file_data["mimeType"] = default_mime_type
            return {"fileData": file_data}
        raise InvalidRequestError(
            f"{where}: Gemini needs the bytes inline; the gateway does not fetch URLs. "
            "Send the content as a base64 source (or upload it with the Files API)"
        )
    if kind == "file":
        file_id = source["file_id"]
        ref = file_refs.get(file_id)
        if ref is None:
            raise InvalidRequestError(f"{where}: file {file_id!r} is not a file uploaded to Gemini through the gateway")
        return {"fileData": {"mimeType": ref.mime_type, "fileUri": ref.uri}}
    raise InvalidRequestError(f"{where}.source: type {kind!r} is not supported for Gemini")


def _function_response_part(
    block: Mapping[str, Any], where: str, tool_names: dict[str, str], file_refs: Mapping[str, GeminiFileRef]
) -> JSON:
    tool_use_id = block["tool_use_id"]
    name = tool_names.get(tool_use_id)
    if name is None:
        # Gemini's FunctionResponse.name is required and only the earlier tool_use knows it.
        raise InvalidRequestError(
            f"{where}: tool_result.tool_use_id {tool_use_id!r} does not match a tool_use block in an earlier "
            "assistant turn"
        )
    texts, media = _tool_result_content(block.get("content"), where, file_refs)
    text = "\n".join(texts)
    # Gemini's response must be a JSON object; its docs name "error" as the key for a failed call.
    response = {"error": text} if block.get("is_error") else {"content": text}
    call_id, _ = decode_tool_use_id(tool_use_id)
    function_response: JSON = {"id": call_id, "name": name, "response": response}
    if media:
        function_response["parts"] = media
    return {"functionResponse": function_response}


def _tool_result_content(
    content: Any, where: str, file_refs: Mapping[str, GeminiFileRef]
) -> tuple[list[str], list[JSON]]:
    """(texts for ``response.content``, media for ``FunctionResponse.parts``)."""
    if content is None:
        return [], []
    if isinstance(content, str):
        return [content], []
    texts: list[str] = []
    media: list[JSON] = []
    for position, item in enumerate(content):
        item_where = f"{where}.content.{position}"
        kind = item.get("type")
        if kind == "text":
            texts.append(item["text"])
        elif kind == "search_result":
            texts.append(_search_result_text(item, item_where))
        elif kind in ("image", "document"):
            # Multimodal results go in FunctionResponse.parts, next to the JSON response; a document's title and
            # context (text) join the response text.
            for part in _message_parts(item, item_where, {}, file_refs):
                if "text" in part:
                    texts.append(part["text"])
                else:
                    media.append(part)
        else:
            raise InvalidRequestError(f"{item_where}: tool_result content of type {kind!r} is not supported")
    return texts, media

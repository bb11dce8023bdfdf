"""Anthropic-defined client tools (bash, the text editor, memory) as OpenAI function tools. Pure.

The caller runs these tools, so their contract is their input: the function gets the input schema Anthropic
publishes for each version (the same field names, so the caller's executor receives exactly what Claude would
send) and a description of what the tool does, which Claude knows from training and another model must be told.
The computer-use tools are not here: clicking on a screenshot scaled to ``display_width_px`` is a contract trained
into Claude, which a function schema cannot carry (the field policy refuses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finops.core.types import JSON

_PATH = {"type": "string", "description": "Absolute path to the file or directory."}
_VIEW_RANGE = {
    "type": "array",
    "items": {"type": "integer"},
    "description": "For view on a file: [start_line, end_line], 1-based; end_line -1 reads to the end.",
}
_FILE_TEXT = {"type": "string", "description": "For create: the content of the new file."}
_OLD_STR = {"type": "string", "description": "For str_replace: the exact text to replace (must occur once)."}
_NEW_STR = {"type": "string", "description": "For str_replace: the replacement; for insert: the text to insert."}
_INSERT_LINE = {"type": "integer", "description": "For insert: the line after which to insert (0: the start)."}

_BASH: JSON = {
    "description": (
        "Run commands in a bash shell. State (working directory, variables, files) persists between calls; "
        "set restart to true to start a fresh shell."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run. Required unless restarting."},
            "restart": {"type": "boolean", "description": "Set to true to restart the shell."},
        },
    },
}


def _text_editor(commands: list[str]) -> JSON:
    undo = " undo_edit reverts the last edit of the file." if "undo_edit" in commands else ""
    return {
        "description": (
            "View, create and edit text files. view prints a file with line numbers (or lists a directory); "
            "create writes a new file; str_replace replaces one exact occurrence of old_str with new_str; "
            f"insert adds new_str after insert_line.{undo}"
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "enum": commands, "description": "The command to run."},
                "path": _PATH,
                "file_text": _FILE_TEXT,
                "old_str": _OLD_STR,
                "new_str": _NEW_STR,
                "insert_line": _INSERT_LINE,
                "view_range": _VIEW_RANGE,
            },
            "required": ["command", "path"],
        },
    }


_MEMORY: JSON = {
    "description": (
        "Read and write your memory: files under /memories that persist across conversations. Check it before "
        "starting a task and record progress as you go. view shows a file or lists a directory; create writes a "
        "file; str_replace replaces one exact occurrence of old_str; insert adds insert_text after insert_line; "
        "delete removes a file or directory; rename moves old_path to new_path."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "command": {
                "type": "string",
                "enum": ["view", "create", "str_replace", "insert", "delete", "rename"],
                "description": "The command to run.",
            },
            "path": {"type": "string", "description": "Path under /memories."},
            "view_range": _VIEW_RANGE,
            "file_text": _FILE_TEXT,
            "old_str": _OLD_STR,
            "new_str": {"type": "string", "description": "For str_replace: the replacement."},
            "insert_line": _INSERT_LINE,
            "insert_text": {"type": "string", "description": "For insert: the text to insert."},
            "old_path": {"type": "string", "description": "For rename: the current path."},
            "new_path": {"type": "string", "description": "For rename: the new path."},
        },
        "required": ["command"],
    },
}

_WITH_UNDO = ["view", "create", "str_replace", "insert", "undo_edit"]
_WITHOUT_UNDO = ["view", "create", "str_replace", "insert"]

CLIENT_TOOLS: Mapping[str, tuple[str, JSON]] = {
    "bash_20241022": ("bash", _BASH),
    "bash_20250124": ("bash", _BASH),
    "text_editor_20241022": ("str_replace_editor", _text_editor(_WITH_UNDO)),
    "text_editor_20250124": ("str_replace_editor", _text_editor(_WITH_UNDO)),
    "text_editor_20250429": ("str_replace_based_edit_tool", _text_editor(_WITHOUT_UNDO)),
    "text_editor_20250728": ("str_replace_based_edit_tool", _text_editor(_WITHOUT_UNDO)),
    "memory_20250818": ("memory", _MEMORY),
}
"""Tool type -> the tool's name (Anthropic fixes it per type) and the function's description and parameters."""


def client_tool_function(tool: Mapping[str, Any]) -> JSON:
    """The ``function`` for an Anthropic-defined client tool (its type is a key of ``CLIENT_TOOLS``)."""
    name, spec = CLIENT_TOOLS[str(tool["type"])]
    description = str(spec["description"])
    max_characters = tool.get("max_characters")
    if isinstance(max_characters, int):
        description += f" The caller cuts view output at {max_characters} characters."
    return {"name": tool.get("name") or name, "description": description, "parameters": spec["parameters"]}

"""Blocks that Anthropic's server tools put in an answer and clients send back in later turns (``anthropic`` 2.14:
``server_tool_use_block_param.py``, ``web_search_tool_result_block_param.py``, ``code_execution_*``…).

Only Anthropic (and Claude on Bedrock) runs these tools; the field policy refuses the blocks elsewhere.
"""

from __future__ import annotations

from typing import Annotated, Literal, Required

from typing_extensions import TypedDict

from .blocks import CacheControlEphemeralParam, CallerParam, DocumentBlockParam, JSONObject, ToolReferenceBlockParam
from .unions import JSONTypes, Kinds

ServerToolName = Literal[
    "web_search",
    "web_fetch",
    "code_execution",
    "bash_code_execution",
    "text_editor_code_execution",
    "tool_search_tool_regex",
    "tool_search_tool_bm25",
]


class ServerToolUseBlockParam(TypedDict, total=False):
    id: Required[str]
    input: Required[JSONObject]
    name: Required[ServerToolName]
    type: Required[Literal["server_tool_use"]]
    cache_control: CacheControlEphemeralParam | None
    caller: CallerParam | None


# -- web search ----------------------------------------------------------------------------------------------------


class WebSearchResultBlockParam(TypedDict, total=False):
    encrypted_content: Required[str]
    title: Required[str]
    type: Required[Literal["web_search_result"]]
    url: Required[str]
    page_age: str | None


class WebSearchToolRequestErrorParam(TypedDict, total=False):
    error_code: Required[
        Literal[
            "invalid_tool_input",
            "unavailable",
            "max_uses_exceeded",
            "too_many_requests",
            "query_too_long",
            "request_too_large",
        ]
    ]
    type: Required[Literal["web_search_tool_result_error"]]


class WebSearchToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            list[WebSearchResultBlockParam] | WebSearchToolRequestErrorParam,
            JSONTypes(fallback="list"),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["web_search_tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    caller: CallerParam | None


# -- web fetch -----------------------------------------------------------------------------------------------------


class WebFetchToolResultErrorBlockParam(TypedDict, total=False):
    error_code: Required[
        Literal[
            "invalid_tool_input",
            "url_too_long",
            "url_not_allowed",
            "url_not_in_prior_context",
            "url_not_accessible",
            "unsupported_content_type",
            "too_many_requests",
            "max_uses_exceeded",
            "unavailable",
            "content_too_large",
        ]
    ]
    type: Required[Literal["web_fetch_tool_result_error"]]


class WebFetchBlockParam(TypedDict, total=False):
    content: Required[DocumentBlockParam]
    type: Required[Literal["web_fetch_result"]]
    url: Required[str]
    retrieved_at: str | None


class WebFetchToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            WebFetchToolResultErrorBlockParam | WebFetchBlockParam,
            Kinds(),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["web_fetch_tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    caller: CallerParam | None


# -- code execution ------------------------------------------------------------------------------------------------

_ExecutionErrorCode = Literal["invalid_tool_input", "unavailable", "too_many_requests", "execution_time_exceeded"]


class CodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[_ExecutionErrorCode]
    type: Required[Literal["code_execution_tool_result_error"]]


class CodeExecutionOutputBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["code_execution_output"]]


class CodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[list[CodeExecutionOutputBlockParam]]
    return_code: Required[int]
    stderr: Required[str]
    stdout: Required[str]
    type: Required[Literal["code_execution_result"]]


class EncryptedCodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[list[CodeExecutionOutputBlockParam]]
    encrypted_stdout: Required[str]
    return_code: Required[int]
    stderr: Required[str]
    type: Required[Literal["encrypted_code_execution_result"]]


class CodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            CodeExecutionToolResultErrorParam | CodeExecutionResultBlockParam | EncryptedCodeExecutionResultBlockParam,
            Kinds(),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


class BashCodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[
        Literal[
            "invalid_tool_input",
            "unavailable",
            "too_many_requests",
            "execution_time_exceeded",
            "output_file_too_large",
        ]
    ]
    type: Required[Literal["bash_code_execution_tool_result_error"]]


class BashCodeExecutionOutputBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["bash_code_execution_output"]]


class BashCodeExecutionResultBlockParam(TypedDict, total=False):
    content: Required[list[BashCodeExecutionOutputBlockParam]]
    return_code: Required[int]
    stderr: Required[str]
    stdout: Required[str]
    type: Required[Literal["bash_code_execution_result"]]


class BashCodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            BashCodeExecutionToolResultErrorParam | BashCodeExecutionResultBlockParam,
            Kinds(),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["bash_code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


class TextEditorCodeExecutionToolResultErrorParam(TypedDict, total=False):
    error_code: Required[
        Literal[
            "invalid_tool_input",
            "unavailable",
            "too_many_requests",
            "execution_time_exceeded",
            "file_not_found",
        ]
    ]
    type: Required[Literal["text_editor_code_execution_tool_result_error"]]
    error_message: str | None


class TextEditorCodeExecutionViewResultBlockParam(TypedDict, total=False):
    content: Required[str]
    file_type: Required[Literal["text", "image", "pdf"]]
    type: Required[Literal["text_editor_code_execution_view_result"]]
    num_lines: int | None
    start_line: int | None
    total_lines: int | None


class TextEditorCodeExecutionCreateResultBlockParam(TypedDict, total=False):
    is_file_update: Required[bool]
    type: Required[Literal["text_editor_code_execution_create_result"]]


class TextEditorCodeExecutionStrReplaceResultBlockParam(TypedDict, total=False):
    type: Required[Literal["text_editor_code_execution_str_replace_result"]]
    lines: list[str] | None
    new_lines: int | None
    new_start: int | None
    old_lines: int | None
    old_start: int | None


class TextEditorCodeExecutionToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            TextEditorCodeExecutionToolResultErrorParam
            | TextEditorCodeExecutionViewResultBlockParam
            | TextEditorCodeExecutionCreateResultBlockParam
            | TextEditorCodeExecutionStrReplaceResultBlockParam,
            Kinds(),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["text_editor_code_execution_tool_result"]]
    cache_control: CacheControlEphemeralParam | None


# -- tool search ---------------------------------------------------------------------------------------------------


class ToolSearchToolResultErrorParam(TypedDict, total=False):
    error_code: Required[_ExecutionErrorCode]
    type: Required[Literal["tool_search_tool_result_error"]]
    error_message: str | None


class ToolSearchToolSearchResultBlockParam(TypedDict, total=False):
    tool_references: Required[list[ToolReferenceBlockParam]]
    type: Required[Literal["tool_search_tool_search_result"]]


class ToolSearchToolResultBlockParam(TypedDict, total=False):
    content: Required[
        Annotated[
            ToolSearchToolResultErrorParam | ToolSearchToolSearchResultBlockParam,
            Kinds(),
        ]
    ]
    tool_use_id: Required[str]
    type: Required[Literal["tool_search_tool_result"]]
    cache_control: CacheControlEphemeralParam | None

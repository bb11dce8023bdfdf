"""Content blocks a Messages request may carry, as the official SDK types them (``anthropic`` 2.14:
``text_block_param.py``, ``image_block_param.py``, ``document_block_param.py``, ``tool_result_block_param.py``…).

These are ``TypedDict``s: a parsed request stays the plain JSON dict the client sent, and translators read it
with the types below. Server-tool blocks (web search results, code execution…) are in ``server_blocks.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Required

from typing_extensions import TypedDict

from .unions import JSONTypes, Kinds

JSONObject = dict[str, object]


class CacheControlEphemeralParam(TypedDict, total=False):
    type: Required[Literal["ephemeral"]]
    ttl: Literal["5m", "1h"]


class CitationsConfigParam(TypedDict, total=False):
    enabled: bool


# -- citations a text block may carry (echoed back from an earlier answer) -------------------------------------


class CitationCharLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_char_index: Required[int]
    start_char_index: Required[int]
    type: Required[Literal["char_location"]]


class CitationPageLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_page_number: Required[int]
    start_page_number: Required[int]
    type: Required[Literal["page_location"]]


class CitationContentBlockLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    document_index: Required[int]
    document_title: Required[str | None]
    end_block_index: Required[int]
    start_block_index: Required[int]
    type: Required[Literal["content_block_location"]]


class CitationWebSearchResultLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    encrypted_index: Required[str]
    title: Required[str | None]
    type: Required[Literal["web_search_result_location"]]
    url: Required[str]


class CitationSearchResultLocationParam(TypedDict, total=False):
    cited_text: Required[str]
    end_block_index: Required[int]
    search_result_index: Required[int]
    source: Required[str]
    start_block_index: Required[int]
    title: Required[str | None]
    type: Required[Literal["search_result_location"]]


TextCitationParam = Annotated[
    CitationCharLocationParam
    | CitationPageLocationParam
    | CitationContentBlockLocationParam
    | CitationWebSearchResultLocationParam
    | CitationSearchResultLocationParam,
    Kinds(),
]


# -- text, image, document, search result ----------------------------------------------------------------------


class TextBlockParam(TypedDict, total=False):
    type: Required[Literal["text"]]  # first: where only text is allowed (``system``), the type is the error to show
    text: Required[str]
    cache_control: CacheControlEphemeralParam | None
    citations: list[TextCitationParam] | None


class Base64ImageSourceParam(TypedDict, total=False):
    data: Required[str]
    media_type: Required[Literal["image/jpeg", "image/png", "image/gif", "image/webp"]]
    type: Required[Literal["base64"]]


class URLImageSourceParam(TypedDict, total=False):
    type: Required[Literal["url"]]
    url: Required[str]


class FileImageSourceParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["file"]]


ImageSourceParam = Annotated[
    Base64ImageSourceParam | URLImageSourceParam | FileImageSourceParam,
    Kinds(open=True),
]


class ImageTransformationsParam(TypedDict, total=False):
    oversized_image: Literal["downsize", "error"]


class ImageBlockParam(TypedDict, total=False):
    source: Required[ImageSourceParam]
    type: Required[Literal["image"]]
    cache_control: CacheControlEphemeralParam | None
    transformations: ImageTransformationsParam | None


class Base64PDFSourceParam(TypedDict, total=False):
    data: Required[str]
    media_type: Required[Literal["application/pdf"]]
    type: Required[Literal["base64"]]


class PlainTextSourceParam(TypedDict, total=False):
    data: Required[str]
    media_type: Required[Literal["text/plain"]]
    type: Required[Literal["text"]]


ContentSourceBlockParam = Annotated[
    TextBlockParam | ImageBlockParam,
    Kinds(open=True),
]
"""What a ``{"type": "content"}`` document source may hold."""


StrOrContentSourceBlocks = Annotated[str | list[ContentSourceBlockParam], JSONTypes(fallback="list")]


class ContentBlockSourceParam(TypedDict, total=False):
    content: Required[StrOrContentSourceBlocks]
    type: Required[Literal["content"]]


class URLPDFSourceParam(TypedDict, total=False):
    type: Required[Literal["url"]]
    url: Required[str]


class FileDocumentSourceParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["file"]]


DocumentSourceParam = Annotated[
    Base64PDFSourceParam | PlainTextSourceParam | ContentBlockSourceParam | URLPDFSourceParam | FileDocumentSourceParam,
    Kinds(open=True),
]


class DocumentBlockParam(TypedDict, total=False):
    source: Required[DocumentSourceParam]
    type: Required[Literal["document"]]
    cache_control: CacheControlEphemeralParam | None
    citations: CitationsConfigParam | None
    context: str | None
    title: str | None


class SearchResultBlockParam(TypedDict, total=False):
    content: Required[list[TextBlockParam]]
    source: Required[str]
    title: Required[str]
    type: Required[Literal["search_result"]]
    cache_control: CacheControlEphemeralParam | None
    citations: CitationsConfigParam


# -- thinking ----------------------------------------------------------------------------------------------------


class ThinkingBlockParam(TypedDict, total=False):
    signature: Required[str]
    thinking: Required[str]
    type: Required[Literal["thinking"]]


class RedactedThinkingBlockParam(TypedDict, total=False):
    data: Required[str]
    type: Required[Literal["redacted_thinking"]]


# -- tool use and tool results -----------------------------------------------------------------------------------


class DirectCallerParam(TypedDict, total=False):
    type: Required[Literal["direct"]]


class ServerToolCallerParam(TypedDict, total=False):
    tool_id: Required[str]
    type: Required[Literal["code_execution_20250825"]]


class ServerToolCaller20260120Param(TypedDict, total=False):
    tool_id: Required[str]
    type: Required[Literal["code_execution_20260120"]]


CallerParam = Annotated[
    DirectCallerParam | ServerToolCallerParam | ServerToolCaller20260120Param,
    Kinds(),
]
"""Who called a tool. Nullable where it appears: answers carry ``"caller": null`` and clients echo them back."""


class ToolUseBlockParam(TypedDict, total=False):
    id: Required[str]
    input: Required[JSONObject]
    name: Required[str]
    type: Required[Literal["tool_use"]]
    cache_control: CacheControlEphemeralParam | None
    caller: CallerParam | None
    toolset_name: str | None


class ToolReferenceBlockParam(TypedDict, total=False):
    tool_name: Required[str]
    type: Required[Literal["tool_reference"]]
    cache_control: CacheControlEphemeralParam | None


class BrowserStateTabEntryParam(TypedDict, total=False):
    tab_id: Required[str]
    title: Required[str]
    url: Required[str]
    active: bool


class BrowserStateChangeTabOpenedParam(TypedDict, total=False):
    tab_id: Required[str]
    type: Required[Literal["tab_opened"]]


class BrowserStateChangeDownloadStartedParam(TypedDict, total=False):
    download_id: Required[str]
    type: Required[Literal["download_started"]]
    url: Required[str]


class BrowserStateChangeDownloadCompletedParam(TypedDict, total=False):
    download_id: Required[str]
    type: Required[Literal["download_completed"]]
    url: Required[str]
    path: str | None
    size_bytes: int | None


class BrowserStateChangeDownloadFailedParam(TypedDict, total=False):
    download_id: Required[str]
    type: Required[Literal["download_failed"]]
    url: Required[str]
    error: str | None


BrowserStateChangeParam = Annotated[
    BrowserStateChangeTabOpenedParam
    | BrowserStateChangeDownloadStartedParam
    | BrowserStateChangeDownloadCompletedParam
    | BrowserStateChangeDownloadFailedParam,
    Kinds(),
]


class BrowserStateBlockParam(TypedDict, total=False):
    tabs: Required[list[BrowserStateTabEntryParam]]
    type: Required[Literal["browser_state"]]
    cache_control: CacheControlEphemeralParam | None
    state_changes: list[BrowserStateChangeParam] | None


ToolResultContentBlockParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | SearchResultBlockParam
    | DocumentBlockParam
    | ToolReferenceBlockParam
    | BrowserStateBlockParam,
    Kinds(open=True),
]


StrOrToolResultContent = Annotated[str | list[ToolResultContentBlockParam], JSONTypes(fallback="list")]


class ToolResultBlockParam(TypedDict, total=False):
    tool_use_id: Required[str]
    type: Required[Literal["tool_result"]]
    cache_control: CacheControlEphemeralParam | None
    content: StrOrToolResultContent
    is_error: bool
    toolset_name: str | None


class ContainerUploadBlockParam(TypedDict, total=False):
    file_id: Required[str]
    type: Required[Literal["container_upload"]]
    cache_control: CacheControlEphemeralParam | None


__all__ = [
    "Base64ImageSourceParam",
    "Base64PDFSourceParam",
    "BrowserStateBlockParam",
    "CacheControlEphemeralParam",
    "CallerParam",
    "CitationsConfigParam",
    "ContainerUploadBlockParam",
    "ContentBlockSourceParam",
    "DocumentBlockParam",
    "DocumentSourceParam",
    "FileDocumentSourceParam",
    "FileImageSourceParam",
    "ImageBlockParam",
    "ImageSourceParam",
    "JSONObject",
    "PlainTextSourceParam",
    "RedactedThinkingBlockParam",
    "SearchResultBlockParam",
    "TextBlockParam",
    "ThinkingBlockParam",
    "ToolReferenceBlockParam",
    "ToolResultBlockParam",
    "ToolResultContentBlockParam",
    "ToolUseBlockParam",
    "URLImageSourceParam",
    "URLPDFSourceParam",
]

"""The field policy: every feature of a Messages request, for every provider, in one table.

It records what the translators in ``providers/*/translate.py`` do today. A translator that drops something which
can change the answer is refused here until it learns to translate it; flipping a row to ``translated`` is the
provider engineer's half of adding a mapping. ``docs/compatibility.md`` is generated from this table
(``python -m finops.core.policy.render``) and a test keeps the two equal.

Row keys are what ``features.py`` reports for a request: a top-level field (``output_config.format``), a variant
(``thinking: adaptive``), a role (``role: system``), a block in a turn (``user turn: image``), a block field
(``document.title``), a source (``image source: url``), a block nested in another (``tool_result content: image``),
a tool type (``tool: web_search_20250305``) or a custom tool's field (``tool.strict``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .features import BILLING_BLOCK
from .rules import Decision, Row, Rule, ignored, is_true, refused, row, translated

TOP = "Top-level fields"
THINKING = "thinking"
TOOL_CHOICE = "tool_choice"
ROLES = "Message roles"
USER_BLOCKS = "Content blocks in user turns"
ASSISTANT_BLOCKS = "Content blocks in assistant turns"
BLOCK_FIELDS = "Optional fields of content blocks (also in `system`, `tool_result` and document content)"
SOURCES = "Image and document sources"
NESTED_BLOCKS = "Blocks inside `tool_result.content` and a document's `content` source"
TOOLS = "Tool types"
TOOL_FIELDS = "Optional fields of custom tools"
BATCH_FIELDS = "Batch fields (beside `requests` in a batch body)"

SECTIONS: tuple[str, ...] = (TOP, THINKING, TOOL_CHOICE, ROLES, USER_BLOCKS, ASSISTANT_BLOCKS, BLOCK_FIELDS)
SECTIONS += (SOURCES, NESTED_BLOCKS, TOOLS, TOOL_FIELDS, BATCH_FIELDS)

# -- reasons shared by many rows -------------------------------------------------------------------------------

_AUTO_CACHE = "prompt caching is automatic there; the marker changes the price, not the answer"
_CACHE_POINT = "a `cachePoint` after it (its `ttl` kept; Titan has no caching)"
_NO_CACHING = "this family has no prompt caching on Bedrock: the answer is the same and there is no saving to miss"
_NOVA_TOOL_CACHE = (
    "Nova takes cache points in `system` and `messages` only: dropped (a marker further down still caches the "
    "prompt before it)"
)
_CANNOT_REASON = "these models cannot reason on Bedrock"
_ADAPTIVE_NO_THINKING = (
    "adaptive thinking lets the model decide how much to think; a model that cannot think answers without "
    "thinking (Claude Code sends `adaptive` to every model it does not know)"
)
_SEARCH_RESULT_TEXT = "plain text (title, source, then its text): only Claude reads `searchResult` blocks"
_CLAUDE_CITES = "only Claude cites documents on Bedrock"
_NO_SEARCH_RESULTS = "never reached: search result blocks are refused on this provider"
_EARLIER_THINKING = "earlier turns' reasoning is dropped, as Anthropic itself drops it from the context"
_CITED_ANSWER = "citations of an earlier answer only point back into documents; the text itself is sent"
_SERVER_BLOCK = "the block of an Anthropic server tool; only Anthropic can read it"
_CODE_EXECUTION = "belongs to Anthropic's code execution (programmatic tool calling)"
_TOOLSETS = "belongs to Anthropic's browser and computer toolsets"
_BEDROCK_FILE_CONVERSE = (
    "a file uploaded with `x-model-provider: bedrock` (an S3 object, needs `providers.bedrock.batch`): Amazon Nova "
    "reads it from S3 (`source.s3Location`); every other family gets its bytes inline (`source.bytes`), read by "
    "the gateway from S3"
)
_BEDROCK_FILE_CLAUDE = (
    "a file uploaded with `x-model-provider: bedrock` (an S3 object, needs `providers.bedrock.batch`): its bytes "
    "inline, read by the gateway from S3 (InvokeModel takes no S3 source): base64, or text for `text/*` documents"
)
_NO_URLS = "Bedrock cannot fetch URLs; send the content inline as base64"
_GEMINI_URLS = "only a Gemini Files API URI (`fileData`); any other URL is a 400 from the translator"
_ANTHROPIC_TOOL = "an Anthropic-defined tool; to do: offer it as a custom tool with Anthropic's published schema"
_SERVER_TOOL = "an Anthropic server tool (Anthropic runs it)"
_BILLING = ignored(
    "Claude Code's billing metadata for Anthropic (`x-anthropic-billing-header: cc_version=…; cc_entrypoint=…;`, "
    "the whole text of a `system` text block without `cache_control`), not prompt text: left out by the gateway, "
    "since it changes on every request and, first in the prompt, would defeat the provider's prefix caching"
)

# -- openai cells shared by several rows -----------------------------------------------------------------------

_OPENAI_SEARCH_RESULT = "a text part: the result's title, source and content (`citations.enabled` is a 400)"
_OPENAI_WEB_SEARCH = (
    "`web_search_options` (`user_location` as an approximate location) on OpenAI's search models "
    "(gpt-4o-search-preview, gpt-4o-mini-search-preview, gpt-5-search-api…), which search once per request; the "
    "answer's `url_citation`s come back as `server_tool_use` + `web_search_tool_result` and cited text blocks; "
    "another model is a 400 naming the tool; `allowed_domains`/`blocked_domains` are a 400 (no domain filter)"
)
_OPENAI_WEB_SEARCH_HISTORY: Mapping[str, Rule] = {
    "server_tool_use": translated("a `web_search` call is dropped (its results follow it); other server tools: 400"),
    "web_search_tool_result": translated("a line of the assistant message naming each page found (title and URL)"),
}


def _openai_client_tool(kind: str) -> Rule:
    if kind.startswith("computer_"):
        return refused(
            "clicking on a screenshot scaled to the display size is a contract trained into Claude; a function "
            "schema cannot carry it to another model"
        )
    return translated("a `function` with Anthropic's published input schema and a description of the tool")


# -- Gemini's server tools and Anthropic's client tools (providers/gemini/tools.py, grounding.py, contents.py) -----

_GEMINI_SEARCH = translated(
    "`googleSearch` grounding: `server_tool_use` + `web_search_tool_result` per query, text `citations` "
    "(`web_search_result_location`), `usage.server_tool_use.web_search_requests`; `allowed_domains`, "
    "`blocked_domains` and `user_location` are a 400 (Google Search takes none), `max_uses` cannot be enforced; "
    "not beside function tools (a 400)"
)
_GEMINI_FETCH = refused(
    "Gemini's `url_context` reads a page but returns neither its content nor a document, which "
    "`web_fetch_tool_result` must carry"
)
_GEMINI_BASH_EXECUTION = refused(
    "this version runs bash and edits files; Gemini's `codeExecution` runs Python only: use code_execution_20250522"
)
_GEMINI_SERVER_TOOLS: Mapping[str, Rule] = {
    **dict.fromkeys(("web_search_20250305", "web_search_20260209", "web_search_20260318"), _GEMINI_SEARCH),
    **dict.fromkeys(
        ("web_fetch_20250910", "web_fetch_20260209", "web_fetch_20260309", "web_fetch_20260318"), _GEMINI_FETCH
    ),
    "code_execution_20250522": translated(
        "`codeExecution` (Python): `executableCode` / `codeExecutionResult` parts become `server_tool_use` "
        "`code_execution` + `code_execution_tool_result`; not beside function tools (a 400)"
    ),
    **dict.fromkeys(
        ("code_execution_20250825", "code_execution_20260120", "code_execution_20260521"), _GEMINI_BASH_EXECUTION
    ),
}
_GEMINI_SERVER_HISTORY: Mapping[str, Rule] = {
    "server_tool_use": translated(
        "`code_execution`: an `executableCode` part; `web_search`: left out, as Gemini's own history of a "
        "grounded answer holds only its text; other tools: a 400 from the translator"
    ),
    "web_search_tool_result": translated("left out, as Gemini's own history of a grounded answer holds only its text"),
    "code_execution_tool_result": translated("a `codeExecutionResult` part (stdout, or stderr when it failed)"),
}
_GEMINI_CLIENT_TOOLS = frozenset(
    {
        "bash_20250124",
        "bash_20241022",
        "text_editor_20250124",
        "text_editor_20250429",
        "text_editor_20250728",
        "text_editor_20241022",
        "memory_20250818",
    }
)
_GEMINI_CLIENT_TOOL = translated(
    "a `functionDeclaration` with the input schema Anthropic documents for it, under its name; the client runs it"
)
_GEMINI_COMPUTER = "a screenshot-driven tool Gemini was not trained to drive; Gemini's own `computerUse` differs"


def _rows() -> Iterator[Row]:
    # -- top-level fields ------------------------------------------------------------------------------------
    yield row(
        "model",
        TOP,
        openai=translated("`model`"),
        gemini=translated("the URL path (`models/{model}:generateContent`)"),
        converse=translated("the URL path (`/model/{modelId}/converse`)"),
    )
    yield row(
        "max_tokens",
        TOP,
        openai=translated("`max_completion_tokens`"),
        gemini=translated("`generationConfig.maxOutputTokens` (0 is a 400: no cache pre-warm call)"),
        converse=translated("`inferenceConfig.maxTokens` (0 is a 400)"),
    )
    yield row(
        "messages",
        TOP,
        openai=translated("`messages` (see the roles and blocks below)"),
        gemini=translated("`contents` (consecutive turns of one role merged)"),
        converse=translated("`messages` (consecutive turns of one role merged)"),
    )
    yield row(
        "stream",
        TOP,
        openai=translated("`stream` with `stream_options.include_usage`"),
        gemini=translated("`streamGenerateContent?alt=sse`"),
        converse=translated("`ConverseStream`"),
    )
    yield row(
        "system",
        TOP,
        openai=translated(
            "a first `system` message (`developer` on reasoning models, as OpenAI asks from o1 on; text blocks joined "
            "by newlines)"
        ),
        gemini=translated("`systemInstruction`"),
        converse=translated("`system` blocks (empty text left out)"),
    )
    yield row(
        BILLING_BLOCK,
        TOP,
        everywhere=_BILLING,
        claude=_BILLING,
    )
    yield row(
        "metadata",
        TOP,
        openai=translated(
            "`metadata.user_id` becomes `safety_identifier` (OpenAI's abuse-detection ID; one longer than its 64 "
            "characters, such as Claude Code's, is sent as its SHA-256 hex digest); the answer is the same"
        ),
        gemini=ignored("Gemini has no end-user field; metadata does not change the answer"),
        converse=ignored("metadata does not change the answer"),
    )
    yield row(
        "context_management: clear_thinking_20251015",
        TOP,
        everywhere=translated(
            "applied by the gateway before translation, as Anthropic applies it before the model reads the "
            "prompt: the thinking blocks of all but the last `keep` assistant turns that have some are dropped "
            '(default 1; `keep: "all"`, which Claude Code sends, drops none)'
        ),
    )
    yield row(
        "context_management: clear_tool_uses_20250919",
        TOP,
        everywhere=refused(
            "Anthropic clears old tool results once its own count of the prompt passes the trigger, a count the "
            "gateway cannot make for another provider's model; clear old tool results on the client"
        ),
    )
    yield row(
        "context_management: compact_20260112",
        TOP,
        everywhere=refused("server-side compaction: Anthropic's model summarises the older context"),
    )
    yield row(
        "stop_sequences",
        TOP,
        openai=translated("`stop` (at most 4)"),
        gemini=translated("`generationConfig.stopSequences` (at most 5)"),
        converse=translated("`inferenceConfig.stopSequences`"),
    )
    yield row(
        "temperature",
        TOP,
        openai=translated("`temperature`"),
        gemini=translated("`generationConfig.temperature`"),
        converse=translated("`inferenceConfig.temperature`"),
    )
    yield row(
        "top_p",
        TOP,
        openai=translated("`top_p`"),
        gemini=translated("`generationConfig.topP`"),
        converse=translated("`inferenceConfig.topP`"),
    )
    yield row(
        "top_k",
        TOP,
        openai=refused("Chat Completions has no top_k"),
        gemini=translated("`generationConfig.topK`"),
        converse=refused("the gateway knows no top_k field for this model family"),
        nova=translated("`additionalModelRequestFields.inferenceConfig.topK`"),
        mistral=translated("`additionalModelRequestFields.top_k`"),
        cohere=translated("`additionalModelRequestFields.k`"),
        llama=refused("Llama on Bedrock takes no top_k"),
    )
    yield row(
        "cache_control",
        TOP,
        openai=ignored(_AUTO_CACHE),
        gemini=ignored(_AUTO_CACHE + " (implicit caching)"),
        converse=ignored(_NO_CACHING),
        nova=translated("a `cachePoint` after the last message's content (its `ttl` kept; Titan has no caching)"),
    )
    yield row(
        "container",
        TOP,
        everywhere=(refused("a container of Anthropic's code execution tool")),
    )
    yield row(
        "diagnostics",
        TOP,
        everywhere=(ignored("asks Anthropic to explain prompt-cache misses; the answer itself is the same")),
    )
    yield row(
        "inference_geo",
        TOP,
        everywhere=(
            refused(
                "where inference runs is fixed by the gateway's configuration of this provider; a data-residency "
                "request cannot be honoured per call, so it is not dropped in silence"
            )
        ),
    )
    yield row(
        "output_config.effort",
        TOP,
        openai=translated(
            "`reasoning_effort` on reasoning models: the nearest effort the model takes (`max` is `high` on o4-mini, "
            "`xhigh` on gpt-5.2); a model that does not reason has no effort to set and answers as it always does"
        ),
        gemini=translated(
            "`thinkingConfig`: Gemini 3 `thinkingLevel` (low; medium where the model has it, else high; high for "
            "high, xhigh, max), Gemini 2.5 a `thinkingBudget` ceiling (low 1,024, medium 8,192, high the dynamic "
            "default, xhigh/max the model's largest); a 400 on models before 2.5, which cannot think"
        ),
        converse=ignored("these models have one effort level: the answer is the same at every level"),
        nova=translated(
            "with `thinking`, Nova 2's `maxReasoningEffort` (`xhigh` and `max` are `high`); without, Nova has one "
            "effort level"
        ),
        other=translated(
            "with `thinking`, gpt-oss `reasoning_effort` (`xhigh` and `max` are `high`); models without effort "
            "levels answer the same"
        ),
    )
    yield row(
        "output_config.format",
        TOP,
        openai=translated(
            "`response_format` `json_schema` with `strict: true`, the schema rewritten only where every answer still "
            "validates against it (objects closed, optional properties required, a lone `allOf` merged, `default`/"
            "`examples` moved into the description); a schema beyond strict mode's subset (`oneOf`, `minLength`, "
            "`uniqueItems`, a `uri` format, a non-object root…) is sent with `strict: false`: JSON, but its match "
            "is not guaranteed"
        ),
        gemini=translated(
            "`generationConfig.responseMimeType: application/json` + `responseJsonSchema` (the schema as is); before "
            "Gemini 2.5, `responseSchema` (its OpenAPI subset; what it cannot say is a 400)"
        ),
        converse=translated("`outputConfig.textFormat` (`json_schema`, the schema as a JSON string)"),
        nova=translated(
            "Nova has no `textFormat`: a forced tool `json_answer` whose input schema is the schema; its input "
            "comes back as the answer's text (JSON) with `end_turn`, and words around the call are left out "
            "(Titan, without tools: a 400)"
        ),
        llama=refused("Llama on Bedrock has neither JSON-schema output nor a forced tool choice"),
        cohere=refused("Cohere on Bedrock has neither JSON-schema output nor a forced tool choice"),
    )
    yield row(
        "service_tier",
        TOP,
        everywhere=(
            ignored("the gateway never asks this provider for priority capacity; the answer is the same either way")
        ),
    )
    yield row(
        "speed",
        TOP,
        everywhere=(ignored("Anthropic's fast mode changes how fast tokens arrive, not which tokens")),
    )
    yield row(
        "user_profile_id",
        TOP,
        everywhere=(ignored("attributes the call to an Anthropic user profile; no bearing on the answer")),
    )
    yield row(
        "workspace_id",
        TOP,
        everywhere=(ignored("selects an Anthropic workspace; no bearing on the answer")),
    )

    # -- thinking --------------------------------------------------------------------------------------------
    yield row(
        "thinking: enabled",
        THINKING,
        openai=translated(
            "`reasoning_effort` on reasoning models, from `output_config.effort` or else the budget (under 4,096 "
            "low, 16,384 medium, 65,536 high, else xhigh; OpenAI caps reasoning only by `max_tokens`); no reasoning "
            "text comes back, its size is `usage.output_tokens_details.thinking_tokens`; a model that does not "
            "reason is a 400"
        ),
        gemini=translated(
            "`includeThoughts`; Gemini 2.5 `thinkingBudget` = `budget_tokens` clamped to the model's range, Gemini 3 "
            "a `thinkingLevel` (under 8,192 low, under 16,384 medium where the model has it, else high); a 400 on "
            "models before 2.5"
        ),
        converse=refused(_CANNOT_REASON),
        nova=translated(
            "Nova 2: `reasoningConfig` with `maxReasoningEffort` from the budget (under 4k low, under 16k medium, "
            "else high); its `[REDACTED]` reasoning comes back as a thinking block; Nova 1 models: a 400"
        ),
        other=translated("gpt-oss `reasoning_effort` from the budget; DeepSeek R1 always reasons; other models: a 400"),
    )
    yield row(
        "thinking: adaptive",
        THINKING,
        openai=translated(
            "`reasoning_effort` from `output_config.effort` on reasoning models, else the model's default; a model "
            "that does not reason answers without reasoning (the model decides)"
        ),
        gemini=translated(
            "`includeThoughts`; Gemini 2.5 `thinkingBudget: -1` (dynamic), Gemini 3 its dynamic default level; a 400 "
            "on models before 2.5"
        ),
        converse=ignored(_ADAPTIVE_NO_THINKING),
        nova=translated(
            "Nova 2: `reasoningConfig`, `maxReasoningEffort` from `output_config.effort` (default high); Nova 1 "
            "and Titan cannot think and answer without thinking"
        ),
        other=translated("gpt-oss `reasoning_effort` from `output_config.effort`; models that cannot think do not"),
    )
    yield row(
        "thinking: disabled",
        THINKING,
        openai=translated(
            "the model's least `reasoning_effort` on reasoning models (`none`, `minimal` on gpt-5, `low` on o-series, "
            "which cannot stop reasoning); nothing on other models"
        ),
        gemini=translated(
            "`thinkingBudget: 0`; the least thinking where a model cannot stop (2.5 Pro budget 128, Gemini 3 Pro "
            "`LOW`, Gemini 3 Flash `MINIMAL`); no thoughts are returned"
        ),
        converse=ignored("no reasoning is asked for and none is returned"),
    )
    yield row(
        "thinking: between_tools",
        THINKING,
        openai=refused("OpenAI's reasoning models reason before every answer; no setting limits it to tool turns"),
        gemini=translated(
            "as `disabled` (Gemini writes no progress notes between tool calls), as the SDK's fallback sends it"
        ),
        converse=refused("to do: the family's reasoning settings"),
    )
    yield row(
        "thinking.display",
        THINKING,
        active=lambda value: value == "omitted",
        when='`"omitted"`',
        openai=ignored("Chat Completions never returns reasoning text, so it is always omitted"),
        gemini=translated(
            "`includeThoughts` left out: Gemini thinks (billed, `thinking_tokens`) and sends no thought text, so no "
            "thinking blocks come back; the signatures continuity needs ride in `tool_use` ids"
        ),
        converse=translated("thinking blocks come back with empty text (the reasoning still happens and is billed)"),
    )

    # -- tool_choice -----------------------------------------------------------------------------------------
    yield row(
        "tool_choice: auto",
        TOOL_CHOICE,
        openai=translated('`tool_choice: "auto"`'),
        gemini=translated("`functionCallingConfig.mode: AUTO`"),
        converse=translated("`toolChoice.auto`"),
    )
    yield row(
        "tool_choice: any",
        TOOL_CHOICE,
        openai=translated('`tool_choice: "required"`'),
        gemini=translated("`functionCallingConfig.mode: ANY`"),
        converse=translated("`toolChoice.any`"),
    )
    yield row(
        "tool_choice: tool",
        TOOL_CHOICE,
        openai=translated("`tool_choice: {type: function, function: {name}}`"),
        gemini=translated("`mode: ANY` with `allowedFunctionNames: [name]`"),
        converse=translated("`toolChoice.tool`"),
    )
    yield row(
        "tool_choice: none",
        TOOL_CHOICE,
        openai=translated('`tool_choice: "none"`'),
        gemini=translated("`functionCallingConfig.mode: NONE`"),
        converse=translated(
            "the tools are left out; with tool blocks in the history they must stay, and `toolChoice` is omitted"
        ),
    )
    yield row(
        "tool_choice.disable_parallel_tool_use",
        TOOL_CHOICE,
        active=is_true,
        when="`true`",
        openai=translated("`parallel_tool_calls: false`"),
        gemini=refused("Gemini has no switch for one tool call per turn"),
        converse=refused("Converse has no switch for one tool call per turn"),
    )

    # -- roles -----------------------------------------------------------------------------------------------
    yield row(
        "role: user",
        ROLES,
        openai=translated("`user` messages (tool results become `tool` messages)"),
        gemini=translated("`user` contents"),
        converse=translated("`user` messages"),
    )
    yield row(
        "role: assistant",
        ROLES,
        openai=translated("`assistant` messages"),
        gemini=translated("`model` contents"),
        converse=translated("`assistant` messages"),
    )
    yield row(
        "role: system",
        ROLES,
        openai=translated("a `system` message in place (`developer` on reasoning models)"),
        gemini=translated(
            "before the first user or assistant turn: joins `systemInstruction`; later: a user-turn text part in "
            "`<system-reminder>` tags where it stands (the prompt's beginning, which implicit caching reuses, "
            "stays the same)"
        ),
        converse=translated(
            "a Converse `system` message in place (botocore's `ConversationRole` lists `system`); turns of one "
            "role around it merge, the system message following them"
        ),
    )

    yield row(
        "message.clear_at",
        ROLES,
        everywhere=translated(
            'on a `role: "system"` message, applied by the gateway as Anthropic applies it: `next_user_message` '
            "shows the message only for the user turn it follows (left out once a later user message exists), "
            "`never` always"
        ),
    )

    yield from _block_rows()
    yield from _field_rows()
    yield from _source_rows()
    yield from _tool_rows()
    yield from _batch_rows()


def _batch_rows() -> Iterator[Row]:
    # Every adapter sends upstream only the requests; Bedrock has no batches (its column is never reached).
    for name, why in (
        ("user_profile_id", "attributes the batch to an Anthropic user profile; no bearing on the answers"),
        ("workspace_id", "selects an Anthropic workspace; no bearing on the answers"),
    ):
        rule = ignored(why)
        yield row(f"batch.{name}", BATCH_FIELDS, everywhere=rule, anthropic=rule, claude=rule)


def _block_rows() -> Iterator[Row]:
    text = translated("a text part")
    for turn, section in (("user", USER_BLOCKS), ("assistant", ASSISTANT_BLOCKS)):
        user = turn == "user"
        yield row(
            f"{turn} turn: text",
            section,
            openai=text if user else translated("the assistant message's content (text blocks joined)"),
            gemini=translated("a `text` part"),
            converse=translated("a `text` block"),
        )
        yield row(
            f"{turn} turn: image",
            section,
            openai=translated("an `image_url` part")
            if user
            else refused("assistant messages hold only text and tool calls"),
            gemini=translated("`inlineData`, or `fileData` for a Gemini file"),
            converse=translated("an `image` block (bytes)"),
        )
        yield row(
            f"{turn} turn: document",
            section,
            openai=translated("a `file` part (PDF), or text parts")
            if user
            else refused("assistant messages hold only text and tool calls"),
            gemini=translated("`inlineData`, text parts, or `fileData`"),
            converse=translated("a `document` block (bytes)"),
        )
        yield row(
            f"{turn} turn: search_result",
            section,
            openai=translated(_OPENAI_SEARCH_RESULT if user else f"{_OPENAI_SEARCH_RESULT}, in the assistant message"),
            gemini=translated("a text part (title, source, text); `citations.enabled` is a 400"),
            converse=translated(_SEARCH_RESULT_TEXT),
        )
        yield row(
            f"{turn} turn: thinking",
            section,
            openai=ignored(_EARLIER_THINKING + "; OpenAI keeps its own reasoning hidden")
            if not user
            else refused("a thinking block belongs in an assistant turn"),
            gemini=translated("a `thought` part with its `thoughtSignature`"),
            converse=ignored(_EARLIER_THINKING),
        )
        yield row(
            f"{turn} turn: redacted_thinking",
            section,
            openai=ignored(_EARLIER_THINKING) if not user else refused("belongs in an assistant turn"),
            gemini=ignored(_EARLIER_THINKING + "; Anthropic-encrypted, meaningless to Gemini"),
            converse=ignored(_EARLIER_THINKING),
        )
        yield row(
            f"{turn} turn: tool_use",
            section,
            openai=translated("`tool_calls`") if not user else refused("a tool call belongs in an assistant turn"),
            gemini=translated("a `functionCall` part (thought signature restored from the id)"),
            converse=translated("a `toolUse` block"),
        )
        yield row(
            f"{turn} turn: tool_result",
            section,
            openai=translated(
                'a `tool` message (its images and documents open the next user message; `is_error` prefixes "Error: ")'
            )
            if user
            else refused("a tool result belongs in a user turn"),
            gemini=translated("a `functionResponse` part"),
            converse=translated("a `toolResult` block"),
        )
        for kind in (
            "server_tool_use",
            "web_search_tool_result",
            "web_fetch_tool_result",
            "code_execution_tool_result",
            "bash_code_execution_tool_result",
            "text_editor_code_execution_tool_result",
            "tool_search_tool_result",
        ):
            openai_rule = _OPENAI_WEB_SEARCH_HISTORY.get(kind) if not user else None
            gemini_rule = _GEMINI_SERVER_HISTORY.get(kind) if not user else None
            yield row(
                f"{turn} turn: {kind}",
                section,
                everywhere=refused(_SERVER_BLOCK),
                openai=openai_rule,
                gemini=gemini_rule,
            )
        yield row(
            f"{turn} turn: container_upload",
            section,
            everywhere=(refused("a file for Anthropic's code execution container")),
        )


def _field_rows() -> Iterator[Row]:
    # A tool_reference reaches translators as a text block carrying its cache_control (core.normalize).
    for block in ("text", "image", "document", "tool_use", "tool_result", "tool_reference"):
        yield row(
            f"{block}.cache_control",
            BLOCK_FIELDS,
            openai=ignored(_AUTO_CACHE),
            gemini=ignored(_AUTO_CACHE),
            converse=ignored(_NO_CACHING),
            nova=translated(_CACHE_POINT),
        )
    yield row(
        "search_result.cache_control",
        BLOCK_FIELDS,
        openai=ignored(_AUTO_CACHE),
        gemini=ignored(_AUTO_CACHE),
        converse=ignored(_NO_CACHING),
        nova=translated(_CACHE_POINT),
    )
    for block in ("server_tool_use", "web_search_tool_result", "code_execution_tool_result"):
        yield row(
            f"{block}.cache_control",
            BLOCK_FIELDS,
            everywhere=refused(_SERVER_BLOCK),
            openai=ignored(_AUTO_CACHE) if block != "code_execution_tool_result" else None,
            gemini=ignored(_AUTO_CACHE),
        )
    for block in ("server_tool_use", "web_search_tool_result"):
        yield row(
            f"{block}.caller",
            BLOCK_FIELDS,
            active=lambda value: isinstance(value, dict) and value.get("type") != "direct",
            when="not `direct`",
            everywhere=refused(_CODE_EXECUTION),
        )
    yield row(
        "search_result.citations",
        BLOCK_FIELDS,
        active=lambda value: isinstance(value, dict) and value.get("enabled") is True,
        when="`{enabled: true}`",
        openai=refused("OpenAI cites no search results; leave citations off to send the result as text"),
        gemini=refused("Gemini cites no search results a client passes in"),
        converse=refused("sent as text, a search result cannot be cited"),
    )
    yield row("text.citations", BLOCK_FIELDS, everywhere=(ignored(_CITED_ANSWER)))
    yield row(
        "image.transformations",
        BLOCK_FIELDS,
        everywhere=(ignored("each provider applies its own image size limits")),
    )
    yield row(
        "document.citations",
        BLOCK_FIELDS,
        active=lambda value: isinstance(value, dict) and value.get("enabled") is True,
        when="`{enabled: true}`",
        openai=refused("OpenAI cites no document passages"),
        gemini=refused("Gemini cites no document passages"),
        converse=refused(_CLAUDE_CITES),
        other=translated(
            "`document.citations`; `citationsContent` comes back as text blocks with char, page, chunk or search "
            "result citations (Bedrock refuses it for models that cannot cite)"
        ),
    )
    yield row(
        "document.context",
        BLOCK_FIELDS,
        openai=translated('a text part before the document: "Document context: …"'),
        gemini=translated("a text part just before the document"),
        converse=translated("`document.context`"),
    )
    yield row(
        "document.title",
        BLOCK_FIELDS,
        openai=translated('a text part before the document: "Document title: …" (and a base64 PDF\'s filename)'),
        gemini=translated("a text part just before the document"),
        converse=translated("the document's `name` (letters, digits, spaces, `-()[]`; made unique)"),
    )
    yield row(
        "tool_use.caller",
        BLOCK_FIELDS,
        active=lambda value: isinstance(value, dict) and value.get("type") != "direct",
        when="not `direct`",
        everywhere=(refused(_CODE_EXECUTION)),
    )
    for block in ("tool_use", "tool_result"):
        yield row(f"{block}.toolset_name", BLOCK_FIELDS, everywhere=(refused(_TOOLSETS)))
    yield row(
        "tool_result.content",
        BLOCK_FIELDS,
        openai=translated("the `tool` message's text (see the nested blocks below)"),
        gemini=translated("`functionResponse.response` (text) and `parts` (media)"),
        converse=translated("`toolResult.content`"),
    )
    yield row(
        "tool_result.is_error",
        BLOCK_FIELDS,
        openai=translated('the `tool` message starts with "Error: "'),
        gemini=translated("`functionResponse.response` is `{error: …}`"),
        converse=translated('`toolResult.status: "error"`'),
    )


def _source_rows() -> Iterator[Row]:
    yield row(
        "image source: base64",
        SOURCES,
        openai=translated("a `data:` URL"),
        gemini=translated("`inlineData` (png, jpeg, webp, heic, heif; gif is a 400)"),
        converse=translated("`image.source.bytes` (png, jpeg, gif, webp)"),
    )
    yield row(
        "image source: url",
        SOURCES,
        openai=translated("`image_url.url`"),
        gemini=translated(_GEMINI_URLS),
        converse=refused(_NO_URLS),
    )
    yield row(
        "image source: file",
        SOURCES,
        openai=refused("OpenAI takes uploaded files only as documents; send the image inline as base64"),
        gemini=translated("`fileData` of the Gemini file"),
        converse=translated(_BEDROCK_FILE_CONVERSE),
        claude=translated(_BEDROCK_FILE_CLAUDE),
    )
    yield row(
        "document source: base64",
        SOURCES,
        openai=translated("a `file` part with `file_data` (application/pdf only)"),
        gemini=translated("`inlineData`"),
        converse=translated("`document.source.bytes` (pdf, txt, csv, html, md, doc, docx, xls, xlsx)"),
    )
    yield row(
        "document source: text",
        SOURCES,
        openai=translated("a text part"),
        gemini=translated("a `text` part"),
        converse=translated("a `txt` document"),
    )
    yield row(
        "document source: content",
        SOURCES,
        openai=translated("its blocks as parts"),
        gemini=translated("its text and image blocks as parts"),
        converse=translated("a `txt` document of its text blocks"),
    )
    yield row(
        "document source: url",
        SOURCES,
        openai=refused("send the PDF inline as base64"),
        gemini=translated(_GEMINI_URLS),
        converse=refused(_NO_URLS),
    )
    yield row(
        "document source: file",
        SOURCES,
        openai=translated("a `file` part with the OpenAI file ID"),
        gemini=translated("`fileData` of the Gemini file"),
        converse=translated(_BEDROCK_FILE_CONVERSE),
        claude=translated(_BEDROCK_FILE_CLAUDE),
    )
    yield row(
        "tool_result content: text",
        NESTED_BLOCKS,
        openai=translated("the `tool` message's text"),
        gemini=translated("`functionResponse.response.content`"),
        converse=translated("a `text` item"),
    )
    yield row(
        "tool_result content: image",
        NESTED_BLOCKS,
        openai=translated("moved to the user message after the tool messages"),
        gemini=translated("`functionResponse.parts`"),
        converse=translated("an `image` item"),
    )
    yield row(
        "tool_result content: document",
        NESTED_BLOCKS,
        openai=translated("moved to the user message after the tool messages"),
        gemini=translated("`functionResponse.parts`"),
        converse=translated("a `document` item"),
    )
    yield row(
        "tool_result content: search_result",
        NESTED_BLOCKS,
        openai=translated(_OPENAI_SEARCH_RESULT),
        gemini=translated("text of `functionResponse.response.content` (title, source, text)"),
        converse=translated(_SEARCH_RESULT_TEXT),
    )
    yield row(
        "tool_result content: tool_reference",
        NESTED_BLOCKS,
        everywhere=translated(
            "a text block naming the tool (`Tool X is loaded and can be called now.`), written by the gateway: "
            "the reference loads a deferred tool (see `tool.defer_loading`), whose definition is in `tools`"
        ),
    )
    yield row("tool_result content: browser_state", NESTED_BLOCKS, everywhere=(refused(_TOOLSETS)))
    yield row(
        "document content: text",
        NESTED_BLOCKS,
        openai=translated("a text part"),
        gemini=translated("a `text` part"),
        converse=translated("text of the `txt` document"),
    )
    yield row(
        "document content: image",
        NESTED_BLOCKS,
        openai=translated("an `image_url` part"),
        gemini=translated("an `inlineData` part"),
        converse=translated("an `image` block right after the `txt` document (a Converse document holds text only)"),
    )


# Anthropic-defined tools by type. The ones after the SDK 2.14 GA types are beta types clients send with an
# ``anthropic-beta`` header (Claude Code, computer use).
_SERVER_TOOLS: Mapping[str, str] = {
    "web_search_20250305": "to do: OpenAI web search / Gemini `google_search` grounding",
    "web_search_20260209": "to do: OpenAI web search / Gemini `google_search` grounding",
    "web_search_20260318": "to do: OpenAI web search / Gemini `google_search` grounding",
    "web_fetch_20250910": "to do: Gemini `url_context`",
    "web_fetch_20260209": "to do: Gemini `url_context`",
    "web_fetch_20260309": "to do: Gemini `url_context`",
    "web_fetch_20260318": "to do: Gemini `url_context`",
    "code_execution_20250522": "to do: Gemini `code_execution`",
    "code_execution_20250825": "to do: Gemini `code_execution`",
    "code_execution_20260120": "to do: Gemini `code_execution`",
    "code_execution_20260521": "to do: Gemini `code_execution`",
    "tool_search_tool_bm25_20251119": "",
    "tool_search_tool_bm25": "",
    "tool_search_tool_regex_20251119": "",
    "tool_search_tool_regex": "",
    "mcp_toolset": "",
    "advisor_20260301": "",
}
_TOOLSET_TOOLS = ("browser_toolset_20260801", "computer_toolset_20260801")
_ANTHROPIC_TOOLS = (
    "bash_20250124",
    "memory_20250818",
    "text_editor_20250124",
    "text_editor_20250429",
    "text_editor_20250728",
    "bash_20241022",
    "text_editor_20241022",
    "computer_20241022",
    "computer_20250124",
    "computer_20251124",
)


def _tool_rows() -> Iterator[Row]:
    yield row(
        "tool: custom",
        TOOLS,
        openai=translated("a `function` tool"),
        gemini=translated("a `functionDeclaration` (`parametersJsonSchema`)"),
        converse=translated("a `toolSpec`"),
    )
    for kind in _ANTHROPIC_TOOLS:
        gemini_rule = _GEMINI_CLIENT_TOOL if kind in _GEMINI_CLIENT_TOOLS else refused(_GEMINI_COMPUTER)
        yield row(
            f"tool: {kind}",
            TOOLS,
            everywhere=refused(_ANTHROPIC_TOOL),
            openai=_openai_client_tool(kind),
            gemini=gemini_rule,
        )
    for kind in _TOOLSET_TOOLS:
        yield row(f"tool: {kind}", TOOLS, everywhere=refused(f"{_TOOLSETS} (the caller runs the actions)"))
    for kind, todo in _SERVER_TOOLS.items():
        rule = refused(f"{_SERVER_TOOL}; {todo}" if todo else _SERVER_TOOL)
        openai_rule = translated(_OPENAI_WEB_SEARCH) if kind.startswith("web_search_") else rule
        yield row(
            f"tool: {kind}", TOOLS, everywhere=rule, openai=openai_rule, gemini=_GEMINI_SERVER_TOOLS.get(kind, rule)
        )

    yield row(
        "tool.description",
        TOOL_FIELDS,
        openai=translated("`function.description`"),
        gemini=translated("`description`"),
        converse=translated("`toolSpec.description`"),
    )
    yield row(
        "tool.strict",
        TOOL_FIELDS,
        active=is_true,
        when="`true`",
        openai=translated("`function.strict`"),
        gemini=refused("Gemini has no strict function schemas"),
        converse=translated("`toolSpec.strict`"),
    )
    yield row(
        "tool.cache_control",
        TOOL_FIELDS,
        openai=ignored(_AUTO_CACHE),
        gemini=ignored(_AUTO_CACHE),
        converse=ignored(_NO_CACHING),
        nova=ignored(_NOVA_TOOL_CACHE),
    )
    yield row(
        "tool.defer_loading",
        TOOL_FIELDS,
        active=is_true,
        when="`true`",
        everywhere=translated(
            "the gateway leaves a deferred tool out of the provider's tools until a `tool_reference` in a "
            "`tool_result` loads it, as Anthropic keeps it from the model until then (Claude Code's "
            "`DeferredToolPlaceholder` is never shown); a tool `tool_choice` names is shown"
        ),
    )
    yield row(
        "tool.allowed_callers",
        TOOL_FIELDS,
        active=lambda value: isinstance(value, list) and any(caller != "direct" for caller in value),
        when="not only `direct`",
        everywhere=(refused(_CODE_EXECUTION)),
    )
    yield row(
        "tool.eager_input_streaming",
        TOOL_FIELDS,
        everywhere=(ignored("changes how a tool's input streams, not what it is")),
    )
    yield row(
        "tool.input_examples",
        TOOL_FIELDS,
        openai=translated('appended to `function.description` under "Examples of input:", one JSON object a line'),
        gemini=translated("appended to the `description` as JSON lines"),
        converse=translated("appended to `toolSpec.description`, one JSON example a line"),
    )


def _turn_effort(effort: Row) -> Row:
    """``output_config`` on a system message (per-turn control, which Claude Code sends to ``claude-opus-5-5``):
    the gateway makes the last such effort the request's (``core.normalize``), so it is decided, and judged, as
    ``output_config.effort``."""
    how = "judged as `output_config.effort`: the gateway makes the last system message's effort the request's"
    rules = {
        column: rule if rule.decision is Decision.PASSTHROUGH else Rule(rule.decision, f"{how}; {rule.note}")
        for column, rule in effort.rules.items()
    }
    return Row("message.output_config", ROLES, rules)


_ROWS = {entry.key: entry for entry in _rows()}
ROWS: Mapping[str, Row] = {**_ROWS, "message.output_config": _turn_effort(_ROWS["output_config.effort"])}

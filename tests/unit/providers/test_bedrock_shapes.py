"""Validation of our Bedrock payloads against botocore's own ``bedrock-runtime`` service model.

``botocore.validate.ParamValidator`` checks types, required members, unions and ranges, but not string enums
or patterns, so ``assert_valid`` adds those: a Converse request with ``format: "bmp"`` or a tool named
``"a b"`` fails here exactly as AWS would reject it. The other Bedrock test modules import these helpers.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

JSON = dict[str, Any]

SERVICE_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")

# The model-ID pattern is a long alternation meant for AWS's matcher, not Python's; IDs are tested elsewhere.
_UNCHECKED_PATTERNS = frozenset({"ConversationalModelId"})


def blobs_to_bytes(value: Any) -> Any:
    """rest-json carries blobs as base64 text; botocore's validator wants the raw bytes callers pass."""
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item) if key == "bytes" and isinstance(item, str) else blobs_to_bytes(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [blobs_to_bytes(item) for item in value]
    return value


def _enum_and_pattern_errors(value: Any, shape: Shape, path: str) -> list[str]:
    problems: list[str] = []
    if shape.type_name == "structure" and not shape.metadata.get("document") and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                problems += _enum_and_pattern_errors(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            problems += _enum_and_pattern_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += _enum_and_pattern_errors(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and shape.name not in _UNCHECKED_PATTERNS and not re.fullmatch(pattern, value):
            problems.append(f"{path}: {value!r} does not match {pattern!r}")
    return problems


def assert_valid(value: JSON, shape: Shape) -> None:
    raw = blobs_to_bytes(value)
    report = ParamValidator().validate(raw, shape)
    assert not report.has_errors(), report.generate_report()
    problems = _enum_and_pattern_errors(raw, shape, shape.name)
    assert not problems, "\n".join(problems)


def assert_valid_converse(request: JSON, model_id: str = "amazon.nova-lite-v1:0") -> None:
    """A Converse request body as the gateway would send it (``modelId`` travels in the path)."""
    assert_valid({"modelId": model_id, **request}, SERVICE_MODEL.operation_model("Converse").input_shape)


def assert_valid_converse_response(response: JSON) -> None:
    """Test fixtures must be answers AWS could actually send."""
    assert_valid(response, SERVICE_MODEL.operation_model("Converse").output_shape)


def assert_valid_converse_stream_event(event_type: str, payload: JSON) -> None:
    """One ConverseStream event payload, checked against its member of the ``ConverseStreamOutput`` union."""
    members = SERVICE_MODEL.shape_for("ConverseStreamOutput").members
    assert event_type in members, f"{event_type} is not a ConverseStream event"
    assert_valid(payload, members[event_type])


# ------------------------------------------------------------------------------------------------------------
# The checker itself must catch what ParamValidator alone lets through.
# ------------------------------------------------------------------------------------------------------------

_TEXT_MESSAGE = {"role": "user", "content": [{"text": "x"}]}


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param(
            {"messages": [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": "eA=="}}}]}]},
            id="bad_image_format_enum",
        ),
        pytest.param(
            {
                "messages": [_TEXT_MESSAGE],
                "toolConfig": {"tools": [{"toolSpec": {"name": "a b", "inputSchema": {"json": {}}}}]},
            },
            id="bad_tool_name_pattern",
        ),
        pytest.param({"messages": [_TEXT_MESSAGE], "inferenceConfig": {"maxTokens": 0}}, id="max_tokens_below_min"),
        pytest.param({"messages": [{"role": "user", "content": [{}]}]}, id="empty_union"),
        pytest.param({"messages": [_TEXT_MESSAGE], "temperature": 0.5}, id="unknown_member"),
    ],
)
def test_checker_rejects_invalid_converse_requests(request_body: JSON) -> None:
    with pytest.raises(AssertionError):
        assert_valid_converse(request_body)


def test_checker_accepts_a_valid_converse_request() -> None:
    assert_valid_converse(
        {
            "messages": [_TEXT_MESSAGE],
            "system": [{"text": "s"}],
            "inferenceConfig": {"maxTokens": 10, "temperature": 1, "topP": 0.5, "stopSequences": ["x"]},
            "toolConfig": {
                "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}],
                "toolChoice": {"auto": {}},
            },
            "additionalModelRequestFields": {"top_k": 5},
        }
    )

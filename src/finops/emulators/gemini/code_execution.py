"""Gemini's ``codeExecution`` tool, emulated: the model writes Python, Google runs it, the model answers from it.

When ``codeExecution`` is offered and the latest user turn asks to calculate, compute or run code for an
``a <op> b`` expression, the answer is three parts, as Gemini's are: ``executableCode`` (``print(a <op> b)``),
``codeExecutionResult`` (``OUTCOME_OK`` with the printed value, or ``OUTCOME_FAILED`` with Python's error for a
division by zero) and text quoting the result. The code is billed as output; its result, read back by the model,
as tool-use prompt tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finops.emulators._common.replies import arithmetic_expression, arithmetic_result, format_number
from finops.emulators._common.words import stems

_ASKS_FOR_CODE = {"calculat", "comput", "cod", "python", "run", "execut", "program", "script"}


@dataclass(frozen=True)
class Execution:
    parts: list[dict[str, Any]]
    output_tokens_text: str
    """What the model wrote (code and answer), counted as output."""
    result_text: str
    """What the code printed, read back by the model."""


def execute(request: str) -> Execution | None:
    """The code the model runs for ``request``; ``None`` when the request asks for no calculation."""
    expression = arithmetic_expression(request)
    if expression is None or not set(stems(request)) & _ASKS_FOR_CODE:
        return None
    code = f"print({' '.join(expression)})"
    value = arithmetic_result(request)
    if value is None:
        outcome, output = "OUTCOME_FAILED", "ZeroDivisionError: division by zero\n"
        answer = "The code failed: the expression divides by zero."
    else:
        outcome, output = "OUTCOME_OK", f"{format_number(value)}\n"
        answer = f"The code printed {format_number(value)}, so {' '.join(expression)} = {format_number(value)}."
    parts: list[dict[str, Any]] = [
        {"executableCode": {"language": "PYTHON", "code": code}},
        {"codeExecutionResult": {"outcome": outcome, "output": output}},
        {"text": answer},
    ]
    return Execution(parts, f"{code}\n{answer}", output)

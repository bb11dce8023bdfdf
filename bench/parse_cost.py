"""What reading a Messages body costs the gateway per request: JSON, the request model, the field policy.

Three bodies: a typical small request (system prompt, a tool round trip, one tool definition), a 1 MB request
that is mostly one base64 image, and a 1 MB long conversation of 5,000 short text blocks (an agent's history).
For each, the best of several rounds (the machine is shared) of:

* ``orjson.loads``: the parse alone, for scale;
* ``parse_json``: the API layer's parse, with its depth limit;
* ``parse_message_params``: the request model (pydantic-core, strict) on the parsed dict;
* ``enforce_policy``: the field policy, on openai (the body is walked) and on anthropic (nothing to refuse: skipped);
* ``validate_json`` straight from the bytes, the alternative to parse + validate (its result would be pydantic's
  copy, not the client's dict).

``--old-validator PATH`` also times the hand-written checks this replaced (``git show
43a61c3:src/finops/core/validation.py > /tmp/old_validation.py``).

Usage: ``.venv/bin/python bench/parse_cost.py [--rounds 7] [--old-validator /tmp/old_validation.py]``.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import os
import time
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import TypeAdapter

from finops.api.anthropic.requests import parse_json
from finops.core.params import MessageParams, parse_message_params
from finops.core.policy import enforce_policy

SMALL: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "max_tokens": 1024,
    "system": "You are a helpful assistant.",
    "temperature": 0.5,
    "messages": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"}]},
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Current weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ],
}

IMAGE = {
    **SMALL,
    "messages": [
        *SMALL["messages"],
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/png",
                        "data": base64.b64encode(os.urandom(750_000)).decode(),
                    },
                },
                {"type": "text", "text": "What is in this picture?"},
            ],
        },
    ],
}

HISTORY = {
    **SMALL,
    "messages": [
        {"role": "user" if turn % 2 == 0 else "assistant", "content": [{"type": "text", "text": "x" * 180}] * 5}
        for turn in range(1000)
    ],
}


def best_us(call: Callable[[], object], rounds: int, budget_s: float = 0.2) -> float:
    """Microseconds per call: the fastest of ``rounds`` rounds of as many calls as fit in ``budget_s``."""
    call()
    start = time.perf_counter()
    call()
    per_call = max(time.perf_counter() - start, 1e-7)
    count = max(1, int(budget_s / per_call))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            call()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--old-validator", help="path of the replaced core/validation.py, to time it too")
    args = parser.parse_args()
    old_check = None
    if args.old_validator:
        spec = importlib.util.spec_from_file_location("old_validation", args.old_validator)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        old_check = module.validate_message_params

    model = TypeAdapter(MessageParams)
    print(f"{'body':<28} {'bytes':>9} {'step':<34} {'µs/request':>11}")
    for name, body in (("small (tool round trip)", SMALL), ("1 MB, one image", IMAGE), ("1 MB, 5,000 blocks", HISTORY)):
        raw = orjson.dumps(body)
        parsed = parse_json(raw)
        params = parse_message_params(parsed)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("orjson.loads (for scale)", lambda raw=raw: orjson.loads(raw)),
            ("parse_json (with depth limit)", lambda raw=raw: parse_json(raw)),
            ("parse_message_params", lambda parsed=parsed: parse_message_params(parsed)),
            ("enforce_policy, openai", lambda params=params: enforce_policy(params, "openai", "gpt-4o-mini")),
            ("enforce_policy, anthropic", lambda params=params: enforce_policy(params, "anthropic", "claude")),
            ("validate_json from bytes (not used)", lambda raw=raw: model.validate_json(raw)),
        ]
        if old_check is not None:
            steps.append(("replaced hand-written checks", lambda parsed=parsed: old_check(parsed)))
        for step, call in steps:
            print(f"{name:<28} {len(raw):>9,} {step:<34} {best_us(call, args.rounds):>11.1f}")


if __name__ == "__main__":
    main()

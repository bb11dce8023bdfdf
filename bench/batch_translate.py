"""Batch results translation benchmark: N OpenAI Batch output lines -> Anthropic result lines, streamed.

Run in its own process so its peak RSS (VmHWM) is the translation's alone. The input file is written first (not
timed); the timed part reads it line by line through the same streaming code the OpenAI adapter uses for
``/v1/messages/batches/{id}/results`` (``finops.providers.openai.batch_results.part_results``, which calls
``batch_lines.from_batch_output_line`` per line), falling back to ``from_batch_output_line`` directly if that module
is missing. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def vm_hwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_input(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index in range(lines):
            body = {
                "id": f"chatcmpl-{index}",
                "object": "chat.completion",
                "created": 1700000000,
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"Answer number {index}: the quick brown fox."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 21, "completion_tokens": 12, "total_tokens": 33},
            }
            line = {
                "id": f"batch_req_{index}",
                "custom_id": f"req-{index}",
                "response": {"status_code": 200, "request_id": f"rq{index}", "body": body},
                "error": None,
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


async def via_part_results(path: Path, lines: int) -> tuple[int, int]:
    from finops.providers.openai.batch_results import part_results

    async def open_lines(file_id: str) -> AsyncGenerator[str, None]:
        async def gen() -> AsyncGenerator[str, None]:
            if file_id != "file-out":
                return
            with path.open("r", encoding="utf-8") as handle:
                for line in handle:
                    yield line

        return gen()

    part = {"count": lines, "input_file_id": "file-in"}
    batch = {"status": "completed", "output_file_id": "file-out", "error_file_id": None}
    count = size = 0
    async for chunk in part_results(part, batch, False, open_lines):
        count += 1
        size += len(chunk)
    return count, size


def via_lines(path: Path) -> tuple[int, int]:
    import orjson

    from finops.providers.openai.batch_lines import from_batch_output_line

    count = size = 0
    with path.open("rb") as handle:
        for raw in handle:
            out = orjson.dumps(from_batch_output_line(orjson.loads(raw))) + b"\n"
            count += 1
            size += len(out)
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--input", help="existing input file (default: write one in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="finops-batch-bench-") as tmp:
        path = Path(args.input) if args.input else Path(tmp) / "output.jsonl"
        if not args.input:
            write_input(path, args.lines)
        rss_before = vm_hwm_mb()
        started = time.perf_counter()
        try:
            count, size = asyncio.run(via_part_results(path, args.lines))
            how = "finops.providers.openai.batch_results.part_results (the adapter's streaming code)"
        except ImportError:
            count, size = via_lines(path)
            how = "finops.providers.openai.batch_lines.from_batch_output_line (direct)"
        seconds = time.perf_counter() - started
        result = {
            "lines": count,
            "seconds": seconds,
            "lines_per_s": count / seconds if seconds else 0.0,
            "input_mb": os.path.getsize(path) / 1e6,
            "output_mb": size / 1e6,
            "peak_rss_mb": vm_hwm_mb(),
            "rss_before_translation_mb": rss_before,
            "path": how,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

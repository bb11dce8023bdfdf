"""Drive the Anthropic emulator with the official ``anthropic==0.60.0`` SDK.

Run in a subprocess with that SDK first on ``PYTHONPATH`` (the test suite itself has 2.13.0 installed):
``python scenario.py BASE_URL API_KEY``. Prints one JSON object of observations; the test asserts on them.
This SDK sends ``x-api-key``, the beta headers and ``?beta=true``, and pages with ``before_id``/``after_id``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import anthropic

MODEL = "claude-3-sonnet-20240229"


def _error(call: Any) -> dict[str, Any]:
    try:
        call()
    except anthropic.APIStatusError as exc:
        return {"class": type(exc).__name__, "status": exc.status_code, "body": exc.body}
    return {"class": None}


def _wait_ended(client: anthropic.Anthropic, batch_id: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        batch = client.beta.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.1)


def main(base_url: str, api_key: str) -> dict[str, Any]:
    client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)
    out: dict[str, Any] = {"version": anthropic.__version__}

    message = client.messages.create(
        model=MODEL, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "What is 6*7?"}]
    )
    out["message"] = message.model_dump(mode="json")

    with client.messages.stream(
        model=MODEL, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "What is 6*7?"}]
    ) as stream:
        out["stream_events"] = [event.type for event in stream]
        out["stream_final"] = stream.get_final_message().model_dump(mode="json")

    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ]
    tool_message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=tools,
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    out["tool_message"] = tool_message.model_dump(mode="json")

    uploaded = [
        client.beta.files.upload(file=(f"doc{i}.txt", f"document {i}".encode(), "text/plain")) for i in range(5)
    ]
    out["uploaded"] = [f.model_dump(mode="json") for f in uploaded]
    out["listed_auto"] = [f.id for f in client.beta.files.list(limit=2)]
    first_page = client.beta.files.list(limit=2)
    second_page = client.beta.files.list(limit=2, after_id=first_page.last_id)
    back_page = client.beta.files.list(limit=2, before_id=second_page.first_id)
    out["pages"] = {
        "first": [f.id for f in first_page.data],
        "first_has_more": first_page.has_more,
        "second": [f.id for f in second_page.data],
        "back": [f.id for f in back_page.data],
    }
    out["retrieved"] = client.beta.files.retrieve_metadata(uploaded[0].id).model_dump(mode="json")
    out["download_error"] = _error(lambda: client.beta.files.download(uploaded[0].id))
    out["deleted"] = client.beta.files.delete(uploaded[0].id).model_dump(mode="json")
    out["deleted_retrieve_error"] = _error(lambda: client.beta.files.retrieve_metadata(uploaded[0].id))

    params = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "Say hello"}]}
    batch = client.beta.messages.batches.create(
        requests=[
            {"custom_id": "ok-1", "params": params},
            {"custom_id": "bad-1", "params": {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}},
        ]
    )
    out["batch_created"] = batch.model_dump(mode="json")
    ended = _wait_ended(client, batch.id)
    out["batch_ended"] = ended.model_dump(mode="json")
    out["batch_results"] = [r.model_dump(mode="json") for r in client.beta.messages.batches.results(batch.id)]
    out["batch_listed"] = [b.id for b in client.beta.messages.batches.list(limit=1)]

    to_cancel = client.beta.messages.batches.create(requests=[{"custom_id": "late", "params": params}])
    out["batch_canceling"] = client.beta.messages.batches.cancel(to_cancel.id).model_dump(mode="json")
    out["batch_cancel_ended"] = _wait_ended(client, to_cancel.id).model_dump(mode="json")
    out["batch_cancel_results"] = [
        r.model_dump(mode="json") for r in client.beta.messages.batches.results(to_cancel.id)
    ]
    out["batch_deleted"] = client.beta.messages.batches.delete(to_cancel.id).model_dump(mode="json")

    out["bad_custom_id_error"] = _error(
        lambda: client.beta.messages.batches.create(requests=[{"custom_id": "not valid!", "params": params}])
    )
    out["unknown_batch_error"] = _error(lambda: client.beta.messages.batches.retrieve("msgbatch_nope"))
    wrong_key = anthropic.Anthropic(api_key="wrong-key", base_url=base_url, max_retries=0)
    out["auth_error"] = _error(lambda: wrong_key.models.list())
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))

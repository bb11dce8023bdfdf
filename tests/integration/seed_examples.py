"""The examples of ``shared/reference/seed-files-and-batch-api.txt``, as written.

The seed lost its indentation in publishing; it is restored here and nothing else is changed, except the two
slips DESIGN.md names: ``client.beta.files.list`` is called (``list()``) and ``response.text`` after a
download is the SDK's method (``text()``). Tests substitute ``{AI_GATEWAY_URL}`` and the placeholder IDs
(``file-abc123``, ``batch-abc123``) with real ones.
"""

from __future__ import annotations

import re

from tests.support.sdk import run_script

CLIENT_SETUP_ANTHROPIC = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key"
)
"""

UPLOAD_ANTHROPIC = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key"
)
# Upload a text file
text_content = b"This is a test file for Files API integration."
response = client.beta.files.upload(
    file=("test_upload.txt", text_content, "text/plain"),
)
print(f"File ID: {response.id}")
print(f"Filename: {response.filename}")
"""

UPLOAD_OPENAI_JSONL = """
import anthropic
# Client configured for OpenAI provider
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "openai"}
)
# Create JSONL content in OpenAI batch format
jsonl_content = b'''{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 100}}
{"custom_id": "request-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How are you?"}], "max_tokens": 100}}'''
response = client.beta.files.upload(
    file=("batch_input.jsonl", jsonl_content, "application/jsonl"),
)
print(f"File ID: {response.id}")
"""

LIST_FILES_ANTHROPIC = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key"
)
# List all files
response = client.beta.files.list()
for file in response.data:
    print(f"File ID: {file.id}")
    print(f"Filename: {file.filename}")
    print(f"Size: {file.size} bytes")
    print("---")
"""

LIST_FILES_OPENAI = """
import anthropic
# Client configured for OpenAI provider
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "openai"}
)
# List all files from OpenAI
response = client.beta.files.list()
for file in response.data:
    print(f"File ID: {file.id}, Name: {file.filename}")
"""

DELETE_FILE = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "{PROVIDER}"} # or omit for anthropic
)
# Delete a file
file_id = "file-abc123"
response = client.beta.files.delete(file_id)
print(f"Deleted file: {file_id}")
"""

DOWNLOAD_FILE = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "{PROVIDER}"}
)
# Download file content
file_id = "file-abc123"
response = client.beta.files.download(file_id)
content = response.text()
print(f"File content:\\n{content}")
"""


def batch_create(provider: str | None, model: str) -> str:
    """The three "Create a Batch with Inline Requests" examples differ only in header and model."""
    header = "" if provider is None else f',\n    default_headers={{"x-model-provider": "{provider}"}}'
    return f'''
import anthropic
client = anthropic.Anthropic(
    base_url="{{AI_GATEWAY_URL}}/anthropic",
    api_key="virtual-key-or-dummy-key"{header}
)
# Create batch with inline requests
batch_requests = [
    {{
        "custom_id": "request-1",
        "params": {{
            "model": "{model}",
            "max_tokens": 100,
            "messages": [
                {{"role": "user", "content": "What is 2+2?"}}
            ]
        }}
    }},
    {{
        "custom_id": "request-2",
        "params": {{
            "model": "{model}",
            "max_tokens": 100,
            "messages": [
                {{"role": "user", "content": "What is the capital of France?"}}
            ]
        }}
    }}
]
batch = client.beta.messages.batches.create(requests=batch_requests)
print(f"Batch ID: {{batch.id}}")
print(f"Status: {{batch.processing_status}}")
'''


LIST_BATCHES = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "{PROVIDER}"} # or "openai", "gemini"
)
# List batches
response = client.beta.messages.batches.list(limit=10)
for batch in response.data:
    print(f"Batch ID: {batch.id}")
    print(f"Status: {batch.processing_status}")
    if batch.request_counts:
        print(f"Processing: {batch.request_counts.processing}")
        print(f"Succeeded: {batch.request_counts.succeeded}")
        print(f"Errored: {batch.request_counts.errored}")
    print("---")
"""

RETRIEVE_BATCH = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "{PROVIDER}"} # or "openai", "gemini"
)
# Retrieve batch status
batch_id = "batch-abc123"
batch = client.beta.messages.batches.retrieve(batch_id)
print(f"Batch ID: {batch.id}")
print(f"Status: {batch.processing_status}")
if batch.request_counts:
    print(f"Processing: {batch.request_counts.processing}")
    print(f"Succeeded: {batch.request_counts.succeeded}")
    print(f"Errored: {batch.request_counts.errored}")
"""

CANCEL_BATCH = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "{PROVIDER}"} # or "openai", "gemini"
)
# Cancel batch
batch_id = "batch-abc123"
batch = client.beta.messages.batches.cancel(batch_id)
print(f"Batch ID: {batch.id}")
print(f"Status: {batch.processing_status}") # "canceling" or "ended"
"""

BATCH_RESULTS = """
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key"
)
# Get batch results (only available after batch is completed)
batch_id = "batch-abc123"
results = client.beta.messages.batches.results(batch_id)
# Iterate over results
for result in results:
    print(f"Custom ID: {result.custom_id}")
    if result.result.type == "succeeded":
        message = result.result.message
        print(f"Response: {message.content[0].text}")
    elif result.result.type == "errored":
        print(f"Error: {result.result.error}")
    print("---")
"""

ANTHROPIC_BATCH_WORKFLOW = """
import time
import anthropic
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key"
)
# Step 1: Create batch with inline requests
print("Step 1: Creating batch...")
batch_requests = [
    {
        "custom_id": "math-question",
        "params": {
            "model": "claude-3-sonnet-20240229",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "What is 15 * 7?"}]
        }
    },
    {
        "custom_id": "geography-question",
        "params": {
            "model": "claude-3-sonnet-20240229",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "What is the largest ocean?"}]
        }
    }
]
batch = client.beta.messages.batches.create(requests=batch_requests)
print(f" Created batch: {batch.id}, status: {batch.processing_status}")
# Step 2: Poll for completion
print("Step 2: Polling batch status...")
for i in range(20):
    batch = client.beta.messages.batches.retrieve(batch.id)
    print(f" Poll {i+1}: status = {batch.processing_status}")
    if batch.processing_status == "ended":
        print(" Batch completed!")
        break
    if batch.request_counts:
        print(f" Processing: {batch.request_counts.processing}")
        print(f" Succeeded: {batch.request_counts.succeeded}")
    time.sleep(5)
# Step 3: Verify batch is in list
print("Step 3: Verifying batch in list...")
batch_list = client.beta.messages.batches.list(limit=20)
batch_ids = [b.id for b in batch_list.data]
assert batch.id in batch_ids, f"Batch {batch.id} should be in list"
print(f" Verified batch {batch.id} is in list")
# Step 4: Get results (if completed)
if batch.processing_status == "ended":
    print("Step 4: Getting results...")
    try:
        results = client.beta.messages.batches.results(batch.id)
        for result in results:
            print(f" {result.custom_id}: ", end="")
            if result.result.type == "succeeded":
                print(result.result.message.content[0].text[:50] + "...")
            else:
                print(f"Error: {result.result.error}")
    except Exception as e:
        print(f" Results not yet available: {e}")
print(f"\\nSuccess! Batch {batch.id} workflow completed.")
"""

CROSS_PROVIDER_BATCH_WORKFLOW = """
import time
import anthropic
# Create client with OpenAI provider header
client = anthropic.Anthropic(
    base_url="{AI_GATEWAY_URL}/anthropic",
    api_key="virtual-key-or-dummy-key",
    default_headers={"x-model-provider": "openai"}
)
# Step 1: Create batch with OpenAI models
print("Step 1: Creating batch for OpenAI provider...")
batch_requests = [
    {
        "custom_id": "openai-request-1",
        "params": {
            "model": "gpt-4o-mini",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "Explain AI in one sentence."}]
        }
    },
    {
        "custom_id": "openai-request-2",
        "params": {
            "model": "gpt-4o-mini",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "What is machine learning?"}]
        }
    }
]
batch = client.beta.messages.batches.create(requests=batch_requests)
print(f" Created batch: {batch.id}, status: {batch.processing_status}")
# Step 2: Poll for completion
print("Step 2: Polling batch status...")
for i in range(10):
    batch = client.beta.messages.batches.retrieve(batch.id)
    print(f" Poll {i+1}: status = {batch.processing_status}")
    if batch.processing_status in ["ended", "completed"]:
        break
    time.sleep(5)
print(f"\\nSuccess! Cross-provider batch {batch.id} completed via Anthropic SDK.")
"""


def render(template: str, gateway_url: str, **ids: str) -> str:
    """Fill in the gateway URL and the placeholder IDs (``file``, ``batch``, ``provider``)."""
    code = template.replace("{AI_GATEWAY_URL}", gateway_url)
    if "file" in ids:
        code = code.replace("file-abc123", ids["file"])
    if "batch" in ids:
        code = code.replace("batch-abc123", ids["batch"])
    if "provider" in ids:
        code = code.replace("{PROVIDER}", ids["provider"])
    return code


def run_example(sdk: str, template: str, gateway_url: str, **ids: str) -> str:
    """``template`` filled in (``render``) and run under ``sdk`` as a user would paste it; what it printed. The
    example must succeed."""
    completed = run_script(sdk, render(template, gateway_url, **ids))
    assert completed.returncode == 0, f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    return completed.stdout


def printed_id(output: str, label: str) -> str:
    """The ID an example printed after ``<label>: ``."""
    match = re.search(rf"{label}: (\S+?)(?:,|\s|$)", output)
    assert match, output
    return match.group(1)

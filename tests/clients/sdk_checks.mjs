// The official TypeScript SDK (@anthropic-ai/sdk, pinned in package.json) against a FinOps gateway, one provider
// per run. Driven by tests/integration/test_typescript_sdk.py: it passes one JSON argument (see `target` below) and
// reads one JSON line per check from stdout: {"check", "ok", "error"?, "usage"?}. Every check runs even when an
// earlier one failed, and each request carries `x-finops-check: <name>` so the test can show what was sent.
import Anthropic, { toFile } from '@anthropic-ai/sdk';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import * as z from 'zod/v4';

const target = JSON.parse(process.argv[2]);
// target = {
//   baseURL, apiKey, batchApiKey, provider,
//   model, thinkingModel, adaptiveModel,   // models for the plain, `enabled` thinking and `adaptive` checks
//   thinkingBlocks: bool,                  // the provider returns its reasoning, so thinking blocks must come back
//   thinkingTokens: bool,                  // usage.output_tokens_details.thinking_tokens must count the reasoning
//   cacheWrites: bool,                     // a first cache_control prefix reports cache_creation_input_tokens
//   filesAndBatches: "supported" | "refused",
//   downloadableJsonl: bool,               // a JSONL upload must be downloadable (OpenAI: purpose "batch")
// }

function client(apiKey, check, { providerHeader = true } = {}) {
  return new Anthropic({
    baseURL: target.baseURL,
    apiKey,
    maxRetries: 0, // a failure shows at once, not after retries
    timeout: 60_000,
    defaultHeaders: {
      ...(providerHeader ? { 'x-model-provider': target.provider } : {}),
      'x-finops-check': check,
    },
  });
}

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

function brief(value) {
  const text = JSON.stringify(value);
  return text && text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

function textOf(message) {
  return message.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

const usageSeen = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

// Every answer's usage is added up as soon as it arrives (before any assertion), to compare with the ledger.
function counted(message) {
  for (const name of Object.keys(usageSeen)) usageSeen[name] += message.usage?.[name] ?? 0;
  return message;
}

function expectAnswer(message, what) {
  expect(message.type === 'message' && message.role === 'assistant', `${what}: not an assistant message: ${brief(message)}`);
  expect(typeof message.id === 'string' && message.id.startsWith('msg_'), `${what}: id ${message.id} is not msg_…`);
  expect(message.stop_reason === 'end_turn', `${what}: stop_reason ${message.stop_reason}, expected end_turn`);
  expect(textOf(message).trim().length > 0, `${what}: no text in ${brief(message.content)}`);
  expect(message.usage.input_tokens > 0 && message.usage.output_tokens > 0, `${what}: usage ${brief(message.usage)}`);
}

async function expectRefusal(promise, what, wording) {
  try {
    const value = await promise;
    throw new CheckFailed(`${what}: expected a 400 refusal, got ${brief(value)}`);
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    expect(error instanceof Anthropic.BadRequestError, `${what}: expected a 400, got ${error?.status} ${error?.message}`);
    expect(error.error?.error?.type === 'invalid_request_error', `${what}: error type ${brief(error.error)}`);
    const message = error.error.error.message;
    for (const [pattern, why] of wording) expect(pattern.test(message), `${what}: the message ${why}: ${JSON.stringify(message)}`);
    return message;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Walks an auto-paginating list; a gateway whose cursor never ends fails the check instead of hanging it.
async function collect(list, pick, limit = 1000) {
  const items = [];
  for await (const item of list) {
    items.push(pick(item));
    expect(items.length <= limit, `the list did not end after ${limit} items: ${brief(items.slice(0, 5))}`);
  }
  return items;
}
const ASK = [{ role: 'user', content: 'What is 2 + 2? Answer in one short sentence.' }];

// ----------------------------------------------------------------------------------------------------- messages

async function messagesCreate() {
  const message = counted(
    await client(target.apiKey, 'messages_create').messages.create({ model: target.model, max_tokens: 256, messages: ASK }),
  );
  expectAnswer(message, 'create');
}

async function messagesStream() {
  const events = [];
  const stream = client(target.apiKey, 'messages_stream').messages.stream({
    model: target.model,
    max_tokens: 256,
    messages: ASK,
  });
  stream.on('streamEvent', (event) => events.push(event.type));
  const message = counted(await stream.finalMessage());
  expectAnswer(message, 'finalMessage()');
  expect(events[0] === 'message_start' && events.at(-1) === 'message_stop', `event order ${brief(events)}`);
  expect(events.includes('content_block_delta') && events.includes('message_delta'), `events ${brief(events)}`);
}

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Get the current weather for a city.',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string', description: 'The city name, e.g. Paris' } },
    required: ['city'],
  },
};

async function toolRoundTrip() {
  const sdk = client(target.apiKey, 'tool_round_trip');
  const question = { role: 'user', content: 'What is the weather in Paris right now? Use the get_weather tool.' };
  const first = counted(
    await sdk.messages.create({ model: target.model, max_tokens: 512, tools: [WEATHER_TOOL], messages: [question] }),
  );
  expect(first.stop_reason === 'tool_use', `first turn: stop_reason ${first.stop_reason}, expected tool_use`);
  const calls = first.content.filter((block) => block.type === 'tool_use');
  expect(calls.length === 1, `first turn: expected one tool_use, got ${brief(first.content)}`);
  const [call] = calls;
  expect(call.name === 'get_weather', `tool name ${call.name}`);
  expect(typeof call.id === 'string' && call.id.length > 0, `tool_use id ${call.id}`);
  expect(typeof call.input?.city === 'string' && call.input.city.length > 0, `tool input ${brief(call.input)}`);
  const second = counted(
    await sdk.messages.create({
      model: target.model,
      max_tokens: 512,
      tools: [WEATHER_TOOL],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18 °C and sunny' }] },
      ],
    }),
  );
  expect(!second.content.some((block) => block.type === 'tool_use'), `after the tool result it called a tool again: ${brief(second.content)}`);
  expectAnswer(second, 'after the tool result');
}

async function systemMessageMidConversation() {
  const message = counted(
    await client(target.apiKey, 'system_message_mid_conversation').messages.create({
      model: target.model,
      max_tokens: 256,
      messages: [
        { role: 'user', content: 'Hello!' },
        { role: 'assistant', content: 'Hi! How can I help?' },
        { role: 'system', content: 'From now on, answer in French.' },
        { role: 'user', content: 'What is 2 + 2?' },
      ],
    }),
  );
  expectAnswer(message, 'with a system message mid-conversation');
}

const Weather = z.object({
  city: z.string(),
  temperature_c: z.number(),
  conditions: z.enum(['sunny', 'cloudy', 'rain', 'snow']),
});

async function structuredOutput() {
  // The SDK's own zod format: it sends the schema (made strict: additionalProperties false) and its parse()
  // validates the answer against the zod schema. create() rather than messages.parse() so that the usage of an
  // answer that fails validation is still counted.
  const format = zodOutputFormat(Weather);
  const message = counted(
    await client(target.apiKey, 'structured_output').messages.create({
      model: target.model,
      max_tokens: 512,
      messages: [{ role: 'user', content: 'Describe the weather in Paris today.' }],
      output_config: { format },
    }),
  );
  expectAnswer(message, 'structured output');
  const text = textOf(message);
  let parsed;
  try {
    parsed = format.parse(text);
  } catch (error) {
    throw new CheckFailed(`the answer does not match the schema: ${error.message}; text: ${brief(text)}`);
  }
  expect(Weather.safeParse(parsed).success, `parsed output ${brief(parsed)}`);
}

function expectThinking(message, what) {
  const thinking = message.content.filter((block) => block.type === 'thinking');
  if (target.thinkingBlocks) {
    expect(thinking.length > 0, `${what}: no thinking block in ${brief(message.content.map((block) => block.type))}`);
    expect(message.content[0].type === 'thinking', `${what}: the thinking block is not first`);
    for (const block of thinking) {
      expect(typeof block.thinking === 'string' && block.thinking.length > 0, `${what}: empty thinking`);
      expect(typeof block.signature === 'string', `${what}: thinking block without a signature`);
    }
  }
  if (target.thinkingTokens) {
    const details = message.usage.output_tokens_details;
    expect(details?.thinking_tokens > 0, `${what}: no usage.output_tokens_details.thinking_tokens: ${brief(message.usage)}`);
    expect(details.thinking_tokens <= message.usage.output_tokens, `${what}: thinking_tokens > output_tokens`);
  }
}

async function thinkingEnabled() {
  const message = counted(
    await client(target.apiKey, 'thinking_enabled').messages.create({
      model: target.thinkingModel,
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'What is 17 * 23? Think it through.' }],
    }),
  );
  expectAnswer(message, 'thinking enabled');
  expectThinking(message, 'thinking enabled');
}

async function thinkingEnabledStream() {
  const stream = client(target.apiKey, 'thinking_enabled_stream').messages.stream({
    model: target.thinkingModel,
    max_tokens: 4096,
    thinking: { type: 'enabled', budget_tokens: 2048 },
    messages: [{ role: 'user', content: 'What is 19 * 21? Think it through.' }],
  });
  const message = counted(await stream.finalMessage());
  expectAnswer(message, 'streamed thinking');
  expectThinking(message, 'streamed thinking');
}

async function thinkingAdaptive() {
  const message = counted(
    await client(target.apiKey, 'thinking_adaptive').messages.create({
      model: target.adaptiveModel,
      max_tokens: 4096,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      messages: [{ role: 'user', content: 'Prove that the square root of 2 is irrational. Think carefully.' }],
    }),
  );
  expectAnswer(message, 'adaptive thinking');
  expectThinking(message, 'adaptive thinking');
}

// About 6,000 tokens: above every provider's minimum cacheable prefix.
const LONG_SYSTEM = Array.from(
  { length: 400 },
  (_, index) => `Rule ${index + 1}: answer politely, cite the rule number you applied, and keep answers short.`,
).join('\n');

async function promptCaching() {
  // The same cache_control prefix twice (unique to this run, so no earlier run's cache serves the first call): the second answer reads it from the cache on every provider (OpenAI and
  // Gemini cache on their own); providers that bill cache writes (Anthropic, Bedrock Claude) report the write.
  const sdk = client(target.apiKey, 'prompt_caching');
  const stamp = `${Date.now()}-${process.pid}`;
  const system = [{ type: 'text', text: `Run ${stamp}.\n${LONG_SYSTEM}`, cache_control: { type: 'ephemeral' } }];
  const call = (question) =>
    sdk.messages.create({ model: target.model, max_tokens: 128, system, messages: [{ role: 'user', content: question }] });
  const first = counted(await call('What is 2 + 2?'));
  expectAnswer(first, 'first call');
  expect(!first.usage.cache_read_input_tokens, `the first call of a new prefix read a cache: ${brief(first.usage)}`);
  if (target.cacheWrites) {
    expect(first.usage.cache_creation_input_tokens > 0, `first call wrote no cache: ${brief(first.usage)}`);
  }
  const second = counted(await call('What is 3 + 3?'));
  expectAnswer(second, 'second call');
  expect(second.usage.cache_read_input_tokens > 0, `second call read no cache: ${brief(second.usage)}`);
  const firstInput = first.usage.input_tokens + (first.usage.cache_creation_input_tokens ?? 0);
  expect(second.usage.input_tokens < firstInput, `the cached prefix is still billed as input: ${brief(second.usage)}`);
}

async function countTokens() {
  const counted = await client(target.apiKey, 'count_tokens').messages.countTokens({ model: target.model, messages: ASK });
  expect(Number.isInteger(counted.input_tokens) && counted.input_tokens > 0, `count ${brief(counted)}`);
}

async function modelsList() {
  const sdk = client(target.apiKey, 'models_list');
  const page = await sdk.models.list({ limit: 2 });
  expect(page.data.length > 0 && page.data.length <= 2, `limit=2 gave ${page.data.length} models`);
  const model = await sdk.models.retrieve(page.data[0].id);
  expect(model.id === page.data[0].id && model.type === 'model', `retrieve gave ${brief(model)}`);
}

// No x-model-provider header: the `provider/model` name alone picks the provider, for every call that names a
// model (messages, models.retrieve, batches), as the gateway documents for messages.
const prefixed = () => `${target.provider}/${target.model}`;

async function prefixRoutingMessages() {
  const sdk = client(target.apiKey, 'prefix_routing_messages', { providerHeader: false });
  const message = counted(await sdk.messages.create({ model: prefixed(), max_tokens: 256, messages: ASK }));
  expectAnswer(message, `messages with model ${prefixed()}`);
}

async function prefixRoutingModelsRetrieve() {
  const sdk = client(target.apiKey, 'prefix_routing_models_retrieve', { providerHeader: false });
  const model = await sdk.models.retrieve(prefixed());
  expect(model.type === 'model' && [prefixed(), target.model].includes(model.id), `models.retrieve gave ${brief(model)}`);
}

async function prefixRoutingBatches() {
  const sdk = client(target.batchApiKey, 'prefix_routing_batches', { providerHeader: false });
  const requests = [{ custom_id: 'prefixed-1', params: { model: prefixed(), max_tokens: 32, messages: ASK } }];
  if (target.filesAndBatches === 'refused') {
    await expectRefusal(sdk.messages.batches.create({ requests }), 'batch create', BEDROCK_BATCH_WORDING);
    return;
  }
  const batch = await sdk.messages.batches.create({ requests });
  expect(batch.processing_status === 'in_progress', `batch ${brief(batch)}`);
  await sdk.messages.batches.cancel(batch.id);
}

// -------------------------------------------------------------------------------------------------------- files

const BEDROCK_FILES_WORDING = [
  [/Bedrock/, 'does not name Bedrock'],
  [/S3/, 'does not say Bedrock files need S3'],
  [/files?\b/i, 'does not speak of files'],
  [/^(?![\s\S]*batch)/i, 'speaks of batches, not of the file call it refuses'],
];
const BEDROCK_BATCH_WORDING = [
  [/Bedrock/, 'does not name Bedrock'],
  [/S3/, 'does not say Bedrock batches need S3'],
  [/batch/i, 'does not speak of batches'],
  [/Bedrock SDK/, 'does not point to the Bedrock SDK'],
];

async function filesRefusedOnBedrock(sdk) {
  const upload = toFile(Buffer.from('hello'), 'notes.txt', { type: 'text/plain' });
  await expectRefusal(sdk.files.upload({ file: await upload }), 'upload', BEDROCK_FILES_WORDING);
  await expectRefusal(sdk.files.list(), 'list', BEDROCK_FILES_WORDING);
}

function foreignFileIds(message, ownId) {
  return (message.match(/file[_-][A-Za-z0-9]+/g) ?? []).filter((id) => id !== ownId);
}

async function checkDownload(sdk, file, bytes, mustBeDownloadable) {
  const meta = await sdk.files.retrieveMetadata(file.id);
  if (mustBeDownloadable) expect(meta.downloadable === true, `${file.filename} should be downloadable: ${brief(meta)}`);
  if (meta.downloadable) {
    const response = await sdk.files.download(file.id);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.equals(bytes), `download of ${file.filename} gave ${brief(body.toString())}`);
    return;
  }
  const message = await expectRefusal(sdk.files.download(file.id), `download of ${file.filename}`, []);
  const foreign = foreignFileIds(message, file.id);
  expect(foreign.length === 0, `the download refusal names an ID that is not the gateway's: ${foreign.join(', ')}`);
}

async function files() {
  const sdk = client(target.apiKey, 'files');
  if (target.filesAndBatches === 'refused') {
    await filesRefusedOnBedrock(sdk);
    return;
  }
  const text = Buffer.from(`FinOps TypeScript SDK check ${Date.now()}\n`);
  const jsonl = Buffer.from(
    `${JSON.stringify({ custom_id: 'line-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 10 } })}\n`,
  );
  const uploaded = await sdk.files.upload({ file: await toFile(text, 'notes.txt', { type: 'text/plain' }) });
  expect(uploaded.type === 'file' && /^file_[A-Za-z0-9]+$/.test(uploaded.id), `upload answer ${brief(uploaded)}`);
  expect(uploaded.filename === 'notes.txt' && uploaded.size_bytes === text.length, `upload answer ${brief(uploaded)}`);
  expect(uploaded.mime_type.startsWith('text/plain'), `mime_type ${uploaded.mime_type}`);
  const lines = await sdk.files.upload({ file: await toFile(jsonl, 'lines.jsonl', { type: 'application/jsonl' }) });

  const listed = await collect(sdk.files.list({ limit: 1 }), (file) => file.id); // limit 1: walks the pages
  for (const id of [uploaded.id, lines.id]) expect(listed.includes(id), `list misses ${id}: ${brief(listed)}`);

  const meta = await sdk.files.retrieveMetadata(uploaded.id);
  for (const field of ['id', 'filename', 'size_bytes', 'mime_type', 'created_at']) {
    expect(meta[field] === uploaded[field], `retrieve ${field}: ${meta[field]} != ${uploaded[field]}`);
  }
  await checkDownload(sdk, uploaded, text, false);
  await checkDownload(sdk, lines, jsonl, target.downloadableJsonl);

  for (const file of [uploaded, lines]) {
    const deleted = await sdk.files.delete(file.id);
    expect(deleted.id === file.id && deleted.type === 'file_deleted', `delete answer ${brief(deleted)}`);
    try {
      await sdk.files.retrieveMetadata(file.id);
      throw new CheckFailed(`${file.id} is still there after delete`);
    } catch (error) {
      if (error instanceof CheckFailed) throw error;
      expect(error instanceof Anthropic.NotFoundError, `after delete: ${error?.status} ${error?.message}`);
    }
  }
}

// ------------------------------------------------------------------------------------------------------ batches

function batchRequests(prefix, count) {
  return Array.from({ length: count }, (_, index) => ({
    custom_id: `${prefix}-${index + 1}`,
    params: { model: target.model, max_tokens: 64, messages: [{ role: 'user', content: `What is ${index + 1} + ${index + 1}?` }] },
  }));
}

async function untilEnded(sdk, id, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const batch = await sdk.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    expect(['in_progress', 'canceling'].includes(batch.processing_status), `status ${batch.processing_status}`);
    expect(Date.now() < deadline, `batch ${id} not ended after ${seconds} s: ${brief(batch)}`);
    await sleep(1000);
  }
}

function countsSum(counts) {
  return counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired;
}

async function resultsOf(sdk, id) {
  const results = [];
  for await (const line of await sdk.messages.batches.results(id)) results.push(line);
  return results;
}

async function batches() {
  const sdk = client(target.batchApiKey, 'batches');
  if (target.filesAndBatches === 'refused') {
    await expectRefusal(sdk.messages.batches.create({ requests: batchRequests('req', 2) }), 'create', BEDROCK_BATCH_WORDING);
    return;
  }
  const requests = batchRequests('req', 2);
  const created = await sdk.messages.batches.create({ requests });
  expect(/^msgbatch_[A-Za-z0-9]+$/.test(created.id), `batch id ${created.id}`);
  expect(created.type === 'message_batch' && created.processing_status === 'in_progress', `created ${brief(created)}`);
  expect(countsSum(created.request_counts) === requests.length, `counts ${brief(created.request_counts)}`);

  // On Bedrock a part below the job minimum (100 records) runs on demand and, on the emulator, ends within
  // milliseconds: the batch to cancel is a real model-invocation job there.
  const otherCount = target.provider === 'bedrock' ? 100 : 3;
  const other = await sdk.messages.batches.create({ requests: batchRequests('other', otherCount) });
  const canceling = await sdk.messages.batches.cancel(other.id);
  expect(['canceling', 'ended'].includes(canceling.processing_status), `after cancel: ${canceling.processing_status}`);
  expect(canceling.cancel_initiated_at, `cancel_initiated_at missing: ${brief(canceling)}`);

  const listed = await collect(sdk.messages.batches.list({ limit: 1 }), (batch) => batch.id);
  for (const id of [created.id, other.id]) expect(listed.includes(id), `list misses ${id}`);

  const ended = await untilEnded(sdk, created.id);
  expect(ended.request_counts.succeeded === requests.length, `counts ${brief(ended.request_counts)}`);
  expect(ended.ended_at && ended.results_url, `ended batch ${brief(ended)}`);
  const results = await resultsOf(sdk, created.id);
  expect(results.map((line) => line.custom_id).sort().join() === requests.map((r) => r.custom_id).join(), `results ${brief(results)}`);
  for (const line of results) {
    expect(line.result.type === 'succeeded', `result ${brief(line)}`);
    expect(textOf(line.result.message).length > 0, `result message ${brief(line.result.message)}`);
  }

  const canceled = await untilEnded(sdk, other.id);
  const counts = canceled.request_counts;
  expect(countsSum(counts) === otherCount && counts.processing === 0 && counts.canceled >= 1, `canceled batch counts ${brief(counts)}`);
  const otherResults = await resultsOf(sdk, other.id);
  expect(otherResults.length === otherCount, `canceled batch results ${brief(otherResults)}`);
  const canceledLines = otherResults.filter((line) => line.result.type === 'canceled').length;
  expect(canceledLines === counts.canceled, `${canceledLines} canceled lines, counts say ${counts.canceled}`);
}

// ---------------------------------------------------------------------------------------------------------- run

const CHECKS = {
  messages_create: messagesCreate,
  messages_stream: messagesStream,
  tool_round_trip: toolRoundTrip,
  system_message_mid_conversation: systemMessageMidConversation,
  structured_output: structuredOutput,
  thinking_enabled: thinkingEnabled,
  thinking_enabled_stream: thinkingEnabledStream,
  thinking_adaptive: thinkingAdaptive,
  prompt_caching: promptCaching,
  count_tokens: countTokens,
  models_list: modelsList,
  prefix_routing_messages: prefixRoutingMessages,
  prefix_routing_models_retrieve: prefixRoutingModelsRetrieve,
  prefix_routing_batches: prefixRoutingBatches,
  files,
  batches,
};

for (const [name, run] of Object.entries(CHECKS)) {
  const started = Date.now();
  try {
    await run();
    console.log(JSON.stringify({ check: name, ok: true, ms: Date.now() - started }));
  } catch (error) {
    const detail =
      error instanceof Anthropic.APIError
        ? `${error.constructor.name} ${error.status}: ${JSON.stringify(error.error ?? error.message)}`
        : `${error?.constructor?.name}: ${error?.message}`;
    console.log(JSON.stringify({ check: name, ok: false, error: detail, ms: Date.now() - started }));
  }
}
console.log(JSON.stringify({ check: 'usage_seen', ok: true, usage: usageSeen }));

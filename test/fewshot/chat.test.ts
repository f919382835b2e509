// The OpenAI-compatible chat client against a local HTTP server this test
// starts (the shape llama.cpp's and ollama's /v1/chat/completions answer).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { chatCompletionsUrl, descriptionsFromChat, parseAnswer } from '../../src/fewshot/chat-descriptions.js';

interface Received { url: string; auth: string | undefined; body: { model: string; messages: { role: string; content: string }[] } }

async function startServer(answer: (body: Received['body']) => { status: number; text: string }, received: Received[]): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => { raw += chunk; });
    req.on('end', () => {
      const body = JSON.parse(raw) as Received['body'];
      received.push({ url: req.url ?? '', auth: req.headers.authorization, body });
      const { status, text } = answer(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const completion = (content: string): string => JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

test('descriptions from a local chat server: one request per class, the answer\'s lines become descriptions', async () => {
  const received: Received[] = [];
  const { server, base } = await startServer((body) => {
    const prompt = body.messages.at(-1)!.content;
    if (prompt.includes('photo of a cat')) return { status: 200, text: completion('1. pointed ears\n2. long whiskers\n- a long tail\n\nwhiskers' + '\n2. long whiskers') };
    return { status: 200, text: completion('Here are some features:\n* floppy ears\n* wet nose') };
  }, received);
  try {
    const found = await descriptionsFromChat(['cat', 'dog'], { url: base, model: 'llama3', perClass: 3, apiKey: 'secret' });
    assert.deepEqual(found.sentences, [
      ['cat, which has pointed ears', 'cat, which has long whiskers', 'cat, which has a long tail'],
      ['dog, which has floppy ears', 'dog, which has wet nose'],
    ]);
    assert.equal(found.source, `chat endpoint ${base}/v1/chat/completions`);
    assert.equal(received.length, 2);
    assert.equal(received[0]!.url, '/v1/chat/completions');
    assert.equal(received[0]!.auth, 'Bearer secret');
    assert.equal(received[0]!.body.model, 'llama3');
    assert.match(received[1]!.body.messages.at(-1)!.content, /^List 3 short visual features that help recognise a photo of a dog\./);
  } finally {
    server.close();
  }
});

test('chat server errors, bad answers and an unreachable server are one clear line each', async () => {
  const { server, base } = await startServer((body) => (body.messages.at(-1)!.content.includes('cat')
    ? { status: 500, text: '{"error": "model not loaded"}' } : { status: 200, text: '{"choices": []}' }), []);
  try {
    await assert.rejects(descriptionsFromChat(['cat'], { url: base }), { message: `the chat endpoint ${base}/v1/chat/completions answered 500: {"error": "model not loaded"}` });
    await assert.rejects(descriptionsFromChat(['dog'], { url: `${base}/v1` }), { message: `the chat endpoint ${base}/v1/chat/completions answered without choices[0].message.content: {"choices": []}` });
  } finally {
    server.close();
  }
  await assert.rejects(descriptionsFromChat(['cat'], { url: base }), (err: Error) => err.message.startsWith(`cannot reach the chat endpoint ${base}/v1/chat/completions (`) && err.message.endsWith('): is the server running?'));
  assert.throws(() => chatCompletionsUrl('nonsense'), { message: 'not a URL: nonsense (expected e.g. http://127.0.0.1:8080 for a local llama.cpp or ollama server)' });
  assert.throws(() => chatCompletionsUrl('localhost:8080'), { message: 'the chat endpoint must be http or https, got localhost:8080' });
  assert.equal(chatCompletionsUrl('http://h:1/v1/chat/completions/'), 'http://h:1/v1/chat/completions');
  assert.deepEqual(parseAnswer('"striped fur"\n3) black nose\nFeatures:', 5), ['striped fur', 'black nose']);
});

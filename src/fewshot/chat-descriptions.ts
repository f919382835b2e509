// Descriptions from a user's own OpenAI-compatible chat endpoint (a local
// llama.cpp or ollama server, for example): one request per class to
// /v1/chat/completions, the answer's lines become the class's descriptions.
import { describe, type ClassDescriptions } from './descriptions.js';

export interface ChatOptions {
  /** Base URL (http://127.0.0.1:8080 or .../v1) or the full .../chat/completions URL. */
  url: string;
  /** The model name the server expects (llama.cpp ignores it; ollama needs it). */
  model?: string;
  perClass?: number;
  /** Sent as a bearer token when given. */
  apiKey?: string;
  timeoutMs?: number;
  onClass?: (done: number, total: number) => void;
}

/** The chat-completions URL for a base URL. */
export function chatCompletionsUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url} (expected e.g. http://127.0.0.1:8080 for a local llama.cpp or ollama server)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`the chat endpoint must be http or https, got ${url}`);
  const base = parsed.href.replace(/\/+$/, '');
  if (base.endsWith('/chat/completions')) return base;
  return base.endsWith('/v1') ? `${base}/chat/completions` : `${base}/v1/chat/completions`;
}

export function chatPrompt(className: string, perClass: number): string {
  return `List ${perClass} short visual features that help recognise a photo of a ${className}. ` +
    'Answer with one feature per line, each a short phrase such as "long curved beak", with no numbering and no other text.';
}

/** The descriptions in an answer: one per line, list markers and numbering removed. */
export function parseAnswer(content: string, perClass: number): string[] {
  const lines = content.split('\n')
    .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s*/, '').replace(/^"(.*)"$/, '$1').trim())
    .filter((line) => line !== '' && !line.endsWith(':'));
  return [...new Set(lines)].slice(0, perClass);
}

export async function descriptionsFromChat(classNames: string[], options: ChatOptions): Promise<ClassDescriptions> {
  const endpoint = chatCompletionsUrl(options.url);
  const perClass = options.perClass ?? 8;
  const sentences: string[][] = [];
  const warnings: string[] = [];
  for (const [i, name] of classNames.entries()) {
    const phrases = parseAnswer(await ask(endpoint, chatPrompt(name, perClass), options), perClass);
    if (phrases.length === 0) warnings.push(`the chat endpoint gave no descriptions for "${name}": it keeps its class prompt only`);
    sentences.push(phrases.map((p) => describe(name, p)));
    options.onClass?.(i + 1, classNames.length);
  }
  return { classNames, sentences, source: `chat endpoint ${endpoint}`, warnings };
}

async function ask(endpoint: string, prompt: string, options: ChatOptions): Promise<string> {
  const body = {
    model: options.model ?? 'default', temperature: 0, stream: false,
    messages: [
      { role: 'system', content: 'You describe what things look like, briefly and concretely.' },
      { role: 'user', content: prompt },
    ],
  };
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`cannot reach the chat endpoint ${endpoint} (${cause}): is the server running?`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`the chat endpoint ${endpoint} answered ${response.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`);
  let content: unknown;
  try {
    content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
  } catch {
    throw new Error(`the chat endpoint ${endpoint} did not answer JSON: ${text.slice(0, 120)}`);
  }
  if (typeof content !== 'string') throw new Error(`the chat endpoint ${endpoint} answered without choices[0].message.content: ${text.slice(0, 120)}`);
  return content;
}

// User input as users type it: class lists with empty, duplicate, very long,
// control-character and non-ASCII names, and CLI options of the wrong type
// (seeded junk). Each is either used under a stated normalisation or refused
// with one clear line and a non-zero exit; nothing crashes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { registerCommands } from '../../src/cli/commands.js';
import { createRng } from '../../src/data/random.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { saveBundle } from '../../src/bundle/bundle.js';
import { loadClassifier } from '../../src/deploy/runtime/node.js';
import { manualSeed } from '../../src/engine/index.js';
import { checkClassnames, MAX_CLASSNAME_LENGTH, readClassnames } from '../../src/eval/templates.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-fuzz-inputs-'));
after(() => rmSync(root, { recursive: true, force: true }));

function hyperclip(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function assertOneLine(result: { status: number | null; stdout: string; stderr: string }, pattern: RegExp, what: string): void {
  assert.notEqual(result.status, 0, what);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: ${result.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(result.stderr, /^\s+at /m, `${what}: no stack trace`);
}

test('class lists: the stated normalisation, or one clear line', () => {
  // Normalised: NFC, whitespace runs (tabs, newlines) to one space, trimmed; non-ASCII kept as is.
  assert.deepEqual(checkClassnames([' red\tcar ', 'cafe\u0301', '猫', '🐱 cat', 'Ünïcödé\nname', 'a'.repeat(MAX_CLASSNAME_LENGTH)], 'list'),
    ['red car', 'café', '猫', '🐱 cat', 'Ünïcödé name', 'a'.repeat(MAX_CLASSNAME_LENGTH)]);
  const refused: [unknown, RegExp][] = [
    [[], /^list: the class list is empty: give at least one class name$/],
    [['cat', ''], /^list: class 2 is empty: remove it or give it a name$/],
    [['cat', ' \t\n '], /^list: class 2 is empty: remove it or give it a name$/],
    [['cat', 'CAT'], /^list: class "CAT" appears twice: give each class once$/],
    [['café', 'cafe\u0301'], /^list: class "café" appears twice: give each class once$/], // the same name once normalised
    [['cat', 'b'.repeat(MAX_CLASSNAME_LENGTH + 1)], /^list: class 2 is 1001 characters long \(the limit is 1000\): shorten it$/],
    [['cat', 'dog\u0007'], /^list: class 2 "dog\\u0007" holds the control character U\+0007: remove it$/],
    [['nul\u0000byte'], /control character U\+0000/],
    [['del\u007f'], /control character U\+007F/],
    [['c1\u0085x'.replace('\u0085', '\u0090')], /control character U\+0090/],
    [['cat', 3], /^list: expected a list of class names$/],
    [{ cat: 1 }, /^list: expected a list of class names$/],
  ];
  for (const [value, pattern] of refused) assert.throws(() => checkClassnames(value, 'list'), { message: pattern }, JSON.stringify(value));
});

test('class-name files: a byte-order mark and CRLF line ends are read as intended; invalid UTF-8 becomes U+FFFD', () => {
  const bom = path.join(root, 'bom.txt');
  writeFileSync(bom, '\uFEFFcat\r\ndog\r\n\r\nred car\r\n');
  assert.deepEqual(readClassnames(bom), ['cat', 'dog', 'red car']);
  const bomJson = path.join(root, 'bom.json');
  writeFileSync(bomJson, '\uFEFF["cat", "dog"]');
  assert.deepEqual(readClassnames(bomJson), ['cat', 'dog']);
  const latin1 = path.join(root, 'latin1.txt');
  writeFileSync(latin1, Buffer.from('caf\xe9\nna\xefve\n', 'latin1'));
  assert.deepEqual(readClassnames(latin1), ['caf\uFFFD', 'na\uFFFDve']);
});

/** The CLI's commands in this process: parse errors come back as the CommanderError the CLI turns into its one line. */
async function parse(args: string[]): Promise<string> {
  let stderr = '';
  const program = new Command('hyperclip').exitOverride()
    .configureOutput({ writeErr: (text) => { stderr += text; }, writeOut: () => undefined });
  registerCommands(program);
  try {
    await program.parseAsync(['node', 'hyperclip', ...args]);
  } catch (error) {
    if (error instanceof CommanderError) return stderr;
    throw error;
  }
  throw new Error(`hyperclip ${args.join(' ')} was accepted`);
}

test('numeric options given seeded junk: each refused in one line that names the option and the value', async () => {
  const rng = createRng(19);
  const junk = ['', ' ', 'abc', '1.5', '-1', '0x10', '1e3', 'NaN', 'Infinity', '--', '３', '99999999999999999999', '12abc'];
  for (let i = 0; i < 6; i++) junk.push(String.fromCharCode(...Array.from({ length: 1 + Math.floor(rng() * 6) }, () => 33 + Math.floor(rng() * 94))).replace(/^[\d+-]+$/, 'x'));
  const options: [string[], string, number][] = [
    [['classify', 'a.onnx', 'b.jpg'], '--top-k', 1], [['classify', 'a.onnx', 'b.jpg'], '--batch-size', 1],
    [['eval'], '--limit', 1], [['eval'], '--batch-size', 1], [['train'], '--steps', 1], [['train'], '--batch-size', 1],
    [['train'], '--seed', 0], [['serve'], '--port', 0],
  ];
  for (const [command, option, min] of options) {
    for (const value of junk) {
      const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isSafeInteger(n) && n >= min && (option !== '--port' || n <= 65535)) continue; // a valid value
      const message = await parse([...command, `${option}=${value}`]);
      assert.equal(message.trimEnd().split('\n').length, 1, `${option}=${JSON.stringify(value)}: ${message}`);
      assert.ok(message.includes(`for ${option} but received ${JSON.stringify(value)}`), `${option}=${JSON.stringify(value)}: ${message}`);
      assert.match(message, /expected an integer (>=|from) /);
    }
  }
  assert.match(await parse(['serve', '--port', '70000']), /expected an integer from 0 to 65535 for --port but received "70000"/);
  for (const value of ['', 'abc', '1e999', '--']) assert.match(await parse(['train', `--lr=${value}`]), /expected a number for --lr but received/, value);
  assert.match(await parse(['classify', 'a.onnx']), /missing required argument 'images'/);
  assert.match(await parse(['train', '--frobnicate']), /unknown option '--frobnicate'/);
});

test('end to end: generate normalises non-ASCII and whitespace names into the classifier; bad lists and bad options are one line', async () => {
  manualSeed(19);
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = path.join(root, 'model');
  saveBundle(model, new HyperClip(config), tokenizer);
  const names = path.join(root, 'names.txt');
  writeFileSync(names, '\uFEFF 猫 \r\nred\tcar\r\ncafe\u0301\r\n🐱\r\n' + 'very long name '.repeat(60) + '\r\n');
  const output = path.join(root, 'c.onnx');
  const ok = hyperclip('generate', '--engine', 'libtorch', '--model', model, '--classes-file', names, '-o', output);
  assert.equal(ok.status, 0, ok.stderr);
  const classifier = await loadClassifier(output);
  assert.deepEqual(classifier.metadata.classNames, ['猫', 'red car', 'café', '🐱', 'very long name '.repeat(60).trim()]);
  await classifier.runner.release();

  const bad = path.join(root, 'bad.txt');
  writeFileSync(bad, 'cat\ndo\u001bg\n');
  assertOneLine(hyperclip('generate', '--engine', 'libtorch', '--model', model, '--classes-file', bad, '-o', output),
    /^hyperclip: .*bad\.txt: class 2 "do\\u001bg" holds the control character U\+001B: remove it$/, 'control character');
  assertOneLine(hyperclip('generate', '--model', model, '--classes', 'cat,,dog', '-o', output), /^hyperclip: classes: class 2 is empty: remove it or give it a name$/, 'empty name');
  assertOneLine(hyperclip('eval', '--model', model, '--dataset', 'x.tar', '--classnames', bad), /^hyperclip: .*control character U\+001B/, 'eval class list');
  assertOneLine(hyperclip('classify', output, names, '--top-k', 'two'), /^error: option '--top-k <n>' argument 'two' is invalid\. expected an integer >= 1 for --top-k but received "two" \(run with --help for usage\)$/, 'wrong type');
});

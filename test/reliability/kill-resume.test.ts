// Real kills: a child process trains the tiny recipe and is killed with
// SIGKILL at seeded random moments; each time the same command resumes it.
// The final weights must equal an uninterrupted run's bit for bit, and the
// checkpoint on disk must be whole after every kill.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { createRng } from '../../src/data/random.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const ENV = { ...process.env, HYPERCLIP_THREADS: '1' };
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-kill-'));
after(() => rmSync(root, { recursive: true, force: true }));

// test-tiny with a checkpoint after every step: kills land before, during and after checkpoint writes.
const configFile = path.join(root, 'recipe.json');
writeFileSync(configFile, JSON.stringify({ preset: 'test-tiny', steps: 8, checkpointEvery: 1 }));
const trainArgs = (out: string, resume: boolean) => [CLI, 'train', '--config', configFile, '--out', out, ...(resume ? ['--resume'] : [])];

interface Safetensors { metadata: Record<string, string>; tensors: Map<string, Buffer> }

/** Parses a safetensors file without the engine; throws unless the file is exactly whole. */
function readWhole(file: string): Safetensors {
  const bytes = readFileSync(file);
  assert.ok(bytes.length >= 8, `${file}: ${bytes.length} bytes`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const start = 8 + headerLength;
  const tensors = new Map<string, Buffer>();
  let end = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [from, to] = entry.data_offsets;
    end = Math.max(end, to);
    tensors.set(name, bytes.subarray(start + from, start + to));
  }
  assert.equal(bytes.length, start + end, `${file} is whole: its header accounts for every byte`);
  return { metadata: (header.__metadata__ ?? {}) as unknown as Record<string, string>, tensors };
}

function assertSameTensors(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: the same tensors`);
  for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${what}: ${name} differs`);
}

/** Starts a training child and kills it with SIGKILL after `delayMs`; resolves with how it ended. */
function runAndKill(out: string, delayMs: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, trainArgs(out, true), { env: ENV, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', code });
    });
  });
}

test('SIGKILL at seeded random moments, resumed each time: whole checkpoints and bit-identical final weights', async (t) => {
  const reference = path.join(root, 'reference');
  const plain = spawnSync(process.execPath, trainArgs(reference, false), { env: ENV, encoding: 'utf8' });
  assert.equal(plain.status, 0, plain.stderr);

  const out = path.join(root, 'killed');
  const rng = createRng(19);
  const steps: number[] = [];
  let kills = 0;
  for (let attempt = 0; attempt < 6; attempt++) {
    const { killed, code } = await runAndKill(out, 300 + Math.floor(rng() * 2700));
    if (!killed) { assert.equal(code, 0, 'a run that was not killed finishes cleanly'); break; }
    kills++;
    const checkpoint = path.join(out, 'checkpoint.safetensors');
    if (!existsSync(checkpoint)) { steps.push(0); continue; }
    const step = Number(readWhole(checkpoint).metadata.step);
    assert.ok(Number.isInteger(step) && step >= 1 && step <= 8, `checkpoint step ${step}`);
    assert.ok(step >= (steps.at(-1) ?? 0), `the checkpoint never goes back: ${[...steps, step].join(', ')}`);
    steps.push(step);
  }
  t.diagnostic(`${kills} kills; checkpoint step after each: ${steps.join(', ')}`);
  assert.ok(kills >= 3, `at least 3 kills landed while training (${kills}; checkpoint steps ${steps.join(', ')})`);

  const finish = spawnSync(process.execPath, trainArgs(out, true), { env: ENV, encoding: 'utf8' });
  assert.equal(finish.status, 0, finish.stderr);
  assertSameTensors(readWhole(path.join(out, 'checkpoint.safetensors')).tensors,
    readWhole(path.join(reference, 'checkpoint.safetensors')).tensors, `checkpoint after kills at steps ${steps.join(', ')}`);
  assertSameTensors(readWhole(path.join(out, 'model', 'model.safetensors')).tensors,
    readWhole(path.join(reference, 'model', 'model.safetensors')).tensors, 'final model');
  const leftovers = readdirSync(out).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], 'no temporary file of a killed write is left once training went on');
});

test('--resume on a finished run says it is complete, in one line, and trains nothing', () => {
  const reference = path.join(root, 'reference');
  const before = readFileSync(path.join(reference, 'metrics.jsonl'), 'utf8');
  const again = spawnSync(process.execPath, trainArgs(reference, true), { env: ENV, encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  const lines = again.stdout.trim().split('\n');
  assert.equal(lines.length, 1, again.stdout);
  assert.match(lines[0]!, /reference is already complete \(test-tiny, 8 steps, final loss \d+\.\d{4}\): nothing to resume; the model is in .*reference\/model$/);
  assert.doesNotMatch(again.stdout, /NaN/);
  assert.equal(readFileSync(path.join(reference, 'metrics.jsonl'), 'utf8'), before, 'nothing appended to the metrics log');
});

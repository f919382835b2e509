// The metrics log read as the run's last life: a resumed run logs the steps
// after its checkpoint again, and its resume record says which records those
// replace. The log itself stays append-only.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MetricsLog, lastLife, type MetricsRecord } from '../../src/train/metrics-log.js';

const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-metrics-log-'));
after(() => rmSync(root, { recursive: true, force: true }));

function logOf(name: string, records: MetricsRecord[]): MetricsLog {
  const log = new MetricsLog(path.join(root, `${name}.jsonl`));
  for (const r of records) log.write(r);
  return log;
}

const label = (r: MetricsRecord): string => `${r.event}${r.step === undefined ? '' : ` ${r.step}`}${r.loss === undefined ? '' : ` ${r.loss}`}`;
const train = (step: number, loss: number): MetricsRecord => ({ event: 'train', step, loss });

test('after a resume, the records logged before it past its step are dropped; the history stays in the file', () => {
  // Killed after step 30 was logged, with the checkpoint at step 20 and a validation at 25 in between.
  const log = logOf('resumed', [
    { event: 'warm-start', steps: 600 }, { event: 'validation', step: 0, top1: 0.2 },
    train(10, 9), train(20, 8), { event: 'validation', step: 25, top1: 0.3 }, train(30, 7),
    { event: 'resume', step: 20 },
    train(30, 6.5), train(40, 6), { event: 'summary', steps: 40 },
  ]);
  assert.deepEqual(log.readLastLife().map(label), [
    'warm-start', 'validation 0', 'train 10 9', 'train 20 8', 'resume 20', 'train 30 6.5', 'train 40 6', 'summary',
  ]);
  assert.equal(log.read().length, 10, 'read() still returns every line');
});

test('each record answers to every later resume: the earliest step among them wins', () => {
  const records: MetricsRecord[] = [
    train(10, 9), train(20, 8), train(30, 7),
    { event: 'resume', step: 10 },
    train(20, 7.9), train(30, 6.9), train(40, 5.9),
    { event: 'resume', step: 30 },
    train(40, 5.8),
  ];
  assert.deepEqual(lastLife(records).map(label), ['train 10 9', 'resume 10', 'train 20 7.9', 'train 30 6.9', 'resume 30', 'train 40 5.8']);
});

test('a log without resume records reads exactly as before, a step logged twice included', () => {
  // The shape of runs/experiment/mnv2-hyperclip-lit-warm-s0: resumed before the resume record existed.
  const log = logOf('old', [{ event: 'validation', step: 0, top1: 0.2 }, train(100, 6.3), train(110, 6.26), train(110, 6.24), train(120, 6.1), { event: 'summary', steps: 120 }]);
  assert.deepEqual(log.readLastLife(), log.read());
  assert.deepEqual(log.readLastLife().map(label), ['validation 0', 'train 100 6.3', 'train 110 6.26', 'train 110 6.24', 'train 120 6.1', 'summary']);
});

test('a torn last line is still skipped', () => {
  const log = logOf('torn', [train(10, 9), { event: 'resume', step: 0 }, train(10, 8.5)]);
  appendFileSync(log.file, '{"time":"2026-12-05T10:00:00.000Z","event":"train","st');
  assert.ok(readFileSync(log.file, 'utf8').endsWith('"st'));
  assert.deepEqual(log.readLastLife().map(label), ['resume 0', 'train 10 8.5']);
});

test('a missing log reads as empty', () => {
  assert.deepEqual(new MetricsLog(path.join(root, 'none.jsonl')).readLastLife(), []);
});

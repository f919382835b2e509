// AdaSAP's fine-tune radius is chosen on validation among the radii that
// nudge; radius 0 (no nudge) is the reference, never the choice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRadiusReport, chosenRadius, parseRadii, type RadiusRecord } from '../../experiments/asam-radius.js';

const record = (rows: [number, number][]): RadiusRecord => ({
  command: 'npm run experiment:asam-radius -- --model models/default', finished: '2026-12-07T03:00:00Z', model: 'models/default', modelKey: 'abc',
  host: { cpus: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20', loadAverage: [2] },
  settings: { warmupSteps: 240, ratio: 0.5, finetuneSteps: 60, limit: 500, batchSize: 64, seed: 0, lr: 5e-4, asamEta: 0.01 },
  dense: { top1: 0.37 }, rows: rows.map(([asamRho, top1]) => ({ asamRho, top1, finetuneLoss: 6, seconds: 200 })),
});

test('radii parse to what the run uses, and a bad list is refused in one line', () => {
  assert.deepEqual(parseRadii('0, 0.5,0.1,0.5'), [0, 0.5, 0.1]);
  assert.throws(() => parseRadii('0.5,-1'), /--radii takes ASAM radii >= 0 .*got "0\.5,-1"/);
  assert.throws(() => parseRadii(','), /--radii/);
});

test('the choice is the best radius above 0, even when no nudge scores higher', () => {
  const r = record([[0, 0.15], [0.5, 0.004], [0.1, 0.11], [0.02, 0.13]]);
  assert.equal(chosenRadius(r)?.asamRho, 0.02);
  const md = buildRadiusReport(r);
  assert.match(md, /Chosen: radius 0\.02/);
  assert.match(md, /\| 0\.5 \| 0\.4% \| −14\.6 \(beyond noise\) \|/);
  assert.match(md, /\| 0\.02 \| 13\.0% \| −2\.0 \(within noise\) \|/);
  assert.equal(chosenRadius(record([[0, 0.15]])), null);
  assert.match(buildRadiusReport(record([[0, 0.15]])), /nothing is chosen/);
});

// Periodic validation must not ratchet a long run's resident memory up: the
// addon keeps freed memory for reuse, so validate() hands its peak (eval
// batches, decode workers) back before training resumes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultModelDir, loadBundle } from '../../src/bundle/bundle.js';
import { validate } from '../../src/train/validate.js';
import type { TrainConfig } from '../../src/train/recipes.js';

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

test('repeated validations leave resident memory near where it started', async (t) => {
  const bundle = loadBundle(defaultModelDir());
  const config = { validation: { cifar10Limit: 256, retrievalLimit: 256 } } as TrainConfig;
  const quiet = { start: () => undefined, step: () => undefined, message: () => undefined, stop: () => undefined };
  const start = process.memoryUsage().rss;
  const after: number[] = [];
  for (let i = 0; i < 3; i++) {
    await validate(bundle, config, quiet);
    after.push(process.memoryUsage().rss);
  }
  bundle.model.dispose();
  t.diagnostic(`resident memory ${mb(start)} MB before, ${after.map(mb).join(' / ')} MB after each of 3 validations`);
  // Unreleased, one such validation leaves about 1 GB resident; released, about 100 MB.
  const growth = Math.max(...after) - start;
  assert.ok(growth < 400 * 2 ** 20, `resident memory grew by ${mb(growth)} MB over 3 validations`);
});

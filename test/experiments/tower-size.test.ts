// Experiment E's verdict on the paper's claim that HyperCLIP gains most on the
// smallest tower: it needs three pairs per tower, a gain beyond noise on the
// smallest, and that gain larger beyond noise than every larger tower's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeClaim, towerSizeSection, TOWER_ROWS } from '../../experiments/hyperclip-vs-siglip/tower-size.js';
import { pairedDifference } from '../../tools/stats.js';
import { CONFIGURATIONS } from '../../experiments/hyperclip-vs-siglip/plan.js';
import { HyperClip } from '../../src/models/hyperclip.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { resolveTrainConfig } from '../../src/train/recipes.js';
import { modelConfigFor } from '../../src/train/trainer.js';

/** A paired difference from per-seed HyperCLIP − SigLIP gains (SigLIP at 0.3). */
const gains = (values: number[]) => pairedDifference(new Map(values.map((v, s) => [s, 0.3 + v])), new Map(values.map((_, s) => [s, 0.3])));

describe('Experiment E: the claim about the tower size', () => {
  it('holds when the smallest tower gains most, beyond noise', () => {
    const claim = judgeClaim([
      { tower: 'small', difference: gains([0.05, 0.06, 0.055]) },
      { tower: 'middle', difference: gains([0.01, 0.0, 0.005]) },
      { tower: 'large', difference: gains([-0.01, 0.005, 0.0]) },
    ]);
    assert.equal(claim.verdict, 'holds, beyond noise');
  });

  it('is not shown when a larger tower gains as much or more (the order reversed)', () => {
    const claim = judgeClaim([
      { tower: 'small', difference: gains([0.01, 0.0, 0.005]) },
      { tower: 'middle', difference: gains([0.05, 0.06, 0.055]) },
      { tower: 'large', difference: gains([0.05, 0.06, 0.055]) },
    ]);
    assert.equal(claim.verdict, 'not shown');
    const level = judgeClaim([
      { tower: 'small', difference: gains([0.05, 0.06, 0.055]) },
      { tower: 'large', difference: gains([0.05, 0.061, 0.054]) },
    ]);
    assert.equal(level.verdict, 'not shown');
    assert.match(level.reason, /not larger beyond noise than that of large/);
  });

  it('is not shown when the smallest tower\'s own gain is within noise', () => {
    const claim = judgeClaim([
      { tower: 'small', difference: gains([0.05, -0.04, 0.01]) },
      { tower: 'large', difference: gains([-0.05, -0.06, -0.055]) },
    ]);
    assert.equal(claim.verdict, 'not shown');
    assert.match(claim.reason, /within noise/);
  });

  it('cannot be judged with fewer than three pairs on a tower', () => {
    const claim = judgeClaim([
      { tower: 'small', difference: gains([0.05, 0.06, 0.055]) },
      { tower: 'large', difference: gains([0.0, 0.01]) },
    ]);
    assert.equal(claim.verdict, 'cannot be judged yet');
    assert.match(claim.reason, /large has 2/);
  });

  it('writes no section before any of its configurations has an evaluated run', () => {
    assert.deepEqual(towerSizeSection([]), []);
    assert.equal(TOWER_ROWS.filter((r) => r.judged).length, 3, 'three towers enter the verdict');
    assert.ok(TOWER_ROWS.every((r, i) => i === 0 || r.weights >= TOWER_ROWS[i - 1]!.weights), 'smallest tower first');
  });

  it('says truly which norms the hypernetwork generates on each tower', () => {
    const tokenizer = Tokenizer.load('wordnet-8k');
    for (const row of TOWER_ROWS) {
      const config = resolveTrainConfig(CONFIGURATIONS[row.configuration]!.recipes.hyperclip, undefined);
      const targets = new HyperClip(modelConfigFor(config, tokenizer)).hypernet!.targets.map((t) => t.name);
      assert.equal(targets.length, row.generatedNorms, row.configuration);
      const blocks = [...new Set(targets.map((t) => /^blocks\.(\d+)\./.exec(t)?.[1]).filter((b) => b !== undefined).map(Number))];
      const first = /^blocks (\d+)-(\d+)|^block (\d+)/.exec(row.generated)!;
      assert.equal(Math.min(...blocks), Number(first[1] ?? first[3]), `${row.configuration}: ${row.generated}`);
      assert.equal(Math.max(...blocks), Number(first[2] ?? first[3]), `${row.configuration}: ${row.generated}`);
      assert.equal(targets.includes('head.norm'), row.generated.includes('head'), `${row.configuration}: ${row.generated}`);
    }
  });
});

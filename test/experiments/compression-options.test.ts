// The compression experiment's options: a wrong value is refused in one line
// when the command line is parsed, before any model is read or trained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, parseLatencyRounds, parseMethods, parseRatios } from '../../experiments/compression.js';

const parse = (args: string[]) => cli().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }).parse(args, { from: 'user' }).opts();

test('compression: ratios and latency rounds parse to what the run uses', () => {
  assert.deepEqual(parseRatios(' 0.7, 0.5'), [0.7, 0.5]);
  assert.throws(() => parseRatios('0.7,1'), /--ratios takes FLOPs ratios between 0 and 1 .*got "1"/);
  assert.throws(() => parseRatios(','), /--ratios is empty/);
  assert.deepEqual(parseLatencyRounds('200,30'), [200, 30]);
  assert.throws(() => parseLatencyRounds('200'), /two counts/);
  assert.throws(() => parseLatencyRounds('200,0'), /expected an integer >= 1 for --latency-rounds/);
  assert.deepEqual(parseMethods('prune-finetune, adasap,adasap'), ['prune-finetune', 'adasap']);
  assert.throws(() => parseMethods('adasap,asam'), /--methods takes adasap, prune-finetune, sam; got "asam"/);
  assert.throws(() => parseMethods(' , '), /--methods is empty/);
});

test('compression: bad values are refused at parse time, good ones kept as typed (the results folder is named from them)', () => {
  const opts = parse(['--seeds', '0,1,2', '--steps-warmup', '240', '--severities', '1,2,3,4,5', '--latency-rounds', '200,30']);
  assert.equal(opts.stepsWarmup, '240');
  assert.equal(opts.severities, '1,2,3,4,5');
  for (const [flag, value, message] of [
    ['--steps-warmup', 'abc', /expected an integer >= 1 for --steps-warmup/],
    ['--steps-finetune', '0', /expected an integer >= 1 for --steps-finetune/],
    ['--batch-size', '1', /expected an integer >= 2 for --batch-size/],
    ['--limit', '1.5', /--limit/],
    ['--checkpoint-every', '-3', /--checkpoint-every/],
    ['--seeds', '0,x', /--seeds expects non-negative integers/],
    ['--severities', '1,9', /severities/],
    ['--ratios', '0.5,2', /--ratios takes FLOPs ratios/],
  ] as const) {
    assert.throws(() => parse([flag, value]), message, `${flag} ${value}`);
  }
});

// The experiment's plan: each configuration compares two recipes that differ
// only in the model, which is what makes its per-seed differences fair.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIGURATIONS, parseConfigurations, parseModels, reportScope } from '../../experiments/hyperclip-vs-siglip/plan.js';
import { resolveConfig } from '../../src/models/config.js';
import { RECIPES } from '../../src/train/recipes.js';

test('every configuration pairs a HyperCLIP and a SigLIP recipe that differ only in the model', () => {
  for (const c of Object.values(CONFIGURATIONS)) {
    const hyper = RECIPES[c.recipes.hyperclip];
    const siglip = RECIPES[c.recipes.siglip];
    assert.ok(hyper && siglip, `configuration ${c.id} names recipes that exist`);
    assert.notEqual(resolveConfig(hyper.model).hypernet, null, `${hyper.name} has a hypernetwork`);
    assert.equal(resolveConfig(siglip.model).hypernet, null, `${siglip.name} has none`);
    const rest = (r: typeof hyper) => JSON.stringify({ ...r, name: undefined, model: undefined });
    assert.equal(rest(hyper), rest(siglip), `configuration ${c.id}: data, budget and freezing are the same on both sides`);
  }
});

test('configuration C freezes the word prior on both sides, A does not', () => {
  const [a, c] = parseConfigurations('a, C');
  assert.deepEqual(RECIPES[c!.recipes.hyperclip]!.freeze, ['textEncoder.tokenEmbedding']);
  assert.deepEqual(RECIPES[c!.recipes.siglip]!.freeze, ['textEncoder.tokenEmbedding']);
  assert.equal(RECIPES[a!.recipes.hyperclip]!.freeze, undefined);
  assert.throws(() => parseConfigurations('A,E'), /unknown configuration "E": known are A, B, C, D/);
  assert.throws(() => parseConfigurations(' , '), /--configs is empty/);
});

test('the report covers every configuration and seed with a run folder, not only those trained now', () => {
  const dirs = ['mnv1-025-hyperclip-lit-s0', 'mnv1-025-siglip-lit-s2', 'tiny-tin-classify-s0', 'mnv2-siglip-lit-warm-s0', 'experiment.json', 'notes'];
  const scope = reportScope(parseConfigurations('A'), [0], dirs);
  assert.deepEqual(scope.configurations.map((c) => c.id), ['A', 'E1', 'W3'], 'asked A, plus E1 and W3 found on disk; a stage-1 folder adds none');
  assert.deepEqual(scope.seeds, [0, 2]);
  const alone = reportScope(parseConfigurations('B'), [1], []);
  assert.deepEqual(alone.configurations.map((c) => c.id), ['B']);
  assert.deepEqual(alone.seeds, [1]);
});

test('--models picks one side or both, in pair order, and refuses anything else', () => {
  assert.deepEqual(parseModels('hyperclip'), ['hyperclip']);
  assert.deepEqual(parseModels('siglip,hyperclip'), ['hyperclip', 'siglip']);
  assert.throws(() => parseModels('clip'), /--models expects hyperclip and\/or siglip separated by commas but received "clip"/);
  assert.throws(() => parseModels(' , '), /--models expects/);
});

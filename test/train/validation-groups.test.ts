// The WordNet groups figure in validation: validation.groupsLimit is checked
// like its neighbours, no committed recipe turns it on (their runs stay
// reproducible), and when asked for it is reported as one line and as the
// metrics fields groupsTop1 / groupsTop5.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Bundle } from '../../src/bundle/bundle.js';
import { dataRoot, evalPreprocess, imagenetTemplates } from '../../src/data/index.js';
import { namePhrases } from '../../src/eval/name-phrases.js';
import { tinyImagenetGroups } from '../../src/eval/tin-groups.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import { RECIPES, validateTrainConfig, type TrainConfig } from '../../src/train/recipes.js';
import { groupsZeroShot, validate, validationFields } from '../../src/train/validate.js';

const withValidation = (validation: object): TrainConfig => ({ ...structuredClone(RECIPES['mnv2-hyperclip-lit']!), validation } as TrainConfig);

test('validation limits: integers >= 0, known fields only; no committed recipe asks for the groups', () => {
  assert.doesNotThrow(() => validateTrainConfig(withValidation({ cifar10Limit: 0, retrievalLimit: 1000, groupsLimit: 1000 })));
  assert.doesNotThrow(() => validateTrainConfig(withValidation({ cifar10Limit: 0, retrievalLimit: 0, groupsLimit: 0 })));
  for (const bad of [-1, 2.5, '1000', null]) {
    assert.throws(() => validateTrainConfig(withValidation({ cifar10Limit: 0, retrievalLimit: 0, groupsLimit: bad })),
      new RegExp(`^Error: validation.groupsLimit is a number of images, an integer >= 0 \\(0: off\\); got ${JSON.stringify(bad)?.replace('.', '\\.')}$`));
  }
  assert.throws(() => validateTrainConfig(withValidation({ cifar10Limit: -5, retrievalLimit: 0 })), /^Error: validation.cifar10Limit is a number of images/);
  assert.throws(() => validateTrainConfig(withValidation({ cifar10Limit: 0, retrievalLimit: 0, groupLimit: 100 })),
    /^Error: validation: unknown field "groupLimit"; known: cifar10Limit, retrievalLimit, tinyImagenetLimit, heldOutLimit, groupsLimit$/);
  for (const [name, recipe] of Object.entries(RECIPES)) {
    assert.equal(recipe.validation.groupsLimit, undefined, name);
    assert.doesNotThrow(() => validateTrainConfig(structuredClone(recipe)), name);
  }
});

const TIN = join(dataRoot(), 'tiny-imagenet');
const skip = existsSync(join(TIN, 'wnids.json')) || process.env.CI === 'true' ? false : `${TIN} is missing (set HYPERCLIP_DATA)`;

test('validate() with groupsLimit: one report line and the groupsTop1 / groupsTop5 fields', { skip }, async () => {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  const bundle: Bundle = { dir: '/nonexistent/test-bundle', model, config, tokenizer, preprocess: evalPreprocess(config.image.imageSize), extra: {} };
  const messages: string[] = [];
  const reporter = { start: () => undefined, step: () => undefined, message: (m: string) => { messages.push(m); }, stop: () => undefined };
  try {
    const result = await validate(bundle, { validation: { cifar10Limit: 0, retrievalLimit: 0, groupsLimit: 24 } } as TrainConfig, reporter);
    assert.equal(result.groups!.samples, 24);
    assert.equal(result.groups!.groups, 90);
    assert.equal(result.groups!.prompts, 90 * imagenetTemplates().length, 'the names alone: one prompt per group and template');
    assert.equal(messages.length, 1);
    assert.match(messages[0]!, /^validation: tiny-imagenet val WordNet groups zero-shot top-1 \d+\.\d\d% on 24 images of 90 groups$/);
    const fields = validationFields(result);
    assert.deepEqual(Object.keys(fields), ['groupsTop1', 'groupsTop5']);
    assert.equal(fields.groupsTop1, result.groups!.top1);
    // Off by default: no groups result, no fields.
    const off = await validate(bundle, { validation: { cifar10Limit: 0, retrievalLimit: 0 } } as TrainConfig, reporter);
    assert.equal(off.groups, undefined);
    assert.deepEqual(validationFields(off), {});
    // With name phrases, the prompts the figure was built from come back with it.
    const phrased = await groupsZeroShot(bundle, 8, { namePhrases: 'wordnet-imagenet' });
    const phrases = namePhrases(tinyImagenetGroups().names, 'wordnet-imagenet')!;
    assert.equal(phrased.prompts, imagenetTemplates().length * phrases.reduce((n, list) => n + list.length, 0));
    assert.ok(phrased.prompts > result.groups!.prompts);
  } finally {
    model.dispose();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, MIN_IMAGE_SIZE, withImageSizeSuffix } from '../../experiments/validation.js';

test('validation: a record evaluated at another input size is named for it', () => {
  assert.equal(withImageSizeSuffix('runs/validation/default.json', undefined), 'runs/validation/default.json');
  assert.equal(withImageSizeSuffix('runs/validation/default.json', 224), 'runs/validation/default.px224.json');
  assert.equal(withImageSizeSuffix('runs/validation/default.name-phrases-wordnet.json', 96), 'runs/validation/default.name-phrases-wordnet.px96.json');
});

test('validation: --image-size below the encoders\' stride is refused in one line', () => {
  const errors: string[] = [];
  const command = cli().exitOverride().configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined }).action(() => undefined);
  assert.throws(() => command.parse(['--model', 'models/default', '--image-size', String(MIN_IMAGE_SIZE - 16)], { from: 'user' }), /image-size/);
  assert.match(errors.join(''), new RegExp(`--image-size`));
  const accepted = cli().exitOverride().action(() => undefined).parse(['--model', 'models/default', '--image-size', '224'], { from: 'user' });
  assert.equal(accepted.opts().imageSize, 224);
});

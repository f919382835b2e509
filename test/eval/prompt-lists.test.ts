// The one check of a class list (generate on Node and in the page, few-shot,
// evaluation): its rules, its one-line errors that say what to do, and a
// checked list passing the layers under the check unchanged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckedClassNames, checkClassnames, classNamesOf, MAX_CLASSNAME_LENGTH } from '../../src/eval/prompt-lists.js';

test('class lists: every rule, each refusal one line that says what to do', () => {
  const refused: [unknown, string, { minimum?: number }?][] = [
    ['cat', 'names: expected a list of class names'],
    [['cat', 3], 'names: expected a list of class names'],
    [[], 'names: the class list is empty: give at least one class name'],
    [[], 'names: the class list is empty: give at least 2 classes', { minimum: 2 }],
    [['cat'], 'names: give at least 2 classes, got 1', { minimum: 2 }],
    [['cat', '  '], 'names: class 2 is empty: remove it or give it a name'],
    [['cat', 'dog', '\t\n'], 'names: class 3 is empty: remove it or give it a name'],
    [['cat', ' cat '], 'names: class "cat" appears twice: give each class once'],
    [['Sea lion', 'sea_lion'], 'names: class "sea_lion" appears twice: give each class once'],
    [['red  car', 'Red car'], 'names: class "Red car" appears twice: give each class once'],
    [['cat', 'x'.repeat(MAX_CLASSNAME_LENGTH + 1)], `names: class 2 is ${MAX_CLASSNAME_LENGTH + 1} characters long (the limit is ${MAX_CLASSNAME_LENGTH}): shorten it`],
    [['tab\u0007'], 'names: class 1 "tab\\u0007" holds the control character U+0007: remove it'],
  ];
  for (const [value, message, options] of refused) {
    assert.throws(() => CheckedClassNames.check(value, 'names', options), (err: Error) => {
      assert.equal(err.message, message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    }, message);
  }
});

test('valid lists keep their order and are normalised the same way everywhere', () => {
  const checked = CheckedClassNames.check([' red\tcar ', 'cafe\u0301', 'sea lion', 'Dog'], 'names');
  assert.deepEqual(checked.names, ['red car', 'café', 'sea lion', 'Dog']);
  assert.deepEqual(checkClassnames([' red\tcar ', 'cafe\u0301', 'sea lion', 'Dog'], 'names'), checked.names);
  assert.deepEqual(checkClassnames(['cat', 'dog'], 'names', { minimum: 2 }), ['cat', 'dog']);
});

test('a checked list passes the layers under the check as it is; a raw one is checked there', () => {
  const checked = CheckedClassNames.check(['cat', 'dog'], 'the page');
  const names = classNamesOf(checked, 'classes');
  assert.deepEqual(names, ['cat', 'dog']);
  names.push('bird'); // the layer's copy: the checked list stays as it was
  assert.deepEqual(checked.names, ['cat', 'dog']);
  assert.deepEqual(classNamesOf([' cat', 'dog '], 'classes'), ['cat', 'dog']);
  assert.throws(() => classNamesOf(['cat', 'Cat'], 'classes'), { message: 'classes: class "Cat" appears twice: give each class once' });
  // Checked by another copy of the module: its names are checked again.
  assert.deepEqual(classNamesOf({ names: [' cat'] } as unknown as CheckedClassNames, 'classes'), ['cat']);
  assert.throws(() => classNamesOf({ names: ['cat', 'cat'] } as unknown as CheckedClassNames, 'classes'), /appears twice/);
});

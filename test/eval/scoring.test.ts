// The metrics every report counts with, on hand-made ranks, scores and
// features whose answers are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../../src/engine/index.js';
import { ClassificationTally, retrievalRecall, top1Accuracy, topkRows } from '../../src/eval/scoring.js';

test('topkRows ranks each row best first and breaks ties towards the lower class index', () => {
  const scores = [0.1, 0.9, 0.5, 0.9, /* row 2 */ 3, 1, 2, 0];
  assert.deepEqual([...topkRows(scores, 2, 3)], [1, 3, 2, /* row 2 */ 0, 2, 1]);
});

test('a tally counts top-1, top-5, per-class accuracy and the largest confusions', () => {
  const classes = ['a', 'b', 'c', 'd', 'e', 'f'];
  const tally = new ClassificationTally(classes.length);
  assert.equal(tally.width, 5);
  // Image 0 (a) ranked first; image 1 (b) third; image 2 (f) outside the top 5; image 3 (b) first.
  tally.add([0, 1, 2, 3, 4, /**/ 2, 0, 1, 3, 4, /**/ 0, 1, 2, 3, 4], [0, 1, 5]);
  tally.add([1, 0, 2, 3, 4], [1]);
  const s = tally.scores(classes);
  assert.equal(s.samples, 4);
  assert.equal(s.top1, 2 / 4);
  assert.equal(s.top5, 3 / 4);
  assert.deepEqual(s.perClass.map((c) => [c.name, c.accuracy, c.count]).filter(([, , n]) => n !== 0), [['a', 1, 1], ['b', 0.5, 2], ['f', 0, 1]]);
  assert.ok(Number.isNaN(s.perClass.find((c) => c.name === 'c')!.accuracy), 'a class without images has no accuracy');
  assert.deepEqual(s.confusions, [{ truth: 'b', predicted: 'c', count: 1 }, { truth: 'f', predicted: 'a', count: 1 }]);
});

test('a tally of fewer than five classes ranks them all', () => {
  const tally = new ClassificationTally(3);
  assert.equal(tally.width, 3);
  tally.add([2, 1, 0], [0]);
  assert.deepEqual([tally.scores(['x', 'y', 'z']).top1, tally.scores(['x', 'y', 'z']).top5], [0, 1]);
});

test('a tally counts an image whose row ranks no class (-1) wrong, in top-1, top-5 and its class', () => {
  const classes = ['a', 'b', 'c'];
  const tally = new ClassificationTally(classes.length);
  // Image 0 (a): ranked a only; image 1 (b): no class at all; image 2 (c): c second.
  tally.add([0, -1, -1, /**/ -1, -1, -1, /**/ 1, 2, -1], [0, 1, 2]);
  const s = tally.scores(classes);
  assert.deepEqual([s.samples, s.top1, s.top5], [3, 1 / 3, 2 / 3]);
  assert.deepEqual(s.perClass.map((c) => [c.name, c.accuracy, c.count]), [['a', 1, 1], ['b', 0, 1], ['c', 0, 1]]);
  assert.deepEqual(s.confusions, [{ truth: 'c', predicted: 'b', count: 1 }], 'no class is no confusion');
});

test('top-1 accuracy from scores takes the first of tied maxima, as an argmax does', () => {
  const scores = Float64Array.from([0.5, 0.5, 0.1, /**/ 0.2, 0.7, 0.7, /**/ 0.9, 0.0, 0.3]);
  assert.equal(top1Accuracy(scores, [0, 2, 0]), 2 / 3);
  assert.equal(top1Accuracy(scores, [1, 1, 0]), 2 / 3);
});

test('retrieval recall: any caption of an image is a hit for it, in both directions', () => {
  const images = tensor(Float32Array.from([1, 0, 0, 1]), [2, 2]);
  // Captions 0 and 1 belong to image 0, captions 2 and 3 to image 1; captions 1 and 3 sit closer to the other image.
  const texts = tensor(Float32Array.from([1, 0, 0.6, 0.8, 0, 1, 0.8, 0.6]), [4, 2]);
  const r = retrievalRecall(images, texts, [0, 0, 1, 1]);
  assert.deepEqual(r.imageToText, { r1: 1, r5: 1, r10: 1 });
  assert.deepEqual(r.textToImage, { r1: 0.5, r5: 1, r10: 1 });
  assert.throws(() => retrievalRecall(images, texts, [0, 1]), /4 caption features for 2 captions/);
  images.dispose();
  texts.dispose();
});

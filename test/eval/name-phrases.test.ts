// WordNet name phrases for zero-shot class names: which phrases a name gets,
// which sense they come from under 'wordnet' (the first) and
// 'wordnet-imagenet' (the first that reaches ImageNet-1k), the option's check, and that a class embedding built from phrases is the
// mean over all its (template, phrase) prompts, with the hypernetwork
// conditioned on those means (a tiny model, checked by hand); the CLI's
// --name-phrases errors are one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, manualSeed, noGrad, rand, tidy, type Tensor } from '../../src/engine/index.js';
import { Tokenizer } from '../../src/data/tokenizer/index.js';
import { evalPreprocess } from '../../src/data/preprocess.js';
import { WordNet } from '../../src/data/wordnet.js';
import { HyperClip, resolveConfig } from '../../src/models/index.js';
import type { Bundle } from '../../src/bundle/bundle.js';
import { checkNamePhrases, imagenetReach, imagenetSenses, namePhrases, nameSenses, wordnetNamePhrases } from '../../src/eval/name-phrases.js';
import { tokenize } from '../../src/eval/text-features.js';
import { buildClassifier, disposeClassifier } from '../../src/eval/zeroshot.js';
import { generateClassifier } from '../../src/deploy/generate.js';
import { readOnnxInfo } from '../../src/deploy/onnx/read.js';
import { assertParity, feedOf, runOnnx } from '../deploy/helpers.js';

const wordnet = WordNet.load();

test('wordnet phrases: a known name gets "<name>, a kind of <hypernym>" for 2 levels of its first sense; an unknown one only itself', () => {
  const [cat, nonsense, tabby, crane] = wordnetNamePhrases(['cat', 'blorfwuzzle', 'tabby', 'crane'], wordnet);
  assert.deepEqual(cat, ['cat', 'cat, a kind of feline', 'cat, a kind of carnivore']);
  assert.deepEqual(nonsense, ['blorfwuzzle']);
  assert.deepEqual(tabby, ['tabby', 'tabby, a kind of domestic cat', 'tabby, a kind of cat']);
  // The first noun sense, whatever the dataset meant: WordNet's first "crane" is the writer Stephen Crane.
  assert.deepEqual(crane, ['crane', 'crane, a kind of writer', 'crane, a kind of communicator']);
  assert.deepEqual(wordnetNamePhrases(['cat'], wordnet, 1), [['cat', 'cat, a kind of feline']]);
});

test('wordnet phrases: multi-word names are looked up with spaces or underscores and in any case; the name is kept as written', () => {
  const [spaced, underscored, capital] = wordnetNamePhrases(['sweet pepper', 'sweet_pepper', 'Persian Cat'], wordnet);
  assert.deepEqual(spaced, ['sweet pepper', 'sweet pepper, a kind of capsicum', 'sweet pepper, a kind of shrub']);
  assert.deepEqual(underscored, ['sweet_pepper', 'sweet_pepper, a kind of capsicum', 'sweet_pepper, a kind of shrub']);
  assert.deepEqual(capital, ['Persian Cat', 'Persian Cat, a kind of domestic cat', 'Persian Cat, a kind of cat']);
  // WordNet has "maple" but no "maple tree": the name alone.
  assert.deepEqual(wordnetNamePhrases(['maple tree', 'maple_tree'], wordnet), [['maple tree'], ['maple_tree']]);
});

test('--name-phrases takes none, wordnet or wordnet-imagenet; none gives no phrases (the names alone, as before)', () => {
  assert.equal(checkNamePhrases('none'), 'none');
  assert.equal(checkNamePhrases('wordnet'), 'wordnet');
  assert.equal(checkNamePhrases('wordnet-imagenet'), 'wordnet-imagenet');
  for (const bad of ['WordNet', '', 'yes', 'imagenet', 'wordnet imagenet', undefined]) {
    assert.throws(() => checkNamePhrases(bad), { message: `--name-phrases must be none, wordnet or wordnet-imagenet, got ${JSON.stringify(bad)}` });
  }
  assert.equal(namePhrases(['cat'], 'none'), null);
  assert.deepEqual(namePhrases(['cat', 'blorfwuzzle'], 'wordnet', wordnet), [['cat', 'cat, a kind of feline', 'cat, a kind of carnivore'], ['blorfwuzzle']]);
});

/** A sense by the start of its gloss, so that the tests say which meaning they expect. */
const sense = (name: string, gloss: string) => {
  const found = wordnet.nounSynsets(name).find((s) => s.gloss.startsWith(gloss));
  assert.ok(found !== undefined, `WordNet has no sense of ${name} glossed "${gloss}..."`);
  return found;
};

test('wordnet-imagenet: tiger, seal and turtle take their animal sense; wordnet keeps the first (the person, the wax, the sweater)', () => {
  const names = ['tiger', 'seal', 'turtle'];
  assert.deepEqual(namePhrases(names, 'wordnet', wordnet), [
    ['tiger', 'tiger, a kind of person', 'tiger, a kind of organism'],
    ['seal', 'seal, a kind of fastener', 'seal, a kind of restraint'],
    ['turtle', 'turtle, a kind of sweater', 'turtle, a kind of garment'],
  ]);
  assert.deepEqual(namePhrases(names, 'wordnet-imagenet', wordnet), [
    ['tiger', 'tiger, a kind of big cat', 'tiger, a kind of feline'],
    ['seal', 'seal, a kind of pinniped mammal', 'seal, a kind of aquatic mammal'],
    ['turtle', 'turtle, a kind of chelonian', 'turtle, a kind of anapsid'],
  ]);
  const [tiger, seal, turtle] = nameSenses(names, 'wordnet-imagenet', wordnet);
  assert.deepEqual([tiger!.rule, seal!.rule, turtle!.rule], ['imagenet', 'imagenet', 'imagenet']);
  assert.equal(tiger!.synset, sense('tiger', 'large feline of forests'));
  assert.equal(seal!.synset, sense('seal', 'any of numerous marine mammals'));
  assert.equal(turtle!.synset, sense('turtle', 'any of various aquatic and land reptiles'));
  const first = nameSenses(names, 'wordnet', wordnet);
  assert.deepEqual(first.map((s) => s.rule), ['first', 'first', 'first']);
  assert.deepEqual(first.map((s) => s.synset), names.map((n) => wordnet.nounSynsets(n)[0]));
});

test('wordnet-imagenet: no sense reaching ImageNet-1k falls back to the first; an unknown name keeps only itself; names are looked up as in wordnet', () => {
  // ImageNet-1k has acorns but no tree: neither "oak" (the wood first, then the tree) reaches it.
  const [oak, nonsense, spaced, underscored] = nameSenses(['oak', 'blorfwuzzle', 'sweet pepper', 'Sweet_Pepper'], 'wordnet-imagenet', wordnet);
  assert.deepEqual(oak, { synset: sense('oak', 'the hard durable wood'), rule: 'first' });
  assert.deepEqual(nonsense, { synset: null, rule: 'none' });
  // The vegetable (an ImageNet class), not the plant that is the first sense.
  assert.deepEqual(spaced, { synset: sense('sweet pepper', 'large mild crisp'), rule: 'imagenet' });
  assert.deepEqual(underscored, spaced);
  assert.deepEqual(namePhrases(['oak', 'blorfwuzzle', 'Sweet_Pepper'], 'wordnet-imagenet', wordnet), [
    ['oak', 'oak, a kind of wood', 'oak, a kind of plant material'],
    ['blorfwuzzle'],
    ['Sweet_Pepper', 'Sweet_Pepper, a kind of pepper', 'Sweet_Pepper, a kind of solanaceous vegetable'],
  ]);
  assert.deepEqual(namePhrases(['oak', 'blorfwuzzle'], 'wordnet-imagenet', wordnet), namePhrases(['oak', 'blorfwuzzle'], 'wordnet', wordnet));
});

test('wordnet-imagenet: the first sense in WordNet\'s order that the reach holds, whatever holds later ones', () => {
  const bird = sense('crane', 'large long-necked wading bird'), machine = sense('crane', 'lifts and moves heavy objects');
  // ImageNet-1k holds both the machine (sense 4) and the bird (sense 5): the machine comes first.
  const reach = imagenetReach(wordnet);
  assert.ok(reach.has(bird.offset) && reach.has(machine.offset));
  assert.ok(!reach.has(sense('tiger', 'a fierce or audacious person').offset), 'the person "tiger" is under no ImageNet class\'s synset');
  assert.equal(imagenetReach(wordnet), reach, 'computed once per WordNet');
  assert.deepEqual(imagenetSenses(['crane'], wordnet, reach), [{ synset: machine, rule: 'imagenet' }]);
  assert.deepEqual(imagenetSenses(['crane'], wordnet, new Set([bird.offset])), [{ synset: bird, rule: 'imagenet' }]);
  assert.deepEqual(imagenetSenses(['crane'], wordnet, new Set()), [{ synset: wordnet.nounSynsets('crane')[0], rule: 'first' }]);
});

function tinyBundle(): Bundle {
  const tokenizer = Tokenizer.load('flickr8k-4k');
  const config = resolveConfig({ preset: 'test-tiny', text: { vocabSize: tokenizer.vocabSize, contextLength: tokenizer.contextLength } });
  const model = new HyperClip(config);
  // A non-zero hypernetwork head, so the generated norms depend on the class embeddings.
  noGrad(() => model.hypernet!.head.weight.copy_(rand(model.hypernet!.head.weight.shape).sub(0.5).mul(0.1)));
  model.eval();
  return { dir: '/nonexistent/test-bundle', model, config, tokenizer, preprocess: evalPreprocess(config.image.imageSize), extra: {} };
}

const TEMPLATES = ['a photo of a {}.', 'a drawing of a {}.'];
const NAMES = ['cat', 'blorfwuzzle', 'red car'];
// Different numbers per class: 3, 1 and 2 phrases.
const PHRASES = [['cat', 'cat, a kind of feline', 'cat, a kind of carnivore'], ['blorfwuzzle'], ['red car', 'red car, a kind of motor vehicle']];

const maxDiff = (a: Tensor, b: Tensor): number => noGrad(() => tidy(() => a.sub(b).abs().amax().item()));

test('a class embedding from phrases is the normalised mean over its template x phrase prompts; the hypernetwork reads those K means', () => {
  manualSeed(21);
  const bundle = tinyBundle();
  const classifier = buildClassifier(bundle, NAMES, TEMPLATES, PHRASES);
  noGrad(() => tidy(() => {
    // By hand: each class's prompts one by one, normalised, averaged, normalised.
    const byHand = F.cat(PHRASES.map((list) => {
      const prompts = list.flatMap((p) => TEMPLATES.map((t) => t.replace('{}', p)));
      const each = F.normalize(bundle.model.encodeText(tokenize(bundle.tokenizer, prompts)), -1); // [n, E]
      return F.normalize(each.mean(0, true), -1); // [1, E]
    }), 0); // [K, E]
    assert.deepEqual(classifier.classEmbeddings.shape, [NAMES.length, bundle.config.embedDim]);
    assert.ok(maxDiff(classifier.classEmbeddings, byHand) < 1e-5, `class embeddings differ by ${maxDiff(classifier.classEmbeddings, byHand)}`);
    const norms = bundle.model.generateNormParams(byHand.unsqueeze(0));
    assert.ok(norms.size > 0);
    for (const [name, { scale, shift }] of norms) {
      const got = classifier.normParams!.get(name)!;
      assert.ok(maxDiff(got.scale, scale) < 1e-5 && maxDiff(got.shift, shift) < 1e-5, `${name}: generated norms differ`);
    }
    // Not the plain names' classifier: the phrases moved the classes that have some.
    const plain = buildClassifier(bundle, NAMES, TEMPLATES);
    assert.ok(maxDiff(plain.classEmbeddings.narrow(0, 0, 1), byHand.narrow(0, 0, 1)) > 1e-3);
    assert.ok(maxDiff(plain.classEmbeddings.narrow(0, 1, 1), byHand.narrow(0, 1, 1)) < 1e-5, 'a class whose only phrase is its name is unchanged');
    disposeClassifier(plain);
  }));
  disposeClassifier(classifier);
  bundle.model.dispose();
});

test('phrases that are the names alone give the plain classifier; bad phrase lists are one line', () => {
  manualSeed(22);
  const bundle = tinyBundle();
  const plain = buildClassifier(bundle, NAMES, TEMPLATES);
  const same = buildClassifier(bundle, NAMES, TEMPLATES, NAMES.map((n) => [n]));
  assert.ok(maxDiff(plain.classEmbeddings, same.classEmbeddings) < 1e-5);
  for (const [name, { scale }] of plain.normParams!) assert.ok(maxDiff(same.normParams!.get(name)!.scale, scale) < 1e-5, name);
  disposeClassifier(plain);
  disposeClassifier(same);
  assert.throws(() => buildClassifier(bundle, NAMES, TEMPLATES, [['cat']]), /1 phrase lists were given for 3 classes/);
  assert.throws(() => buildClassifier(bundle, NAMES, TEMPLATES, [['cat'], [], ['red car']]), /class 1 \(blorfwuzzle\) has no phrases/);
  bundle.model.dispose();
});

test('a generated classifier with phrases records them and scores as the engine does with them', async () => {
  manualSeed(23);
  const bundle = tinyBundle();
  const generated = generateClassifier(bundle, { classNames: NAMES, templates: TEMPLATES, output: 'logits', phrases: PHRASES });
  const metadata = readOnnxInfo(generated.bytes).metadata;
  assert.deepEqual(JSON.parse(metadata['hyperclip.phrases']!), PHRASES);
  assert.deepEqual(JSON.parse(metadata['hyperclip.templates']!), TEMPLATES);
  const size = bundle.preprocess.size;
  const pixels = rand([2, 3, size, size]).sub(0.5).mul(2);
  const engine = noGrad(() => tidy(() => bundle.model.classify(pixels, buildClassifier(bundle, NAMES, TEMPLATES, PHRASES)))); // [2, K]
  const onnx = (await runOnnx(generated.bytes, { image: feedOf(pixels) })).logits!;
  assertParity(onnx, engine, 1e-3, 'a phrase classifier\'s logits, ONNX vs engine');
  const plain = generateClassifier(bundle, { classNames: NAMES, templates: TEMPLATES, output: 'logits' });
  assert.equal(readOnnxInfo(plain.bytes).metadata['hyperclip.phrases'], undefined, 'no phrases, no key: plain files are as before');
  bundle.model.dispose();
});

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const VALIDATION = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../experiments/validation.js');
const run = (file: string, ...args: string[]) => spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...process.env, HYPERCLIP_THREADS: '1' } });

test('--name-phrases errors: one line on stderr and a non-zero exit, before any image is read', () => {
  const cases: [string, string[], RegExp][] = [
    [CLI, ['eval', '--dataset', 'cifar10', '--name-phrases', 'bogus'], /--name-phrases must be none, wordnet or wordnet-imagenet, got "bogus"/],
    [CLI, ['eval', '--dataset', 'cifar10', '--name-phrases', 'wordnet-imagenet', '--corruptions', 'all'], /--name-phrases applies to clean zero-shot/],
    [CLI, ['eval', '--dataset', 'cifar10', '--name-phrases', 'wordnet', '--corruptions', 'all'], /--name-phrases applies to clean zero-shot/],
    [CLI, ['eval', '--dataset', 'flickr8k', '--name-phrases', 'wordnet'], /--name-phrases applies to zero-shot classification; flickr8k .*retrieval/],
    [CLI, ['generate', '--classes', 'cat,dog', '--name-phrases', 'kind-of', '-o', '/nonexistent/x.onnx'], /--name-phrases must be none, wordnet or wordnet-imagenet, got "kind-of"/],
    [CLI, ['generate', '--classes', 'cat,dog', '--name-phrases', 'wordnet-imagenet', '--engine', 'onnx', '-o', '/nonexistent/x.onnx'], /need the libtorch engine.*use --engine libtorch/],
    [CLI, ['generate', '--classes', 'cat,dog', '--name-phrases', 'wordnet', '--engine', 'onnx', '-o', '/nonexistent/x.onnx'], /need the libtorch engine.*use --engine libtorch/],
    [VALIDATION, ['--model', 'models/default', '--name-phrases', 'bogus'], /^validation: --name-phrases must be none, wordnet or wordnet-imagenet, got "bogus"/],
    [VALIDATION, ['--model', 'models/default', '--figures', 'tiny-imagenet,test'], /^validation: --figures takes tiny-imagenet, held-out, groups; got "test"/],
  ];
  for (const [file, args, message] of cases) {
    const result = run(file, ...args);
    assert.notEqual(result.status, 0, `${args.join(' ')} should fail`);
    assert.match(result.stderr, message, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${result.stderr}`);
  }
});

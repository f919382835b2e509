// docs/fewshot.md from the few-shot experiment's record: accuracy vs shots
// per method (mean ± std over draws), the target check, a plot per dataset,
// and examples of the descriptions SLR-AVD selected.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderPng } from '../../tools/render-png.js';
import { accuracyDifferenceError, judgeNoise, MIN_PAIRS, pairedDifference, pairedStandardError, type NoiseVerdict } from '../../tools/stats.js';
import { markdownTable, percent } from '../../src/eval/format.js';
import { VARIANTS, type DatasetResult, type RunPlan } from './dataset-run.js';

export interface FewShotRecord {
  model: string;
  modelName: string;
  plan: RunPlan;
  command: string;
  host: { cpus: number; cpuModel: string; threads: number; node: string };
  finished: string;
  seconds: number;
  results: DatasetResult[];
  /** Datasets of the experiment without a finished run for this model and plan. */
  missing?: string[];
  note?: string;
}

function stats(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

const cell = (r: DatasetResult, variant: string, shots: number) => stats(r.fits.filter((f) => f.variant === variant && f.shots === shots).map((f) => f.accuracy));

function table(r: DatasetResult, plan: RunPlan): string[] {
  const rows = plan.shots.map((shots) => [shots, percent(r.zeroShot), ...VARIANTS.map((v) => { const s = cell(r, v.id, shots); return `${percent(s.mean)} ± ${percent(s.std)}`; })]);
  return markdownTable(['shots', 'zero-shot', ...VARIANTS.map((v) => v.label)], rows);
}

function sparsity(r: DatasetResult, plan: RunPlan): string[] {
  const rows = plan.shots.map((shots) => {
    const fits = r.fits.filter((f) => f.variant === 'slr-avd' && f.shots === shots);
    const nz = stats(fits.map((f) => f.nonZeros));
    return [shots, `${nz.mean.toFixed(0)} of ${fits[0]!.features * r.classes}`, fits.map((f) => f.lambda.toPrecision(2)).join(', '), stats(fits.map((f) => f.seconds)).mean.toFixed(1)];
  });
  return markdownTable(['shots', 'SLR-AVD non-zero weights (of classes x features)', 'chosen lambda per draw', 'seconds per fit (CV + refit; wall clock)'], rows);
}

/** Per draw: the fits of one method and shot count by draw (the methods share each draw's shots, so differences pair by draw). */
const byDraw = (r: DatasetResult, variant: string, shots: number) =>
  new Map(r.fits.filter((f) => f.variant === variant && f.shots === shots).map((f) => [f.draw, f.accuracy]));

/**
 * a − b paired over draws, judged by the reports' one rule (twice the standard error); with one draw,
 * the standard error of a difference of two accuracies on the test images.
 */
export function drawNoise(r: DatasetResult, a: Map<number, number>, b: Map<number, number>): { difference: number; noise: NoiseVerdict } {
  const d = pairedDifference(a, b);
  if (d.n >= MIN_PAIRS) return { difference: d.mean, noise: judgeNoise(d.mean, pairedStandardError(d)) };
  const [x, y] = [[...a.values()][0]!, [...b.values()][0]!];
  return { difference: x - y, noise: judgeNoise(x - y, accuracyDifferenceError(x, y, r.testImages)) };
}

/** The target: SLR-AVD >= linear probe at every shot count, > zero-shot from 4 shots; each shortfall says whether it is beyond noise. */
export function targetLines(r: DatasetResult, plan: RunPlan, variant: string): string[] {
  const misses: string[] = [];
  let compared = 0, beyond = 0;
  for (const shots of plan.shots) {
    const slr = byDraw(r, variant, shots), probe = byDraw(r, 'linear-probe', shots);
    const zeroShot = new Map([...slr.keys()].map((draw) => [draw, r.zeroShot]));
    const checks = [{ against: 'linear probe', other: probe, strict: false }, ...(shots >= 4 ? [{ against: 'zero-shot', other: zeroShot, strict: true }] : [])];
    for (const { against, other, strict } of checks) {
      compared++;
      const { difference, noise } = drawNoise(r, slr, other);
      if (strict ? difference > 0 : difference >= 0) continue;
      if (noise === 'beyond noise') beyond++;
      misses.push(`${shots}-shot: ${percent(cell(r, variant, shots).mean)}% vs ${against} ${percent(stats([...other.values()]).mean)}%, ${percent(difference, { sign: true })} points, ${noise}`);
    }
  }
  const label = VARIANTS.find((v) => v.id === variant)!.label;
  if (misses.length === 0) return [`- ${label}: **met** at every shot count.`];
  const verdict = beyond === 0 ? 'every shortfall within noise' : `${beyond} of them beyond noise`;
  return [`- ${label}: **missed** in ${misses.length} of ${compared} comparisons, ${verdict} (${misses.join('; ')}).`];
}

function plotSpec(r: DatasetResult, plan: RunPlan): TopLevelSpec {
  const values = [
    ...plan.shots.map((shots) => ({ method: 'zero-shot', shots, mean: 100 * r.zeroShot, low: 100 * r.zeroShot, high: 100 * r.zeroShot })),
    ...VARIANTS.flatMap((v) => plan.shots.map((shots) => {
      const s = cell(r, v.id, shots);
      return { method: v.label, shots, mean: 100 * s.mean, low: 100 * (s.mean - s.std), high: 100 * (s.mean + s.std) };
    })),
  ];
  const x = { field: 'shots', type: 'quantitative' as const, title: 'labelled images per class', scale: { type: 'log' as const, base: 2 }, axis: { values: plan.shots } };
  const color = { field: 'method', type: 'nominal' as const, title: null, legend: { orient: 'bottom' as const, columns: 2, labelLimit: 400 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: `${r.dataset} test (${r.testImages} images): top-1 vs shots, mean ± std over ${plan.draws} draws`, fontSize: 13 },
    width: 560, height: 300, background: 'white',
    config: { font: 'DejaVu Sans', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 } },
    data: { values },
    layer: [
      { mark: { type: 'errorband', opacity: 0.15 }, encoding: { x, y: { field: 'low', type: 'quantitative', title: 'top-1 accuracy (%)' }, y2: { field: 'high' }, color } },
      { mark: { type: 'line', point: true, strokeWidth: 1.5 }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    ],
  };
}

export async function writeFewShotReport(record: FewShotRecord, file: string): Promise<void> {
  const plotDir = path.join(path.dirname(file), 'plots');
  mkdirSync(plotDir, { recursive: true });
  const { plan } = record;
  const out: string[] = [
    '# Few-shot with visual descriptions (SLR-AVD)',
    '',
    '"Text descriptions are compressive and invariant representations for visual learning"',
    '(Feng, Bair, Kolter): describe each class several ways, represent an image by its',
    'similarities to all descriptions, fit a sparse (L1) multinomial logistic regression on a',
    'few labelled images per class. Here on the features of a hyperclip model (`src/fewshot/`,',
    '`hyperclip fewshot`).',
    '',
    '## Use it',
    '',
    '```sh',
    'hyperclip fewshot --dataset cifar10 --descriptions wordnet --shots 1,4,16 --limit 2000 -o c10.onnx',
    'hyperclip fewshot --classes "cat,dog" --train "my/train-{000..003}.tar" --descriptions my-descriptions.json -o pets.onnx',
    'hyperclip fewshot --classes "cat,dog" --train "my/train-*.tar" --descriptions http://127.0.0.1:8080 --chat-model llama3',
    '```',
    '',
    'It prints progress, the descriptions the sparse head selected for each class (positive weights, largest',
    'first), and a summary line; `--json` gives the fits, the accuracy and the selections as JSON; `-o` writes the',
    'head of the largest shot count as a classifier of the same kind `hyperclip generate` writes (the image encoder',
    'generated from the task\'s texts with its norm parameters folded into the convolutions, the matrix of the',
    'descriptions the head uses, the sparse head with the standardisation folded in; same input, output and',
    'class-name metadata), so `hyperclip classify` runs it unchanged. `--baselines` also fits L1 on the class prompts',
    'and the L2 linear probe; `--conditioning descriptions` generates the image encoder from all descriptions.',
    '`--descriptions URL` asks an OpenAI-compatible chat server (`/v1/chat/completions`, e.g. a local llama.cpp or',
    'ollama) for each class\'s descriptions; that client is tested against a local HTTP server the test starts',
    '(`test/fewshot/chat.test.ts`), not against a real language model. Bad input: a class missing from a description',
    'file, duplicate classes, fewer labelled images than shots x draws are one error line each; a class with an',
    'empty description list, or a name WordNet does not know (tried again by its last, then first word), gets a',
    'warning line and keeps its class prompt only.',
    '',
    '## Setup',
    '',
    `- Command: \`${record.command}\` (${(record.seconds / 60).toFixed(1)} minutes; ${record.host.threads} libtorch thread(s)). ` +
    `This page is rebuilt from its committed records (runs/fewshot/*.json) by \`npm run experiment:fewshot -- --report-only --shots ${plan.shots.join(',')} ` +
    `--draws ${plan.draws} --limit ${plan.testLimit} --folds ${plan.folds}\`.`,
    `- Machine: ${record.host.cpus}-core CPU (${record.host.cpuModel}), no GPU; Node ${record.host.node}.`,
    `- Model: \`${record.model}\` (${record.modelName}), at its own evaluation preprocessing (its config's image size). It never saw a`,
    '  CIFAR image in training, but many CIFAR class names are among its training labels (Tiny ImageNet), in its captions',
    '  (Flickr8k) or, for a model on an ImageNet-pretrained encoder, among ImageNet-1k\'s classes: [overlap.md](overlap.md)',
    '  lists them (CIFAR-100: 35 of 100 names are Tiny ImageNet labels; 29 are ImageNet-1k classes, 45 more have ImageNet hyponyms).',
    `- Shots: ${plan.shots.join(', ')} labelled images per class from the **train** split, ${plan.draws} draws each. The train shards are stored`,
    `  shuffled; the first ${Math.max(...plan.shots) * plan.draws} images of each class are set aside, draw d takes images [16d, 16d + k) of`,
    '  each class, so the k-shot sets of one draw are nested.',
    `- Test: a seeded sample of ${plan.testLimit} images of each **test** split (the same images for every method and draw; the`,
    '  sampling `hyperclip eval --limit` uses). CIFAR-100 is the data folder\'s 75/25 re-split, not the official split.',
    `- Descriptions: ${record.results.map((r) => `${r.dataset}: ${r.descriptions} from ${r.descriptionSource}`).join('; ')}.`,
    '  CIFAR-10 has no published descriptor file: its descriptions are generated from WordNet (first clause of the gloss,',
    '  two hypernyms, up to two synonyms, up to six parts), e.g. "a cat, which has a tail".',
    '  Every class also keeps its class prompt (CLIP templates averaged): the augmented set.',
    ...(record.missing && record.missing.length > 0
      ? [`- **No committed run record yet for ${record.missing.join(', ')}** (this model and plan): \`npm run experiment:fewshot -- --datasets ${record.missing.join(',')} ` +
        `--shots ${plan.shots.join(',')} --draws ${plan.draws} --limit ${plan.testLimit} --folds ${plan.folds}\` measures it into runs/fewshot/ and adds its section here.`] : []),
    ...(record.note ? [`- Note: ${record.note}`] : []),
    '- Methods, all fitted on the same shots, penalty chosen by stratified',
    `  ${plan.folds}-fold cross-validation on the shots only (fewer folds when there are fewer shots: 2 at 2 shots). With **1 shot**`,
    '  cross-validation is impossible (a held-out class has nothing to train on); the stated fallback is a fixed',
    '  penalty: 0.1 x lambda_max for L1, 0.01 for L2.',
    '  - zero-shot: the generated classifier (encoder conditioned on the class prompts, cosine to the class prompts).',
    '  - SLR-AVD: features = cosine of the image embedding with every description and class prompt, standardised with',
    '    the shots\' statistics; L1 multinomial logistic regression (FISTA), an 8-penalty path from lambda_max down to',
    '    0.01 lambda_max with warm starts. Two image encoders: the one generated from the **class prompts** (the',
    '    deployed zero-shot encoder) and the one generated from **all descriptions and prompts** as the task set.',
    '  - L1 on class-prompt features: the same with the class prompts only (K features).',
    '  - L2 linear probe: L2-regularised multinomial logistic regression on the standardised image embeddings',
    '    (class-prompt encoder), penalty path 10 to 1e-3 (8 values).',
    '',
  ];
  for (const r of record.results) {
    const png = path.join(plotDir, `fewshot-${r.dataset}.png`);
    writeFileSync(png, await renderPng(plotSpec(r, plan)));
    out.push(
      `## ${r.dataset}: top-1 (%) on ${r.testImages} test images, mean ± std over ${plan.draws} draws`, '',
      ...table(r, plan), '',
      `![${r.dataset} accuracy vs shots](${path.relative(path.dirname(file), png).split(path.sep).join('/')})`, '',
      'Target (SLR-AVD at or above the linear probe at every shot count, above zero-shot from 4 shots):', '',
      ...targetLines(r, plan, 'slr-avd'), ...targetLines(r, plan, 'slr-avd-desc'), '',
      'SLR-AVD (class-prompt encoder): sparsity and cost', '',
      ...sparsity(r, plan), '',
      `Descriptions SLR-AVD selected with ${Math.max(...plan.shots)} shots (draw 0; positive weights, largest first; first classes):`, '',
      ...r.example.map((e) => `- **${e.className}**: ${e.texts.length === 0 ? '(none positive)' : e.texts.join('; ')}`), '',
    );
  }
  writeFileSync(file, out.join('\n'));
}

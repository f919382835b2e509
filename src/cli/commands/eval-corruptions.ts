// `hyperclip eval --corruptions ...`: zero-shot accuracy on the clean images
// and on every requested corruption and severity, as a table or JSON.
import type { Bundle } from '../../bundle/bundle.js';
import type { CaptionSource, ResolvedData } from '../../data/index.js';
import { parseCorruptions, parseSeverities } from '../../eval/corruptions/corruptions.js';
import { evaluateCorruptions } from '../../eval/corruptions/evaluate.js';
import { formatCorruptions } from '../../eval/corruptions/report.js';
import { createProgress, printSummary } from '../progress.js';

export interface CorruptionCliOptions {
  corruptions: string;
  severities: string;
  seed: number;
  limit?: number;
  batchSize: number;
  json?: boolean;
}

/** The labelled data (resolveData, labels required) and its chosen templates. */
export async function runCorruptions(bundle: Bundle, opts: CorruptionCliOptions, source: ResolvedData, templates: string[]): Promise<void> {
  const corruptions = parseCorruptions(opts.corruptions);
  const severities = parseSeverities(opts.severities);
  const classnames = source.classnames!;
  const caption: CaptionSource = { kind: 'label', classnames, templates };
  const progress = createProgress('corruptions', 1 + corruptions.length * severities.length);
  const result = await evaluateCorruptions(bundle, { ...source.source, caption }, classnames, templates,
    { corruptions, severities, limit: opts.limit, batchSize: opts.batchSize, seed: opts.seed, onProgress: (done) => progress.update(done) });
  progress.stop();
  if (opts.json) console.log(JSON.stringify({ dataset: source.name, model: bundle.dir, templates: templates.length, ...result }, null, 2));
  else console.log(formatCorruptions(result));
  printSummary(`${source.name} corruptions: clean top-1 ${(100 * result.clean).toFixed(2)}%, mean corrupted top-1 ` +
    `${(100 * result.meanCorrupted).toFixed(2)}% (${result.samples} images, ${corruptions.length} corruptions x severities ${severities.join(',')})`, opts.json);
}

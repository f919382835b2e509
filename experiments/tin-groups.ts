// The WordNet groups figure of a finished model, for model selection among
// saved models: zero-shot among the WordNet groups of Tiny ImageNet's
// trainable classes ("canine", "bird", "bridge" and the classes left
// alone; src/eval/tin-groups.ts) on those classes' val images, the same
// figure validation.groupsLimit reports during training. Reads no test set
// and no held-out class's image.
//   npm run experiment:groups -- --model DIR [--limit N] [--name-phrases none|wordnet|wordnet-imagenet] [--out FILE]
// Writes runs/groups/<model folder name>.json (with WordNet name phrases:
// <name>.name-phrases-<mode>.json); progress on stderr, a one-line summary last on stdout.
import { Command } from 'commander';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadBundle } from '../src/bundle/bundle.js';
import { isPretrainedFolder } from '../src/bundle/pretrained.js';
import { integer } from '../src/cli/parse.js';
import { setNumThreads } from '../src/engine/index.js';
import { percent } from '../src/eval/format.js';
import { GROUPS_RULE } from '../src/eval/tin-groups.js';
import { checkNamePhrases, NAME_PHRASES, type NamePhrases } from '../src/eval/name-phrases.js';
import { projectRoot } from '../src/project-root.js';
import { groupsZeroShot } from '../src/train/validate.js';
import { isEntryPoint, reportingErrors } from '../tools/script-entry.js';
import { writeJsonAtomic } from '../src/engine/atomic-write.js';

interface Options { model: string; limit: number; threads: number; namePhrases: string; out?: string }

/** The record written to --out. */
export interface GroupsRecord {
  model: string;
  modelName: string;
  /** Images asked for: a seeded sample of the trainable classes' val images, as validation reads them. */
  limit: number;
  samples: number;
  groups: number;
  /** How the group names were prompted: 'none', the names alone (the validation figure as training reports it), or with WordNet phrases (src/eval/name-phrases.ts). */
  namePhrases: NamePhrases;
  top1: number;
  top5: number;
  rule: string;
  groupNames: string[];
  command: string;
  /** When the evaluation finished (ISO 8601), and how long it took. */
  time: string;
  seconds: number;
}

const say = (text: string): void => { process.stderr.write(`tin-groups: ${text}\n`); };

async function main(opts: Options): Promise<void> {
  const namePhrases = checkNamePhrases(opts.namePhrases);
  const out = modelRecordPath(opts.model, 'group names', { folder: 'groups', namePhrases, out: opts.out });
  setNumThreads(opts.threads);
  const started = Date.now();
  const bundle = loadBundle(opts.model);
  let record: GroupsRecord;
  try {
    say(`${opts.model}: ${opts.limit} tiny-imagenet val images of the trainable classes (rule: ${GROUPS_RULE}; name phrases: ${namePhrases})`);
    let reported = 0;
    const result = await groupsZeroShot(bundle, opts.limit, {
      workers: opts.threads, namePhrases,
      onProgress: (done) => { if (done - reported >= 100 || done >= opts.limit) { reported = done; say(`${done}/${opts.limit} images`); } },
    });
    record = {
      model: path.relative(projectRoot(), path.resolve(opts.model)) || opts.model, modelName: bundle.config.name, limit: opts.limit,
      samples: result.samples, groups: result.groups, namePhrases, top1: result.top1, top5: result.top5, rule: GROUPS_RULE,
      groupNames: result.perClass.map((c) => c.name), command: ['npm run experiment:groups --', ...process.argv.slice(2)].join(' '),
      time: new Date().toISOString(), seconds: (Date.now() - started) / 1000,
    };
  } finally {
    bundle.model.dispose();
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeJsonAtomic(out, record);
  const shown = path.relative(process.cwd(), out);
  say(`wrote ${shown.startsWith('..') || shown === '' ? path.resolve(out) : shown}`);
  console.log(`${record.model}: tiny-imagenet val WordNet groups zero-shot top-1 ${percent(record.top1, { unit: true })}, ` +
    `top-5 ${percent(record.top5, { unit: true })} on ${record.samples} images of ${record.groups} groups`);
}

export const cli = (): Command => new Command()
  .name('tin-groups')
  .description('zero-shot among WordNet groups of Tiny ImageNet\'s trainable classes ("canine", "bird", ...) on their val images, for a saved model')
  .requiredOption('--model <dir>', 'a hyperclip model folder (e.g. models/default)')
  .option('--limit <n>', 'val images: a seeded sample of the trainable classes\' images, as validation.groupsLimit reads them', integer('limit'), 1000)
  .option('--threads <n>', 'libtorch and decoding threads', integer('threads'), 2)
  .option(`--name-phrases <${NAME_PHRASES.join('|')}>`, 'wordnet: each group name with the WordNet hypernym phrases of its first sense; ' +
    'wordnet-imagenet: of its first sense at or above an ImageNet-1k class (src/eval/name-phrases.ts)', 'none')
  .option('--out <file>', 'the JSON record (default runs/groups/<model folder name>[.name-phrases-<mode>].json)');

if (isEntryPoint(import.meta.url)) cli().action(reportingErrors('tin-groups', main)).parseAsync();

/** A model folder's name, or its run's for a run folder's model/ ("runs/experiment/X-s0/model" -> "X-s0"). */
export function recordName(modelDir: string): string {
  const resolved = path.resolve(modelDir);
  return path.basename(resolved) === 'model' ? path.basename(path.dirname(resolved)) : path.basename(resolved);
}

/**
 * For an experiment that scores `scored` (e.g. "class names") with a saved
 * model's text side and writes one JSON record: throws one line unless
 * `modelDir` is a hyperclip model folder, and returns where the record goes:
 * `out` when given, else runs/<folder>/<recordName>[.name-phrases-<mode>].json.
 */
export function modelRecordPath(modelDir: string, scored: string, record: { folder: string; namePhrases: NamePhrases; out?: string }): string {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) throw new Error(`no model folder at ${modelDir}: pass a hyperclip model folder (e.g. models/default)`);
  if (isPretrainedFolder(modelDir)) throw new Error(`${modelDir} is an imported ImageNet network (hyperclip import): it has no text side to score ${scored} with`);
  if (record.out !== undefined) return record.out;
  const suffix = record.namePhrases === 'none' ? '' : `.name-phrases-${record.namePhrases}`;
  return path.join(projectRoot(), 'runs', record.folder, `${recordName(modelDir)}${suffix}.json`);
}

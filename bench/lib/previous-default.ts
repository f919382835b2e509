// The shipped default model before the MobileNet v2 one (tiny-hyperclip-d,
// an EfficientNet-style encoder at 64 px, 1.9 MB classifiers), for
// bench:deploy's old-vs-new rows. Its folder (weights, ONNX files, tokenizer)
// is committed in the repository's history, so it is read from there into a
// temporary folder; where that history is missing, its figures recorded
// earlier are reported instead.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultModelDir, loadBundle } from '../../src/bundle/bundle.js';
import { generateFromFolder } from '../../src/deploy/generate-folder.js';
import { deploymentFolder } from './bench-model.js';
import { imageSizeOf, imagenetNames, openClassifier, templatesOf, type OpenClassifier } from './deploy-inputs.js';

/** The parent of the commit that replaced models/default with the MobileNet v2 model (fc607de). */
export const PREVIOUS_DEFAULT_COMMIT = 'fc607de~1';

/**
 * The old default's dense 10-class classifier as docs/pruning.md recorded it at commit a41d087
 * (from runs/pruning/results.jsonl): CIFAR-10 class names, onnxruntime-node with ONE thread,
 * median latency at batch 1 and throughput at batch 64, on an otherwise idle 2-core machine.
 */
export const RECORDED_PREVIOUS = {
  source: 'docs/pruning.md at commit a41d087, "Pruned classifiers" table, dense row (CIFAR-10 names, onnxruntime one thread)',
  classifierKb: 1895,
  batch1Ms: 0.37,
  batch64ImagesPerSecond: 4655,
};

/** models/default as it was at `commit`, in a new temporary folder; the caller removes it. Throws when git or the commit is missing. */
export function extractDefaultModelAt(commit: string): string {
  const modelDir = defaultModelDir();
  const repository = path.dirname(path.dirname(modelDir));
  const relative = path.relative(repository, modelDir);
  const archive = execFileSync('git', ['-C', repository, 'archive', '--format=tar', commit, relative],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperclip-bench-previous-'));
  try {
    // The archive's paths start with models/default/: strip both parts so the files land in dir.
    execFileSync('tar', ['-x', '-C', dir, `--strip-components=${relative.split(path.sep).length}`], { input: archive });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

/** The previous default's classifier, for the old-vs-new rows. */
export interface PreviousModel {
  name: string;
  imageSize: number;
  classifier: OpenClassifier;
}

/**
 * models/default at `commit`, unpacked into a temporary folder (added to `temporary`), and its
 * classifier for the first `classes` ImageNet names; null where git history cannot give it.
 */
export async function openPrevious(commit: string, classes: number, temporary: string[]): Promise<PreviousModel | null> {
  let dir: string;
  try {
    dir = extractDefaultModelAt(commit);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    console.log(`previous default: models/default at ${commit} is not available from git (${reason}): NOT re-measured; its recorded figures are reported`);
    return null;
  }
  temporary.push(dir);
  const bundle = loadBundle(dir);
  const deploy = deploymentFolder(bundle);
  if (deploy.exported) temporary.push(deploy.dir);
  const imageSize = imageSizeOf(deploy.dir);
  const generated = await generateFromFolder(deploy.dir, { classNames: imagenetNames(classes), templates: await templatesOf(deploy.dir) });
  console.log(`previous default: ${bundle.config.name} (${bundle.config.image.family}, ${imageSize} px) from models/default at ${commit}`);
  return { name: bundle.config.name, imageSize, classifier: await openClassifier(generated.bytes, imageSize) };
}

/** The previous default's classifier beside the current one's: measured in the same rounds, or its recorded figures. */
export function reportPrevious(t: Record<string, number>, classes: number, previous: PreviousModel | null): void {
  if (previous === null) {
    const r = RECORDED_PREVIOUS;
    console.log(`previous default NOT re-measured; recorded in ${r.source}: ${r.classifierKb} KB, batch 1 ${r.batch1Ms} ms, batch 64 ${r.batch64ImagesPerSecond} img/s`);
    console.log(`previous_default_recorded_classifier_kb=${r.classifierKb}`);
    console.log(`previous_default_recorded_classifier_batch1_ms=${r.batch1Ms}`);
    console.log(`previous_default_recorded_classifier_batch64_img_per_s=${r.batch64ImagesPerSecond}`);
    return;
  }
  console.log(`previous default ${previous.name} (${previous.imageSize} px), ${classes} classes: classifier ${t.previousKb!.toFixed(0)} KB, ` +
    `batch 1 ${(t.previousB1! * 1000).toFixed(2)} ms, batch 64 ${(1 / t.previousB64!).toFixed(0)} img/s (same interleaved rounds as the model above)`);
  console.log(`previous_default_classifier_kb=${t.previousKb!.toFixed(0)}`);
  console.log(`previous_default_classifier_batch1_ms=${(t.previousB1! * 1000).toFixed(2)}`);
  console.log(`previous_default_classifier_batch64_img_per_s=${(1 / t.previousB64!).toFixed(0)}`);
  console.log(`batch1_latency_vs_previous=${(t.classifierB1! / t.previousB1!).toFixed(2)}`);
  console.log(`batch64_time_per_image_vs_previous=${(t.classifierB64! / t.previousB64!).toFixed(2)}`);
}

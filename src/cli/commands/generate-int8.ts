// `hyperclip generate --int8 --calib IMAGES`: the options that make a
// generated classifier 8-bit, checked before anything is generated, and the
// step that turns the float32 file into its int8 twin with progress on
// stderr. An option that could not take effect is an error, not a silent
// no-op.
import { resolveData, type ResolvedData } from '../../data/index.js';
import { evalPreprocess } from '../../data/preprocess.js';
import type { ClassifierMetadata } from '../../deploy/metadata.js';
import { readCalibrationSet } from '../../deploy/quantize/calibration-images.js';
import { FLOAT_LAYERS, quantizeClassifier, type FloatLayers } from '../../deploy/quantize/quantize.js';
import { openRunner } from '../../deploy/runtime/node.js';
import { createProgress } from '../progress.js';

export interface Int8CliOptions {
  int8?: boolean;
  calib?: string;
  calibN?: number;
  biasCorrection?: string;
  floatLayers?: string;
}

/** At most this many calibration images by default: a few hundred settle min/max ranges, and they stay in memory (79 MB at 160 px). */
export const DEFAULT_CALIBRATION_IMAGES = 256;

export interface Int8Request {
  data: ResolvedData;
  limit: number;
  biasCorrection: boolean;
  floatLayers: FloatLayers;
}

const SWITCH = ['on', 'off'];

/** The checked int8 request, or null for a float32 classifier; throws the one line that says what to change. */
export function int8Request(opts: Int8CliOptions): Int8Request | null {
  if (!opts.int8) {
    if (opts.calib !== undefined) throw new Error('--calib only takes effect with --int8: add --int8 to write an 8-bit classifier, or leave --calib out');
    for (const [flag, value] of [['--calib-n', opts.calibN], ['--bias-correction', opts.biasCorrection], ['--float-layers', opts.floatLayers]] as const) {
      if (value !== undefined) throw new Error(`${flag} only takes effect with --int8 --calib IMAGES: add them, or leave ${flag} out`);
    }
    return null;
  }
  if (opts.calib === undefined) throw new Error('--int8 needs calibration images: add --calib FOLDER, a folder of your own unlabelled images (a few hundred are enough)');
  const biasCorrection = opts.biasCorrection ?? 'on';
  if (!SWITCH.includes(biasCorrection)) throw new Error(`--bias-correction must be on or off, got "${biasCorrection}"`);
  const floatLayers = opts.floatLayers ?? 'stem';
  if (!FLOAT_LAYERS.includes(floatLayers as FloatLayers)) throw new Error(`--float-layers must be ${FLOAT_LAYERS.join(' or ')}, got "${floatLayers}"`);
  // Resolved now, so a missing or empty folder is reported before generation starts.
  return {
    data: resolveData(opts.calib, { need: 'images' }), limit: opts.calibN ?? DEFAULT_CALIBRATION_IMAGES,
    biasCorrection: biasCorrection === 'on', floatLayers: floatLayers as FloatLayers,
  };
}

export interface Int8Result {
  bytes: Uint8Array;
  calibration: string;
  seconds: number;
}

/** The float32 classifier's int8 twin, calibrated on the requested images read as the classifier reads its input. */
export async function quantizeGenerated(floatBytes: Uint8Array, metadata: ClassifierMetadata, request: Int8Request): Promise<Int8Result> {
  const started = performance.now();
  const preprocess = evalPreprocess(metadata.inputSize[0], { mean: metadata.mean, std: metadata.std });
  const reading = createProgress('reading calibration images', request.limit);
  let images;
  try {
    images = await readCalibrationSet(request.data, request.limit, preprocess, { onProgress: (done) => reading.update(done) });
  } finally {
    reading.stop();
  }
  const calibrating = createProgress('calibrating activation ranges', images.count);
  try {
    const { bytes } = await quantizeClassifier(floatBytes, {
      images: images.pixels, calibration: images.description, open: openRunner, onProgress: (done) => calibrating.update(done),
      biasCorrection: request.biasCorrection, floatLayers: request.floatLayers,
    });
    return { bytes, calibration: images.description, seconds: (performance.now() - started) / 1000 };
  } finally {
    calibrating.stop();
  }
}
